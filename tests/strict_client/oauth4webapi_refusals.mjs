// How oauth4webapi reads Tessera's refusals: each must arrive in the shape its specification
// gives it, so that the library raises the error class that names it (never a parse error):
// a code used twice (RFC 6749 §5.2 invalid_grant, and the grant's tokens revoked), UserInfo with
// a revoked token (RFC 6750 WWW-Authenticate challenge, error="invalid_token"), a refresh
// token of the revoked grant, revocation (RFC 7009) and introspection (RFC 7662) read by the
// library, and a person who denies (access_denied in the authorization response).
// The flow is oauth4webapi_flow.mjs's; the person's part is asked for twice: approve, then deny.

import * as oauth from 'oauth4webapi'

import { check, personAt, run, settings } from './relying_party.mjs'

const { issuer } = settings
const client = { client_id: settings.clientId }
const clientAuth =
  settings.secret === undefined ? oauth.None() : oauth.ClientSecretBasic(settings.secret)
// The test server listens on http://127.0.0.1 (loopback): plain http allowed there only.
const insecure = { [oauth.allowInsecureRequests]: true }

// The refusal a step raises, as the library classified it; a step that succeeds is a failure.
async function refusal(what, step) {
  try {
    await step()
  } catch (error) {
    if (error instanceof oauth.ResponseBodyError) {
      return { kind: 'body', status: error.status, error: error.error }
    }
    if (error instanceof oauth.WWWAuthenticateChallengeError) {
      return { kind: 'challenge', status: error.status, challenges: error.cause }
    }
    if (error instanceof oauth.AuthorizationResponseError) {
      return { kind: 'authorization', error: error.error }
    }
    throw error // anything else (a parse error, a failed check) is the server's fault
  }
  throw new Error(`check failed: ${what} was accepted`)
}

async function authorizationUrl(as, state, challenge) {
  const url = new URL(as.authorization_endpoint)
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: settings.redirectUri,
    scope: settings.scope,
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString()
  return url
}

await run(async () => {
  const as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...insecure }),
  )
  const verifier = oauth.generateRandomCodeVerifier()
  const challenge = await oauth.calculatePKCECodeChallenge(verifier)
  const state = oauth.generateRandomState()
  const params = oauth.validateAuthResponse(
    as, client, await personAt(await authorizationUrl(as, state, challenge)), state,
  )
  const exchange = () =>
    oauth.authorizationCodeGrantRequest(
      as, client, clientAuth, params, settings.redirectUri, verifier, insecure,
    )
  const granted = await oauth.processAuthorizationCodeResponse(as, client, await exchange())

  let introspected = null
  if (settings.secret !== undefined) {
    introspected = await oauth.processIntrospectionResponse(
      as,
      client,
      await oauth.introspectionRequest(as, client, clientAuth, granted.access_token, insecure),
    )
  }

  const replayedCode = await refusal('a code used twice', async () =>
    oauth.processAuthorizationCodeResponse(as, client, await exchange()),
  )
  const revokedAtUserinfo = await refusal('UserInfo with a token of the replayed code', async () =>
    oauth.processUserInfoResponse(
      as,
      client,
      oauth.skipSubjectCheck,
      await oauth.userInfoRequest(as, client, granted.access_token, insecure),
    ),
  )
  const revokedRefresh = await refusal('a refresh token of the replayed code', async () =>
    oauth.processRefreshTokenResponse(
      as,
      client,
      await oauth.refreshTokenGrantRequest(
        as, client, clientAuth, granted.refresh_token, insecure,
      ),
    ),
  )
  // RFC 7009 §2.2: revoking a token that is no longer valid answers 200 all the same.
  await oauth.processRevocationResponse(
    await oauth.revocationRequest(as, client, clientAuth, granted.refresh_token, insecure),
  )

  const denyState = oauth.generateRandomState()
  const denied = await refusal('a denied authorization', async () =>
    oauth.validateAuthResponse(
      as, client, await personAt(await authorizationUrl(as, denyState, challenge)), denyState,
    ),
  )
  check(introspected === null || introspected.active === true, 'the token was active at first')

  return {
    introspected,
    replayed_code: replayedCode,
    revoked_at_userinfo: revokedAtUserinfo,
    revoked_refresh: revokedRefresh,
    denied,
    secrets: [granted.access_token, granted.refresh_token],
  }
})
