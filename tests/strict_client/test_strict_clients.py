"""Strict OAuth 2 / OpenID Connect clients finish Tessera's flows unaided.

issue #14 §1: a strict client library completes discovery, the code flow (PKCE S256, state,
nonce), UserInfo and a refresh without a single validation error. The relying parties are the
libraries themselves, run by Node.js: oauth4webapi (oauth4webapi_flow.mjs; panva's, the
strictest) and openid-client v6 (openid_client_flow.mjs; OpenID-certified, with the ID token
signatures checked by the library). Whatever they reject is a server bug. The person's part
(sign-in, consent) is the httpx browser of tests/oauth/flows.py.
"""

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tessera.core.oauth_clients import AccessTokenFormat
from tessera.core.signing_keys import SigningAlgorithm
from tessera.services.oauth_clients import IssuedOAuthClient
from tests.factories import make_oauth_client
from tests.oauth.flows import LOOPBACK_CALLBACK, WEB_CALLBACK, Account, Browser
from tests.oauth.keys import ec_key, jwks, key_client
from tests.strict_client.conftest import Issuer
from tests.strict_client.node_flow import FlowResult, run_flow

SCOPE = "openid profile email offline_access"
#: Each flow test runs once per library.
LIBRARIES = pytest.mark.parametrize("script", ["oauth4webapi_flow.mjs", "openid_client_flow.mjs"])


def strict_flow(
    issuer: Issuer,
    browser: Browser,
    app: IssuedOAuthClient,
    redirect_uri: str,
    tmp_path: Path,
    script: str,
    *,
    alg: str = "RS256",
) -> FlowResult:
    settings = {
        "TESSERA_ISSUER": issuer.url,
        "TESSERA_CLIENT_ID": app.client.client_id,
        "TESSERA_REDIRECT_URI": redirect_uri,
        "TESSERA_SCOPE": SCOPE,
        "TESSERA_ID_TOKEN_ALG": alg,
    }
    if app.secret is not None:
        settings["TESSERA_CLIENT_SECRET"] = app.secret
    return run_flow(script, settings, browser.approve, log=tmp_path / "stderr")


def assert_whole_flow(
    flow: FlowResult, issuer: Issuer, app: IssuedOAuthClient, account: Account, alg: str
) -> dict[str, Any]:
    assert flow.status == 0, flow.why()
    result = flow.result
    assert result["step"] == "done", flow.why()
    assert result["issuer"] == issuer.url
    assert result["alg"] == alg
    claims = result["id_token_claims"]
    assert claims["iss"] == issuer.url
    assert claims["aud"] == app.client.client_id
    assert claims["sub"] == str(account.person.id)
    assert claims["email"] == account.email
    assert isinstance(claims["auth_time"], int)
    assert result["userinfo"]["sub"] == claims["sub"]
    assert result["userinfo"]["email"] == account.email
    assert result["userinfo"]["name"] == account.person.name
    assert result["token_type"] == "bearer"  # the library lower-cases what it accepted
    assert set(SCOPE.split()) <= set(result["scope"].split())
    refreshed = result["refreshed_id_token_claims"]
    assert refreshed is not None, "a refresh of an openid grant gives a new ID token"
    assert refreshed["sub"] == claims["sub"]
    assert refreshed["auth_time"] == claims["auth_time"]
    return result


@LIBRARIES
def test_a_confidential_client_with_client_secret_basic(
    issuer: Issuer, account: Account, browser: Browser, tmp_path: Path, script: str
) -> None:
    app = make_oauth_client(issuer.services, name="Strict Web App", redirect_uris=[WEB_CALLBACK])

    flow = strict_flow(issuer, browser, app, WEB_CALLBACK, tmp_path, script)

    assert_whole_flow(flow, issuer, app, account, "RS256")


@LIBRARIES
def test_a_public_client_with_pkce_and_no_secret(
    issuer: Issuer, account: Account, browser: Browser, tmp_path: Path, script: str
) -> None:
    app = make_oauth_client(
        issuer.services, name="Strict CLI", redirect_uris=[LOOPBACK_CALLBACK], public=True
    )

    flow = strict_flow(issuer, browser, app, LOOPBACK_CALLBACK, tmp_path, script)

    assert_whole_flow(flow, issuer, app, account, "RS256")


@LIBRARIES
def test_a_client_registered_for_es256_gets_es256_id_tokens(
    issuer: Issuer, account: Account, browser: Browser, tmp_path: Path, script: str
) -> None:
    # The library is told the client registered ES256: an RS256 ID token would be refused.
    app = make_oauth_client(
        issuer.services,
        name="Strict ES256 App",
        redirect_uris=[WEB_CALLBACK],
        id_token_alg=SigningAlgorithm.ES256,
    )

    flow = strict_flow(issuer, browser, app, WEB_CALLBACK, tmp_path, script, alg="ES256")

    result = assert_whole_flow(flow, issuer, app, account, "ES256")
    published = httpx.get(issuer.url + "/oauth/jwks").json()["keys"]
    signer = next(key for key in published if key["kid"] == result["kid"])
    assert (signer["alg"], signer["kty"], signer["crv"]) == ("ES256", "EC", "P-256")


