"""prompt, max_age, id_token_hint, login_hint and response_mode at the authorization endpoint.

The conformance mirror (test_conformance_basic_op.py) covers each module's happy path; these
are the edges: errors in the app's response mode with its state, never a page for
``prompt=none``, a consent page for ``prompt=consent`` however often the person agreed, hints
that are not ours, the sign-in page's prefill, and where each response mode puts the answer.
"""

import html
import re
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from tessera.core.oauth_clients import GrantType
from tessera.services.container import Services
from tessera.services.oauth_clients import IssuedOAuthClient
from tests.clock import ManualClock
from tests.factories import make_oauth_client
from tests.oauth.flows import (
    APP_CALLBACK,
    WEB_CALLBACK,
    Account,
    Browser,
    callback_fragment,
    callback_query,
    code_request,
    hidden_fields,
    make_account,
    pkce_pair,
    signed_in,
)
from tests.oauth.test_openid import openid_tokens
from tests.secrets_seen import remember


def openid_request(app: IssuedOAuthClient, scope: str = "openid", **extra: str) -> dict[str, str]:
    _, challenge = pkce_pair()
    return code_request(app, challenge=challenge, scope=scope, state=ODD_STATE, **extra)


ODD_STATE = "st a+te/&?é"


def sign_in_again(browser: Browser, account: Account) -> None:
    """The sign-in form an app's prompt=login leads to, signed in or not."""
    page = browser.http.get("/login", params={"again": "1", "next": "/login"})
    form = {**hidden_fields(page.text), "email": account.email, "password": account.password}
    assert browser.http.post("/login", data=form).status_code == 303
    remember(browser.http.cookies["tessera_session"])


def error_at_callback(answer: httpx.Response) -> dict[str, str]:
    assert answer.status_code == 302, answer.text
    params = callback_query(answer.headers["location"], WEB_CALLBACK)
    assert params["state"] == ODD_STATE
    return params


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"prompt": "none login"}, "invalid_request"),
        ({"max_age": "-5"}, "invalid_request"),
        ({"max_age": "soon"}, "invalid_request"),
        ({"id_token_hint": "not-a-jwt"}, "invalid_request"),
        ({"response_mode": "web_message"}, "invalid_request"),
    ],
)
def test_a_bad_parameter_is_an_error_for_the_app_with_its_state(
    browser: Browser, web_app: IssuedOAuthClient, extra: dict[str, str], error: str
) -> None:
    answer = browser.authorize(openid_request(web_app, **extra))

    assert error_at_callback(answer)["error"] == error


def test_prompt_none_without_a_session_never_shows_a_page_even_without_openid(
    new_browser: Any, web_app: IssuedOAuthClient
) -> None:
    _, challenge = pkce_pair()
    request = code_request(web_app, challenge=challenge, state=ODD_STATE, prompt="none")

    answer = new_browser().authorize(request)

    assert error_at_callback(answer)["error"] == "login_required"


def test_prompt_none_before_any_consent_is_consent_required(
    browser: Browser, web_app: IssuedOAuthClient
) -> None:
    answer = browser.authorize(openid_request(web_app, prompt="none"))

    assert error_at_callback(answer)["error"] == "consent_required"


