// The relying party's whole side of an OpenID Connect code flow in oauth4webapi (panva's strict
// OAuth 2 / OpenID Connect client), against a real Tessera: discovery, the authorization request
// (PKCE S256, state, nonce), the authorization response, the code grant with its ID token,
// UserInfo and a refresh. Every step is the library's own validation; a step that throws ends the
// run with exit status 1 and the library's error on stderr (relying_party.mjs).

import * as jose from 'jose'
import * as oauth from 'oauth4webapi'

import { check, halfHash, personAt, run, settings } from './relying_party.mjs'

const { issuer, alg } = settings
const client = {
  client_id: settings.clientId,
  // What the client registered: the library refuses an ID token signed with anything else.
  id_token_signed_response_alg: alg,
  // Tessera keeps when the person signed in: demand it in every ID token.
  require_auth_time: true,
}
// private_key_jwt: the library signs each assertion (aud: the issuer, 60 seconds, a new jti).
async function authentication() {
  const jwk = settings.privateJwk
  if (jwk !== undefined) {
    return oauth.PrivateKeyJwt({ key: await jose.importJWK(jwk, jwk.alg), kid: jwk.kid })
  }
  return settings.secret === undefined ? oauth.None() : oauth.ClientSecretBasic(settings.secret)
}
const clientAuth = await authentication()
// The test server listens on http://127.0.0.1 (loopback, inside this machine): the library
// refuses plain http unless told, which is right everywhere else.
const insecure = { [oauth.allowInsecureRequests]: true }

await run(async () => {
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
    redirect_uri: settings.redirectUri,
    scope: settings.scope,
    state,
    nonce,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  }).toString()

  // 3. The authorization response (iss checked when the server advertises RFC 9207).
  const params = oauth.validateAuthResponse(as, client, await personAt(url), state)

  // 4. The code grant; the ID token's alg, iss, aud, exp, iat, sub, auth_time and nonce are
  //    checked by the library.
  const granted = await oauth.processAuthorizationCodeResponse(
    as,
    client,
    await oauth.authorizationCodeGrantRequest(
      as, client, clientAuth, params, settings.redirectUri, verifier, insecure,
    ),
    { expectedNonce: nonce, requireIdToken: true },
  )
  const claims = oauth.getValidatedIdTokenClaims(granted)
  // What oauth4webapi leaves to the relying party in the code flow: the signature (against the
  // published JWKS, with jose) and at_hash.
  const jwks = jose.createRemoteJWKSet(new URL(as.jwks_uri))
  const expected = { algorithms: [alg], issuer: as.issuer, audience: client.client_id }
  const verified = await jose.jwtVerify(granted.id_token, jwks, expected)
  check(verified.protectedHeader.alg === alg, `the ID token is signed with ${alg}`)
  check(claims.at_hash === halfHash(granted.access_token), "at_hash is the access token's")

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
    await jose.jwtVerify(refreshed.id_token, jwks, expected)
    check(again.sub === claims.sub, 'the refreshed ID token has the same sub')
    check(again.auth_time === claims.auth_time, 'the refreshed ID token keeps auth_time')
    check(again.nonce === undefined, 'the refreshed ID token has no nonce')
    check(again.at_hash === halfHash(refreshed.access_token), 'the refreshed at_hash')
  }

  // 7. For a client opted into JWT access tokens: each access token as a resource server checks
  //    it with the library (RFC 9068 §4: typ, signature against the JWKS, iss, aud, exp…).
  let accessTokenClaims = null
  if (settings.jwtAudience !== undefined) {
    accessTokenClaims = []
    for (const token of [granted.access_token, refreshed.access_token]) {
      const request = new Request(new URL('/api/v2/me', issuer), {
        headers: { authorization: `Bearer ${token}` },
      })
      accessTokenClaims.push(
        await oauth.validateJwtAccessToken(as, request, settings.jwtAudience, insecure),
      )
    }
  }

  return {
    issuer: as.issuer,
    access_token_claims: accessTokenClaims,
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
  }
})
