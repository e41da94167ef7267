"""Client authentication at the token-side endpoints (RFC 6749 §2.3; ADR 0019).

A public client may name itself with HTTP Basic and an empty password (requests-oauthlib's
default); one request authenticates one client (Basic naming one client and ``client_id``
another is refused); and refusals are described in words.
"""

import base64
from typing import Any

import httpx
import pytest
from requests_oauthlib import OAuth2Session

from tessera.services.container import Services
from tessera.services.oauth_clients import IssuedOAuthClient
from tests.factories import make_oauth_client
from tests.oauth.flows import (
    APP_CALLBACK,
    AUTHORIZE,
    INTROSPECT,
    ME,
    REVOKE,
    TOKEN,
    WEB_CALLBACK,
    Browser,
    callback_query,
    code_request,
    issue_code,
    issue_tokens,
    me,
    pkce_pair,
    received,
    tokens_of,
)
from tests.secrets_seen import remember
from tests.web.envelopes import INVALID_API_TOKEN, assert_error


@pytest.fixture
def mobile(services: Services) -> IssuedOAuthClient:
    """A public app (no secret) with an app-scheme redirect URI."""
    return make_oauth_client(services, name="Mobile", redirect_uris=[APP_CALLBACK], public=True)


def basic_without_secret(app: IssuedOAuthClient) -> tuple[str, str]:
    return (app.client.client_id, "")


def assert_oauth_error(answer: httpx.Response, status: int, error: str) -> dict[str, Any]:
    body = answer.json()
    assert (answer.status_code, body["error"]) == (status, error), answer.text
    assert isinstance(body, dict)
    return body


def test_requests_oauthlib_public_client_defaults_work_end_to_end(
    server: str, browser: Browser, mobile: IssuedOAuthClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No auth given: requests-oauthlib sends HTTP Basic "client_id:" (an empty secret).
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    session = OAuth2Session(mobile.client.client_id, redirect_uri=APP_CALLBACK, pkce="S256")
    with session:
        url, _ = session.authorization_url(server + AUTHORIZE)
        location = browser.approve(url)
        token = session.fetch_token(server + TOKEN, authorization_response=location)
        remember(token["access_token"], token["refresh_token"])
        # Its refresh sends no client at all unless told; the same Basic "client_id:" then.
        renewed = session.refresh_token(server + TOKEN, auth=basic_without_secret(mobile))
        remember(renewed["access_token"], renewed["refresh_token"])
        answer = session.get(server + ME, timeout=60)

    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["app_id"] == mobile.client.client_id


def test_a_public_client_may_name_itself_with_basic_and_an_empty_secret(
    api: httpx.Client, browser: Browser, mobile: IssuedOAuthClient
) -> None:
    verifier, challenge = pkce_pair()
    code = issue_code(browser, mobile, redirect_uri=APP_CALLBACK, challenge=challenge)
    exchange = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": APP_CALLBACK,
        "code_verifier": verifier,
    }

    tokens = tokens_of(api.post(TOKEN, data=exchange, auth=basic_without_secret(mobile)))
    refreshed = api.post(
        TOKEN,
        data={"grant_type": "refresh_token", "refresh_token": tokens.refresh},
        auth=basic_without_secret(mobile),
    )
    renewed = tokens_of(refreshed)
    revoked = api.post(REVOKE, data={"token": renewed.access}, auth=basic_without_secret(mobile))

    assert revoked.status_code == 200, revoked.text
    assert_error(me(api, renewed.access), INVALID_API_TOKEN)


def test_a_confidential_client_with_an_empty_secret_is_not_authenticated(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    verifier, challenge = pkce_pair()
    code = issue_code(browser, web_app, challenge=challenge)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": WEB_CALLBACK,
        "code_verifier": verifier,
    }

    answer = api.post(TOKEN, data=data, auth=basic_without_secret(web_app))

    assert_oauth_error(answer, 401, "invalid_client")
    assert answer.headers["WWW-Authenticate"].startswith("Basic ")


def test_an_unknown_client_in_basic_without_a_secret_is_401(api: httpx.Client) -> None:
    answer = api.post(
        TOKEN, data={"grant_type": "refresh_token", "refresh_token": "x"}, auth=("1_nope", "")
    )

    body = assert_oauth_error(answer, 401, "invalid_client")
    assert body["error_description"] == "The client does not exist on this server."


