"""Console forms and cookies, as a security reviewer checks them (issue #16 §2).

The CSRF token is bound to the session and its secret replaced at sign-in; a form must come
from our origin; behind a trusted proxy that says https, cookies are ``Secure`` and
``__Host-``-prefixed, and only those names are read; pages allow forms to ourselves only, the
consent page to the app it answers as well.
"""

from collections.abc import Callable
from http.cookies import SimpleCookie

import httpx

from tessera.services.container import Services
from tessera.web.cookies import bound_csrf_token
from tests.conftest import served
from tests.factories import make_oauth_client
from tests.oauth.flows import (
    APP_CALLBACK,
    Account,
    Browser,
    code_request,
    csrf_token_of,
    hidden_fields,
    make_account,
    pkce_pair,
    signed_in,
)
from tests.secrets_seen import remember


def test_the_token_changes_at_sign_in_and_the_old_one_no_longer_passes(
    new_browser: Callable[[], Browser], account: Account
) -> None:
    browser = new_browser()
    before = hidden_fields(browser.http.get("/login").text)["csrf_token"][0]
    secret_before = browser.http.cookies["tessera_csrf"]

    signed_in(browser, account)

    assert browser.http.cookies["tessera_csrf"] != secret_before  # rotated at sign-in
    after = csrf_token_of(browser.http.cookies)
    assert after != before
    refused = browser.http.post("/logout", data={"csrf_token": before})
    assert refused.headers["location"] == "/login"
    assert browser.http.get("/console").status_code == 200  # the stale token signed nobody out
    browser.http.post("/logout", data={"csrf_token": after})
    assert browser.http.get("/console").status_code == 303  # the right one did


def test_a_token_bound_to_another_session_does_not_pass(
    new_browser: Callable[[], Browser], account: Account
) -> None:
    browser = signed_in(new_browser(), account)
    other = bound_csrf_token(browser.http.cookies["tessera_csrf"], "another-session-cookie")
    own = csrf_token_of(browser.http.cookies)

    # Signing out everywhere through the API, on the strength of the session cookie alone.
    refused = browser.http.delete("/api/v2/me/sessions", headers={"X-DeskPRO-Request-Token": other})
    still = browser.http.get("/console").status_code
    done = browser.http.delete("/api/v2/me/sessions", headers={"X-DeskPRO-Request-Token": own})

    assert refused.status_code == 401
    assert still == 200
    assert done.status_code in (200, 204), done.text
    assert browser.http.get("/console").status_code == 303


def test_a_form_from_another_origin_is_refused_even_with_the_token(
    new_browser: Callable[[], Browser], account: Account
) -> None:
    browser = signed_in(new_browser(), account)
    token = csrf_token_of(browser.http.cookies)

    for origin in ("https://evil.example", "null"):
        answer = browser.http.post(
            "/logout", data={"csrf_token": token}, headers={"Origin": origin}
        )
        assert answer.status_code == 303
        assert browser.http.get("/console").status_code == 200, origin  # still signed in
    own = browser.http.base_url.scheme + "://" + browser.http.base_url.netloc.decode()
    browser.http.post("/logout", data={"csrf_token": token}, headers={"Origin": own})
    assert browser.http.get("/console").status_code == 303


def test_pages_send_forms_only_to_us_and_consent_also_to_its_app(
    new_browser: Callable[[], Browser], account: Account, services: Services
) -> None:
    browser = signed_in(new_browser(), account)
    login_csp = browser.http.get("/login?next=/console").headers["Content-Security-Policy"]
    assert login_csp.endswith("form-action 'self'")
    app = make_oauth_client(services, name="Phone", redirect_uris=[APP_CALLBACK], public=True)
    _, challenge = pkce_pair()
    consent = browser.http.get(
        "/oauth/authorize", params=code_request(app, redirect_uri=APP_CALLBACK, challenge=challenge)
    )

    assert consent.status_code == 200, consent.text
    assert consent.headers["Content-Security-Policy"].endswith(
        "form-action 'self' com.example.app:"
    )


def test_behind_https_cookies_are_secure_host_prefixed_and_only_those_are_read(
    database_url: str,
) -> None:
    with served(database_url, trusted_proxies="127.0.0.1") as (runtime, api):
        account = make_account(runtime.services)
        https = {"X-Forwarded-Proto": "https"}
        page = api.get("/login", headers=https)
        jar = _cookies(page)
        assert list(jar) == ["__Host-tessera_csrf"]
        form = {**hidden_fields(page.text), "email": account.email, "password": account.password}
        answer = api.post("/login", data=form, headers={**https, "Cookie": _header(jar)})
        jar.update(_cookies(answer))
        remember(jar["__Host-tessera_session"].value)

        signed = api.get("/console", headers={**https, "Cookie": _header(jar)})
        plain = {"tessera_session": jar["__Host-tessera_session"].value}
        unprefixed = api.get("/console", headers={**https, "Cookie": _plain_header(plain)})

    assert answer.status_code == 303, answer.text
    for name in ("__Host-tessera_session", "__Host-tessera_csrf"):
        assert jar[name]["secure"] is True
        assert jar[name]["path"] == "/"
        assert not jar[name]["domain"]
    assert signed.status_code == 200
    assert unprefixed.status_code == 303  # the unprefixed name is not read over https


def _cookies(response: httpx.Response) -> SimpleCookie:
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        jar.load(header)
    return jar


def _header(jar: SimpleCookie) -> str:
    return "; ".join(f"{name}={morsel.value}" for name, morsel in jar.items())


def _plain_header(values: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in values.items())
