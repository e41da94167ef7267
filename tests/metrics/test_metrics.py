"""``GET /metrics`` (issue #16): values move with real requests, labels stay bounded."""

import httpx
import pytest

from tessera.services.container import Services
from tests.factories import key_header, make_key, make_person, make_token, token_header
from tests.metrics.scrape import samples, value

REQUESTS = "tessera_http_request_duration_seconds_count"
DECISIONS = "tessera_credential_decisions_total"
LOOKUPS = "tessera_cache_lookups_total"


def test_a_request_is_counted_under_its_route_template(
    api: httpx.Client, services: Services
) -> None:
    key = make_key(services, make_person(services, admin=True))
    labels = {"route": "/api/v2/people/{person_id}", "method": "GET", "status": "200"}
    before = value(api, REQUESTS, **labels)

    for _ in range(3):
        assert api.get(f"/api/v2/people/{key.key.person_id}", headers=key_header(key)).is_success
    text = api.get("/metrics").text

    assert samples(text)[(REQUESTS, frozenset(labels.items()))] == before + 3
    assert f"/api/v2/people/{key.key.person_id}" not in text  # the raw path is no label


def test_paths_no_route_matches_share_one_label(api: httpx.Client, services: Services) -> None:
    labels = {"route": "unmatched", "method": "GET", "status": "404"}
    before = value(api, REQUESTS, **labels)

    api.get("/no/such/path/1")
    api.get("/no/such/path/2")
    text = api.get("/metrics").text

    assert samples(text)[(REQUESTS, frozenset(labels.items()))] == before + 2
    assert "/no/such" not in text


def test_methods_outside_the_known_set_share_one_label(
    api: httpx.Client, services: Services
) -> None:
    before = value(api, REQUESTS, route="unmatched", method="other", status="404")

    api.request("PROPFIND", "/coffee")

    assert value(api, REQUESTS, route="unmatched", method="other", status="404") == before + 1
    assert "PROPFIND" not in api.get("/metrics").text


def test_the_hot_path_is_timed_under_its_route(api: httpx.Client, services: Services) -> None:
    key = make_key(services, make_person(services))
    before = value(api, REQUESTS, route="/api/v2/me", method="GET", status="200")

    api.get("/api/v2/me", headers=key_header(key))
    api.get("/api/v2/20161122/me", headers=key_header(key))  # dated: the same route

    assert value(api, REQUESTS, route="/api/v2/me", method="GET", status="200") == before + 2


def test_decisions_count_allowed_and_refused_with_their_code(
    api: httpx.Client, services: Services
) -> None:
    token = make_token(services, make_person(services))
    allowed = value(api, DECISIONS, outcome="allowed", reason="api_token")
    invalid = value(api, DECISIONS, outcome="refused", reason="invalid_api_token")
    missing = value(api, DECISIONS, outcome="refused", reason="unauthorized")

    api.get("/api/v2/me", headers=token_header(token))
    api.get(
        "/api/v2/me", headers={"Authorization": f"token {token.token.id}:{'2' * len(token.code)}"}
    )
    api.get("/api/v2/me")

    assert value(api, DECISIONS, outcome="allowed", reason="api_token") == allowed + 1
    assert value(api, DECISIONS, outcome="refused", reason="invalid_api_token") == invalid + 1
    assert value(api, DECISIONS, outcome="refused", reason="unauthorized") == missing + 1


def test_cache_hits_and_refusals_from_memory_are_counted(
    api: httpx.Client, services: Services
) -> None:
    key = make_key(services, make_person(services))
    wrong = {"Authorization": f"key {key.key.id}:{'2' * len(key.code)}"}
    hits = value(api, LOOKUPS, cache="credentials", result="hit")
    refused_from_memory = value(api, LOOKUPS, cache="refusals", result="hit")
    refused_by_database = value(api, LOOKUPS, cache="refusals", result="miss")

    for _ in range(3):  # the first reads the database and caches it; the others hit
        assert api.get("/api/v2/me", headers=key_header(key)).is_success
    for _ in range(3):  # the first is refused by the database, the others from memory
        assert api.get("/api/v2/me", headers=wrong).status_code == 401

    assert value(api, LOOKUPS, cache="credentials", result="hit") >= hits + 2
    assert value(api, LOOKUPS, cache="refusals", result="miss") == refused_by_database + 1
    assert value(api, LOOKUPS, cache="refusals", result="hit") == refused_from_memory + 2
    entries = value(api, "tessera_cache_entries", cache="credentials")
    assert entries >= 1


def test_the_metrics_are_not_cached_and_not_in_the_api_description(
    api: httpx.Client, services: Services
) -> None:
    answer = api.get("/metrics")

    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["Content-Type"].startswith("text/plain")
    assert "/metrics" not in api.get("/openapi.json").json()["paths"]
    for name in (
        "tessera_change_feed_lag_seconds",
        "tessera_password_hash_queue_depth",
        "tessera_rate_limit_store_fallback",
        "tessera_db_pool_connections_in_use",
        "tessera_cache_entries",
    ):
        assert name in answer.text, name
    assert 'tessera_worker_threads_max{purpose="credentials"} 16.0' in answer.text
    assert 'tessera_worker_threads_max{purpose="sign-in"} 8.0' in answer.text


@pytest.mark.parametrize("path", ["/metrics"])
def test_a_forged_forwarded_header_from_an_untrusted_peer_needs_a_credential(
    api: httpx.Client, services: Services, path: str
) -> None:
    answer = api.get(path, headers={"X-Forwarded-For": "127.0.0.1"})

    assert answer.status_code == 401
    assert answer.json() == {
        "status": 401,
        "code": "unauthorized",
        "message": "You must be authenticated to make this request.",
    }
