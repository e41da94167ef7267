"""The API keys pages in a browser: create a key for an agent, use it, regenerate, revoke.

The key is used the way ``curl`` would (httpx against /api/v2/me), so each step shows its effect
on the very next request.
"""

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tessera.core.paging import PageRequest
from tessera.core.people import Person
from tessera.services.container import Services
from tests.factories import make_person, new_password
from tests.pages.conftest import VIEWPORT
from tests.pages.console_kit import assert_accessible, open_console, save_screenshot
from tests.secrets_seen import remember

pytestmark = pytest.mark.browser


@pytest.fixture
def browser_without_js(browser: Browser) -> Iterator[BrowserContext]:
    """A profile with JavaScript switched off: every page must work without it."""
    context = browser.new_context(viewport=VIEWPORT, locale="en-GB", java_script_enabled=False)
    yield context
    context.close()


def me_with_key(server: str, key_string: str) -> httpx.Response:
    return httpx.get(server + "/api/v2/me", headers={"Authorization": f"key {key_string}"})


def shown_key(page: Page) -> str:
    """The ``ID:CODE`` in the page's one-time box, remembered as a secret."""
    box = page.locator(".secret")
    expect(box.get_by_role("heading")).to_have_text("Copy the key now: it is shown only once")
    key_string = box.locator("#key-string").inner_text().strip()
    remember(key_string.partition(":")[2])
    return key_string


def signed_in_admin(page: Page, server: str, services: Services, path: str) -> Person:
    password = new_password()
    admin = make_person(services, admin=True, password=password, name="Ada Admin")
    open_console(page, server, admin.primary_email, password, path)
    return admin


def test_a_key_for_an_agent_works_until_regenerated_and_revoked(
    page: Page, server: str, services: Services
) -> None:
    bob = make_person(services, name="Bob Agent")
    signed_in_admin(page, server, services, "/console/api-keys")
    expect(page.get_by_role("heading", name="API keys", level=1)).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Note").fill("Bob's ticket sync")
    page.get_by_label("Agent (e-mail address or id)").fill(bob.primary_email)
    page.get_by_label("Allowed endpoint tags").fill("me.*, tickets.*, -*.delete")
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_role("heading", name="Key created", level=1)).to_be_visible()
    first = shown_key(page)
    # With JavaScript the Copy button appears (it is hidden in the HTML for pages without).
    expect(page.get_by_role("button", name="Copy")).to_be_visible()
    assert_accessible(page)
    save_screenshot(page, "admin-key-created")

    answer = me_with_key(server, first)
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["person_id"] == bob.id
    assert answer.json()["data"]["auth_method"] == "api_key"

    # Shown once: the key's own page and the list never hold the code again.
    page.get_by_role("link", name="Bob's ticket sync").click()
    expect(page.get_by_role("heading", name=f"API key {first.split(':')[0]}")).to_be_visible()
    assert first.split(":")[1] not in page.content()

    page.get_by_role("button", name="Regenerate code").click()
    second = shown_key(page)
    assert second != first
    assert me_with_key(server, first).status_code == 401
    assert me_with_key(server, second).status_code == 200

    page.get_by_role("link", name="Bob's ticket sync").click()
    page.get_by_role("button", name="Revoke key").click()
    expect(page.locator(".notice")).to_have_text(
        "The key is revoked: the next request that uses it is refused."
    )
    refused = me_with_key(server, second)
    assert refused.status_code == 401
    assert refused.json()["code"] == "invalid_api_key"
    row = page.get_by_role("row").filter(has_text="Bob's ticket sync")
    expect(row).to_contain_text("Revoked")
    expect(row).to_contain_text(bob.primary_email)
    assert_accessible(page)
    save_screenshot(page, "admin-keys")


