"""The person's side: sign-in and consent pages, state, Deny, CSRF, framing, open redirects."""

from collections.abc import Callable

import httpx
import pytest

from tessera.services.container import Services
from tessera.services.oauth_clients import IssuedOAuthClient
from tests.factories import make_oauth_client
from tests.oauth.flows import (
    APP_CALLBACK,
    AUTHORIZE,
    ODD_STATE,
    SESSION_COOKIE,
    WEB_CALLBACK,
    Account,
    Browser,
    callback_query,
    code_request,
    hidden_fields,
    is_error_page,
    pkce_pair,
)
from tests.secrets_seen import remember

STATES = ["xyz", ODD_STATE, "s" * 500]


def assert_cannot_be_framed(response: httpx.Response) -> None:
    policy = [part.strip() for part in response.headers["Content-Security-Policy"].split(";")]
    assert "frame-ancestors 'none'" in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("state", STATES, ids=["plain", "odd", "long"])
def test_the_state_comes_back_unchanged(
    browser: Browser, web_app: IssuedOAuthClient, state: str
) -> None:
    location = browser.approve(code_request(web_app, state=state))

    params = callback_query(location, WEB_CALLBACK)
    assert params["state"] == state
    assert set(params) == {"code", "state", "iss"}  # RFC 9207: the issuer too


@pytest.mark.parametrize("state", STATES, ids=["plain", "odd", "long"])
def test_deny_sends_access_denied_with_the_same_state(
    browser: Browser, web_app: IssuedOAuthClient, state: str
) -> None:
    answer = browser.decide(browser.consent_page(code_request(web_app, state=state)), "deny")

    assert answer.status_code == 302, answer.text
    params = callback_query(answer.headers["location"], WEB_CALLBACK)
    assert (params["error"], params["state"]) == ("access_denied", state)
    assert "code" not in params


def test_an_error_sent_back_to_the_app_carries_the_state(
    services: Services, browser: Browser
) -> None:
    mobile = make_oauth_client(services, redirect_uris=[APP_CALLBACK], public=True)

    answer = browser.authorize(code_request(mobile, redirect_uri=APP_CALLBACK, state=ODD_STATE))

    params = callback_query(answer.headers["location"], APP_CALLBACK)
    assert (params["error"], params["state"]) == ("invalid_request", ODD_STATE)


def test_no_decision_is_no_consent(browser: Browser, web_app: IssuedOAuthClient) -> None:
    page = browser.consent_page(code_request(web_app))
    form = hidden_fields(page.text)

    for decision in ({}, {"decision": "Access"}, {"decision": "yes"}):
        answer = browser.http.post(AUTHORIZE, data=form | decision)

        params = callback_query(answer.headers["location"], WEB_CALLBACK)
        assert params["error"] == "access_denied", decision


@pytest.mark.parametrize("tampering", ["no-field", "wrong-field", "no-cookie"])
def test_the_consent_form_without_its_csrf_token_is_refused(
    server: str, browser: Browser, web_app: IssuedOAuthClient, tampering: str
) -> None:
    page = browser.consent_page(code_request(web_app))
    form = hidden_fields(page.text) | {"decision": ["accept"]}
    session = browser.http.cookies[SESSION_COOKIE]
    if tampering == "no-field":
        del form["csrf_token"]
    elif tampering == "wrong-field":
        form["csrf_token"] = ["A" * 43]
    with httpx.Client(base_url=server, timeout=60, follow_redirects=False) as other:
        other.cookies.set(SESSION_COOKIE, session)
        client = other if tampering == "no-cookie" else browser.http

        answer = client.post(AUTHORIZE, data=form)

    assert is_error_page(answer, 403), answer.text
    assert_cannot_be_framed(answer)


