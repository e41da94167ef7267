"""PKCE (RFC 7636, S256 only) and authorization codes: single use, 60 s, bound to their request."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest

from tessera.services.container import Services
from tessera.services.oauth_clients import IssuedOAuthClient
from tests.clock import ManualClock
from tests.factories import make_oauth_client
from tests.oauth.flows import (
    APP_CALLBACK,
    WEB_CALLBACK,
    Browser,
    callback_query,
    code_request,
    exchange,
    issue_code,
    me,
    pkce_pair,
    refresh,
    tokens_of,
)
from tests.web.envelopes import INVALID_API_TOKEN, assert_error, data_of

OTHER_CALLBACK = "https://app.example.test/other"


@pytest.fixture
def mobile_app(services: Services) -> IssuedOAuthClient:
    return make_oauth_client(services, name="Mobile", redirect_uris=[APP_CALLBACK], public=True)


def assert_token_error(response: httpx.Response, error: str) -> None:
    assert (response.status_code, response.json()["error"]) == (400, error), response.text
    assert response.headers["Cache-Control"] == "no-store"
    assert "access_token" not in response.json()


def assert_error_redirect(location: str, redirect_uri: str, error: str, state: str) -> None:
    params = callback_query(location, redirect_uri)
    assert (params["error"], params["state"]) == (error, state), params
    assert "code" not in params


# -- PKCE -----------------------------------------------------------------------------------


def test_a_public_client_without_a_code_challenge_is_sent_back_with_invalid_request(
    browser: Browser, mobile_app: IssuedOAuthClient
) -> None:
    answer = browser.authorize(code_request(mobile_app, redirect_uri=APP_CALLBACK, state="st"))

    assert answer.status_code == 302, answer.text
    assert_error_redirect(answer.headers["location"], APP_CALLBACK, "invalid_request", "st")


@pytest.mark.parametrize(
    "method", [{"code_challenge_method": "plain"}, {}, {"code_challenge_method": "s256"}]
)
@pytest.mark.parametrize("public", [True, False], ids=["public", "confidential"])
def test_a_challenge_that_is_not_s256_is_refused(
    services: Services, browser: Browser, public: bool, method: dict[str, str]
) -> None:
    redirect_uri = APP_CALLBACK if public else WEB_CALLBACK
    app = make_oauth_client(services, redirect_uris=[redirect_uri], public=public)
    _, challenge = pkce_pair()
    params = code_request(app, redirect_uri=redirect_uri, code_challenge=challenge, **method)

    answer = browser.authorize(params)

    assert answer.status_code == 302, answer.text
    assert_error_redirect(answer.headers["location"], redirect_uri, "invalid_request", "xyz")


@pytest.mark.parametrize("challenge", ["short", "A" * 129, "A" * 42 + "!"])
def test_a_malformed_challenge_is_refused(
    browser: Browser, web_app: IssuedOAuthClient, challenge: str
) -> None:
    params = code_request(web_app) | {"code_challenge": challenge, "code_challenge_method": "S256"}

    answer = browser.authorize(params)

    assert answer.status_code == 302, answer.text
    assert_error_redirect(answer.headers["location"], WEB_CALLBACK, "invalid_request", "xyz")


def test_a_challenge_without_its_verifier_at_the_token_endpoint_is_refused(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    _, challenge = pkce_pair()
    code = issue_code(browser, web_app, challenge=challenge)

    assert_token_error(exchange(api, web_app, code), "invalid_request")


def test_a_public_client_without_a_verifier_is_refused(
    api: httpx.Client, browser: Browser, mobile_app: IssuedOAuthClient
) -> None:
    _, challenge = pkce_pair()
    code = issue_code(browser, mobile_app, redirect_uri=APP_CALLBACK, challenge=challenge)

    assert_token_error(
        exchange(api, mobile_app, code, redirect_uri=APP_CALLBACK), "invalid_request"
    )


def test_a_verifier_without_a_challenge_is_refused(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    # RFC 9700 §4.8.2: else an attacker's injected code passes with any verifier.
    verifier, _ = pkce_pair()
    code = issue_code(browser, web_app)

    assert_token_error(exchange(api, web_app, code, verifier=verifier), "invalid_request")


@pytest.mark.parametrize("public", [True, False], ids=["public", "confidential"])
def test_a_wrong_verifier_is_invalid_grant(
    api: httpx.Client, services: Services, browser: Browser, public: bool
) -> None:
    redirect_uri = APP_CALLBACK if public else WEB_CALLBACK
    app = make_oauth_client(services, redirect_uris=[redirect_uri], public=public)
    _, challenge = pkce_pair()
    wrong, _ = pkce_pair()
    code = issue_code(browser, app, redirect_uri=redirect_uri, challenge=challenge)

    answer = exchange(api, app, code, redirect_uri=redirect_uri, verifier=wrong)

    assert_token_error(answer, "invalid_grant")


def test_a_confidential_client_without_pkce_still_completes_the_flow(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    code = issue_code(browser, web_app)

    data_of(me(api, tokens_of(exchange(api, web_app, code)).access))


# -- codes ----------------------------------------------------------------------------------


def test_a_code_works_once_and_its_replay_revokes_what_it_issued(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    verifier, challenge = pkce_pair()
    code = issue_code(browser, web_app, challenge=challenge)
    first = tokens_of(exchange(api, web_app, code, verifier=verifier))
    data_of(me(api, first.access))

    assert_token_error(exchange(api, web_app, code, verifier=verifier), "invalid_grant")

    assert_error(me(api, first.access), INVALID_API_TOKEN)
    assert_token_error(refresh(api, web_app, first.refresh), "invalid_grant")


def test_of_concurrent_exchanges_of_one_code_exactly_one_wins(
    api: httpx.Client, server: str, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    verifier, challenge = pkce_pair()
    code = issue_code(browser, web_app, challenge=challenge)

    def attempt(_: int) -> httpx.Response:
        with httpx.Client(base_url=server, timeout=60) as racer:
            return exchange(racer, web_app, code, verifier=verifier)

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(attempt, range(6)))

    winners = [answer for answer in answers if answer.status_code == 200]
    assert len(winners) == 1, [answer.text for answer in answers]
    for answer in answers:
        if answer is not winners[0]:
            assert_token_error(answer, "invalid_grant")
    # The others were replays: what the winner got is revoked too.
    assert_error(me(api, winners[0].json()["access_token"]), INVALID_API_TOKEN)


def test_a_failed_exchange_spends_the_code(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    verifier, challenge = pkce_pair()
    wrong, _ = pkce_pair()
    code = issue_code(browser, web_app, challenge=challenge)
    assert_token_error(exchange(api, web_app, code, verifier=wrong), "invalid_grant")

    assert_token_error(exchange(api, web_app, code, verifier=verifier), "invalid_grant")


def test_a_code_older_than_60_seconds_is_refused(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient, clock: ManualClock
) -> None:
    verifier, challenge = pkce_pair()
    code = issue_code(browser, web_app, challenge=challenge)

    clock.advance(timedelta(seconds=61))

    assert_token_error(exchange(api, web_app, code, verifier=verifier), "invalid_grant")


def test_a_code_59_seconds_old_still_works(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient, clock: ManualClock
) -> None:
    verifier, challenge = pkce_pair()
    code = issue_code(browser, web_app, challenge=challenge)

    clock.advance(timedelta(seconds=59))

    tokens_of(exchange(api, web_app, code, verifier=verifier))


@pytest.mark.parametrize("thief_is_public", [False, True], ids=["confidential", "public"])
def test_a_code_of_one_client_is_useless_to_another(
    api: httpx.Client,
    services: Services,
    browser: Browser,
    web_app: IssuedOAuthClient,
    thief_is_public: bool,
) -> None:
    thief = make_oauth_client(
        services, name="Thief", redirect_uris=[WEB_CALLBACK], public=thief_is_public
    )
    verifier, challenge = pkce_pair()
    code = issue_code(browser, web_app, challenge=challenge)

    assert_token_error(exchange(api, thief, code, verifier=verifier), "invalid_grant")


@pytest.mark.parametrize("presented", [OTHER_CALLBACK, WEB_CALLBACK + "/", None])
def test_a_code_is_bound_to_the_redirect_uri_it_was_sent_to(
    api: httpx.Client, services: Services, browser: Browser, presented: str | None
) -> None:
    app = make_oauth_client(services, redirect_uris=[WEB_CALLBACK, OTHER_CALLBACK])
    verifier, challenge = pkce_pair()
    location = browser.approve(code_request(app, challenge=challenge))
    code = callback_query(location, WEB_CALLBACK)["code"]
    data = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier}
    if presented is not None:
        data["redirect_uri"] = presented
    secret = app.secret
    assert secret is not None

    answer = api.post("/oauth/token", data=data, auth=(app.client.client_id, secret))

    assert_token_error(answer, "invalid_grant")


@pytest.mark.parametrize("code", ["", "x", "A" * 5000, "1:ABC"])
def test_a_made_up_code_is_invalid(
    api: httpx.Client, web_app: IssuedOAuthClient, code: str
) -> None:
    assert_token_error(exchange(api, web_app, code), "invalid_grant")