def test_basic_for_one_client_and_client_id_of_another_is_refused(
    api: httpx.Client, services: Services, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    other = make_oauth_client(services, name="Other", redirect_uris=[WEB_CALLBACK])
    secret = web_app.secret
    assert secret is not None
    basic = (web_app.client.client_id, secret)
    tokens = issue_tokens(browser, api, web_app)
    verifier, challenge = pkce_pair()
    code = issue_code(browser, web_app, challenge=challenge)
    requests = [
        (
            TOKEN,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": WEB_CALLBACK,
                "code_verifier": verifier,
            },
        ),
        (TOKEN, {"grant_type": "refresh_token", "refresh_token": tokens.refresh}),
        (REVOKE, {"token": tokens.access}),
        (INTROSPECT, {"token": tokens.access}),
    ]

    for path, data in requests:
        answer = api.post(path, data={**data, "client_id": other.client.client_id}, auth=basic)

        body = assert_oauth_error(answer, 400, "invalid_request")
        assert "RFC 6749 section 2.3" in body["error_description"], path
    # Refused before anything was read or spent: the same requests, made properly, work.
    for path, data in requests:
        answer = api.post(path, data={**data, "client_id": web_app.client.client_id}, auth=basic)
        assert answer.status_code == 200, (path, answer.text)
        received(answer)


def test_basic_and_the_same_client_id_in_the_form_is_fine(
    server: str, browser: Browser, web_app: IssuedOAuthClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    secret = web_app.secret
    assert secret is not None
    session = OAuth2Session(web_app.client.client_id, redirect_uri=WEB_CALLBACK, pkce="S256")
    with session:
        url, _ = session.authorization_url(server + AUTHORIZE)
        location = browser.approve(url)
        token = session.fetch_token(
            server + TOKEN,
            authorization_response=location,
            auth=(web_app.client.client_id, secret),
            include_client_id=True,
        )
        remember(token["access_token"], token["refresh_token"])

    assert token["token_type"] == "Bearer"


@pytest.mark.parametrize(
    ("path", "auth", "status", "described"),
    [
        (
            TOKEN,
            ("wrong", "secret"),
            401,
            "The client does not exist on this server.",
        ),
        (
            TOKEN,
            None,
            401,
            "The client could not be authenticated: send the client secret with HTTP Basic, "
            "client_id and client_secret in the form, only client_id (public clients), "
            "or a client assertion signed with its key (private_key_jwt).",
        ),
        (
            INTROSPECT,
            None,
            401,
            "The client could not be authenticated: send the client secret with HTTP Basic, "
            "client_id and client_secret in the form, "
            "or a client assertion signed with its key (private_key_jwt).",
        ),
    ],
    ids=["unknown", "token-no-auth", "introspect-no-auth"],
)
def test_refusals_are_described_in_words(
    api: httpx.Client,
    path: str,
    auth: tuple[str, str] | None,
    status: int,
    described: str,
) -> None:
    data = {"grant_type": "refresh_token", "refresh_token": "x", "token": "x"}

    answer = api.post(path, data=data) if auth is None else api.post(path, data=data, auth=auth)

    body = assert_oauth_error(answer, status, "invalid_client")
    assert body["error_description"] == described
    assert "[" not in answer.headers.get("WWW-Authenticate", "")


def test_a_wrong_secret_is_described_in_words(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    location = browser.approve(code_request(web_app))
    code = callback_query(location, WEB_CALLBACK)["code"]
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": WEB_CALLBACK}

    answer = api.post(TOKEN, data=data, auth=(web_app.client.client_id, "2" * 40))

    body = assert_oauth_error(answer, 401, "invalid_client")
    assert "[" not in body["error_description"]
    assert "HTTP Basic" in body["error_description"]


@pytest.mark.parametrize("endpoint", [TOKEN, REVOKE, INTROSPECT])
def test_basic_credentials_that_are_not_utf8_are_401_not_a_crash(
    api: httpx.Client, endpoint: str
) -> None:
    not_utf8 = base64.b64encode(b"\xff\xfe:\xc3\x28").decode("ascii")
    form = {"grant_type": "refresh_token", "refresh_token": "x", "token": "x"}

    answer = api.post(endpoint, data=form, headers={"Authorization": f"Basic {not_utf8}"})

    body = assert_oauth_error(answer, 401, "invalid_client")
    assert "base64 of UTF-8 text" in body["error_description"]
    assert answer.headers["WWW-Authenticate"].startswith("Basic ")
