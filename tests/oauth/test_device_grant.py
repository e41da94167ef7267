"""The device authorization grant (RFC 8628) end to end: a device asks, a person approves on
/device in their browser, the device polls the token endpoint.

Each of Authlib's gaps (ADR 0040) has its test here: an unknown device code is
``invalid_grant``, a device code gives tokens once (racing polls included), ``slow_down`` is
tracked per device code across requests, and the device endpoint refuses clients not allowed
the grant.
"""

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest

from tessera.bootstrap import Runtime
from tessera.core.audit import AuditFilters
from tessera.core.oauth_clients import ClientContext
from tessera.core.paging import PageRequest
from tessera.services.container import Services
from tessera.services.oauth_clients import IssuedOAuthClient
from tests.clock import ManualClock
from tests.conftest import served
from tests.factories import make_oauth_client
from tests.oauth.device_flows import (
    DEVICE_AUTHORIZATION,
    DEVICE_GRANT,
    TOKEN,
    answer,
    approve,
    enter_code,
    error_of,
    is_user_code,
    make_device_client,
    poll,
    start,
)
from tests.oauth.flows import (
    Account,
    Browser,
    hidden_fields,
    make_account,
    me,
    post_as,
    refresh,
    signed_in,
    tokens_of,
)
from tests.secrets_seen import remember


@pytest.fixture
def device_client(services: Services) -> IssuedOAuthClient:
    """A public client allowed the device grant: what a TV or a command-line tool is."""
    return make_device_client(services)


def test_the_whole_flow_gives_tokens_that_work(
    api: httpx.Client, device_client: IssuedOAuthClient, browser: Browser
) -> None:
    started = start(api, device_client)

    assert is_user_code(started["user_code"])
    assert started["verification_uri"] == "http://helpdesk.test/device"
    assert started["verification_uri_complete"] == (
        f"http://helpdesk.test/device?user_code={started['user_code']}"
    )
    assert (started["expires_in"], started["interval"]) == (600, 5)
    assert len(started["device_code"]) >= 40
    # Lower case, no dash, a blank: typed as people type it.
    typed = started["user_code"].lower().replace("-", " ")
    confirmation = enter_code(browser, typed)
    assert confirmation.status_code == 200, confirmation.text
    assert "Connect TV App?" in confirmation.text
    assert "never enter a code someone" in confirmation.text
    assert started["user_code"] in confirmation.text
    done = answer(browser, confirmation, "accept")
    assert (done.status_code, "TV App is connected" in done.text) == (200, True)

    tokens = tokens_of(poll(api, device_client, started["device_code"]))

    assert me(api, tokens.access).json()["data"]["auth_method"] == "api_token"
    # A device client refreshes like any other.
    assert refresh(api, device_client, tokens.refresh).status_code == 200


def test_a_confidential_device_client_authenticates_with_its_secret(
    api: httpx.Client, services: Services, browser: Browser
) -> None:
    client = make_device_client(services, public=False)
    started = start(api, client)
    approve(browser, started["user_code"])

    assert poll(api, client, started["device_code"]).status_code == 200
    wrong = api.post(
        TOKEN,
        data={"grant_type": DEVICE_GRANT, "device_code": started["device_code"]},
        auth=(client.client.client_id, "not the secret"),
    )
    assert error_of(wrong) == (401, "invalid_client")


def test_before_the_person_answers_the_device_is_told_to_wait(
    api: httpx.Client, device_client: IssuedOAuthClient, browser: Browser
) -> None:
    started = start(api, device_client)
    # verification_uri_complete only fills the form in: nothing is approved by opening it.
    page = browser.http.get(
        started["verification_uri_complete"].replace("http://helpdesk.test", "")
    )
    assert page.status_code == 200
    assert f'value="{started["user_code"]}"' in page.text

    assert error_of(poll(api, device_client, started["device_code"])) == (
        400,
        "authorization_pending",
    )


