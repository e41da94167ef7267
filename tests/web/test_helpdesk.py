"""``/api/v2/helpdesk``: discover (shared/spec §6) and agent-client info (E20)."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from tessera.app import create_app
from tessera.services.container import Services
from tests.conftest import extra_runtime
from tests.factories import key_header, make_key, make_person, make_token, token_header
from tests.live import serving
from tests.secrets_seen import remember
from tests.web.envelopes import UNAUTHORIZED, assert_error, data_of

APPS = ("tickets", "chat", "crm", "feedback", "publish", "tasks")


@contextmanager
def other_server(database_url: str, **settings: Any) -> Iterator[tuple[httpx.Client, Services]]:
    """A second server on the same database, with other settings, and its services."""
    with (
        extra_runtime(database_url, **settings) as runtime,
        serving(create_app(runtime=runtime)) as url,
        httpx.Client(base_url=url) as client,
    ):
        yield client, runtime.services


def discover(client: httpx.Client) -> dict[str, object]:
    data = data_of(client.get("/api/v2/helpdesk/discover"))
    assert isinstance(data, dict)
    return data


def test_discover_has_every_field_of_a_current_deskpro(api: httpx.Client) -> None:
    data = discover(api)

    assert list(data) == [
        "helpdesk_uuid",
        "is_deskpro",
        "is_cloud",
        "helpdesk_url",
        "base_api_url",
        "build",
        "build_id",
        "build_name",
        "apps_oauth_proxy_url",
        "apps_http_proxy_url",
    ]
    assert uuid.UUID(str(data["helpdesk_uuid"])).version == 4
    assert (data["is_deskpro"], data["is_cloud"]) == (True, False)
    assert data["build_id"] == 1000  # version 0.1.0
    assert data["apps_oauth_proxy_url"] == "http://helpdesk.test/api/v2/apps/proxy-oauth"
    assert data["apps_http_proxy_url"] == "http://helpdesk.test/api/v2/apps/proxy-http"


def test_the_helpdesk_uuid_is_the_same_on_every_node(api: httpx.Client, database_url: str) -> None:
    """Another process with the same secret key (another node, or after a restart)."""
    with other_server(database_url) as (other, _):
        assert discover(other)["helpdesk_uuid"] == discover(api)["helpdesk_uuid"]


def test_another_secret_key_is_another_helpdesk(api: httpx.Client, database_url: str) -> None:
    with other_server(database_url, secret_key="another-secret-key-" + "z" * 24) as (other, _):
        assert discover(other)["helpdesk_uuid"] != discover(api)["helpdesk_uuid"]


def test_an_operator_can_pin_the_helpdesk_uuid(database_url: str) -> None:
    pinned = "7B1F4F3E-0C55-4E8B-9E3A-2D6C1B0A9F11"

    with other_server(database_url, helpdesk_uuid=pinned) as (other, _):
        assert discover(other)["helpdesk_uuid"] == pinned.lower()


def test_device_setup_embeds_the_same_discover(api: httpx.Client, services: Services) -> None:
    headers = token_header(make_token(services, make_person(services)))
    setup_token = data_of(api.get("/api/v2/me/device-setup-token", headers=headers))["setup_token"]
    code = setup_token.rsplit("/", 1)[1]
    remember(code)

    redeemed = data_of(api.get(f"/api/v2/api_tokens/device_setup/{code}"), 201)
    remember(redeemed["token"])

    assert redeemed["discover"] == discover(api)


def test_agent_client_info_needs_a_credential(api: httpx.Client) -> None:
    assert_error(api.get("/api/v2/helpdesk/agent-client/info"), UNAUTHORIZED)


def test_agent_client_info_by_default(api: httpx.Client, services: Services) -> None:
    agent = make_person(services)

    data = data_of(
        api.get("/api/v2/helpdesk/agent-client/info", headers=key_header(make_key(services, agent)))
    )

    assert data["settings"] == {
        "helpdesk_name": "Tessera",
        "multi_lang": False,
        "brands": [],
        "features": [],
    }
    assert data["account_info"] == {"timezone": "UTC", "language": 1}
    assert {app: data[app] for app in APPS} == {app: {"enabled": False} for app in APPS}


def test_the_operator_says_which_apps_its_api_has(database_url: str) -> None:
    with other_server(
        database_url, agent_client_apps=["tickets", "chat"], helpdesk_name="Acme Support"
    ) as (other, other_services):
        headers = token_header(make_token(other_services, make_person(other_services)))

        data = data_of(other.get("/api/v2/helpdesk/agent-client/info", headers=headers))

    assert data["settings"]["helpdesk_name"] == "Acme Support"
    enabled = {app for app in APPS if data[app]["enabled"]}
    assert enabled == {"tickets", "chat"}
