""" "My account" in a browser: an agent walks each page, by labels and roles, as a person would.

The device test reads the QR code off the screen (a screenshot of the code, decoded with
zxing-cpp) and redeems it as the mobile app would; the page then notices the code was used.
"""

import io
from collections.abc import Iterator

import httpx
import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tessera.services.container import Services
from tests.factories import make_oauth_client, make_person, make_token, new_password, token_header
from tests.oauth.flows import Account, issue_tokens
from tests.oauth.flows import Browser as HttpBrowser
from tests.pages.conftest import VIEWPORT
from tests.pages.console_kit import assert_accessible, open_console, save_screenshot
from tests.secrets_seen import remember

pytestmark = pytest.mark.browser

SETUP_PREFIX = "dp_device_setup:http://helpdesk.test/"


@pytest.fixture
def account(services: Services) -> Account:
    password = new_password()
    return Account(make_person(services, password=password, name="Alex Agent"), password)


@pytest.fixture
def second_page(browser: Browser) -> Iterator[Page]:
    """Another browser of the same person: its own context, its own cookies."""
    other: BrowserContext = browser.new_context(viewport=VIEWPORT, locale="en-GB")
    yield other.new_page()
    other.close()


def account_nav(page: Page) -> None:
    expect(page.get_by_role("navigation", name="My account")).to_be_visible()


def expect_signed_out(page: Page, server: str, path: str) -> None:
    page.goto(server + path)
    expect(page).to_have_url(f"{server}/login?next={path}")


def test_the_overview_leads_to_my_tokens_where_a_revoked_token_stops_working(
    page: Page, server: str, services: Services, account: Account
) -> None:
    token = make_token(services, account.person)
    open_console(page, server, account.email, account.password, "/console/account")
    account_nav(page)
    expect(page.get_by_role("heading", name="My account")).to_be_visible()
    expect(page.get_by_text(account.email)).to_be_visible()
    assert_accessible(page)
    save_screenshot(page, "account-overview")

    page.get_by_role("navigation", name="My account").get_by_role("link", name="My tokens").click()
    expect(page.get_by_role("heading", name="My tokens")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=f"#{token.token.id}")
    expect(row).to_contain_text("Device setup (QR code)")
    assert_accessible(page)
    save_screenshot(page, "account-tokens")

    page.get_by_role("button", name=f"Revoke token #{token.token.id}").click()

    expect(page.get_by_role("status")).to_have_text(
        "The token is revoked: it no longer works anywhere."
    )
    expect(page.get_by_text("You hold no live tokens.")).to_be_visible()
    assert_accessible(page)
    refused = httpx.get(server + "/api/v2/me", headers=token_header(token))
    assert refused.status_code == 401
    assert refused.json()["code"] == "invalid_api_token"


def test_connecting_a_device_by_reading_its_qr_code(
    page: Page, server: str, services: Services, account: Account
) -> None:
    open_console(page, server, account.email, account.password, "/console/account/device")
    account_nav(page)
    assert_accessible(page)

    page.get_by_role("button", name="Show a code").click()
    qr = page.get_by_role("img", name="QR code to scan with the mobile app")
    expect(qr).to_be_visible()
    expect(page.locator(".countdown")).to_contain_text("left")
    expect(page.get_by_role("status")).to_have_text(
        "Waiting for your device: the code has not been used yet."
    )
    assert_accessible(page)
    scanned = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.screenshot())))
    assert len(scanned) == 1
    setup_token = scanned[0].text
    assert setup_token.startswith(SETUP_PREFIX)
    remember(setup_token.rsplit("/", 1)[1])
    save_screenshot(page, "account-device")

    # The phone strips the prefix and calls the URL (here: on the test server's address).
    url = server + "/" + setup_token.removeprefix(SETUP_PREFIX)
    first, again = httpx.get(url), None
    remember(first.json()["data"]["token"])
    again = httpx.get(url)

    assert first.status_code == 201
    assert first.json()["data"]["person_id"] == account.person.id
    assert again.status_code == 404
    # device.js polls the code's status and says so.
    expect(page.get_by_role("status")).to_have_text(
        "Your device is connected: the code was used and cannot be used again."
    )
    assert_accessible(page)
    save_screenshot(page, "account-device-used")
    # Without JavaScript: the "Check again" link says the same.
    page.get_by_role("link", name="Check again").click()
    expect(page.get_by_role("status")).to_contain_text("Your device is connected")
    assert_accessible(page)
    # The device's token is listed among mine.
    page.get_by_role("link", name="My tokens").click()
    expect(page.get_by_role("row").filter(has_text="Device setup (QR code)")).to_have_count(1)


