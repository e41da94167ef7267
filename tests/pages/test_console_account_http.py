""" "My account" pages over plain HTTP: who gets in, forged forms, bad input, unknown ids.

The browser walkthroughs are in test_console_account.py; these are the refusals, fast.
"""

import re
from collections.abc import Iterator

import httpx
import pytest

from tessera.core.paging import PageRequest
from tessera.services.container import Services
from tests.factories import make_oauth_client, make_person, make_token, new_password
from tests.oauth.flows import Account, Browser, hidden_fields, issue_tokens
from tests.secrets_seen import remember

PAGES = [
    "/console/account",
    "/console/account/tokens",
    "/console/account/apps",
    "/console/account/device",
    "/console/account/password",
    "/console/account/sign-ins",
]
ACTIONS = [
    "/console/account/tokens/1/revoke",
    "/console/account/apps/1_abc/disconnect",
    "/console/account/device",
    "/console/account/password",
    "/console/account/sign-ins/sign-out-everywhere",
]


@pytest.fixture
def account(services: Services) -> Account:
    password = new_password()
    return Account(make_person(services, password=password), password)


@pytest.fixture
def browser(server: str, services: Services, account: Account) -> Iterator[Browser]:
    browser = Browser(server)
    assert browser.sign_in(account).status_code == 303
    yield browser
    browser.close()


def form_of(browser: Browser, path: str) -> dict[str, str]:
    page = browser.http.get(path)
    assert page.status_code == 200, page.text
    return {name: values[0] for name, values in hidden_fields(page.text).items()}


def alert_of(page: httpx.Response) -> str:
    found = re.search(r'role="alert">([^<]*)<', page.text)
    assert found is not None, page.text
    return found[1]


def test_signed_out_visitors_are_sent_to_sign_in(server: str, services: Services) -> None:
    with httpx.Client(base_url=server) as anonymous:
        for path in PAGES:
            answer = anonymous.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["location"] == "/login?next=" + path


def test_people_who_are_not_agents_are_refused(server: str, services: Services) -> None:
    password = new_password()
    user = Account(make_person(services, agent=False, password=password), password)
    browser = Browser(server)
    try:
        browser.sign_in(user)
        for path in PAGES:
            assert browser.http.get(path).status_code == 403, path
    finally:
        browser.close()


def test_every_page_opens_for_an_agent(browser: Browser) -> None:
    for path in PAGES:
        page = browser.http.get(path)
        assert page.status_code == 200, path
        assert 'aria-label="My account"' in page.text
        assert page.headers["Cache-Control"] == "no-store"


def test_forms_without_or_with_a_forged_csrf_token_are_refused(
    browser: Browser, services: Services, account: Account
) -> None:
    token = make_token(services, account.person)
    actions = [*ACTIONS, f"/console/account/tokens/{token.token.id}/revoke"]
    for path in actions:
        missing = browser.http.post(path, data={})
        forged = browser.http.post(path, data={"csrf_token": "x" * 43})
        assert missing.status_code == 403, path
        assert forged.status_code == 403, path
    # Nothing happened: the token works, the session is open.
    assert services.api_tokens.list(_page(), person_id=account.person.id).total == 1
    assert browser.http.get("/console/account").status_code == 200


def _page() -> PageRequest:
    return PageRequest(1, 10)


def test_revoking_a_token_that_is_not_mine_is_not_found(
    browser: Browser, services: Services
) -> None:
    theirs = make_token(services, make_person(services))
    form = form_of(browser, "/console/account/tokens")

    answer = browser.http.post(f"/console/account/tokens/{theirs.token.id}/revoke", data=form)
    unknown = browser.http.post("/console/account/tokens/999999999/revoke", data=form)

    assert answer.status_code == 404
    assert alert_of(answer) == "You have no such token."
    assert unknown.status_code == 404
    assert services.api_tokens.list(_page(), person_id=theirs.token.person_id).total == 1


def test_revoking_my_token_lists_it_no_more(
    browser: Browser, services: Services, account: Account
) -> None:
    token = make_token(services, account.person)
    form = form_of(browser, "/console/account/tokens")

    answer = browser.http.post(f"/console/account/tokens/{token.token.id}/revoke", data=form)

    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/account/tokens?done=revoked"
    page = browser.http.get(answer.headers["location"])
    assert "The token is revoked" in page.text
    assert f"#{token.token.id}" not in page.text


def test_disconnecting_an_app_i_never_connected_is_not_found(
    browser: Browser, services: Services
) -> None:
    app = make_oauth_client(services, name="Never Connected")
    form = form_of(browser, "/console/account/apps")

    answer = browser.http.post(
        f"/console/account/apps/{app.client.client_id}/disconnect", data=form
    )
    nonsense = browser.http.post("/console/account/apps/not-a-client/disconnect", data=form)

    assert answer.status_code == 404
    assert nonsense.status_code == 404


