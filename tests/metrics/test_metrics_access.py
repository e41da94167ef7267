"""Who may read ``GET /metrics`` (ADR 0036): the allowed networks, or a credential allowed."""

import httpx

from tests.conftest import served
from tests.factories import key_header, make_key, make_person, make_token, token_header

UNAUTHORIZED = {
    "status": 401,
    "code": "unauthorized",
    "message": "You must be authenticated to make this request.",
}


def test_without_allowed_networks_only_a_credential_allowed_the_metrics_tag_reads(
    database_url: str,
) -> None:
    with served(database_url, metrics_networks="") as (runtime, api):
        services = runtime.services
        admin = make_person(services, admin=True)
        scraper = make_key(services, admin, tags="metrics.*")
        other_tags = make_key(services, admin, tags="people.*")
        agent_token = make_token(services, make_person(services))

        anonymous = api.get("/metrics")
        by_scraper = api.get("/metrics", headers=key_header(scraper))
        by_other_key = api.get("/metrics", headers=key_header(other_tags))
        by_agent = api.get("/metrics", headers=token_header(agent_token))
        by_admin = api.get("/metrics", headers=token_header(make_token(services, admin)))

    assert (anonymous.status_code, anonymous.json()) == (401, UNAUTHORIZED)
    assert by_scraper.status_code == 200
    assert "tessera_credential_decisions_total" in by_scraper.text
    assert by_other_key.status_code == 403
    assert by_other_key.json()["code"] == "forbidden"
    assert by_agent.status_code == 403  # not an admin
    assert by_admin.status_code == 200


def test_an_allowed_network_is_the_connection_peer(database_url: str) -> None:
    with (
        served(database_url, metrics_networks="127.0.0.2") as (_, api),
        httpx.Client(
            base_url=str(api.base_url), transport=httpx.HTTPTransport(local_address="127.0.0.2")
        ) as from_allowed,
    ):
        from_loopback = api.get("/metrics")
        from_network = from_allowed.get("/metrics")

    assert from_loopback.status_code == 401  # 127.0.0.1 is not in 127.0.0.2/32
    assert from_network.status_code == 200


def test_through_a_trusted_proxy_the_forwarded_client_decides(database_url: str) -> None:
    with served(database_url, trusted_proxies="127.0.0.1") as (_, api):
        outside = api.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
        local = api.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"})

    assert (outside.status_code, outside.json()) == (401, UNAUTHORIZED)
    assert local.status_code == 200


def test_metrics_can_be_turned_off(database_url: str) -> None:
    with served(database_url, metrics_enabled=False) as (_, api):
        answer = api.get("/metrics")

    assert answer.status_code == 404
