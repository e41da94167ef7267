"""The operator's story from the README, end to end: an empty server to everything revoked again.

A real ``tessera serve`` on a database of its own prints the first-run link. From there on a
person does everything in Chromium: the operator creates the first admin, adds an agent and
gives them an API key; the agent connects a phone from "My account" by its QR code; the
operator watches the audit log, then revokes the key, the phone's token and the agent. What an
app or a phone does is done with httpx, as curl would.
"""

import io
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.conftest import fresh_database
from tests.factories import new_password, unique_email
from tests.feed.nodes import own_node
from tests.pages.conftest import VIEWPORT
from tests.pages.console_kit import assert_accessible, save_screenshot, sign_in
from tests.secrets_seen import remember

pytestmark = pytest.mark.browser

SETUP_LINK = re.compile(r"http://127\.0\.0\.1:\d+/setup/[A-Za-z0-9_-]+")


@pytest.fixture
def node(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("operator")
    with fresh_database(backend, folder) as url, own_node(url, folder) as served:
        yield served


def printed_setup_link(log: Path) -> str:
    """The first-run link, as the operator reads it in the server's output."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = SETUP_LINK.search(log.read_text(errors="replace"))
        if found:
            remember(found[0].rsplit("/", 1)[1])
            return found[0]
        time.sleep(0.1)
    raise AssertionError("no setup link in the server's output: " + log.read_text()[-2000:])


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Callable[[], Page]]:
    """A page in a browser profile of its own (the operator's, the agent's), closed after."""
    contexts: list[BrowserContext] = []

    def open_page() -> Page:
        contexts.append(browser.new_context(viewport=VIEWPORT, locale="en-GB"))
        return contexts[-1].new_page()

    yield open_page
    for context in contexts:
        context.close()


def me(server: str, authorization: str) -> httpx.Response:
    return httpx.get(server + "/api/v2/me", headers={"Authorization": authorization})


def test_an_operator_sets_up_gives_a_key_connects_a_phone_watches_and_revokes(
    new_page: Callable[[], Page], node: tuple[str, Path]
) -> None:
    server, log = node
    admin_email, admin_password = unique_email("operator"), new_password()
    agent_email, agent_password = unique_email("alex"), new_password()

    # 1. First run: the printed link creates the first admin.
    operator = new_page()
    operator.goto(printed_setup_link(log))
    assert_accessible(operator)
    operator.get_by_label("Name").fill("Olivia Operator")
    operator.get_by_label("E-mail address").fill(admin_email)
    operator.get_by_label("Password (8 characters or more)").fill(admin_password)
    operator.get_by_label("Password, again").fill(admin_password)
    operator.get_by_role("button").click()
    expect(operator).to_have_url(re.compile(r"/login$"))
    sign_in(operator, admin_email, admin_password)
    expect(operator.get_by_role("navigation", name="Console")).to_be_visible()

    # 2. An agent, then an API key for them, used as an app would.
    operator.get_by_role("link", name="People").first.click()
    operator.get_by_label("Name", exact=True).fill("Alex Agent")
    operator.get_by_label("E-mail address").fill(agent_email)
    operator.get_by_label("Initial password (optional)").fill(agent_password)
    operator.get_by_role("button", name="Add person").click()
    expect(operator.get_by_role("status")).to_have_text("The person was added.")
    operator.get_by_role("navigation", name="Console").get_by_role("link", name="API keys").click()
    operator.get_by_label("Note").fill("Alex's ticket sync")
    operator.get_by_label("Agent (e-mail address or id)").fill(agent_email)
    operator.get_by_label("Allowed endpoint tags").fill("*")
    operator.get_by_role("button", name="Create key").click()
    key_string = operator.locator("#key-string").inner_text().strip()
    remember(key_string.partition(":")[2])
    key_answer = me(server, f"key {key_string}")
    assert key_answer.status_code == 200
    assert key_answer.json()["data"]["auth_method"] == "api_key"

    # 3. The agent connects a phone: the QR code's content is all the phone gets.
    agent = new_page()
    agent.goto(server + "/console/account/device")
    sign_in(agent, agent_email, agent_password)
    agent.get_by_role("button", name="Show a code").click()
    qr = agent.get_by_role("img", name="QR code to scan with the mobile app")
    scanned = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.screenshot())))
    assert len(scanned) == 1
    setup_url = scanned[0].text.removeprefix("dp_device_setup:")
    assert setup_url.startswith(server + "/")
    remember(setup_url.rsplit("/", 1)[1])
    redeemed = httpx.get(setup_url)
    assert redeemed.status_code == 201
    phone_token = redeemed.json()["data"]["token"]
    remember(phone_token.partition(":")[2])
    assert me(server, f"token {phone_token}").json()["data"]["auth_method"] == "api_token"
    expect(agent.get_by_role("status")).to_contain_text("Your device is connected")

    # 4. The operator watches the audit log, filtered to the agent.
    operator.get_by_role("link", name="Audit log").click()
    operator.get_by_label("Person (e-mail address or id)").fill(agent_email)
    operator.get_by_role("button", name="Show events").click()
    events = operator.get_by_role("table")
    for kind in ("person.created", "api_key.created", "api_token.issued", "login.succeeded"):
        expect(events).to_contain_text(kind)
    assert_accessible(operator)
    save_screenshot(operator, "operator-audit")

    # 5. Everything revoked again: the key, the phone's token, then the agent.
    operator.get_by_role("link", name="API keys").click()
    operator.get_by_role("link", name="Alex's ticket sync").click()
    operator.get_by_role("button", name="Revoke key").click()
    assert me(server, f"key {key_string}").status_code == 401
    operator.get_by_role("link", name="Tokens").click()
    token_id = phone_token.partition(":")[0]
    operator.get_by_role("button", name=f"Revoke token {token_id}").click()
    assert me(server, f"token {phone_token}").status_code == 401
    operator.get_by_role("link", name="People").first.click()
    operator.get_by_role("link", name="Alex Agent").click()
    operator.get_by_role("button", name="Disable").click()
    expect(operator.get_by_role("status")).to_contain_text("The person is disabled")
    # The agent's browser session ended with it.
    agent.goto(server + "/console/account")
    expect(agent).to_have_url(re.compile(r"/login\?next="))
    operator.get_by_role("link", name="Audit log").click()
    operator.get_by_label("Person (e-mail address or id)").fill(agent_email)
    operator.get_by_role("button", name="Show events").click()
    for kind in ("api_key.revoked", "api_token.revoked", "person.disabled"):
        expect(operator.get_by_role("table")).to_contain_text(kind)
    # The server's own output (access log included) never held a secret of the story.
    printed = log.read_text(errors="replace")
    codes = [key_string.partition(":")[2], phone_token.partition(":")[2]]
    for secret in (*codes, admin_password, agent_password):
        assert secret not in printed
