// What the relying-party scripts share: their settings, the line protocol with
// tests/strict_client/node_flow.py, the checks the libraries leave to the app, and the exit.
//
// One JSON object per line:
//   stdout ← {"step": "authorize", "url": ...}   the URL a browser must open
//   stdin  → {"callback": ...}                   the URL the browser was sent back to
//   stdout ← {"step": "done", ...}               what was received, for the test's assertions
//
// Settings come from the environment (a secret is never put on a command line):
//   TESSERA_ISSUER, TESSERA_CLIENT_ID, TESSERA_CLIENT_SECRET (absent: a public client, auth
//   "none"), TESSERA_CLIENT_PRIVATE_JWK (a private JWK with its alg: private_key_jwt instead of
//   a secret), TESSERA_REDIRECT_URI, TESSERA_SCOPE, TESSERA_ID_TOKEN_ALG (RS256 when absent),
//   TESSERA_JWT_AUDIENCE (set: the access tokens are RFC 9068 JWTs for this audience).

import { createHash } from 'node:crypto'
import { createInterface } from 'node:readline'

function setting(name, fallback) {
  const value = process.env[name] ?? fallback
  if (value === undefined) throw new Error(`${name} is not set`)
  return value
}

export const settings = {
  issuer: new URL(setting('TESSERA_ISSUER')),
  clientId: setting('TESSERA_CLIENT_ID'),
  secret: process.env.TESSERA_CLIENT_SECRET,
  privateJwk: process.env.TESSERA_CLIENT_PRIVATE_JWK
    ? JSON.parse(process.env.TESSERA_CLIENT_PRIVATE_JWK)
    : undefined,
  redirectUri: setting('TESSERA_REDIRECT_URI'),
  scope: setting('TESSERA_SCOPE', 'openid profile email offline_access'),
  alg: setting('TESSERA_ID_TOKEN_ALG', 'RS256'),
  jwtAudience: process.env.TESSERA_JWT_AUDIENCE,
}

export function say(message) {
  process.stdout.write(JSON.stringify(message) + '\n')
}

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]()

// The person's part: the test signs in and consents, and answers with the callback URL.
export async function personAt(url) {
  say({ step: 'authorize', url: url.href })
  const { value, done } = await lines.next()
  if (done) throw new Error('stdin closed before the callback URL came')
  return new URL(JSON.parse(value).callback)
}

// OpenID Connect Core §3.1.3.6: the left half of the SHA-256 of the access token, base64url.
export function halfHash(token) {
  const digest = createHash('sha256').update(token, 'ascii').digest()
  return digest.subarray(0, digest.length / 2).toString('base64url')
}

export function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`)
}

// An error and the errors it wraps (openid-client wraps oauth4webapi's), with what each received.
function describe(error) {
  let text = `${error?.name}: ${error?.message}\n`
  if (error?.code) text += `code: ${error.code}\n`
  if (error?.cause instanceof Error) {
    text += `caused by ${describe(error.cause)}`
  } else if (error?.cause !== undefined) {
    text += `cause: ${JSON.stringify(error.cause, null, 2)}\n`
  }
  return text
}

// Run the flow; exit 0 only when no step threw, else print the library's whole complaint.
export async function run(flow) {
  try {
    say({ step: 'done', ...(await flow()) })
    process.exit(0)
  } catch (error) {
    process.stderr.write(describe(error))
    process.exit(1)
  }
}