def test_the_tag_check_answers_as_you_type(page: Page, server: str, services: Services) -> None:
    signed_in_admin(page, server, services, "/console/api-keys")
    page.get_by_label("Allowed endpoint tags").fill("tickets.*, -*.delete")
    page.get_by_label("Would this key be allowed to call tag…").fill("tickets.tickets.list")
    answer = page.locator("#tag-answer")
    expect(answer).to_have_text(
        "Allowed: a key with tickets.*, -*.delete may call tickets.tickets.list."
    )
    page.get_by_label("Would this key be allowed to call tag…").fill("tickets.tickets.delete")
    expect(answer).to_have_text(
        "Refused: a key with tickets.*, -*.delete may not call tickets.tickets.delete."
    )
    page.get_by_label("Allowed endpoint tags").fill("tickets/*")
    expect(answer).to_have_text("These tag patterns are not valid.")
    assert_accessible(page)


def test_without_javascript_the_check_button_answers_and_a_superuser_key_is_made(
    browser_without_js: BrowserContext, server: str, services: Services
) -> None:
    page = browser_without_js.new_page()
    signed_in_admin(page, server, services, "/console/api-keys")
    page.get_by_label("Note").fill("Automation")
    page.get_by_label("Superuser: acts as any agent named in X-DeskPRO-Agent-ID").check()
    page.get_by_label("May call the admin API (superuser keys only)").check()
    page.get_by_label("Allowed endpoint tags").fill("people.*")
    page.get_by_label("Would this key be allowed to call tag…").fill("api_keys.api_keys.list")
    page.get_by_role("button", name="Check").click()
    expect(page.locator("#tag-answer")).to_have_text(
        "Refused: a key with people.* may not call api_keys.api_keys.list."
    )
    # What was typed survives the check.
    expect(page.get_by_label("Note")).to_have_value("Automation")
    expect(page.get_by_label("May call the admin API (superuser keys only)")).to_be_checked()
    page.get_by_role("button", name="Create key").click()
    key_string = shown_key(page)
    # No script: no Copy button; the code is there to select.
    expect(page.get_by_role("button", name="Copy")).to_have_count(0)
    agent = make_person(services)
    headers = {"Authorization": f"key {key_string}", "X-DeskPRO-Agent-ID": str(agent.id)}
    listed = httpx.get(server + "/api/v2/people", headers=headers)
    assert listed.status_code == 200, listed.text
    refused = httpx.get(server + "/api/v2/api_keys", headers=headers)
    assert refused.status_code == 403


def test_enter_in_a_field_creates_the_key_rather_than_checking_a_tag(
    browser_without_js: BrowserContext, server: str, services: Services
) -> None:
    page = browser_without_js.new_page()
    bob = make_person(services, name="Bob Agent")
    signed_in_admin(page, server, services, "/console/api-keys")
    page.get_by_label("Note").fill("Made with the Enter key")
    page.get_by_label("Agent (e-mail address or id)").fill(bob.primary_email)
    page.get_by_label("Allowed endpoint tags").fill("*")
    page.get_by_label("Allowed endpoint tags").press("Enter")
    expect(page.get_by_role("heading", name="Key created", level=1)).to_be_visible()
    assert me_with_key(server, shown_key(page)).status_code == 200


def test_reload_and_back_after_creating_a_key_neither_show_it_nor_make_another(
    page: Page, server: str, services: Services
) -> None:
    signed_in_admin(page, server, services, "/console/api-keys")
    page.get_by_label("Note").fill("Reloaded")
    page.get_by_label("Superuser: acts as any agent named in X-DeskPRO-Agent-ID").check()
    page.get_by_role("button", name="Create key").click()
    key_string = shown_key(page)
    code = key_string.partition(":")[2]
    issued_url = page.url
    assert code not in issued_url

    page.reload()
    expect(page.get_by_role("heading", name="This code was shown once")).to_be_visible()
    assert code not in page.content()
    assert_accessible(page)

    page.go_back()
    expect(page.get_by_role("heading", name="API keys", level=1)).to_be_visible()
    page.go_forward()
    expect(page.get_by_role("heading", name="This code was shown once")).to_be_visible()
    assert code not in page.content()
    assert services.api_keys.list(PageRequest(1, 25)).total == 1
