"""OpenID Connect: discovery, the JWKS, ID tokens at the exchange and at refresh, UserInfo.

The app's side checks what a relying party checks (OpenID Connect Core §3.1.3.7): the
signature against the published keys (with joserfc, not Tessera's code), ``iss``, ``aud``,
``exp``, ``iat``, ``nonce``, ``at_hash``; the person's side is the browser of flows.py.
"""

import base64
import hashlib
import secrets
import time
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tessera.bootstrap import Runtime
from tessera.services.oauth_clients import IssuedOAuthClient
from tests.oauth.flows import (
    INTROSPECT,
    WEB_CALLBACK,
    Account,
    Browser,
    callback_query,
    code_request,
    exchange,
    issue_tokens,
    pkce_pair,
    post_as,
    received,
    refresh,
)
from tests.secrets_seen import remember

ISSUER = "http://helpdesk.test"
USERINFO = "/oauth/userinfo"
JWKS = "/oauth/jwks"
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def openid_tokens(
    browser: Browser,
    api: httpx.Client,
    app: IssuedOAuthClient,
    *,
    scope: str = "openid profile email",
    nonce: str | None = None,
) -> dict[str, Any]:
    """The code flow with PKCE asking for ``scope``; the token answer."""
    verifier, challenge = pkce_pair()
    extra = {"scope": scope} | ({"nonce": nonce} if nonce else {})
    location = browser.approve(code_request(app, challenge=challenge, **extra))
    code = callback_query(location, WEB_CALLBACK)["code"]
    answer = exchange(api, app, code, verifier=verifier)
    assert answer.status_code == 200, answer.text
    body = received(answer)
    remember(str(body.get("id_token") or ""))
    return body


