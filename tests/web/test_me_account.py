"""``/me/sessions``, ``/me/sign_ins``, ``/me/password`` and device-setup status: one's own account.

Browsers are httpx clients signing in on the login page, so sessions are real rows found by
real cookies; the same person's API token makes the automation calls.
"""

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from tessera.core.audit import AuditFilters, DetailValue
from tessera.core.paging import PageRequest
from tessera.core.people import Person
from tessera.services.container import Services
from tessera.services.people import PersonChanges
from tests.clock import ManualClock
from tests.factories import make_person, make_token, new_password, token_header
from tests.oauth.flows import Account, Browser, csrf_token_of
from tests.secrets_seen import remember
from tests.web.envelopes import NOT_FOUND, assert_refused

ME = "/api/v2/me"


@pytest.fixture
def account(services: Services) -> Account:
    password = new_password()
    return Account(make_person(services, password=password), password)


@pytest.fixture
def browsers(server: str, services: Services) -> Iterator[list[Browser]]:
    opened: list[Browser] = []
    yield opened
    for browser in opened:
        browser.close()


def signed_in_browser(
    server: str, browsers: list[Browser], account: Account, user_agent: str = "TestBrowser/1"
) -> Browser:
    browser = Browser(server)
    browser.http.headers["User-Agent"] = user_agent
    browsers.append(browser)
    assert browser.sign_in(account).status_code == 303
    return browser


def is_signed_in(browser: Browser) -> bool:
    return browser.http.get(ME).status_code == 200


def csrf_header(browser: Browser) -> dict[str, str]:
    return {"X-DeskPRO-Request-Token": csrf_token_of(browser.http.cookies)}


def events(services: Services, person: Person, kind: str) -> list[dict[str, DetailValue]]:
    found = services.audit.list(AuditFilters(person_id=person.id, kind=kind), PageRequest(1, 50))
    return [event.detail for event in found.items]


# -- sessions -------------------------------------------------------------------------------


def test_my_sessions_list_each_browser_and_mark_the_one_asking(
    server: str, services: Services, account: Account, browsers: list[Browser]
) -> None:
    first = signed_in_browser(server, browsers, account, "FirstBrowser/1.0")
    signed_in_browser(server, browsers, account, "SecondBrowser/2.0")

    listed = first.http.get(ME + "/sessions")

    assert listed.status_code == 200, listed.text
    sessions = listed.json()["data"]
    assert [s["user_agent"] for s in sessions] == ["SecondBrowser/2.0", "FirstBrowser/1.0"]
    assert [s["is_current"] for s in sessions] == [False, True]
    assert {s["client_address"] for s in sessions} == {"127.0.0.1"}
    # Nothing that would let a reader take a session over.
    assert set(sessions[0]) == {
        "id",
        "date_created",
        "date_expires",
        "date_last_seen",
        "date_ends",
        "client_address",
        "user_agent",
        "is_current",
    }


def test_a_token_sees_the_sessions_but_none_is_its_own(
    api: httpx.Client, server: str, services: Services, account: Account, browsers: list[Browser]
) -> None:
    signed_in_browser(server, browsers, account)
    headers = token_header(make_token(services, account.person))

    sessions = api.get(ME + "/sessions", headers=headers).json()["data"]

    assert [s["is_current"] for s in sessions] == [False]


def test_signing_out_everywhere_ends_every_session_and_is_audited(
    api: httpx.Client, server: str, services: Services, account: Account, browsers: list[Browser]
) -> None:
    first = signed_in_browser(server, browsers, account)
    second = signed_in_browser(server, browsers, account)
    other = signed_in_browser(server, browsers, Account(*_someone_else(services)))
    token = make_token(services, account.person)

    answer = api.delete(ME + "/sessions", headers=token_header(token))

    assert answer.status_code == 200, answer.text
    assert answer.json()["data"] == {"sessions_ended": 2}
    assert not is_signed_in(first)
    assert not is_signed_in(second)
    assert is_signed_in(other)
    # A token is not a session: it keeps working.
    assert api.get(ME, headers=token_header(token)).status_code == 200
    assert api.get(ME + "/sessions", headers=token_header(token)).json()["data"] == []
    assert events(services, account.person, "session.signed_out_everywhere") == [
        {"sessions_ended": 2}
    ]


def _someone_else(services: Services) -> tuple[Person, str]:
    password = new_password()
    return make_person(services, password=password), password


