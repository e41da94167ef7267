"""Console sessions end when idle and at their absolute end, over HTTP and in Chromium.

The test clock moves time; the server reads it. The idle clock is a page view's, written at
most every few minutes; API calls with the session cookie never move it.
"""

from datetime import timedelta

import httpx
import pytest
from playwright.sync_api import Page, expect

from tessera.services.container import Services
from tests.clock import ManualClock
from tests.factories import make_person, new_password
from tests.pages.admin_http import console_as
from tests.pages.console_kit import open_console

IDLE = timedelta(minutes=15)
LIFETIME = timedelta(hours=8)


def _signed_in(answer: httpx.Response) -> bool:
    if answer.status_code == 303:
        assert answer.headers["location"].startswith("/login")
        return False
    assert answer.status_code == 200, answer.text
    return True


def test_a_session_left_idle_ends_and_one_in_use_lives_on(
    server: str, services: Services, clock: ManualClock
) -> None:
    with console_as(server, services) as used, console_as(server, services) as left:
        for _ in range(3):
            clock.advance(timedelta(minutes=10))
            assert _signed_in(used.get("/console/account"))
        # 30 minutes on: the one used every 10 minutes is in; the one left alone is out.
        assert not _signed_in(left.get("/console/account"))
        assert _signed_in(used.get("/console/account"))


def test_the_idle_clock_ends_a_session_between_idle_minus_a_touch_and_idle(
    server: str, services: Services, clock: ManualClock
) -> None:
    with console_as(server, services) as console:
        clock.advance(timedelta(minutes=2))
        # Within the touch interval (3 minutes at 15): nothing is written, so the last request
        # on record is still the sign-in.
        assert _signed_in(console.get("/console/account"))
        clock.advance(IDLE - timedelta(minutes=2) + timedelta(seconds=1))
        assert not _signed_in(console.get("/console/account"))


def test_api_calls_with_the_cookie_are_refused_when_idle_and_do_not_keep_it_alive(
    server: str, services: Services, clock: ManualClock
) -> None:
    with console_as(server, services) as console:
        for _ in range(2):
            clock.advance(timedelta(minutes=7))
            assert console.get("/api/v2/me").status_code == 200
        clock.advance(timedelta(minutes=2))
        # 16 minutes without a page view: the API calls did not count.
        assert console.get("/api/v2/me").status_code == 401
        assert not _signed_in(console.get("/console/account"))


def test_a_busy_session_still_ends_at_its_absolute_lifetime(
    server: str, services: Services, clock: ManualClock
) -> None:
    with console_as(server, services) as console:
        step = timedelta(minutes=10)
        elapsed = timedelta()
        while elapsed + step < LIFETIME:
            clock.advance(step)
            elapsed += step
            assert _signed_in(console.get("/console")), elapsed
        clock.advance(LIFETIME - elapsed)
        assert not _signed_in(console.get("/console"))


def test_my_sessions_say_when_each_was_last_used_and_when_it_ends(
    server: str, services: Services, clock: ManualClock
) -> None:
    with console_as(server, services) as console:
        clock.advance(timedelta(minutes=5))
        assert _signed_in(console.get("/console/account"))
        listed = console.get("/api/v2/me/sessions").json()["data"]

    (mine,) = listed
    assert mine["date_ends"] < mine["date_expires"]
    last_seen = mine["date_last_seen"]
    assert last_seen > mine["date_created"]


@pytest.mark.browser
def test_an_idle_browser_lands_on_the_login_page(
    page: Page, server: str, services: Services, clock: ManualClock
) -> None:
    password = new_password()
    agent = make_person(services, password=password, name="Idle Agent")
    open_console(page, server, agent.primary_email, password, "/console/account")

    clock.advance(IDLE + timedelta(minutes=1))
    page.reload()

    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert page.url.startswith(server + "/login")