def test_a_client_signing_its_assertions_with_private_key_jwt(
    issuer: Issuer, account: Account, browser: Browser, tmp_path: Path
) -> None:
    # oauth4webapi's PrivateKeyJwt (ADR 0052): no secret anywhere, every token request signed.
    key = ec_key()
    app = key_client(issuer.services, keys=jwks(key), name="Strict Signed App")
    settings = {
        "TESSERA_ISSUER": issuer.url,
        "TESSERA_CLIENT_ID": app.client.client_id,
        "TESSERA_REDIRECT_URI": WEB_CALLBACK,
        "TESSERA_SCOPE": SCOPE,
        "TESSERA_ID_TOKEN_ALG": "RS256",
        "TESSERA_CLIENT_PRIVATE_JWK": json.dumps(key.private_jwk),
    }

    flow = run_flow("oauth4webapi_flow.mjs", settings, browser.approve, log=tmp_path / "stderr")

    assert_whole_flow(flow, issuer, app, account, "RS256")


def test_jwt_access_tokens_pass_the_librarys_rfc_9068_validation(
    issuer: Issuer, account: Account, browser: Browser, tmp_path: Path
) -> None:
    # ADR 0051: the library checks each access token as a resource server would (typ at+jwt,
    # the signature against the JWKS, iss, aud = Tessera's API, exp, sub, client_id, jti…).
    app = make_oauth_client(
        issuer.services,
        name="Strict JWT App",
        redirect_uris=[WEB_CALLBACK],
        access_token_format=AccessTokenFormat.JWT,
    )
    settings = {
        "TESSERA_ISSUER": issuer.url,
        "TESSERA_CLIENT_ID": app.client.client_id,
        "TESSERA_REDIRECT_URI": WEB_CALLBACK,
        "TESSERA_SCOPE": SCOPE,
        "TESSERA_JWT_AUDIENCE": issuer.url,
    } | ({} if app.secret is None else {"TESSERA_CLIENT_SECRET": app.secret})

    flow = run_flow("oauth4webapi_flow.mjs", settings, browser.approve, log=tmp_path / "stderr")

    result = assert_whole_flow(flow, issuer, app, account, "RS256")
    first, refreshed = result["access_token_claims"]
    for claims in (first, refreshed):
        assert claims["iss"] == issuer.url
        assert claims["aud"] == issuer.url
        assert claims["sub"] == str(account.person.id)
        assert claims["client_id"] == app.client.client_id
    assert first["jti"] != refreshed["jti"]


@pytest.mark.parametrize("public", [False, True], ids=["confidential", "public"])
def test_refusals_arrive_in_the_shape_the_library_reads(
    issuer: Issuer, account: Account, browser: Browser, tmp_path: Path, public: bool
) -> None:
    redirect_uri = LOOPBACK_CALLBACK if public else WEB_CALLBACK
    app = make_oauth_client(
        issuer.services, name="Strict App", redirect_uris=[redirect_uri], public=public
    )
    answers = iter(["accept", "deny"])

    def person(url: str) -> str:
        answer = browser.decide(browser.consent_page(url), next(answers))
        assert answer.status_code == 302, answer.text
        return str(answer.headers["location"])

    settings = {
        "TESSERA_ISSUER": issuer.url,
        "TESSERA_CLIENT_ID": app.client.client_id,
        "TESSERA_REDIRECT_URI": redirect_uri,
        "TESSERA_SCOPE": SCOPE,
    } | ({} if app.secret is None else {"TESSERA_CLIENT_SECRET": app.secret})
    flow = run_flow("oauth4webapi_refusals.mjs", settings, person, log=tmp_path / "stderr")

    assert flow.status == 0, flow.why()
    result = flow.result
    assert result["replayed_code"] == {"kind": "body", "status": 400, "error": "invalid_grant"}
    userinfo = result["revoked_at_userinfo"]
    assert (userinfo["kind"], userinfo["status"]) == ("challenge", 401)
    bearer = [c for c in userinfo["challenges"] if c["scheme"] == "bearer"]
    assert bearer, userinfo
    assert bearer[0]["parameters"]["error"] == "invalid_token"
    assert result["revoked_refresh"] == {"kind": "body", "status": 400, "error": "invalid_grant"}
    assert result["denied"] == {"kind": "authorization", "error": "access_denied"}
    if public:
        assert result["introspected"] is None
    else:
        assert result["introspected"]["active"] is True
        assert result["introspected"]["client_id"] == app.client.client_id