def test_a_browser_signs_itself_out_everywhere_with_the_csrf_header(
    server: str, services: Services, account: Account, browsers: list[Browser]
) -> None:
    browser = signed_in_browser(server, browsers, account)

    forged = browser.http.delete(ME + "/sessions")
    assert forged.status_code == 401
    assert is_signed_in(browser)

    answer = browser.http.delete(ME + "/sessions", headers=csrf_header(browser))
    assert answer.json()["data"] == {"sessions_ended": 1}
    assert not is_signed_in(browser)


def test_an_expired_session_is_not_listed(
    api: httpx.Client,
    server: str,
    services: Services,
    clock: ManualClock,
    account: Account,
    browsers: list[Browser],
) -> None:
    signed_in_browser(server, browsers, account)
    headers = token_header(make_token(services, account.person))
    clock.advance(services.web_sessions.lifetime + timedelta(seconds=1))

    assert api.get(ME + "/sessions", headers=headers).json()["data"] == []


def test_the_account_endpoints_need_a_credential(api: httpx.Client, services: Services) -> None:
    for method, path in [
        ("GET", "/sessions"),
        ("DELETE", "/sessions"),
        ("GET", "/sign_ins"),
        ("PUT", "/password"),
        ("GET", "/device-setup-token/1"),
    ]:
        assert_refused(api.request(method, ME + path), "unauthorized")


# -- sessions end with the person's access --------------------------------------------------


def test_disabling_a_person_ends_their_sessions_for_good(
    server: str, services: Services, account: Account, browsers: list[Browser]
) -> None:
    browser = signed_in_browser(server, browsers, account)

    services.people.set_disabled(account.person.id, True)
    services.people.set_disabled(account.person.id, False)

    # Enabled again, the person signs in afresh: the old cookie ended with the disabling.
    assert not is_signed_in(browser)
    assert services.web_sessions.open_sessions(account.person.id) == []


def test_an_admin_reset_of_the_password_ends_every_session(
    server: str, services: Services, account: Account, browsers: list[Browser]
) -> None:
    browser = signed_in_browser(server, browsers, account)

    services.people.set_password(account.person.id, new_password())

    assert not is_signed_in(browser)


def test_deleting_a_person_removes_their_sessions(
    server: str, services: Services, account: Account, browsers: list[Browser]
) -> None:
    browser = signed_in_browser(server, browsers, account)

    services.people.delete(account.person.id)

    assert not is_signed_in(browser)
    assert services.web_sessions.open_sessions(account.person.id) == []


def test_other_changes_leave_sessions_alone(
    server: str, services: Services, account: Account, browsers: list[Browser]
) -> None:
    browser = signed_in_browser(server, browsers, account)

    services.people.change(account.person.id, PersonChanges(name="A New Name"))

    assert is_signed_in(browser)


# -- sign-ins -------------------------------------------------------------------------------


def test_my_sign_ins_show_successes_and_failures_newest_first(
    api: httpx.Client,
    server: str,
    services: Services,
    clock: ManualClock,
    account: Account,
    browsers: list[Browser],
) -> None:
    stranger = Browser(server)
    browsers.append(stranger)
    stranger.sign_in(Account(account.person, "not-the-password"))
    clock.advance(timedelta(minutes=1))
    signed_in_browser(server, browsers, account)
    someone = _someone_else(services)
    signed_in_browser(server, browsers, Account(*someone))

    answer = api.get(ME + "/sign_ins", headers=token_header(make_token(services, account.person)))

    assert answer.status_code == 200, answer.text
    attempts = answer.json()["data"]
    assert [(a["outcome"], a["client_address"]) for a in attempts] == [
        ("succeeded", "127.0.0.1"),
        ("failed", "127.0.0.1"),
    ]
    assert attempts[0]["date_created"] > attempts[1]["date_created"]


# -- password -------------------------------------------------------------------------------


def change_password(client: httpx.Client, current: str, new: str, **headers: str) -> httpx.Response:
    return client.put(
        ME + "/password", json={"current_password": current, "new_password": new}, headers=headers
    )


def test_changing_my_password_keeps_this_browser_and_ends_the_others(
    server: str, services: Services, account: Account, browsers: list[Browser]
) -> None:
    mine = signed_in_browser(server, browsers, account)
    elsewhere = signed_in_browser(server, browsers, account)
    new = new_password()

    answer = change_password(mine.http, account.password, new, **csrf_header(mine))

    assert answer.status_code == 200, answer.text
    assert answer.json()["data"] == {"sessions_ended": 1}
    assert is_signed_in(mine)
    assert not is_signed_in(elsewhere)
    assert events(services, account.person, "person.password_changed") == [{"sessions_ended": 1}]
    # The new password signs in; the old one no longer does.
    old = Browser(server)
    browsers.append(old)
    assert old.sign_in(account).status_code == 401
    assert signed_in_browser(server, browsers, Account(account.person, new))