def test_polling_too_fast_slows_the_device_down_by_five_seconds_each_time(
    api: httpx.Client, device_client: IssuedOAuthClient, clock: ManualClock
) -> None:
    device_code = start(api, device_client)["device_code"]

    assert error_of(poll(api, device_client, device_code))[1] == "authorization_pending"
    assert error_of(poll(api, device_client, device_code))[1] == "slow_down"  # interval now 10 s
    clock.advance(timedelta(seconds=6))
    assert error_of(poll(api, device_client, device_code))[1] == "slow_down"  # now 15 s
    clock.advance(timedelta(seconds=11))
    assert error_of(poll(api, device_client, device_code))[1] == "slow_down"  # 11 < 15: 20 s
    clock.advance(timedelta(seconds=21))
    assert error_of(poll(api, device_client, device_code))[1] == "authorization_pending"


def test_slow_down_is_counted_per_device_code(
    api: httpx.Client, device_client: IssuedOAuthClient
) -> None:
    first, second = start(api, device_client), start(api, device_client)

    poll(api, device_client, first["device_code"])

    assert error_of(poll(api, device_client, second["device_code"]))[1] == "authorization_pending"


def test_a_denied_request_is_access_denied(
    api: httpx.Client,
    services: Services,
    device_client: IssuedOAuthClient,
    browser: Browser,
    account: Account,
) -> None:
    started = start(api, device_client)

    done = answer(browser, enter_code(browser, started["user_code"]), "deny")

    assert (done.status_code, "Request denied" in done.text) == (200, True)
    assert error_of(poll(api, device_client, started["device_code"])) == (400, "access_denied")
    # The code is answered: typing it again leads nowhere.
    assert enter_code(browser, started["user_code"]).status_code == 400
    denied = services.audit.list(
        AuditFilters(person_id=account.person.id, kind="oauth_device.denied"), PageRequest(1, 5)
    )
    assert [event.detail["oauth_client_id"] for event in denied.items] == [
        device_client.client.client_id
    ]


def test_an_approval_is_audited(
    api: httpx.Client,
    services: Services,
    device_client: IssuedOAuthClient,
    browser: Browser,
    account: Account,
) -> None:
    approve(browser, start(api, device_client)["user_code"])

    approved = services.audit.list(
        AuditFilters(person_id=account.person.id, kind="oauth_device.approved"), PageRequest(1, 5)
    )
    assert len(approved.items) == 1
    assert approved.items[0].actor_person_id == account.person.id


def test_an_expired_device_code_is_expired_token_and_its_user_code_is_refused(
    api: httpx.Client, device_client: IssuedOAuthClient, browser: Browser, clock: ManualClock
) -> None:
    started = start(api, device_client)
    clock.advance(timedelta(minutes=10, seconds=1))

    assert error_of(poll(api, device_client, started["device_code"])) == (400, "expired_token")
    page = enter_code(browser, started["user_code"])
    assert (page.status_code, "expired" in page.text) == (400, True)


def test_a_device_code_gives_tokens_once(
    api: httpx.Client, device_client: IssuedOAuthClient, browser: Browser
) -> None:
    started = start(api, device_client)
    approve(browser, started["user_code"])
    assert poll(api, device_client, started["device_code"]).status_code == 200

    assert error_of(poll(api, device_client, started["device_code"])) == (400, "invalid_grant")


def test_an_unknown_device_code_is_invalid_grant(
    api: httpx.Client, device_client: IssuedOAuthClient
) -> None:
    assert error_of(poll(api, device_client, "NOT-A-DEVICE-CODE")) == (400, "invalid_grant")
    missing = post_as(api, device_client, TOKEN, {"grant_type": DEVICE_GRANT})
    assert error_of(missing) == (400, "invalid_request")


def test_another_clients_device_code_is_invalid_grant(
    api: httpx.Client, services: Services, device_client: IssuedOAuthClient, browser: Browser
) -> None:
    started = start(api, device_client)
    approve(browser, started["user_code"])
    other = make_device_client(services, name="Other TV")

    assert error_of(poll(api, other, started["device_code"])) == (400, "invalid_grant")
    assert poll(api, device_client, started["device_code"]).status_code == 200


