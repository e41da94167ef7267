"""The People pages in a browser: an admin adds, finds, changes, disables and deletes people."""

import httpx
import pytest
from playwright.sync_api import Page, expect

from tessera.services.container import Services
from tests.factories import make_person, new_password
from tests.pages.console_kit import assert_accessible, open_console, save_screenshot, sign_in
from tests.secrets_seen import remember

pytestmark = pytest.mark.browser

ADMIN_PAGES = [
    "/console/people",
    "/console/api-keys",
    "/console/apps",
    "/console/tokens",
    "/console/audit",
]


def test_an_admin_adds_a_person_and_manages_them(
    page: Page, server: str, services: Services
) -> None:
    password = new_password()
    admin = make_person(services, admin=True, password=password, name="Ada Admin")
    open_console(page, server, admin.primary_email, password, "/console/people")
    expect(page.get_by_role("heading", name="People", level=1)).to_be_visible()

    # A mistake first: the page says what is wrong, next to the field, and keeps the rest.
    page.get_by_label("Name", exact=True).fill("Bob Agent")
    page.get_by_label("E-mail address").fill("bob-at-example")
    page.get_by_role("button", name="Add person").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
    expect(page.get_by_text("This value is not a valid email address.")).to_be_visible()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Bob Agent")
    assert_accessible(page)

    first_password = new_password()
    page.get_by_label("E-mail address").fill("bob@example.test")
    page.get_by_label("Initial password (optional)").fill(first_password)
    page.get_by_role("button", name="Add person").click()
    expect(page.get_by_role("heading", name="Bob Agent", level=1)).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("The person was added.")
    assert_accessible(page)

    # Found by search in the list.
    page.get_by_role("link", name="All people").click()
    page.get_by_label("Search by name or e-mail").fill("bob@")
    page.get_by_role("button", name="Search").click()
    rows = page.get_by_role("row")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("bob@example.test")
    save_screenshot(page, "admin-people")

    # Made an admin, then a new password set by the admin; the first one stops working.
    page.get_by_role("link", name="Bob Agent").click()
    page.get_by_label("Role", exact=True).select_option("admin")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_have_text("The changes were saved.")
    bob = services.people.find("bob@example.test")
    assert bob.is_admin
    second_password = new_password()
    page.get_by_label("New password").fill(second_password)
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_role("status")).to_have_text("The new password is set.")
    exchange = "/api/v2/api_tokens"
    old = httpx.post(
        server + exchange, json={"email": bob.primary_email, "password": first_password}
    )
    assert old.status_code == 401
    new = httpx.post(
        server + exchange, json={"email": bob.primary_email, "password": second_password}
    )
    assert new.status_code == 201
    remember(new.json()["data"]["token"])

    # Disabled: the token Bob just got stops working; enabled again.
    page.get_by_role("button", name="Disable").click()
    expect(page.get_by_role("status")).to_contain_text("The person is disabled")
    token = {"Authorization": "token " + new.json()["data"]["token"]}
    assert httpx.get(server + "/api/v2/me", headers=token).status_code == 401
    page.get_by_role("button", name="Enable").click()
    expect(page.get_by_role("status")).to_have_text("The person is enabled again.")

    # Deleted after a confirmation step.
    page.get_by_role("link", name="Delete…").click()
    expect(page.get_by_role("heading", name="Delete Bob Agent?")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Delete Bob Agent").click()
    expect(page.get_by_role("status")).to_have_text(
        "The person was deleted, with their tokens and keys."
    )
    expect(page.get_by_role("link", name="Bob Agent")).to_have_count(0)

    # Bob's old page is gone now, and says so.
    gone = page.goto(f"{server}/console/people/{bob.id}")
    assert gone is not None
    assert gone.status == 404
    expect(page.get_by_role("alert")).to_contain_text("nothing with this id")
    assert_accessible(page)


def test_an_agent_is_refused_every_admin_page(page: Page, server: str, services: Services) -> None:
    password = new_password()
    agent = make_person(services, password=password)
    page.goto(server + "/login")
    sign_in(page, agent.primary_email, password)
    page.wait_for_url(server + "/console")
    for path in ADMIN_PAGES:
        response = page.goto(server + path)
        assert response is not None
        assert response.status == 403, path
        expect(page.get_by_role("alert")).to_have_text("Only admins can open this page.")
    assert_accessible(page)