@pytest.mark.parametrize("tampering", ["no-field", "wrong-field", "no-cookie"])
def test_signing_in_without_the_csrf_token_is_refused(
    new_browser: Callable[[], Browser], account: Account, tampering: str
) -> None:
    login = new_browser()
    page = login.http.get("/login")
    form = hidden_fields(page.text) | {"email": [account.email], "password": [account.password]}
    if tampering == "no-field":
        del form["csrf_token"]
    elif tampering == "wrong-field":
        form["csrf_token"] = ["B" * 43]
    else:
        login.http.cookies.clear()

    answer = login.http.post("/login", data=form)

    assert answer.status_code == 403, answer.text
    assert "location" not in answer.headers
    assert SESSION_COOKIE not in answer.cookies
    assert_cannot_be_framed(answer)


def test_a_wrong_password_does_not_sign_in(
    new_browser: Callable[[], Browser], account: Account
) -> None:
    login = new_browser()
    wrong = "wrong-" + account.password
    remember(wrong)

    answer = login.sign_in(Account(account.person, wrong))

    assert answer.status_code == 401
    assert SESSION_COOKIE not in login.http.cookies


def test_the_pages_cannot_be_framed(
    server: str, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    with httpx.Client(base_url=server, timeout=60) as anonymous:
        login_page = anonymous.get("/login")
    pages = [
        login_page,
        browser.http.get("/console"),
        browser.consent_page(code_request(web_app)),
        browser.authorize(code_request(web_app, redirect_uri="https://evil.test/")),
        browser.http.get("/oauth/error"),
    ]

    for page in pages:
        assert page.headers["content-type"].startswith("text/html")
        assert_cannot_be_framed(page)


def test_a_signed_out_browser_signs_in_and_comes_back_to_the_consent(
    new_browser: Callable[[], Browser], account: Account, web_app: IssuedOAuthClient
) -> None:
    fresh = new_browser()
    _, challenge = pkce_pair()
    request = code_request(web_app, state=ODD_STATE, challenge=challenge)
    to_login = fresh.authorize(request)
    assert to_login.status_code == 303
    assert to_login.headers["location"].startswith("/login?next=")

    page = fresh.http.get(to_login.headers["location"])
    form = hidden_fields(page.text) | {"email": [account.email], "password": [account.password]}
    signed_in = fresh.http.post("/login", data=form)
    remember(fresh.http.cookies.get(SESSION_COOKIE) or "")

    assert signed_in.status_code == 303
    assert signed_in.headers["location"].startswith(AUTHORIZE + "?")
    location = fresh.approve(signed_in.headers["location"])
    assert callback_query(location, WEB_CALLBACK)["state"] == ODD_STATE


@pytest.mark.parametrize(
    "next_url",
    [
        "//evil.test/",
        "https://evil.test/",
        "/\\evil.test",
        "\\\\evil.test",
        "javascript:alert(1)",
        "/%2F%2Fevil.test",
        " //evil.test",
    ],
)
def test_signing_in_never_redirects_off_site(
    new_browser: Callable[[], Browser], account: Account, next_url: str
) -> None:
    fresh = new_browser()
    page = fresh.http.get("/login")
    form = hidden_fields(page.text) | {
        "email": [account.email],
        "password": [account.password],
        "next": [next_url],
    }

    answer = fresh.http.post("/login", data=form)
    remember(fresh.http.cookies.get(SESSION_COOKIE) or "")

    assert answer.status_code == 303
    location = answer.headers["location"]
    assert location.startswith("/"), location
    assert not location.startswith(("//", "/\\")), location


def test_the_consent_page_escapes_what_the_app_chose(services: Services, browser: Browser) -> None:
    evil = make_oauth_client(services, name='<script>alert("x")</script>')
    state = '"><script>alert(1)</script>'

    page = browser.consent_page(code_request(evil, state=state))

    assert "<script>" not in page.text
    assert hidden_fields(page.text)["state"] == [state]


def test_the_error_page_escapes_its_parameters(api: httpx.Client) -> None:
    script = "<script>alert(1)</script>"

    page = api.get("/oauth/error", params={"error": script, "error_description": script})

    assert page.status_code == 400
    assert "<script>" not in page.text
    assert "&lt;script&gt;" in page.text
