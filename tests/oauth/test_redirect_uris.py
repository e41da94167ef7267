"""Redirect URIs (RFC 9700 §4.1, RFC 8252 §7.3): exact match, or never a redirect at all.

An authorization request whose client or redirect URI cannot be verified is answered with our
own HTML error page (400, no Location): sending the browser, code or error to an unverified URI
is how codes are stolen. The only freedom is the port of a loopback redirect. Plain http to
another host works only while the operator's switch is on (decision 17).
"""

import logging
from collections.abc import Callable

import httpx
import pytest

from tessera.app import create_app
from tessera.services.container import Services
from tessera.services.oauth_clients import IssuedOAuthClient
from tests.conftest import extra_runtime
from tests.factories import make_oauth_client
from tests.live import serving
from tests.oauth.flows import (
    APP_CALLBACK,
    LOOPBACK_CALLBACK,
    WEB_CALLBACK,
    Account,
    Browser,
    callback_query,
    code_request,
    exchange,
    hidden_fields,
    is_error_page,
    pkce_pair,
    signed_in,
    tokens_of,
)

LEGACY_CALLBACK = "http://legacy.example.test/callback"
SWITCH_ANNOUNCED = "TESSERA_OAUTH_ALLOW_INSECURE_REDIRECTS is on"

#: Each is one trick away from a registered URI (see ``REGISTERED``).
NEAR_MISSES = [
    ("https://app.example.test/callback?next=https://evil.test", "extra-query"),
    ("https://app.example.test/callback?", "empty-query"),
    ("https://app.example.test/callback;jsessionid=1", "params"),
    ("https://user@app.example.test/callback", "userinfo"),
    ("https://app.example.test@evil.test/callback", "userinfo-host-swap"),
    ("https://app.example.test/callback#frag", "fragment"),
    ("https://app.example.test/callback#", "empty-fragment"),
    ("https://APP.example.test/callback", "host-case"),
    ("HTTPS://app.example.test/callback", "scheme-case"),
    ("https://app.example.test/Callback", "path-case"),
    ("https://app.example.test%2Fcallback", "encoded-slash-host"),
    ("https://app.example.test/callback%2F..%2Fevil", "encoded-slash-path"),
    ("https://app.example.test/callback/", "trailing-slash"),
    ("https://app.example.test/callback/../callback", "dot-segments"),
    ("https://app.example.test./callback", "trailing-dot-host"),
    ("https://app.example.test:443/callback", "explicit-port"),
    ("https://app.example.test:8443/callback", "other-port"),
    ("http://app.example.test/callback", "other-scheme"),
    ("https://evil.test/callback", "other-host"),
    ("https://app.example.test.evil.test/callback", "host-suffix"),
    (" https://app.example.test/callback", "leading-blank"),
    ("https://app.example.test/callback%00", "nul"),
    ("http://localhost:8080/cb", "localhost-for-127.0.0.1"),
    ("http://127.0.0.2:8080/cb", "other-loopback-ip"),
    ("http://[::1]:8080/cb", "ipv6-for-ipv4-loopback"),
    ("https://127.0.0.1:8080/cb", "loopback-other-scheme"),
    ("http://127.0.0.1:8080/cb?x=1", "loopback-extra-query"),
    ("http://127.0.0.1:8080/cb#x", "loopback-fragment"),
    ("http://127.0.0.1:8080/cb/", "loopback-trailing-slash"),
    ("http://127.0.0.1:8080/CB", "loopback-path-case"),
    ("http://user@127.0.0.1:8080/cb", "loopback-userinfo"),
    ("http://127.0.0.1:8080@evil.test/cb", "loopback-userinfo-host-swap"),
    ("http://127.0.0.1.evil.test:8080/cb", "loopback-host-suffix"),
    ("http://127.0.0.1:08080/cb", "loopback-zero-padded-port"),
    ("http://127.0.0.1:99999/cb", "loopback-port-out-of-range"),
    ("http://127.0.0.1:/cb", "loopback-empty-port"),
    ("http://127.0.0.1:8080%2Fcb", "loopback-encoded-slash"),
    ("com.example.app:/callback/", "custom-scheme-trailing-slash"),
    ("com.example.app://callback", "custom-scheme-authority"),
    ("COM.EXAMPLE.APP:/callback", "custom-scheme-case"),
    ("com.example.app:/callback?x=1", "custom-scheme-extra-query"),
    ("com.example.evil:/callback", "other-custom-scheme"),
]
REGISTERED = [WEB_CALLBACK, LOOPBACK_CALLBACK, APP_CALLBACK]


@pytest.fixture
def multi_app(services: Services) -> IssuedOAuthClient:
    """A confidential app with three registered redirect URIs of the three kinds."""
    return make_oauth_client(services, name="Multi", redirect_uris=REGISTERED)


def test_an_unknown_client_gets_the_error_page(
    browser: Browser, web_app: IssuedOAuthClient
) -> None:
    for client_id in ("1_nosuchclient", f"{web_app.client.client_id}x", "", "not an id"):
        params = code_request(web_app, client_id=client_id)

        assert is_error_page(browser.authorize(params)), client_id