def test_the_apps_page_lists_a_connected_app_and_the_tokens_page_names_it(
    api: httpx.Client, browser: Browser, services: Services
) -> None:
    app = make_oauth_client(services, name="Calendar Sync")
    issue_tokens(browser, api, app)

    apps = browser.http.get("/console/account/apps")
    tokens = browser.http.get("/console/account/tokens")

    assert "Calendar Sync" in apps.text
    assert app.client.client_id in apps.text
    assert "OAuth app" in tokens.text
    assert "Calendar Sync" in tokens.text


def post_password(
    browser: Browser, current: str, new: str, repeat: str | None = None
) -> httpx.Response:
    form = form_of(browser, "/console/account/password")
    form.update(
        current_password=current,
        new_password=new,
        repeat_password=new if repeat is None else repeat,
    )
    return browser.http.post("/console/account/password", data=form)


def test_new_passwords_that_differ_are_refused_clearly(browser: Browser, account: Account) -> None:
    answer = post_password(browser, account.password, new_password(), repeat="something-else")

    assert answer.status_code == 400
    assert "The two new passwords are not the same." in answer.text
    assert 'id="repeat_password" name="repeat_password"' in answer.text
    # Passwords are never written back into the page.
    assert account.password not in answer.text
    assert "something-else" not in answer.text


def test_a_wrong_current_password_is_refused_on_its_field(
    browser: Browser, account: Account
) -> None:
    answer = post_password(browser, "not-my-password", new_password())

    assert answer.status_code == 400
    assert "This is not your current password." in answer.text
    assert 'aria-describedby="current_password-error"' in answer.text
    assert "not-my-password" not in answer.text


def test_a_weak_new_password_is_refused_on_its_field(browser: Browser, account: Account) -> None:
    answer = post_password(browser, account.password, "short")

    assert answer.status_code == 400
    assert 'id="new_password-error"' in answer.text


def test_a_changed_password_keeps_this_browser_signed_in(
    server: str, browser: Browser, account: Account
) -> None:
    other = Browser(server)
    try:
        assert other.sign_in(account).status_code == 303
        answer = post_password(browser, account.password, new_password())
        assert answer.status_code == 303
        assert answer.headers["location"] == "/console/account/password?done=changed"
        assert "Your password is changed." in browser.http.get(answer.headers["location"]).text
        assert other.http.get("/console/account").status_code == 303
    finally:
        other.close()


def test_signing_out_everywhere_signs_this_browser_out_too(
    server: str, browser: Browser, account: Account
) -> None:
    other = Browser(server)
    try:
        other.sign_in(account)
        form = form_of(browser, "/console/account/sign-ins")
        answer = browser.http.post("/console/account/sign-ins/sign-out-everywhere", data=form)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/login"
        assert browser.http.get("/console/account").status_code == 303
        assert other.http.get("/console/account").status_code == 303
    finally:
        other.close()


def test_the_sign_ins_page_shows_this_browser_and_a_failed_attempt(
    server: str, browser: Browser, account: Account
) -> None:
    stranger = Browser(server)
    try:
        stranger.sign_in(Account(account.person, "a-wrong-guess"))
    finally:
        stranger.close()

    page = browser.http.get("/console/account/sign-ins")

    assert "This browser" in page.text
    assert "Failed" in page.text
    assert "Succeeded" in page.text


def test_a_device_code_is_shown_once_as_an_inline_qr_code(browser: Browser) -> None:
    form = form_of(browser, "/console/account/device")

    posted = browser.http.post("/console/account/device", data=form)

    # Post, redirect, get: the code's page, named by the code's id, shows it the first time.
    assert posted.status_code == 303
    assert re.fullmatch(r"/console/account/device/\d+", posted.headers["location"])
    answer = browser.http.get(posted.headers["location"])
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    assert "<svg" in answer.text
    found = re.search(r"dp_device_setup:(http://[^<\s]+/device_setup/)([A-Za-z0-9]+)", answer.text)
    assert found is not None
    remember(found[2])
    status_url = re.search(r'data-status-url="([^"]+)"', answer.text)
    assert status_url is not None
    # The status asks by id: the code itself never appears in a URL of ours.
    assert found[2] not in status_url[1] + posted.headers["location"]
    assert browser.http.get(status_url[1]).json()["status"] == "waiting"
    # A reload says where the code stands, and neither shows it nor makes another.
    again = browser.http.get(posted.headers["location"])
    assert again.status_code == 200
    assert "<svg" not in again.text
    assert found[2] not in again.text
    assert "it is not shown" in again.text
    assert "Waiting for your device" in again.text


def test_an_unknown_device_code_is_not_found(browser: Browser) -> None:
    page = browser.http.get("/console/account/device/999999999")
    status = browser.http.get("/console/account/device/999999999/status")

    assert page.status_code == 404
    assert "no longer works" in page.text
    assert status.json()["status"] == "gone"
    for nonsense in ("0", "-1", "abc", str(2**70)):
        answer = browser.http.get("/console/account/device/" + nonsense)
        assert answer.status_code == 404, nonsense
        assert "no longer works" in answer.text
    form = form_of(browser, "/console/account/tokens")
    for nonsense in ("0", "abc", str(2**70)):
        answer = browser.http.post(f"/console/account/tokens/{nonsense}/revoke", data=form)
        assert answer.status_code == 404, nonsense
