"""What the admin lists say about OAuth: which app issued a token, how many people connected it."""

import httpx

from tessera.services.container import Services
from tests.factories import key_header, make_key, make_oauth_client, make_person, make_token
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

    assert tokens.count(f"OAuth Calendar Sync {app.client.client_id}") == 2
    assert "Device setup (QR code) Device setup" in tokens
    calendar_row = apps[
        apps.index("Calendar Sync") : apps.index("</tr>", apps.index("Calendar Sync"))
    ]
    assert "<td>2</td>" in calendar_row
    nobody_row = apps[apps.index("Nobody") : apps.index("</tr>", apps.index("Nobody"))]
    assert "<td>0</td>" in nobody_row


def test_a_keys_last_use_shows_when_and_from_where(
    server: str, services: Services, api: httpx.Client
) -> None:
    issued = make_key(services, make_person(services))
    with console_as(server, services) as admin:
        before = text_of(admin.get("/console/api-keys"))
        assert api.get("/api/v2/me", headers=key_header(issued)).status_code == 200
        services.usage.flush()
        after = text_of(admin.get("/console/api-keys"))
    assert "test key Id" in before
    assert "never" in before
    assert "127.0.0.1" not in before
    assert "127.0.0.1" in after


def test_long_lists_page_and_the_pages_keep_the_search(server: str, services: Services) -> None:
    for _ in range(26):
        make_person(services, name="Paged Person")
    with console_as(server, services) as admin:
        first = admin.get("/console/people?q=paged")
        second = admin.get("/console/people?q=paged&page=2")
    assert text_of(first).count("Paged Person") == 25
    assert 'href="/console/people?q=paged&amp;page=2" rel="next"' in first.text
    assert "Page 1 of 2" in text_of(first)
    assert text_of(second).count("Paged Person") == 1
    assert 'href="/console/people?q=paged&amp;page=1" rel="prev"' in second.text
