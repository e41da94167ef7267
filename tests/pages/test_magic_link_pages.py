"""A magic link in a real browser: the mail arrives at a real SMTP server, the link opens a
confirmation page, its button signs the person in and lands on the page the link names.

``TESSERA_SCREENSHOTS=1`` also saves the confirmation page to docs/screenshots/.
"""

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.clock import ManualClock
from tests.factories import make_oauth_client, make_person
from tests.mail_server import MailSite, link_in, mail_site
from tests.pages.conftest import Callback
from tests.pages.console_kit import assert_accessible, save_screenshot
from tests.pages.test_browser_flow import (
    APP_NAME,
    arrived_at,
    expect_consent,
    remember_cookies,
    start_authorization,
)
from tests.secrets_seen import remember

pytestmark = pytest.mark.browser

ENDPOINT = "/api/v2/api_tokens/magic_link/email"


@pytest.fixture(scope="module")
def module_site(database_url: str, clock: ManualClock) -> Iterator[MailSite]:
    # Agents may use links here, so that the console itself is the target.
    with mail_site(database_url, clock, magic_link_agents=True) as site:
        yield site


@pytest.fixture
def site(module_site: MailSite, clock: ManualClock) -> Iterator[MailSite]:
    yield module_site
    module_site.clean(clock)


def mailed_link(site: MailSite, email: str, target: str | None = None) -> str:
    body = {"email": email} if target is None else {"email": email, "target": target}
    with httpx.Client(base_url=site.url, timeout=60) as api:
        assert api.post(ENDPOINT, json=body).status_code == 204
    link, _ = link_in(site.inbox.wait_for(1)[0])
    return link.replace("http://helpdesk.test", site.url)


def test_an_agent_follows_the_link_confirms_and_lands_on_the_target(
    page: Page, site: MailSite
) -> None:
    agent = make_person(site.runtime.services, agent=True, name="Ann Agent")
    link = mailed_link(site, agent.primary_email, target="/console/account/sign-ins")

    page.goto(link)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_text("The link works once")).to_be_visible()
    assert_accessible(page)
    save_screenshot(page, "magic-link-confirm")
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url(site.url + "/console/account/sign-ins")
    remember(*(cookie.get("value", "") for cookie in page.context.cookies()))
    expect(page.get_by_role("heading", name="Sign-ins", exact=True)).to_be_visible()
    expect(page.get_by_text("This browser")).to_be_visible()
    # The sign-in is among the person's own, as a password sign-in would be.
    expect(page.get_by_role("table", name="Your recent sign-in attempts")).to_contain_text(
        "Succeeded"
    )

    page.goto(link)
    expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()
    expect(page.get_by_role("button", name="Sign in")).to_have_count(0)
    assert_accessible(page)


def test_a_user_without_a_target_lands_on_the_signed_in_page(page: Page, site: MailSite) -> None:
    user = make_person(site.runtime.services, agent=False, name="Una User")
    link = mailed_link(site, user.primary_email, target="https://evil.example/")

    page.goto(link)
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url(site.url + "/login")
    remember(*(cookie.get("value", "") for cookie in page.context.cookies()))
    expect(page.get_by_role("heading", name="Signed in")).to_be_visible()
    expect(page.get_by_text(user.primary_email)).to_be_visible()


def test_an_app_gets_a_token_for_a_person_who_signed_in_by_link(
    page: Page, site: MailSite, callback: Callback
) -> None:
    services = site.runtime.services
    agent = make_person(services, agent=True, name="Ann Agent")
    app = make_oauth_client(services, name=APP_NAME, redirect_uris=[callback.url])
    assert app.secret is not None
    flow = start_authorization(site.url, app, callback.url)

    page.goto(flow.url)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_role("link", name="E-mail me a sign-in link instead").click()
    expect(page.get_by_role("heading", name="Sign in by e-mail")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("E-mail address").fill(agent.primary_email)
    page.get_by_role("button", name="E-mail me a link").click()
    expect(page.get_by_role("heading", name="Check your mail")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text(agent.primary_email)
    assert_accessible(page)

    link, _ = link_in(site.inbox.wait_for(1)[0])
    page.goto(link.replace("http://helpdesk.test", site.url))
    page.get_by_role("button", name="Sign in").click()
    expect_consent(page)
    page.get_by_role("button", name="Access").click()
    arrived_at(page, callback)
    remember_cookies(page.context)

    answer = callback.only_query()
    remember(answer.get("code", ""))
    assert answer["state"] == flow.state
    with httpx.Client(base_url=site.url, timeout=30) as http:
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
        me = http.get("/api/v2/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.json()["data"]["person_id"] == agent.id


def test_the_sign_in_page_offers_links_only_where_mail_is_set_up(page: Page, server: str) -> None:
    page.goto(server + "/login")

    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("link", name="E-mail me a sign-in link instead")).to_have_count(0)
