"""Whole flows with independent client libraries: each kind of app gets a working API token.

The person's part (sign in, consent) is a browser driving the HTML forms; the app's part is
Authlib's or requests-oauthlib's client, which know nothing of Tessera.
"""

import re
from typing import Any

import httpx
import pytest
from oauthlib.oauth2 import WebApplicationClient
from requests_oauthlib import OAuth2Session

from tessera.core.oauth_clients import GrantType
from tessera.services.container import Services
from tessera.services.oauth_clients import IssuedOAuthClient
from tests.factories import make_oauth_client
from tests.oauth.flows import (
    APP_CALLBACK,
    AUTHORIZE,
    LOOPBACK_CALLBACK,
    ME,
    REVOKE,
    TOKEN,
    WEB_CALLBACK,
    Browser,
    authlib_client,
    callback_fragment,
    callback_query,
    code_request,
    exchange,
    issue_code,
    me,
    pkce_pair,
    refresh,
)
from tests.secrets_seen import remember
from tests.web.envelopes import INVALID_API_TOKEN, assert_error, data_of

ACCESS_TOKEN = re.compile(r"[0-9]+:[23456789ABCDGHJKMNPQRSTWXYZ]{25,}")


def remembered(token: dict[str, Any]) -> dict[str, Any]:
    remember(str(token.get("access_token") or ""), str(token.get("refresh_token") or ""))
    return token


def assert_works_for(api: httpx.Client, access_token: str, issued: IssuedOAuthClient) -> None:
    """The token is an API token of the app: ``token ID:CODE`` and ``Bearer ID:CODE`` both work."""
    for scheme in ("token", "Bearer"):
        data = data_of(me(api, access_token, scheme))
        assert (data["auth_method"], data["app_id"]) == ("api_token", issued.client.client_id)


def authlib_code_flow(
    server: str, browser: Browser, issued: IssuedOAuthClient, redirect_uri: str, auth_method: str
) -> dict[str, Any]:
    """Authorize, exchange the code and refresh once with Authlib; the refreshed token."""
    client = authlib_client(issued, redirect_uri=redirect_uri, auth_method=auth_method)
    verifier, _ = pkce_pair()
    with client:
        url, state = client.create_authorization_url(server + AUTHORIZE, code_verifier=verifier)
        location = browser.approve(url)
        assert callback_query(location, redirect_uri)["state"] == state
        token = client.fetch_token(
            server + TOKEN, authorization_response=location, state=state, code_verifier=verifier
        )
        remembered(token)
        renewed = remembered(client.refresh_token(server + TOKEN))
    assert renewed["refresh_token"] != token["refresh_token"]
    assert renewed["access_token"] != token["access_token"]
    return dict(renewed)


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
def test_a_confidential_web_app_completes_the_code_flow(
    api: httpx.Client,
    server: str,
    browser: Browser,
    web_app: IssuedOAuthClient,
    auth_method: str,
) -> None:
    token = authlib_code_flow(server, browser, web_app, WEB_CALLBACK, auth_method)

    assert_works_for(api, token["access_token"], web_app)
    assert (token["token_type"], token["expires_in"], token["scope"]) == ("Bearer", 3600, "session")


@pytest.mark.parametrize(
    ("registered", "redirect_uri"),
    [
        (APP_CALLBACK, APP_CALLBACK),
        (LOOPBACK_CALLBACK, LOOPBACK_CALLBACK),
        (LOOPBACK_CALLBACK, "http://127.0.0.1:51234/cb"),
        ("http://[::1]/cb", "http://[::1]:49152/cb"),
        ("myapp://callback", "myapp://callback"),
        ("http://localhost/callback", "http://localhost:49152/callback"),
        ("http://localhost:6274/oauth/callback", "http://localhost:6274/oauth/callback"),
    ],
    ids=[
        "custom-scheme",
        "loopback",
        "loopback-other-port",
        "ipv6-loopback-any-port",
        "short-app-scheme",
        "localhost-any-port",
        "localhost-mcp-style",
    ],
)
def test_a_public_native_app_completes_the_code_flow_with_pkce(
    api: httpx.Client,
    server: str,
    services: Services,
    browser: Browser,
    registered: str,
    redirect_uri: str,
) -> None:
    mobile = make_oauth_client(services, name="Mobile", redirect_uris=[registered], public=True)

    token = authlib_code_flow(server, browser, mobile, redirect_uri, "none")

    assert_works_for(api, token["access_token"], mobile)