def verified_claims(api: httpx.Client, id_token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of an ID token whose signature the published JWKS checks."""
    keys = KeySet.import_key_set(api.get(JWKS).json())
    decoded = jwt.decode(id_token, keys, algorithms=["RS256", "ES256"])
    return dict(decoded.header), dict(decoded.claims)


def half_hash(value: str) -> str:
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")


def test_discovery_agrees_with_the_rfc_8414_document(api: httpx.Client) -> None:
    openid = api.get("/.well-known/openid-configuration")
    oauth = api.get("/.well-known/oauth-authorization-server")

    assert openid.status_code == oauth.status_code == 200
    document = openid.json()
    assert document == oauth.json()
    assert document["issuer"] == ISSUER
    assert document["jwks_uri"] == f"{ISSUER}/oauth/jwks"
    assert document["userinfo_endpoint"] == f"{ISSUER}/oauth/userinfo"
    assert {"openid", "profile", "email", "offline_access", "session"} <= set(
        document["scopes_supported"]
    )
    assert document["id_token_signing_alg_values_supported"][0] == "RS256"
    assert "ES256" in document["id_token_signing_alg_values_supported"]
    assert document["subject_types_supported"] == ["public"]
    assert document["response_types_supported"][0] == "code"
    assert "query" in document["response_modes_supported"]
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert {"sub", "email", "name", "auth_time", "nonce"} <= set(document["claims_supported"])


@pytest.mark.parametrize(
    "path",
    ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server", JWKS],
)
def test_head_on_the_documents_answers_like_get(api: httpx.Client, path: str) -> None:
    answer = api.head(path)

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.content == b""


def test_the_jwks_has_both_public_keys_and_nothing_private(api: httpx.Client) -> None:
    keys = api.get(JWKS).json()["keys"]

    assert sorted(key["alg"] for key in keys) == ["ES256", "RS256"]
    for key in keys:
        assert key["kid"]
        assert key["use"] == "sig"
        assert not PRIVATE_MEMBERS & set(key), key


def test_an_openid_code_flow_gives_a_verifiable_id_token(
    api: httpx.Client, browser: Browser, account: Account, web_app: IssuedOAuthClient
) -> None:
    nonce = secrets.token_urlsafe(16)
    before = int(time.time())
    body = openid_tokens(browser, api, web_app, nonce=nonce)

    header, claims = verified_claims(api, body["id_token"])
    assert header["alg"] == "RS256"
    assert header["kid"]
    assert claims["iss"] == ISSUER
    assert claims["aud"] == web_app.client.client_id
    assert claims["sub"] == str(account.person.id)
    assert claims["nonce"] == nonce
    assert claims["at_hash"] == half_hash(body["access_token"])
    assert before - 5 <= claims["iat"] <= int(time.time()) + 5
    assert claims["exp"] == claims["iat"] + 3600
    assert claims["auth_time"] <= claims["iat"]
    assert claims["amr"] == ["pwd"]
    assert claims["email"] == account.email
    assert claims["name"] == account.person.name
    assert body["scope"] == "openid profile email session"
    # OpenID Connect Core §11: no offline_access, no refresh token (ADR 0042).
    assert "refresh_token" not in body


def test_a_refresh_gives_a_new_id_token_with_the_original_auth_time(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    first = openid_tokens(
        browser, api, web_app, scope="openid profile email offline_access", nonce="n-0S6_WzA2Mj"
    )
    time.sleep(1.1)
    renewed = refresh(api, web_app, first["refresh_token"])

    assert renewed.status_code == 200, renewed.text
    second = received(renewed)
    remember(second["id_token"])
    _, before = verified_claims(api, first["id_token"])
    _, after = verified_claims(api, second["id_token"])
    assert after["auth_time"] == before["auth_time"]
    assert after["iat"] > before["iat"]
    assert after["at_hash"] == half_hash(second["access_token"])
    assert (after["sub"], after["aud"], after["iss"]) == (before["sub"], before["aud"], ISSUER)
    assert "nonce" not in after


def test_without_openid_the_deskpro_flow_has_no_id_token(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    verifier, challenge = pkce_pair()
    location = browser.approve(code_request(web_app, challenge=challenge))
    code = callback_query(location, WEB_CALLBACK)["code"]
    body = received(exchange(api, web_app, code, verifier=verifier))
    renewed = received(refresh(api, web_app, body["refresh_token"]))

    for answer in (body, renewed):
        assert set(answer) == {"token_type", "access_token", "expires_in", "scope", "refresh_token"}
        assert answer["scope"] == "session"


def test_userinfo_answers_get_and_post_with_claims_by_scope(
    api: httpx.Client, browser: Browser, account: Account, web_app: IssuedOAuthClient
) -> None:
    everything = openid_tokens(browser, api, web_app)["access_token"]
    only_email = openid_tokens(browser, api, web_app, scope="openid email")["access_token"]
    only_openid = openid_tokens(browser, api, web_app, scope="openid")["access_token"]

    bearer = {"Authorization": f"Bearer {everything}"}
    by_get, by_post = api.get(USERINFO, headers=bearer), api.post(USERINFO, headers=bearer)
    assert by_get.status_code == by_post.status_code == 200
    assert by_get.json() == by_post.json()
    claims = by_get.json()
    assert claims["sub"] == str(account.person.id)
    assert (claims["email"], claims["email_verified"]) == (account.email, False)
    assert claims["name"] == account.person.name
    assert claims["preferred_username"] == account.email
    assert by_get.headers["cache-control"] == "no-store"

    email = api.get(USERINFO, headers={"Authorization": f"Bearer {only_email}"}).json()
    assert set(email) == {"sub", "email", "email_verified"}
    assert api.get(USERINFO, headers={"Authorization": f"Bearer {only_openid}"}).json() == {
        "sub": str(account.person.id)
    }


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer 1:NOTATOKEN", "Bearer not-even-an-id", "Basic YTpi", "Bearer"],
)
def test_userinfo_refuses_a_bad_bearer_token_as_rfc_6750_says(
    api: httpx.Client, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    answer = api.get(USERINFO, headers=headers)

    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_token"
    challenge = answer.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="invalid_token"' in challenge


def test_userinfo_refuses_a_revoked_token_and_one_without_openid(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    deskpro = issue_tokens(browser, api, web_app).access
    revoked = openid_tokens(browser, api, web_app)["access_token"]
    assert post_as(api, web_app, "/oauth/revoke", {"token": revoked}).status_code == 200

    gone = api.get(USERINFO, headers={"Authorization": f"Bearer {revoked}"})
    assert (gone.status_code, gone.json()["error"]) == (401, "invalid_token")
    narrow = api.get(USERINFO, headers={"Authorization": f"Bearer {deskpro}"})
    assert (narrow.status_code, narrow.json()["error"]) == (403, "insufficient_scope")


def test_a_replayed_nonce_is_refused(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    openid_tokens(browser, api, web_app, nonce="once-only")
    _, challenge = pkce_pair()

    answer = browser.authorize(
        code_request(web_app, challenge=challenge, scope="openid", nonce="once-only")
    )
    assert answer.status_code == 302
    assert callback_query(answer.headers["location"], WEB_CALLBACK)["error"] == "invalid_request"


def test_a_nonce_too_long_to_keep_is_refused_not_cut(
    browser: Browser, web_app: IssuedOAuthClient
) -> None:
    _, challenge = pkce_pair()
    answer = browser.authorize(
        code_request(web_app, challenge=challenge, scope="openid", nonce="n" * 513)
    )

    assert answer.status_code == 302
    assert callback_query(answer.headers["location"], WEB_CALLBACK)["error"] == "invalid_request"


def test_after_a_rotation_the_old_key_is_still_published_and_new_tokens_use_the_new_one(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient, runtime: Runtime
) -> None:
    old = openid_tokens(browser, api, web_app, scope="openid")
    old_kid = verified_claims(api, old["id_token"])[0]["kid"]

    made = runtime.oauth.context.signing_keys.rotate()
    new = openid_tokens(browser, api, web_app, scope="openid")

    published = {key["kid"] for key in api.get(JWKS).json()["keys"]}
    new_kid = verified_claims(api, new["id_token"])[0]["kid"]
    assert sorted(key.algorithm for key in made) == ["ES256", "RS256"]
    assert new_kid != old_kid
    assert new_kid in {key.kid for key in made}
    assert {old_kid, new_kid} <= published
    verified_claims(api, old["id_token"])  # still checks


def test_introspection_still_answers_for_an_openid_token(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    body = openid_tokens(browser, api, web_app, scope="openid")

    answer = post_as(api, web_app, INTROSPECT, {"token": body["access_token"]}).json()
    assert answer["active"] is True