@pytest.mark.parametrize(
    "broken",
    [
        {"client_id": "1_nosuchclient"},
        {"client_id": ""},
        {"redirect_uri": "https://evil.test/steal"},
        {"redirect_uri": "http://localhost:8080/cb"},
    ],
    ids=["unknown-client", "no-client", "unregistered-uri", "near-miss-uri"],
)
def test_a_request_that_cannot_succeed_is_refused_before_anyone_signs_in(
    new_browser: Callable[[], Browser], web_app: IssuedOAuthClient, broken: dict[str, str]
) -> None:
    answer = new_browser().authorize(code_request(web_app, **broken))

    assert is_error_page(answer), (answer.status_code, answer.headers)


def test_an_error_for_the_app_goes_back_to_it_before_anyone_signs_in(
    new_browser: Callable[[], Browser], services: Services
) -> None:
    mobile = make_oauth_client(services, redirect_uris=[APP_CALLBACK], public=True)

    answer = new_browser().authorize(code_request(mobile, redirect_uri=APP_CALLBACK))

    assert answer.status_code == 302
    assert callback_query(answer.headers["location"], APP_CALLBACK)["error"] == "invalid_request"


@pytest.mark.parametrize("response_type", ["cod\u00e9", "code\x0c", "\U000f0000"])
def test_an_unprintable_response_type_goes_back_to_the_app_as_unsupported(
    new_browser: Callable[[], Browser], web_app: IssuedOAuthClient, response_type: str
) -> None:
    # Authlib echoes it into an error description that may not hold such characters (a 500).
    answer = new_browser().authorize(code_request(web_app, response_type=response_type))

    assert answer.status_code == 302
    error = callback_query(answer.headers["location"], WEB_CALLBACK)
    assert error["error"] == "unsupported_response_type"
    assert error["state"] == "xyz"


def test_an_unprintable_response_type_of_an_unknown_client_gets_the_error_page(
    new_browser: Callable[[], Browser],
) -> None:
    answer = new_browser().authorize({"response_type": "\u00e9", "client_id": "nobody"})

    assert is_error_page(answer)


def test_a_valid_request_from_a_stranger_goes_to_the_sign_in_page(
    new_browser: Callable[[], Browser], web_app: IssuedOAuthClient
) -> None:
    answer = new_browser().authorize(code_request(web_app, challenge=pkce_pair()[1]))

    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=")


def test_a_disabled_app_is_refused_before_anyone_signs_in(
    new_browser: Callable[[], Browser], services: Services
) -> None:
    app = make_oauth_client(services, redirect_uris=[WEB_CALLBACK], enabled=False)

    assert is_error_page(new_browser().authorize(code_request(app)))


def test_a_missing_client_id_gets_the_error_page(browser: Browser) -> None:
    answer = browser.authorize({"response_type": "code", "redirect_uri": WEB_CALLBACK})

    assert is_error_page(answer)


def test_a_missing_redirect_uri_gets_the_error_page_when_several_are_registered(
    browser: Browser, multi_app: IssuedOAuthClient
) -> None:
    assert is_error_page(browser.authorize(code_request(multi_app, redirect_uri=None)))


def test_an_unregistered_redirect_uri_gets_the_error_page(
    browser: Browser, web_app: IssuedOAuthClient
) -> None:
    answer = browser.authorize(code_request(web_app, redirect_uri="https://evil.test/steal"))

    assert is_error_page(answer)
    assert "evil.test" not in answer.headers.get("location", "")


@pytest.mark.parametrize(
    "redirect_uri", [uri for uri, _ in NEAR_MISSES], ids=[name for _, name in NEAR_MISSES]
)
def test_a_near_miss_of_a_registered_redirect_uri_gets_the_error_page(
    browser: Browser, multi_app: IssuedOAuthClient, redirect_uri: str
) -> None:
    # Errors that would otherwise go back to the app must not go to a near miss either.
    for extra in ({}, {"code_challenge_method": "plain"}, {"response_type": "bogus"}):
        answer = browser.authorize(code_request(multi_app, redirect_uri=redirect_uri, **extra))

        assert is_error_page(answer), (extra, answer.status_code, answer.headers)


@pytest.mark.parametrize("repeated", ["client_id", "redirect_uri", "response_type", "state"])
def test_a_repeated_parameter_gets_the_error_page(
    browser: Browser, multi_app: IssuedOAuthClient, repeated: str
) -> None:
    params = {name: [value] for name, value in code_request(multi_app).items()}
    params[repeated].append(APP_CALLBACK if repeated == "redirect_uri" else "other")

    answer = browser.http.get("/oauth/authorize", params=params)

    assert is_error_page(answer), answer.text


def test_a_tampered_redirect_uri_in_the_consent_form_gets_the_error_page(
    browser: Browser, web_app: IssuedOAuthClient
) -> None:
    page = browser.consent_page(code_request(web_app))
    form = hidden_fields(page.text) | {
        "redirect_uri": ["https://evil.test/steal"],
        "decision": ["accept"],
    }

    answer = browser.http.post("/oauth/authorize", data=form)

    assert is_error_page(answer)