@pytest.mark.parametrize("public", [False, True], ids=["with-secret", "public"])
def test_an_implicit_client_gets_its_token_in_the_fragment(
    api: httpx.Client, server: str, services: Services, browser: Browser, public: bool
) -> None:
    spa = make_oauth_client(
        services,
        name="Old SPA",
        redirect_uris=[WEB_CALLBACK],
        grant=GrantType.IMPLICIT,
        public=public,
    )
    client = authlib_client(spa, auth_method="none")
    with client:
        url, state = client.create_authorization_url(server + AUTHORIZE, response_type="token")
        location = browser.approve(url)
        fragment = callback_fragment(location, WEB_CALLBACK)
        token = remembered(client.fetch_token(authorization_response=location, state=state))

    assert "?" not in location
    assert fragment["state"] == state
    assert (token["token_type"], int(token["expires_in"])) == ("Bearer", 3600)
    assert "refresh_token" not in token
    assert_works_for(api, token["access_token"], spa)


def test_an_implicit_client_denied_gets_access_denied_in_the_fragment(
    services: Services, browser: Browser
) -> None:
    spa = make_oauth_client(services, redirect_uris=[WEB_CALLBACK], grant=GrantType.IMPLICIT)
    page = browser.consent_page(code_request(spa, response_type="token", state="st"))

    answer = browser.decide(page, "deny")

    assert answer.status_code == 302, answer.text
    fragment = callback_fragment(answer.headers["location"], WEB_CALLBACK)
    assert (fragment["error"], fragment["state"]) == ("access_denied", "st")
    assert "access_token" not in fragment


def test_the_token_response_is_bearer_with_a_refresh_token_and_never_cached(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    verifier, challenge = pkce_pair()
    code = issue_code(browser, web_app, challenge=challenge)

    response = exchange(api, web_app, code, verifier=verifier)

    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 3600, "session")
    assert ACCESS_TOKEN.fullmatch(body["access_token"])
    assert body["refresh_token"] != body["access_token"]
    renewed = refresh(api, web_app, body["refresh_token"])
    assert renewed.headers["Cache-Control"] == "no-store"
    assert set(renewed.json()) == set(body)


def test_requests_oauthlib_completes_the_code_flow_with_refresh_and_revocation(
    api: httpx.Client,
    server: str,
    browser: Browser,
    web_app: IssuedOAuthClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # oauthlib refuses http:// token endpoints outright, loopback included.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    secret = web_app.secret
    assert secret is not None
    basic = (web_app.client.client_id, secret)
    session = OAuth2Session(web_app.client.client_id, redirect_uri=WEB_CALLBACK, pkce="S256")
    with session:
        url, state = session.authorization_url(server + AUTHORIZE, state="state-from-oauthlib")
        location = browser.approve(url)
        assert callback_query(location, WEB_CALLBACK)["state"] == state
        token = remembered(
            session.fetch_token(server + TOKEN, authorization_response=location, auth=basic)
        )
        first = session.get(server + ME, timeout=60)
        renewed = remembered(session.refresh_token(server + TOKEN, auth=basic))
        second = session.get(server + ME, timeout=60)
        revoke_url, headers, body = WebApplicationClient(
            web_app.client.client_id
        ).prepare_token_revocation_request(
            server + REVOKE, renewed["refresh_token"], token_type_hint="refresh_token"
        )
        revoked = session.post(
            revoke_url, data=body, headers=headers, auth=basic, withhold_token=True, timeout=60
        )

    assert first.status_code == second.status_code == 200, second.text
    assert first.json()["data"]["app_id"] == web_app.client.client_id
    assert renewed["refresh_token"] != token["refresh_token"]
    assert revoked.status_code == 200, revoked.text
    assert_error(me(api, renewed["access_token"]), INVALID_API_TOKEN)
    after = refresh(api, web_app, renewed["refresh_token"])
    assert (after.status_code, after.json()["error"]) == (400, "invalid_grant")
