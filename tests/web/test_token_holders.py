"""Every token list names what holds each token: the OAuth app, or how it was issued.

Admin API, ``/me/api_tokens``, the CLI (tests/cli/test_tokens.py) and the console
(tests/pages/test_console_admin_lists.py) read one listing; the page of tokens
and their apps is one statement, however many apps there are.
"""

import httpx
import pytest

from tessera.bootstrap import Runtime
from tessera.core.paging import PageRequest
from tessera.services.container import Services
from tests.conftest import select_statements
from tests.factories import key_header, make_key, make_oauth_client, make_person, make_token
from tests.oauth.flows import Browser, issue_tokens, make_account
from tests.secrets_seen import remember


def _oauth_token(server: str, api: httpx.Client, services: Services, name: str) -> str:
    app = make_oauth_client(services, name=name)
    browser = Browser(server)
    try:
        browser.sign_in(make_account(services))
        return app.client.client_id if issue_tokens(browser, api, app) else ""
    finally:
        browser.close()


@pytest.fixture
def three_kinds(server: str, api: httpx.Client, services: Services) -> dict[str, str]:
    """One token of each kind: an OAuth app's, a device's, and a password exchange's."""
    client_id = _oauth_token(server, api, services, "Calendar Sync")
    make_token(services, make_person(services))
    password = "correct horse battery staple"
    person = make_person(services, password=password)
    exchanged = api.post(
        "/api/v2/api_tokens", json={"email": person.primary_email, "password": password}
    )
    assert exchanged.status_code == 201, exchanged.text
    remember(exchanged.json()["data"]["token"])
    return {"client_id": client_id}


def test_the_admin_api_names_the_app_of_each_token(
    api: httpx.Client, services: Services, three_kinds: dict[str, str]
) -> None:
    admin = key_header(make_key(services, make_person(services, admin=True)))

    listed = api.get("/api/v2/api_tokens", headers=admin)

    assert listed.status_code == 200, listed.text
    apps = {item["source"]: item["app"] for item in listed.json()["data"]}
    client_id = three_kinds["client_id"]
    assert apps == {
        "oauth": {
            "kind": "oauth_client",
            "name": "Calendar Sync",
            "client_id": client_id,
            "id": int(client_id.split("_")[0]),
        },
        "device_setup": {
            "kind": "device_setup",
            "name": "Device setup",
            "client_id": None,
            "id": None,
        },
        "exchange": {
            "kind": "password_exchange",
            "name": "Password exchange",
            "client_id": None,
            "id": None,
        },
    }


def test_my_tokens_name_their_app_too(api: httpx.Client, services: Services) -> None:
    person = make_person(services)
    issued = make_token(services, person)

    mine = api.get(
        "/api/v2/me/api_tokens", headers={"Authorization": f"token {issued.token_string}"}
    )

    assert mine.status_code == 200, mine.text
    assert [item["app"]["name"] for item in mine.json()["data"]] == ["Device setup"]


def test_the_page_of_tokens_and_apps_is_one_statement(
    runtime: Runtime, services: Services, server: str, api: httpx.Client
) -> None:
    for number in range(3):
        _oauth_token(server, api, services, f"App {number}")

    # The session's server polls the change feed on this engine meanwhile: not ours to count.
    with select_statements(runtime.database.engine, this_thread=True) as seen:
        page = services.api_tokens.list(PageRequest(1, 25))

    assert sorted(t.holder for t in page.items) == ["App 0", "App 1", "App 2"]
    # The total, and the page with its apps: never a read per token or per app.
    assert len(seen) == 2, seen
