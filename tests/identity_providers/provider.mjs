// A real OpenID provider for the user-source tests: panva's certified oidc-provider (8.x),
// on a loopback port of its own, with the clients and accounts the test passes in.
//
// Environment (JSON where it says so):
//   CLIENTS    [{client_id, client_secret?, redirect_uris: [...]}]
//   ACCOUNTS   {"<login>": {email, email_verified, name, groups}}: sign in with the login (any
//              password) on the provider's own development login form, then "Continue".
//   MISBEHAVE  "" (honest), "audience" (ID tokens name another audience) or "nonce" (ID tokens
//              carry another nonce): the provider re-signs its ID tokens with its own key.
// Prints one line "listening <issuer>" when it is ready; stops on SIGTERM.
import http from 'node:http';
import { randomBytes } from 'node:crypto';

import * as jose from 'jose';
import Provider from 'oidc-provider';

const clients = JSON.parse(process.env.CLIENTS || '[]');
const accounts = JSON.parse(process.env.ACCOUNTS || '{}');
const misbehave = process.env.MISBEHAVE || '';

const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const signingJwk = { ...(await jose.exportJWK(privateKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: clients.map((client) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: client.client_secret ? 'client_secret_basic' : 'none',
    ...client,
  })),
  jwks: { keys: [signingJwk] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
  },
  // Profile claims in the ID token itself, as Entra ID, Google and Keycloak send them.
  conformIdTokenClaims: false,
  pkce: { methods: ['S256'], required: () => true },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...account }) };
  },
});
provider.proxy = false;

if (misbehave) {
  // Re-sign the ID token of each token response with one claim wrong: the provider's own key,
  // so only the claim check can tell.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path !== '/token' || !ctx.body || !ctx.body.id_token) return;
    const claims = jose.decodeJwt(ctx.body.id_token);
    if (misbehave === 'audience') claims.aud = 'some-other-client';
    if (misbehave === 'nonce') claims.nonce = 'not-the-nonce-that-was-sent';
    ctx.body = {
      ...ctx.body,
      id_token: await new jose.SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: 'test-key' })
        .sign(privateKey),
    };
  });
}

server.on('request', provider.callback());
process.on('SIGTERM', () => server.close(() => process.exit(0)));
process.stdout.write(`listening ${issuer}\n`);
