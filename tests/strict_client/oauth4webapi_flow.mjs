// The relying party's whole side of an OpenID Connect code flow, in oauth4webapi (panva's strict
// OAuth 2 / OpenID Connect client), against a real Tessera: discovery, the authorization request
// (PKCE S256, state, nonce), the authorization response, the code grant with its ID token,
// UserInfo and a refresh. Every step is the library's own validation; a step that throws ends the
// run with exit status 1 and the library's error (message, code and cause) on stderr.
//
// Driven by tests/strict_client/test_oauth4webapi.py, one JSON object per line:
//   stdout ← {"step": "authorize", "url": ...}   the URL a browser must open
//   stdin  → {"callback": ...}                   the URL the browser was sent back to
//   stdout ← {"step": "done", ...}               what was received, for the test's assertions
//
// Settings come from the environment (a secret is never put on a command line):
//   TESSERA_ISSUER, TESSERA_CLIENT_ID, TESSERA_CLIENT_SECRET (absent: a public client, auth
//   "none"), TESSERA_REDIRECT_URI, TESSERA_SCOPE, TESSERA_ID_TOKEN_ALG (RS256 when absent).

import { createHash } from 'node:crypto'
import { createInterface } from 'node:readline'

import * as jose from 'jose'
import * as oauth from 'oauth4webapi'

function setting(name, fallback) {
  const value = process.env[name] ?? fallback
  if (value === undefined) throw new Error(`${name} is not set`)
  return value
}

function say(message) {
  process.stdout.write(JSON.stringify(message) + '\n')
}

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]()

async function answer() {
  const { value, done } = await lines.next()
  if (done) throw new Error('stdin closed before the callback URL came')
  return JSON.parse(value)
}

// OpenID Connect Core §3.1.3.6: the left half of the SHA-256 of the access token, base64url.
function halfHash(token) {
  const digest = createHash('sha256').update(token, 'ascii').digest()
  return digest.subarray(0, digest.length / 2).toString('base64url')
}

function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`)
}

const issuer = new URL(setting('TESSERA_ISSUER'))
const secret = process.env.TESSERA_CLIENT_SECRET
const redirectUri = setting('TESSERA_REDIRECT_URI')
const scope = setting('TESSERA_SCOPE', 'openid profile email offline_access')
const alg = setting('TESSERA_ID_TOKEN_ALG', 'RS256')

const client = {
  client_id: setting('TESSERA_CLIENT_ID'),
  // What the client registered: the library refuses an ID token signed with anything else.
  id_token_signed_response_alg: alg,
  // Tessera keeps when the person signed in: demand it in every ID token.
  require_auth_time: true,
}
const clientAuth = secret === undefined ? oauth.None() : oauth.ClientSecretBasic(secret)
// The test server listens on http://127.0.0.1 (loopback, inside this machine): the library
// refuses plain http unless told, which is right everywhere else.
const insecure = { [oauth.allowInsecureRequests]: true }

async function main() {
  // 1. Discovery (OpenID Connect Discovery 1.0): the document's issuer must be exactly ours.
  const as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...insecure }),
  )

  // 2. The authorization request: PKCE S256, state, nonce.
  const verifier = oauth.generateRandomCodeVerifier()
  const state = oauth.generateRandomState()
  const nonce = oauth.generateRandomNonce()
  const url = new URL(as.authorization_endpoint)
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: redirectUri,
    scope,
    state,
    nonce,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  }).toString()
  say({ step: 'authorize', url: url.href })

  // 3. The authorization response (iss checked when the server advertises RFC 9207).
  const { callback } = await answer()
  const params = oauth.validateAuthResponse(as, client, new URL(callback), state)

  // 4. The code grant; the ID token's alg, iss, aud, exp, iat, sub, auth_time and nonce are
  //    checked by the library.
  const granted = await oauth.processAuthorizationCodeResponse(
    as,
    client,
    await oauth.authorizationCodeGrantRequest(
      as, client, clientAuth, params, redirectUri, verifier, insecure,
    ),
    { expectedNonce: nonce, requireIdToken: true },
  )
  const claims = oauth.getValidatedIdTokenClaims(granted)
  // What oauth4webapi leaves to the relying party in the code flow: the signature (against the
  // published JWKS, with jose) and at_hash.
  const jwks = jose.createRemoteJWKSet(new URL(as.jwks_uri))
  const verified = await jose.jwtVerify(granted.id_token, jwks, {
    algorithms: [alg],
    issuer: as.issuer,
    audience: client.client_id,
  })
  check(verified.protectedHeader.alg === alg, `the ID token is signed with ${alg}`)
  check(claims.at_hash === halfHash(granted.access_token), 'at_hash is the access token\'s')

  // 5. UserInfo (Bearer), whose sub must be the ID token's.
  const userinfo = await oauth.processUserInfoResponse(
    as,
    client,
    claims.sub,
    await oauth.userInfoRequest(as, client, granted.access_token, insecure),
  )

  // 6. A refresh: a new ID token for the same person, the original sign-in time, no nonce
  //    (OpenID Connect Core §12.2).
  check(typeof granted.refresh_token === 'string', 'a refresh token was issued')
  const refreshed = await oauth.processRefreshTokenResponse(
    as,
    client,
    await oauth.refreshTokenGrantRequest(
      as, client, clientAuth, granted.refresh_token, insecure,
    ),
  )
  const again = oauth.getValidatedIdTokenClaims(refreshed)
  if (again !== undefined) {
    await jose.jwtVerify(refreshed.id_token, jwks, {
      algorithms: [alg],
      issuer: as.issuer,
      audience: client.client_id,
    })
    check(again.sub === claims.sub, 'the refreshed ID token has the same sub')
    check(again.auth_time === claims.auth_time, 'the refreshed ID token keeps auth_time')
    check(again.nonce === undefined, 'the refreshed ID token has no nonce')
    check(again.at_hash === halfHash(refreshed.access_token), 'the refreshed at_hash')
  }

  say({
    step: 'done',
    issuer: as.issuer,
    alg: verified.protectedHeader.alg,
    kid: verified.protectedHeader.kid,
    id_token_claims: claims,
    userinfo,
    scope: granted.scope,
    token_type: granted.token_type,
    refreshed_scope: refreshed.scope,
    refreshed_id_token_claims: again ?? null,
    // For the test suite's check that no secret reaches a log line.
    secrets: [granted.access_token, granted.refresh_token, refreshed.access_token,
      refreshed.refresh_token ?? ''],
  })
}

try {
  await main()
  process.exit(0)
} catch (error) {
  // The library's whole complaint: its message, code and what it received.
  process.stderr.write(`${error?.name}: ${error?.message}\n`)
  if (error?.code) process.stderr.write(`code: ${error.code}\n`)
  if (error?.cause !== undefined) {
    process.stderr.write(`cause: ${JSON.stringify(error.cause, null, 2)}\n`)
  }
  process.exit(1)
}
