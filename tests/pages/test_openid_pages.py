"""OpenID Connect's pages in Chromium: the form_post answer and RP-initiated logout.

Only a browser shows that the form_post page's script runs under the page's own policy and
posts the answer to the app by itself, and that the logout confirmation signs the person out.
"""

import re
from urllib.parse import urlencode

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tessera.services.container import Services
from tessera.services.oauth_clients import OAuthClientChanges
from tests.pages.conftest import Callback
from tests.pages.console_kit import assert_accessible, sign_in
from tests.pages.test_browser_flow import (
    expect_consent,
    remember_cookies,
    signed_up,
    start_authorization,
)
from tests.secrets_seen import remember

pytestmark = pytest.mark.browser


def test_form_post_sends_the_answer_to_the_app_by_itself(
    server: str, services: Services, context: BrowserContext, page: Page, callback: Callback
) -> None:
    person, password, app = signed_up(services, callback)
    flow = start_authorization(server, app, callback.url)
    blocked: list[str] = []
    page.on("console", lambda message: blocked.append(message.text))

    page.goto(flow.url + "&" + urlencode({"response_mode": "form_post", "scope": "openid"}))
    sign_in(page, person.primary_email, password)
    expect_consent(page)
    page.get_by_role("button", name="Access").click()

    page.wait_for_url(callback.url)  # posted there: no query, the answer is in the body
    expect(page.get_by_text("You can close this window.")).to_be_visible()
    remember_cookies(context)
    answer = callback.only_query()
    remember(answer.get("code", ""))
    assert set(answer) == {"code", "state", "iss"}  # RFC 9207's iss travels in the form too
    assert answer["state"] == flow.state
    metadata = httpx.get(f"{server}/.well-known/oauth-authorization-server").json()
    assert answer["iss"] == metadata["issuer"]
    assert not [text for text in blocked if "Content Security Policy" in text], blocked


def test_an_app_asks_and_the_person_confirms_signing_out(
    server: str, services: Services, context: BrowserContext, page: Page, callback: Callback
) -> None:
    person, password, app = signed_up(services, callback)
    services.oauth_clients.change(
        app.client.id,
        OAuthClientChanges(post_logout_redirect_uris=[callback.url]),
    )
    page.goto(f"{server}/login")
    sign_in(page, person.primary_email, password)
    remember_cookies(context)
    query = urlencode(
        {
            "client_id": app.client.client_id,
            "post_logout_redirect_uri": callback.url,
            "state": "bye-now",
        }
    )

    page.goto(f"{server}/oauth/logout?{query}")
    expect(page.get_by_role("heading", name="Sign out of Tessera?")).to_be_visible()
    expect(page.get_by_text("Example App")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Sign out").click()

    page.wait_for_url(re.compile("^" + re.escape(callback.url) + r"\?"))
    assert callback.only_query() == {"state": "bye-now"}
    page.goto(f"{server}/login")
    expect(page.get_by_label("Password")).to_be_visible()  # signed out: the form again