def test_racing_polls_after_approval_get_one_token(
    api: httpx.Client, device_client: IssuedOAuthClient, browser: Browser
) -> None:
    started = start(api, device_client)
    approve(browser, started["user_code"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(
            pool.map(lambda _: poll(api, device_client, started["device_code"]), range(8))
        )

    codes = sorted(answer.status_code for answer in answers)
    assert codes == [200] + [400] * 7
    assert {answer.json()["error"] for answer in answers if answer.status_code == 400} == {
        "invalid_grant"
    }


def test_a_client_without_the_grant_type_is_refused(
    api: httpx.Client, services: Services, web_app: IssuedOAuthClient
) -> None:
    asked = post_as(api, web_app, DEVICE_AUTHORIZATION, {})
    assert error_of(asked) == (400, "unauthorized_client")

    polled = post_as(api, web_app, TOKEN, {"grant_type": DEVICE_GRANT, "device_code": "x" * 40})
    assert error_of(polled) == (400, "unauthorized_client")


def test_a_device_client_cannot_use_the_authorization_endpoint(
    device_client: IssuedOAuthClient, browser: Browser
) -> None:
    page = browser.authorize(
        {
            "response_type": "code",
            "client_id": device_client.client.client_id,
            "code_challenge": "x" * 43,
            "code_challenge_method": "S256",
        }
    )
    assert page.status_code in (302, 400)
    assert "Grant access to" not in page.text


def test_an_unknown_client_is_invalid_client(api: httpx.Client) -> None:
    asked = api.post(DEVICE_AUTHORIZATION, data={"client_id": "1_nosuchclient"})
    assert error_of(asked) == (400, "invalid_client")


def test_the_device_page_sends_people_to_sign_in_and_back(
    new_browser: Callable[[], Browser], account: Account
) -> None:
    browser = new_browser()
    answered = browser.http.get("/device", params={"user_code": "BCDF-GHJK"})

    assert answered.status_code == 303
    assert answered.headers["location"] == "/login?next=%2Fdevice%3Fuser_code%3DBCDF-GHJK"
    signed_in(browser, account)
    assert "BCDF-GHJK" in browser.http.get("/device?user_code=BCDF-GHJK").text


def test_the_forms_need_their_csrf_token(
    api: httpx.Client, device_client: IssuedOAuthClient, browser: Browser
) -> None:
    started = start(api, device_client)

    typed = browser.http.post("/device", data={"user_code": started["user_code"]})
    decided = browser.http.post(
        "/device/decision", data={"user_code": started["user_code"], "decision": "accept"}
    )

    assert (typed.status_code, decided.status_code) == (403, 403)
    assert error_of(poll(api, device_client, started["device_code"]))[1] == "authorization_pending"


@pytest.mark.parametrize("typed", ["", "BCDF", "AEIO-UAEI", "BCDF-GHJK-LMNP", "ß" * 30])
def test_what_cannot_be_a_code_is_a_page_not_an_error(browser: Browser, typed: str) -> None:
    page = enter_code(browser, typed)

    assert (page.status_code, "That code is not valid" in page.text) == (400, True)


def test_wrong_codes_are_limited_per_person(
    api: httpx.Client, device_client: IssuedOAuthClient, browser: Browser
) -> None:
    started = start(api, device_client)
    for _ in range(10):  # the default: 10 a minute
        assert enter_code(browser, "BBBB-BBBB").status_code == 400

    limited = enter_code(browser, "BBBB-BBBB")
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    # Even the right code now: a guesser learns nothing more.
    assert enter_code(browser, started["user_code"]).status_code == 429


def test_codes_typed_from_one_address_are_limited(database_url: str, services: Services) -> None:
    with served(database_url, device_code_rate_per_address="3/minute") as (runtime, api):
        account = make_account(runtime.services)
        browser = Browser(str(api.base_url))
        try:
            signed_in(browser, account)
            answers = [enter_code(browser, "BBBB-BBBB").status_code for _ in range(4)]
        finally:
            browser.close()

    assert answers == [400, 400, 400, 429]


def test_devices_asking_for_codes_are_limited_per_address(database_url: str) -> None:
    with served(database_url, device_authorization_rate_per_address="3/minute") as (runtime, api):
        client = make_device_client(runtime.services)
        answers = [post_as(api, client, DEVICE_AUTHORIZATION, {}) for _ in range(4)]

    for allowed in answers[:3]:
        assert allowed.status_code == 200, allowed.text
        remember(allowed.json()["device_code"], allowed.json()["user_code"])
    refused = answers[3]
    assert refused.status_code == 429
    assert refused.json()["error"] == "temporarily_unavailable"
    assert int(refused.headers["retry-after"]) > 0
    assert refused.headers["cache-control"] == "no-store"


def test_agent_apps_cannot_be_connected_by_helpdesk_users(
    api: httpx.Client, services: Services, new_browser: Callable[[], Browser]
) -> None:
    client = make_device_client(services, context=ClientContext.AGENT)
    user = make_account(services, agent=False)
    browser = signed_in(new_browser(), user)
    started = start(api, client)

    page = enter_code(browser, started["user_code"])

    assert (page.status_code, "cannot connect this app" in page.text) == (403, True)


def test_the_metadata_advertises_the_device_grant(api: httpx.Client) -> None:
    metadata = api.get("/.well-known/oauth-authorization-server").json()

    assert metadata["device_authorization_endpoint"] == (
        "http://helpdesk.test/oauth/device_authorization"
    )
    assert DEVICE_GRANT in metadata["grant_types_supported"]


def test_a_code_client_keeps_its_own_grant(
    api: httpx.Client, services: Services, browser: Browser
) -> None:
    # Authorization-code clients are unchanged: they may not use the device grant.
    client = make_oauth_client(services)
    assert error_of(post_as(api, client, DEVICE_AUTHORIZATION, {}))[1] == "unauthorized_client"


def test_my_account_lists_my_devices_and_disconnects_one(
    api: httpx.Client, services: Services, device_client: IssuedOAuthClient, browser: Browser
) -> None:
    collected, waiting, denied = (start(api, device_client) for _ in range(3))
    approve(browser, collected["user_code"])
    tokens = tokens_of(poll(api, device_client, collected["device_code"]))
    approve(browser, waiting["user_code"])
    answer(browser, enter_code(browser, denied["user_code"]), "deny")

    page = browser.http.get("/console/account/apps")

    assert page.status_code == 200
    assert "Devices you answered" in page.text
    for state in ("Connected", "waiting for the device to collect its token", "Denied"):
        assert state in page.text
    assert page.text.count("/console/account/devices/") == 2  # denied ones have nothing to end
    disconnect = re.search(r'action="(/console/account/devices/\d+/disconnect)"', page.text)
    assert disconnect is not None
    csrf = hidden_fields(page.text)["csrf_token"][0]
    # Newest first: the first form is the device still waiting; end both.
    for action in re.findall(r'action="(/console/account/devices/\d+/disconnect)"', page.text):
        ended = browser.http.post(action, data={"csrf_token": csrf})
        assert ended.status_code == 303, ended.text

    assert me(api, tokens.access).status_code == 401
    assert error_of(poll(api, device_client, waiting["device_code"])) == (400, "invalid_grant")
    after = browser.http.get("/console/account/apps").text
    assert after.count("Disconnected") == 2


def test_nobody_disconnects_a_device_they_did_not_approve(
    api: httpx.Client,
    services: Services,
    device_client: IssuedOAuthClient,
    browser: Browser,
    new_browser: Callable[[], Browser],
) -> None:
    started = start(api, device_client)
    approve(browser, started["user_code"])
    page = browser.http.get("/console/account/apps").text
    action = re.findall(r'action="(/console/account/devices/\d+/disconnect)"', page)[0]
    other = signed_in(new_browser(), make_account(services))
    csrf = hidden_fields(other.http.get("/console/account/apps").text)["csrf_token"][0]

    assert other.http.post(action, data={"csrf_token": csrf}).status_code == 404
    assert poll(api, device_client, started["device_code"]).status_code == 200


def test_housekeeping_forgets_devices_that_ended_and_keeps_connected_ones(
    api: httpx.Client,
    services: Services,
    device_client: IssuedOAuthClient,
    browser: Browser,
    account: Account,
    runtime: Runtime,
    clock: ManualClock,
) -> None:
    connected, _unanswered = start(api, device_client), start(api, device_client)
    approve(browser, connected["user_code"])
    tokens_of(poll(api, device_client, connected["device_code"]))
    clock.advance(timedelta(days=8))  # past the default grace of seven days

    deleted = runtime.housekeeping.run_round()

    assert deleted["oauth_device_authorizations"] == 1
    listed = services.device_authorizations.devices_of(account.person.id)
    assert [device.status.value for device in listed] == ["connected"]
