"""What the admin lists say about OAuth: which app issued a token, how many people connected it."""

import httpx

from tessera.services.container import Services
from tests.factories import make_oauth_client, make_person, make_token
from tests.oauth.flows import Browser, issue_tokens, make_account
from tests.pages.admin_http import console_as, text_of


def test_tokens_name_their_app_and_apps_count_their_people(
    server: str, services: Services, api: httpx.Client
) -> None:
    app = make_oauth_client(services, name="Calendar Sync")
    make_oauth_client(services, name="Nobody's App")
    for _ in range(2):
        browser = Browser(server)
        try:
            browser.sign_in(make_account(services))
            issue_tokens(browser, api, app)
        finally:
            browser.close()
    make_token(services, make_person(services, name="Pat Phone"))

    with console_as(server, services) as admin:
        tokens = text_of(admin.get("/console/tokens"))
        apps = admin.get("/console/apps").text

    assert tokens.count("OAuth Calendar Sync") == 2
    assert "Device setup (QR code) —" in tokens
    calendar_row = apps[
        apps.index("Calendar Sync") : apps.index("</tr>", apps.index("Calendar Sync"))
    ]
    assert "<td>2</td>" in calendar_row
    nobody_row = apps[apps.index("Nobody") : apps.index("</tr>", apps.index("Nobody"))]
    assert "<td>0</td>" in nobody_row
