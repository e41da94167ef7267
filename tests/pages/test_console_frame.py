"""The console's frame in a browser: who gets in, what the navigation offers, accessibility."""

import httpx
import pytest
from playwright.sync_api import Page, expect

from tessera.services.container import Services
from tests.factories import make_person, new_password
from tests.pages.console_kit import assert_accessible, open_console, save_screenshot, sign_in

pytestmark = pytest.mark.browser

ADMIN_SECTIONS = [
    "People",
    "API keys",
    "OAuth apps",
    "Resources",
    "Sign-in methods",
    "Tokens",
    "Audit log",
    "My account",
]


def test_signed_out_visitors_sign_in_first_and_land_where_they_were_going(
    page: Page, server: str, services: Services
) -> None:
    password = new_password()
    admin = make_person(services, admin=True, password=password, name="Ada Admin")
    page.goto(server + "/")
    expect(page).to_have_url(server + "/login?next=/console")
    assert_accessible(page)
    open_console(page, server, admin.primary_email, password)
    nav = page.get_by_role("navigation", name="Console")
    expect(nav.get_by_role("link")).to_have_text(ADMIN_SECTIONS)
    expect(page.get_by_role("heading", name="Console")).to_be_visible()
    assert_accessible(page)
    save_screenshot(page, "console-home")


def test_an_agent_is_offered_only_their_own_account(
    page: Page, server: str, services: Services
) -> None:
    password = new_password()
    agent = make_person(services, password=password)
    open_console(page, server, agent.primary_email, password)
    expect(page.get_by_role("navigation", name="Console").get_by_role("link")).to_have_text(
        ["My account"]
    )


def test_people_who_are_not_agents_are_refused_the_console(
    page: Page, server: str, services: Services
) -> None:
    password = new_password()
    user = make_person(services, agent=False, password=password)
    page.goto(server + "/login")
    sign_in(page, user.primary_email, password)
    response = page.goto(server + "/console")
    assert response is not None
    assert response.status == 403
    expect(page.get_by_role("alert")).to_have_text("The console is for agents and admins.")


def test_signing_out_from_the_console_ends_the_session(
    page: Page, server: str, services: Services
) -> None:
    password = new_password()
    admin = make_person(services, admin=True, password=password)
    open_console(page, server, admin.primary_email, password)
    cookies = {cookie["name"]: cookie["value"] for cookie in page.context.cookies()}
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(server + "/login")
    # The old cookie is dead on the server too, not only forgotten by this browser.
    stale = httpx.get(server + "/console", cookies=cookies, follow_redirects=False)
    assert stale.status_code == 303
    assert stale.headers["location"] == "/login?next=/console"


def test_the_accessibility_check_fails_on_a_page_with_serious_violations(page: Page) -> None:
    page.set_content(
        "<!doctype html><html lang='en'><head><title>Bad</title></head><body><main>"
        "<input type='text' name='unlabelled'>"
        "<p style='color:#bbb;background:#fff'>Too pale to read</p></main></body></html>"
    )
    with pytest.raises(AssertionError, match="label"):
        assert_accessible(page)
