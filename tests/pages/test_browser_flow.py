"""The sign-in and consent pages in a real browser, as a person goes through an app's OAuth flow.

The other tests speak HTTP to the pages; only a browser shows what a person meets: that the
redirects chain up (authorize → login → consent → the app), that the cookies come along with
SameSite as set, that the pages can be used with the keyboard alone, and that the browser
really refuses to frame the consent page. Chromium is driven by Playwright; the app is a tiny
HTTP server on 127.0.0.1 (the ``callback`` fixture), and the test plays its back end with httpx.

``TESSERA_SCREENSHOTS=1`` also saves the login and consent pages to docs/screenshots/.
"""

import base64
import hashlib
import html
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, Response, expect

from tessera.core.people import Person
from tessera.services.container import Services
from tessera.services.oauth_clients import IssuedOAuthClient
from tests.factories import make_oauth_client, make_person, new_password
from tests.pages.conftest import Callback
from tests.pages.console_kit import save_screenshot, sign_in
from tests.secrets_seen import remember

pytestmark = pytest.mark.browser

APP_NAME = "Example App"
#: Which element has the keyboard focus, as "tag:id" or "tag:text" (buttons have no id).
FOCUSED = """() => {
    const element = document.activeElement;
    if (!element || element === document.body) return "body";
    return `${element.tagName.toLowerCase()}:${element.id || element.textContent.trim()}`;
}"""
#: Visible form controls that no <label> names (hidden inputs are not for people).
UNLABELLED = """() => Array.from(document.querySelectorAll("input, select, textarea"))
    .filter((control) => control.type !== "hidden" && control.labels.length === 0)
    .map((control) => control.name)"""


@dataclass(frozen=True, slots=True)
class Authorization:
    """One authorization request, as the app builds it: what the browser opens, what it keeps."""

    url: str
    state: str
    verifier: str


def start_authorization(server: str, app: IssuedOAuthClient, redirect_uri: str) -> Authorization:
    """The app's first step: a fresh state and PKCE pair (S256), and the URL to send people to."""
    verifier = secrets.token_urlsafe(48)
    remember(verifier)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    state = secrets.token_urlsafe(16)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": app.client.client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    return Authorization(f"{server}/oauth/authorize?{query}", state, verifier)


def signed_up(services: Services, callback: Callback) -> tuple[Person, str, IssuedOAuthClient]:
    """An agent with a password, and a confidential app whose redirect URI is the callback."""
    password = new_password()
    person = make_person(services, password=password, name="Ann Agent")
    app = make_oauth_client(services, name=APP_NAME, redirect_uris=[callback.url])
    return person, password, app


def remember_cookies(context: BrowserContext) -> None:
    """The session and CSRF cookies are secrets too: no log line may hold them."""
    remember(*(cookie.get("value", "") for cookie in context.cookies()))


def expect_consent(page: Page) -> None:
    expect(page.get_by_role("heading", name=f"Grant access to {APP_NAME}")).to_be_visible()


def arrived_at(page: Page, callback: Callback) -> None:
    """Wait until the browser shows the app's page: the app has received the redirect by then."""
    page.wait_for_url(re.compile("^" + re.escape(callback.url) + r"\?"))
    expect(page.get_by_text("You can close this window.")).to_be_visible()


def focus_of(page: Page) -> str:
    focused: str = page.evaluate(FOCUSED)
    return focused


def test_a_person_signs_in_and_grants_access_and_the_app_calls_the_api(
    server: str, services: Services, context: BrowserContext, page: Page, callback: Callback
) -> None:
    person, password, app = signed_up(services, callback)
    assert app.secret is not None
    flow = start_authorization(server, app, callback.url)

    page.goto(flow.url)
    expect(page).to_have_url(re.compile("^" + re.escape(f"{server}/login?next=")))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    save_screenshot(page, "login")
    sign_in(page, person.primary_email, password)

    expect_consent(page)
    expect(page.get_by_text(person.display_name)).to_be_visible()
    save_screenshot(page, "consent")
    page.get_by_role("button", name="Access").click()
    arrived_at(page, callback)
    remember_cookies(context)

    answer = callback.only_query()
    remember(answer.get("code", ""))
    assert set(answer) == {"code", "state", "iss"}  # RFC 9207
    assert answer["state"] == flow.state

    with httpx.Client(base_url=server, timeout=30) as http:
        exchanged = http.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": answer["code"],
                "redirect_uri": callback.url,
                "code_verifier": flow.verifier,
            },
            auth=(app.client.client_id, app.secret),
        )
        tokens = exchanged.json()
        remember(tokens.get("access_token", ""), tokens.get("refresh_token", ""))
        assert exchanged.status_code == 200, tokens
        assert tokens["token_type"] == "Bearer"
        assert tokens["refresh_token"]
        access = tokens["access_token"]
        # Deskpro's own form and the standard OAuth one name the same token.
        for authorization in (f"Bearer {access}", f"token {access}"):
            me = http.get("/api/v2/me", headers={"Authorization": authorization})
            assert me.status_code == 200, me.text
            data = me.json()["data"]
            assert data["auth_method"] == "api_token"
            assert data["person_id"] == person.id
            assert data["person"]["primary_email"] == person.primary_email
            assert data["app_id"] == app.client.client_id


