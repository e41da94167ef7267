"""What happens to an app's tokens when the person disconnects it, or the admin disables it."""

import httpx

from tessera.core.oauth_clients import ClientContext
from tessera.services.container import Services
from tessera.services.oauth_clients import OAuthClientChanges
from tessera.services.people import PersonChanges
from tests.factories import make_oauth_client
from tests.oauth.flows import Browser, issue_tokens, make_account, me
from tests.web.envelopes import assert_refused


def test_a_person_sees_and_disconnects_the_apps_they_connected(
    api: httpx.Client, services: Services, server: str
) -> None:
    account = make_account(services)
    app = make_oauth_client(services, name="Calendar Sync")
    browser = Browser(server)
    try:
        browser.sign_in(account)
        tokens = issue_tokens(browser, api, app)
    finally:
        browser.close()
    bearer = {"Authorization": f"Bearer {tokens.access}"}

    listed = api.get("/api/v2/me/connected_apps", headers=bearer)
    removed = api.delete(f"/api/v2/me/connected_apps/{app.client.client_id}", headers=bearer)

    assert listed.json()["data"][0]["client_id"] == app.client.client_id
    assert listed.json()["data"][0]["name"] == "Calendar Sync"
    assert removed.status_code == 200
    assert_refused(me(api, tokens.access), "invalid_api_token")
    again = api.delete(f"/api/v2/me/connected_apps/{app.client.client_id}", headers=bearer)
    assert again.status_code == 401


def test_disabling_an_app_stops_its_tokens(
    api: httpx.Client, services: Services, server: str
) -> None:
    account = make_account(services)
    app = make_oauth_client(services, context=ClientContext.AGENT)
    browser = Browser(server)
    try:
        browser.sign_in(account)
        tokens = issue_tokens(browser, api, app)
    finally:
        browser.close()
    assert me(api, tokens.access).status_code == 200

    services.oauth_clients.change(app.client.id, OAuthClientChanges(is_enabled=False))

    assert_refused(me(api, tokens.access), "invalid_api_token")
    services.oauth_clients.change(app.client.id, OAuthClientChanges(is_enabled=True))
    assert me(api, tokens.access).status_code == 200


def test_an_agent_apps_tokens_stop_when_the_person_stops_being_an_agent(
    api: httpx.Client, services: Services, server: str
) -> None:
    account = make_account(services)
    app = make_oauth_client(services, context=ClientContext.AGENT)
    browser = Browser(server)
    try:
        browser.sign_in(account)
        tokens = issue_tokens(browser, api, app)
    finally:
        browser.close()

    services.people.change(account.person.id, PersonChanges(is_agent=False))

    assert_refused(me(api, tokens.access), "invalid_api_token")