@pytest.mark.parametrize("port", ["8080", "1", "51234", "65535"])
def test_a_loopback_redirect_may_use_any_port(
    api: httpx.Client, browser: Browser, multi_app: IssuedOAuthClient, port: str
) -> None:
    redirect_uri = f"http://127.0.0.1:{port}/cb"
    verifier, challenge = pkce_pair()
    location = browser.approve(
        code_request(multi_app, redirect_uri=redirect_uri, challenge=challenge)
    )
    code = callback_query(location, redirect_uri)["code"]

    tokens_of(exchange(api, multi_app, code, redirect_uri=redirect_uri, verifier=verifier))


def test_a_loopback_redirect_without_a_port_matches_a_registration_with_one(
    browser: Browser, multi_app: IssuedOAuthClient
) -> None:
    location = browser.approve(code_request(multi_app, redirect_uri="http://127.0.0.1/cb"))

    assert "code" in callback_query(location, "http://127.0.0.1/cb")


def test_a_client_with_one_registered_uri_may_leave_redirect_uri_out(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    # Deskpro's rule; RFC 6749 §4.1.3 then wants no redirect_uri at the token endpoint either.
    verifier, challenge = pkce_pair()
    location = browser.approve(code_request(web_app, redirect_uri=None, challenge=challenge))
    code = callback_query(location, WEB_CALLBACK)["code"]

    data = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier}
    secret = web_app.secret
    assert secret is not None
    tokens_of(api.post("/oauth/token", data=data, auth=(web_app.client.client_id, secret)))


# -- localhost (decision 17) ----------------------------------------------------------------


@pytest.mark.parametrize("port", ["6274", "51234", None])
def test_localhost_takes_any_port(
    api: httpx.Client, browser: Browser, services: Services, port: str | None
) -> None:
    app = make_oauth_client(services, redirect_uris=["http://localhost/cb"], public=True)
    redirect_uri = f"http://localhost:{port}/cb" if port else "http://localhost/cb"
    verifier, challenge = pkce_pair()

    location = browser.approve(code_request(app, redirect_uri=redirect_uri, challenge=challenge))

    code = callback_query(location, redirect_uri)["code"]
    tokens_of(exchange(api, app, code, redirect_uri=redirect_uri, verifier=verifier))


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://127.0.0.1:6274/cb",
        "http://[::1]:6274/cb",
        "http://LOCALHOST:6274/cb",
        "http://localhost.:6274/cb",
        "http://localhost.evil.test:6274/cb",
        "https://localhost:6274/cb",
        "http://localhost:6274/cb/",
        "http://user@localhost:6274/cb",
    ],
)
def test_localhost_is_matched_as_written_only(
    browser: Browser, services: Services, redirect_uri: str
) -> None:
    # One loopback name is not another: the app uses what it registered (RFC 9700 §4.1.3).
    app = make_oauth_client(services, redirect_uris=["http://localhost/cb"], public=True)

    answer = browser.authorize(code_request(app, redirect_uri=redirect_uri, challenge="x" * 43))

    assert is_error_page(answer), (answer.status_code, answer.headers)


# -- the operator's switch for plain http (decision 17) ------------------------------------


def test_plain_http_to_another_host_is_used_only_while_the_operator_allows_it(
    database_url: str, browser: Browser, account: Account
) -> None:
    with (
        extra_runtime(database_url, oauth_allow_insecure_redirects=True) as permissive,
        serving(create_app(runtime=permissive)) as url,
    ):
        legacy = make_oauth_client(permissive.services, redirect_uris=[LEGACY_CALLBACK])
        allowing = signed_in(Browser(url), account)
        try:
            explicit = allowing.approve(code_request(legacy, redirect_uri=LEGACY_CALLBACK))
            implied = allowing.approve(code_request(legacy, redirect_uri=None))
        finally:
            allowing.close()
        # The same app on a server with the switch off (the default): never a redirect there.
        refused = [
            browser.authorize(code_request(legacy, redirect_uri=LEGACY_CALLBACK)),
            browser.authorize(code_request(legacy, redirect_uri=None)),
        ]

    assert "code" in callback_query(explicit, LEGACY_CALLBACK)
    assert "code" in callback_query(implied, LEGACY_CALLBACK)
    for answer in refused:
        assert is_error_page(answer), (answer.status_code, answer.headers)


@pytest.mark.parametrize("switched_on", [True, False])
def test_the_switch_is_announced_once_at_start(
    database_url: str, caplog: pytest.LogCaptureFixture, switched_on: bool
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="tessera.app"),
        extra_runtime(database_url, oauth_allow_insecure_redirects=switched_on) as runtime,
        serving(create_app(runtime=runtime)),
    ):
        pass

    announced = [r for r in caplog.records if SWITCH_ANNOUNCED in r.getMessage()]
    assert [r.levelno for r in announced] == ([logging.WARNING] if switched_on else [])