def test_prompt_none_asking_more_than_was_agreed_is_consent_required(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    openid_tokens(browser, api, web_app, scope="openid")

    wider = browser.authorize(openid_request(web_app, prompt="none", scope="openid email"))

    assert error_at_callback(wider)["error"] == "consent_required"


def test_prompt_none_after_the_person_disconnected_the_app_is_consent_required(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient, services: Services
) -> None:
    body = openid_tokens(browser, api, web_app, scope="openid offline_access")
    revoked = api.post(
        "/oauth/revoke",
        data={"token": body["refresh_token"]},
        auth=(web_app.client.client_id, web_app.secret or ""),
    )
    assert revoked.status_code == 200

    answer = browser.authorize(openid_request(web_app, prompt="none"))

    assert error_at_callback(answer)["error"] == "consent_required"


def test_prompt_consent_shows_the_consent_page_though_the_person_agreed_before(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    openid_tokens(browser, api, web_app, scope="openid")

    page = browser.consent_page(openid_request(web_app, prompt="consent"))

    assert "Grant access to" in page.text


def test_prompt_login_shows_the_sign_in_form_to_someone_signed_in(
    browser: Browser, account: Account, web_app: IssuedOAuthClient
) -> None:
    answer = browser.authorize(openid_request(web_app, prompt="login consent"))

    assert answer.status_code == 303
    login = urlsplit(answer.headers["location"])
    query = dict(parse_qsl(login.query))
    assert (login.path, query["again"]) == ("/login", "1")
    resumed = dict(parse_qsl(urlsplit(query["next"]).query))
    assert resumed["prompt"] == "consent"  # login is met by the sign-in; consent still asked
    assert resumed["state"] == ODD_STATE
    page = browser.http.get(answer.headers["location"])
    assert page.status_code == 200
    assert "asks you to sign in again" in page.text
    assert hidden_fields(page.text)["next"] == [query["next"]]


def test_signing_in_again_replaces_the_browsers_session(
    browser: Browser, account: Account, new_browser: Any
) -> None:
    old_cookie = browser.http.cookies["tessera_session"]

    sign_in_again(browser, account)

    other = new_browser()
    other.http.cookies.set("tessera_session", old_cookie)
    assert other.http.get("/login").text.count('name="password"') == 1  # the old one ended
    assert browser.http.cookies["tessera_session"] != old_cookie


def test_an_id_token_hint_for_someone_else_asks_for_their_sign_in(
    api: httpx.Client,
    browser: Browser,
    web_app: IssuedOAuthClient,
    services: Services,
    new_browser: Any,
) -> None:
    other = make_account(services)
    theirs = openid_tokens(signed_in(new_browser(), other), api, web_app)["id_token"]
    remember(theirs)

    silent = browser.authorize(openid_request(web_app, prompt="none", id_token_hint=theirs))
    asked = browser.authorize(openid_request(web_app, id_token_hint=theirs))

    assert error_at_callback(silent)["error"] == "login_required"
    assert asked.status_code == 303
    assert "again=1" in asked.headers["location"]


def test_an_id_token_hint_issued_to_another_app_is_refused(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient, services: Services
) -> None:
    other_app = make_oauth_client(services, name="Other", redirect_uris=[WEB_CALLBACK])
    theirs = openid_tokens(browser, api, other_app)["id_token"]
    remember(theirs)

    answer = browser.authorize(openid_request(web_app, id_token_hint=theirs))

    assert error_at_callback(answer)["error"] == "invalid_request"


def test_an_expired_id_token_hint_still_names_the_person(
    api: httpx.Client,
    browser: Browser,
    account: Account,
    web_app: IssuedOAuthClient,
    clock: ManualClock,
) -> None:
    hint = openid_tokens(browser, api, web_app)["id_token"]
    remember(hint)
    clock.advance(timedelta(hours=2))  # past the ID token's exp (one hour)
    sign_in_again(browser, account)  # the session may have gone idle meanwhile

    answer = browser.authorize(openid_request(web_app, prompt="none", id_token_hint=hint))

    assert answer.status_code == 302
    assert "code" in callback_query(answer.headers["location"], WEB_CALLBACK)


def test_login_hint_fills_in_the_address_escaped(
    new_browser: Any, web_app: IssuedOAuthClient
) -> None:
    hint = 'x"><script>alert(1)</script>@example.test'

    answer = new_browser().authorize(openid_request(web_app, login_hint=hint))
    page = new_browser().http.get(answer.headers["location"])

    assert answer.status_code == 303
    assert "<script>alert" not in page.text
    prefilled = re.search(r'<input id="email"[^>]* value="([^"]*)"', page.text)
    assert prefilled is not None
    assert html.unescape(prefilled[1]) == hint


def test_the_code_in_the_fragment_when_asked(browser: Browser, web_app: IssuedOAuthClient) -> None:
    location = browser.approve(openid_request(web_app, response_mode="fragment"))

    params = callback_fragment(location, WEB_CALLBACK)
    assert params["code"]
    assert params["state"] == ODD_STATE


def test_form_post_carries_a_refusal_too_under_a_policy_for_the_app_only(
    browser: Browser, web_app: IssuedOAuthClient
) -> None:
    page = browser.decide(
        browser.consent_page(openid_request(web_app, response_mode="form_post")), "deny"
    )

    assert page.status_code == 200
    fields = hidden_fields(page.text)
    assert (fields["error"], fields["state"]) == (["access_denied"], [ODD_STATE])
    assert "code" not in fields
    policy = page.headers["content-security-policy"]
    assert "form-action https://app.example.test;" in policy + ";"
    assert "'self'" not in policy.split("form-action")[1]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert page.headers["cache-control"] == "no-store"


def test_form_post_for_an_error_before_any_page(
    new_browser: Any, web_app: IssuedOAuthClient
) -> None:
    answer = new_browser().authorize(
        openid_request(web_app, prompt="none", response_mode="form_post")
    )

    assert answer.status_code == 200
    fields = hidden_fields(answer.text)
    assert (fields["error"], fields["state"]) == (["login_required"], [ODD_STATE])


def test_form_post_to_an_app_scheme_is_refused_in_the_query(
    browser: Browser, services: Services
) -> None:
    native = make_oauth_client(services, name="Native", redirect_uris=[APP_CALLBACK], public=True)
    _, challenge = pkce_pair()
    request = code_request(
        native, redirect_uri=APP_CALLBACK, challenge=challenge, response_mode="form_post"
    )

    answer = browser.authorize(request)

    assert answer.status_code == 302
    assert callback_query(answer.headers["location"], APP_CALLBACK)["error"] == "invalid_request"


def test_a_token_is_never_put_in_the_query(browser: Browser, services: Services) -> None:
    spa = make_oauth_client(
        services, name="SPA", redirect_uris=[WEB_CALLBACK], grant=GrantType.IMPLICIT
    )
    request = {
        "response_type": "token",
        "client_id": spa.client.client_id,
        "redirect_uri": WEB_CALLBACK,
        "state": secrets.token_urlsafe(8),
        "response_mode": "query",
    }

    answer = browser.authorize(request)

    assert answer.status_code == 302
    params = callback_fragment(answer.headers["location"], WEB_CALLBACK)
    assert params["error"] == "invalid_request"
    assert "access_token" not in answer.headers["location"]


def test_max_age_0_asks_for_a_sign_in_however_fresh_the_session(
    browser: Browser, web_app: IssuedOAuthClient
) -> None:
    answer = browser.authorize(openid_request(web_app, max_age="0"))

    assert answer.status_code == 303
    login = dict(parse_qsl(urlsplit(answer.headers["location"]).query))
    assert login["again"] == "1"
    assert "max_age" not in dict(parse_qsl(urlsplit(login["next"]).query))