def test_changing_my_password_with_a_token_ends_every_session(
    api: httpx.Client, server: str, services: Services, account: Account, browsers: list[Browser]
) -> None:
    browser = signed_in_browser(server, browsers, account)
    token = make_token(services, account.person)

    answer = change_password(api, account.password, new_password(), **token_header(token))

    assert answer.json()["data"] == {"sessions_ended": 1}
    assert not is_signed_in(browser)
    assert api.get(ME, headers=token_header(token)).status_code == 200


def test_a_wrong_current_password_and_a_weak_new_one_are_both_reported(
    api: httpx.Client, server: str, services: Services, account: Account, browsers: list[Browser]
) -> None:
    browser = signed_in_browser(server, browsers, account)
    headers = token_header(make_token(services, account.person))

    answer = change_password(api, "not-my-password", "short", **headers)

    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["code"] == "invalid_input"
    fields = body["errors"]["fields"]
    assert fields["current_password"]["errors"] == [
        {"code": "wrong_password", "message": "This is not your current password."}
    ]
    assert fields["new_password"]["errors"][0]["code"] == "invalid_password"
    assert is_signed_in(browser)
    # The wrong guess is a failed sign-in, for the person to see.
    sign_ins = api.get(ME + "/sign_ins", headers=headers).json()["data"]
    assert sign_ins[0]["outcome"] == "failed"


def test_a_missing_field_is_invalid_input(api: httpx.Client, services: Services) -> None:
    agent = make_person(services, password=new_password())
    headers = token_header(make_token(services, agent))

    answer = api.put(ME + "/password", json={"new_password": "x"}, headers=headers)

    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_input"


def test_guessing_the_current_password_is_throttled(api: httpx.Client, services: Services) -> None:
    agent = make_person(services, password=new_password())
    headers = token_header(make_token(services, agent))

    answers = [
        change_password(api, f"guess-{n}", new_password(), **headers).status_code for n in range(6)
    ]

    assert answers[:5] == [400] * 5
    assert answers[5] == 429


# -- device setup status --------------------------------------------------------------------


def new_setup(api: httpx.Client, headers: dict[str, str]) -> tuple[int, str]:
    data = api.get(ME + "/device-setup-token", headers=headers).json()["data"]
    code = data["setup_token"].rsplit("/", 1)[1]
    remember(code)
    return data["id"], code


def status_of(api: httpx.Client, setup_id: int, headers: dict[str, str]) -> str:
    answer = api.get(f"{ME}/device-setup-token/{setup_id}", headers=headers)
    assert answer.status_code == 200, answer.text
    state: str = answer.json()["data"]["status"]
    return state


def test_a_setup_code_is_waiting_then_used(api: httpx.Client, services: Services) -> None:
    agent = make_person(services)
    headers = token_header(make_token(services, agent))
    setup_id, code = new_setup(api, headers)

    before = status_of(api, setup_id, headers)
    redeemed = api.get(f"/api/v2/api_tokens/device_setup/{code}")
    remember(redeemed.json()["data"]["token"])
    again = api.get(f"/api/v2/api_tokens/device_setup/{code}")

    assert before == "waiting"
    assert redeemed.status_code == 201
    assert status_of(api, setup_id, headers) == "used"
    assert again.status_code == 404
    assert again.json() == NOT_FOUND


def test_a_setup_code_expires_and_a_newer_one_replaces_it(
    api: httpx.Client, services: Services, clock: ManualClock
) -> None:
    agent = make_person(services)
    headers = token_header(make_token(services, agent))
    first, _ = new_setup(api, headers)
    clock.advance(timedelta(minutes=10, seconds=1))
    assert status_of(api, first, headers) == "expired"

    second, _ = new_setup(api, headers)

    assert status_of(api, first, headers) == "gone"
    assert status_of(api, second, headers) == "waiting"


def test_another_persons_setup_code_reads_as_gone(api: httpx.Client, services: Services) -> None:
    owner, other = make_person(services), make_person(services)
    setup_id, _ = new_setup(api, token_header(make_token(services, owner)))
    headers = token_header(make_token(services, other))

    assert status_of(api, setup_id, headers) == "gone"
    assert status_of(api, 2**70, headers) == "gone"