def test_deny_sends_access_denied_and_the_state_back_to_the_app(
    server: str, services: Services, context: BrowserContext, page: Page, callback: Callback
) -> None:
    person, password, app = signed_up(services, callback)
    flow = start_authorization(server, app, callback.url)

    page.goto(flow.url)
    sign_in(page, person.primary_email, password)
    expect_consent(page)
    page.get_by_role("button", name="Deny").click()
    arrived_at(page, callback)
    remember_cookies(context)

    answer = callback.only_query()
    remember(answer.get("code", ""))
    assert "code" not in answer
    assert answer["error"] == "access_denied"
    assert answer["state"] == flow.state


@pytest.mark.parametrize("broken", ["client", "redirect_uri"])
def test_a_request_that_cannot_succeed_is_refused_before_the_sign_in_page(
    server: str, services: Services, page: Page, callback: Callback, broken: str
) -> None:
    _, _, app = signed_up(services, callback)
    flow = start_authorization(server, app, callback.url)
    if broken == "client":
        url = flow.url.replace(app.client.client_id, app.client.client_id + "x")
    else:
        url = flow.url.replace("%2Fcallback", "%2Felsewhere")
    assert url != flow.url

    answer = page.goto(url)

    assert answer is not None
    assert answer.status == 400
    expect(page).to_have_url(url)
    expect(page.get_by_role("heading", name="Cannot continue")).to_be_visible()
    expect(page.get_by_role("heading", name="Sign in")).to_have_count(0)
    assert callback.queries == []


def test_the_pages_work_with_the_keyboard_alone(
    server: str, services: Services, context: BrowserContext, page: Page, callback: Callback
) -> None:
    person, password, app = signed_up(services, callback)
    flow = start_authorization(server, app, callback.url)

    page.goto(flow.url)
    # Every field is named by a label (what screen readers announce and a click on it focuses).
    expect(page.get_by_label("E-mail address")).to_have_attribute("type", "email")
    expect(page.get_by_label("Password")).to_have_attribute("type", "password")
    assert page.evaluate(UNLABELLED) == []
    # The cursor starts in the first field, and Tab follows the reading order.
    assert focus_of(page) == "input:email"
    page.keyboard.press("Tab")
    assert focus_of(page) == "input:password"
    page.keyboard.press("Tab")
    assert focus_of(page) == "button:Sign in"

    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    assert focus_of(page) == "input:email"
    page.keyboard.type(person.primary_email)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    page.keyboard.press("Enter")

    expect_consent(page)
    assert page.evaluate(UNLABELLED) == []
    # Nothing is focused on arrival (no accidental Enter grants access); Tab reaches both answers.
    assert focus_of(page) == "body"
    page.keyboard.press("Tab")
    assert focus_of(page) == "button:Access"
    page.keyboard.press("Tab")
    assert focus_of(page) == "button:Deny"
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    arrived_at(page, callback)
    remember_cookies(context)

    answer = callback.only_query()
    remember(answer.get("code", ""))
    assert set(answer) == {"code", "state", "iss"}  # RFC 9207
    assert answer["state"] == flow.state


def assert_not_frameable(response: Response | None) -> None:
    assert response is not None
    headers = response.headers
    policy = [part.strip() for part in headers["content-security-policy"].split(";")]
    assert "frame-ancestors 'none'" in policy
    assert headers["x-frame-options"] == "DENY"


def test_a_page_from_another_origin_cannot_frame_the_consent_page(
    server: str, services: Services, context: BrowserContext, page: Page, callback: Callback
) -> None:
    person, password, app = signed_up(services, callback)
    flow = start_authorization(server, app, callback.url)

    assert_not_frameable(page.goto(flow.url))  # the login page
    sign_in(page, person.primary_email, password)
    expect_consent(page)
    consent = page.goto(flow.url)
    assert_not_frameable(consent)
    remember_cookies(context)

    # A page on another origin (the app's port) frames the consent page, and, as a control,
    # Tessera's metadata document, which carries no framing rule. The browser sends the
    # session cookie (same site), so the server does answer with the consent page: only the
    # browser, obeying the headers, keeps it out of the frame.
    metadata = f"{server}/.well-known/oauth-authorization-server"
    callback.page = (
        "<!doctype html><title>Another origin</title>"
        f'<iframe id="victim" name="victim" src="{html.escape(flow.url)}"'
        ' onload="document.body.dataset.victim = 1"></iframe>'
        f'<iframe id="control" name="control" src="{html.escape(metadata)}"'
        ' onload="document.body.dataset.control = 1"></iframe>'
    )
    with page.expect_response(lambda r: r.url == flow.url) as framed:
        page.goto(callback.url)
    assert framed.value.status == 200
    assert_not_frameable(framed.value)
    page.wait_for_function("document.body.dataset.victim && document.body.dataset.control")

    victim, control = page.frame("victim"), page.frame("control")
    assert victim is not None
    assert control is not None
    expect(page.frame_locator("#control").locator("body")).to_contain_text("token_endpoint")
    assert not victim.url.startswith(server)
    assert "Grant access" not in victim.content()