def test_a_new_code_replaces_the_one_shown(
    page: Page, server: str, services: Services, account: Account
) -> None:
    open_console(page, server, account.email, account.password, "/console/account/device")
    page.get_by_role("button", name="Show a code").click()
    check_first = page.get_by_role("link", name="Check again").get_attribute("href")

    page.get_by_role("button", name="New code").click()
    expect(page.get_by_role("img", name="QR code to scan with the mobile app")).to_be_visible()

    assert check_first is not None
    page.goto(server + check_first)
    expect(page.get_by_role("status")).to_have_text(
        "This code no longer works: a newer code replaced it."
    )


def fill_password_form(page: Page, current: str, new: str, repeat: str) -> None:
    page.get_by_label("Current password").fill(current)
    page.get_by_label("New password", exact=True).fill(new)
    page.get_by_label("New password again").fill(repeat)
    page.get_by_role("button", name="Change password").click()


def test_changing_my_password_signs_my_other_browser_out(
    page: Page, second_page: Page, server: str, services: Services, account: Account
) -> None:
    open_console(second_page, server, account.email, account.password, "/console/account")
    open_console(page, server, account.email, account.password, "/console/account/password")
    assert_accessible(page)
    new = new_password()

    fill_password_form(page, account.password, new, "not-the-same")
    expect(page.get_by_text("The two new passwords are not the same.")).to_be_visible()
    expect(page.get_by_label("New password again")).to_have_attribute("aria-invalid", "true")
    # Nothing typed comes back: passwords are never written into a page.
    expect(page.get_by_label("Current password")).to_have_value("")
    assert_accessible(page)
    save_screenshot(page, "account-password")

    fill_password_form(page, account.password, new, new)

    expect(page.get_by_role("status")).to_contain_text("Your password is changed.")
    expect_signed_out(second_page, server, "/console/account")
    # This browser stays in.
    page.get_by_role("link", name="Sign-ins").click()
    expect(page.get_by_role("heading", name="Sign-ins", exact=True)).to_be_visible()


def test_signing_out_everywhere_from_the_sign_ins_page(
    page: Page, second_page: Page, server: str, services: Services, account: Account
) -> None:
    open_console(second_page, server, account.email, account.password, "/console/account")
    open_console(page, server, account.email, account.password, "/console/account/sign-ins")
    sessions = page.get_by_role("table", name="Your open sessions")
    expect(sessions.get_by_role("row")).to_have_count(3)  # the header and two browsers
    expect(sessions.get_by_text("This browser")).to_have_count(1)
    attempts = page.get_by_role("table", name="Your recent sign-in attempts")
    expect(attempts.get_by_text("Succeeded")).to_have_count(2)
    assert_accessible(page)
    save_screenshot(page, "account-sign-ins")

    page.get_by_role("button", name="Sign out everywhere").click()

    expect(page).to_have_url(server + "/login")
    expect_signed_out(page, server, "/console/account")
    expect_signed_out(second_page, server, "/console/account")


def test_disconnecting_an_app_ends_its_tokens(
    page: Page, server: str, services: Services, account: Account
) -> None:
    app = make_oauth_client(services, name="Calendar Sync")
    phone = HttpBrowser(server)
    try:
        phone.sign_in(account)
        with httpx.Client(base_url=server, timeout=60) as api:
            tokens = issue_tokens(phone, api, app)
    finally:
        phone.close()
    open_console(page, server, account.email, account.password, "/console/account/apps")
    expect(page.get_by_role("cell", name="Calendar Sync", exact=True)).to_be_visible()
    assert_accessible(page)
    save_screenshot(page, "account-apps")

    page.get_by_role("button", name="Disconnect Calendar Sync").click()

    expect(page.get_by_role("status")).to_contain_text("The app is disconnected")
    expect(page.get_by_text("You have not connected any app.")).to_be_visible()
    refused = httpx.get(server + "/api/v2/me", headers={"Authorization": f"Bearer {tokens.access}"})
    assert refused.status_code == 401
