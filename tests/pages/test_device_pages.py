"""The /device pages in a real browser: a person opens the link a device shows, signs in on
the way, checks the code and presses Allow; the device's next poll gets its tokens.

``TESSERA_SCREENSHOTS=1`` also saves the confirmation page to docs/screenshots/.
"""

import httpx
import pytest
from playwright.sync_api import Page, expect

from tessera.services.container import Services
from tests.factories import make_person, new_password
from tests.oauth.device_flows import error_of, make_device_client, poll, start
from tests.pages.console_kit import assert_accessible, save_screenshot, sign_in
from tests.secrets_seen import remember

pytestmark = pytest.mark.browser


def test_a_person_approves_a_device_from_its_link(
    page: Page, server: str, services: Services
) -> None:
    password = new_password()
    person = make_person(services, password=password, name="Ann Agent")
    client = make_device_client(services, name="Living Room TV")
    with httpx.Client(base_url=server, timeout=60) as api:
        started = start(api, client)
        link = started["verification_uri_complete"].replace("http://helpdesk.test", server)

        page.goto(link)
        sign_in(page, person.primary_email, password)
        remember(*(cookie.get("value", "") for cookie in page.context.cookies()))
        # Back on /device with the code filled in, and nothing approved yet.
        code = page.get_by_label("Code")
        expect(code).to_have_value(started["user_code"])
        assert_accessible(page)
        assert error_of(poll(api, client, started["device_code"]))[1] == "authorization_pending"
        page.get_by_role("button", name="Continue").click()

        expect(page.get_by_role("heading", name="Connect Living Room TV?")).to_be_visible()
        expect(page.get_by_text("never enter a code someone sent you")).to_be_visible()
        expect(page.get_by_text(started["user_code"])).to_be_visible()
        assert_accessible(page)
        save_screenshot(page, "device-confirm")
        page.get_by_role("button", name="Allow").click()

        expect(page.get_by_role("heading", name="Living Room TV is connected")).to_be_visible()
        assert_accessible(page)
        assert poll(api, client, started["device_code"]).status_code == 200


def test_a_wrong_code_is_announced_next_to_the_field(
    page: Page, server: str, services: Services
) -> None:
    password = new_password()
    person = make_person(services, password=password)
    page.goto(server + "/device")
    sign_in(page, person.primary_email, password)
    remember(*(cookie.get("value", "") for cookie in page.context.cookies()))

    page.get_by_label("Code").fill("bbbb-bbbb")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("alert")).to_contain_text("That code is not valid")
    expect(page.get_by_label("Code")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page)
