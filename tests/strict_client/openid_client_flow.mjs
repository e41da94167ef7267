// The same relying party in openid-client v6 (panva's certified OpenID Connect client, built on
// oauth4webapi): discovery, an authorization URL with PKCE S256, state and nonce, the code grant,
// UserInfo, a refresh. Non-repudiation checks are on, so the library itself verifies every ID
// token's signature against the published JWKS. A step that throws ends the run with exit status
// 1 and the library's error on stderr (relying_party.mjs).

import * as client from 'openid-client'

import { check, halfHash, personAt, run, settings } from './relying_party.mjs'

const { alg } = settings
const metadata = {
  client_id: settings.clientId,
  // What the client registered: the library refuses an ID token signed with anything else.
  id_token_signed_response_alg: alg,
  require_auth_time: true,
}
const clientAuth =
  settings.secret === undefined ? client.None() : client.ClientSecretBasic(settings.secret)

await run(async () => {
  // 1. Discovery. The test server listens on http://127.0.0.1 (loopback, inside this machine):
  //    the library refuses plain http unless told, which is right everywhere else.
  const config = await client.discovery(settings.issuer, settings.clientId, metadata, clientAuth, {
    execute: [client.allowInsecureRequests],
  })
  client.enableNonRepudiationChecks(config)

  // 2. The authorization request.
  const verifier = client.randomPKCECodeVerifier()
  const state = client.randomState()
  const nonce = client.randomNonce()
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: settings.redirectUri,
    scope: settings.scope,
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  })

  // 3. The authorization response and the code grant, checked as one step by the library.
  const callback = await personAt(url)
  const granted = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  })
  const claims = granted.claims()
  check(claims.at_hash === halfHash(granted.access_token), "at_hash is the access token's")

  // 4. UserInfo.
  const userinfo = await client.fetchUserInfo(config, granted.access_token, claims.sub)

  // 5. A refresh.
  check(typeof granted.refresh_token === 'string', 'a refresh token was issued')
  const refreshed = await client.refreshTokenGrant(config, granted.refresh_token)
  const again = refreshed.claims()
  if (again !== undefined) {
    check(again.sub === claims.sub, 'the refreshed ID token has the same sub')
    check(again.auth_time === claims.auth_time, 'the refreshed ID token keeps auth_time')
    check(again.nonce === undefined, 'the refreshed ID token has no nonce')
  }

  const [header] = granted.id_token.split('.')
  const { alg: signedWith, kid } = JSON.parse(Buffer.from(header, 'base64url').toString())
  return {
    issuer: config.serverMetadata().issuer,
    alg: signedWith,
    kid,
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
