"""``/api/v2/audit_events``: what admins and people did is recorded, read and exported."""

import csv
import io
import json
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tessera.app import create_app
from tessera.core.audit import AuditEvent, AuditFilters
from tessera.core.paging import PageRequest
from tessera.services.container import Services
from tests.clock import ManualClock
from tests.conftest import extra_runtime
from tests.factories import key_header, make_key, make_person, make_token, new_password
from tests.live import serving
from tests.oauth.keys import jwks, rsa_key
from tests.secrets_seen import remember
from tests.web.envelopes import INVALID, assert_error, data_of, envelope, field, invalid_input


def events(api: httpx.Client, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    listing: list[dict[str, Any]] = data_of(
        api.get("/api/v2/audit_events", params={"count": 200, **params}, headers=headers)
    )
    return listing


def test_admin_changes_over_the_api_are_recorded_with_the_admin_as_actor(
    api: httpx.Client, services: Services
) -> None:
    admin_person = make_person(services, admin=True)
    admin = key_header(make_key(services, admin_person))
    person = data_of(
        api.post(
            "/api/v2/people",
            json={"email": "audited@example.test", "name": "Au Dit", "is_agent": True},
            headers=admin,
        ),
        201,
    )
    pid = person["id"]
    api.put(f"/api/v2/people/{pid}", json={"is_disabled": True}, headers=admin)
    api.put(f"/api/v2/people/{pid}", json={"is_disabled": False, "name": "Dit Au"}, headers=admin)
    key = data_of(
        api.post("/api/v2/api_keys", json={"note": "k", "person_id": pid}, headers=admin), 201
    )
    remember(key["key_string"])
    api.put(f"/api/v2/api_keys/{key['id']}", json={"note": "renamed"}, headers=admin)
    regenerated = data_of(api.post(f"/api/v2/api_keys/{key['id']}/regenerate", headers=admin))
    remember(regenerated["key_string"])
    api.delete(f"/api/v2/api_keys/{key['id']}", headers=admin)
    token = make_token(services, services.people.get(pid))
    api.delete(f"/api/v2/api_tokens/{token.token.id}", headers=admin)
    api.delete(f"/api/v2/people/{pid}", headers=admin)

    about = events(api, admin, person_id=pid)

    kinds = [e["kind"] for e in reversed(about)]
    assert kinds == [
        "person.created",
        "person.disabled",
        "person.enabled",
        "person.changed",
        "api_key.created",
        "api_key.changed",
        "api_key.regenerated",
        "api_key.revoked",
        "api_token.issued",
        "api_token.revoked",
        "person.deleted",
    ]
    by_admin = [e for e in about if e["kind"] != "api_token.issued"]
    assert {e["actor_person_id"] for e in by_admin} == {admin_person.id}
    assert {e["subject_person_id"] for e in about} == {pid}
    changed = next(e for e in about if e["kind"] == "person.changed")
    assert changed["detail"] == {"fields": ["first_name", "last_name", "name"]}
    issued = next(e for e in about if e["kind"] == "api_token.issued")
    assert issued["detail"] == {"source": "device_setup"}
    assert issued["credential_kind"] == "token"
    assert issued["credential_id"] == token.token.id
    revoked_key = next(e for e in about if e["kind"] == "api_key.revoked")
    assert (revoked_key["credential_kind"], revoked_key["credential_id"]) == ("key", key["id"])


def test_sign_ins_are_recorded_and_no_secret_reaches_the_trail(
    api: httpx.Client, services: Services
) -> None:
    admin = key_header(make_key(services, make_person(services, admin=True)))
    password = new_password()
    agent = make_person(services, password=password)
    wrong = new_password()

    good = api.post("/api/v2/api_tokens", json={"email": agent.primary_email, "password": password})
    remember(good.json()["data"]["token"])
    bad = api.post("/api/v2/api_tokens", json={"email": agent.primary_email, "password": wrong})
    nobody = api.post("/api/v2/api_tokens", json={"email": "no@example.test", "password": wrong})
    throttled = [
        api.post("/api/v2/api_tokens", json={"email": agent.primary_email, "password": wrong})
        for _ in range(6)
    ][-1]

    assert (good.status_code, bad.status_code, nobody.status_code) == (201, 401, 401)
    assert throttled.status_code == 429
    listed = events(api, admin)
    kinds = [e["kind"] for e in listed]
    assert kinds.count("login.succeeded") == 1
    assert kinds.count("login.throttled") >= 1
    assert "api_token.issued" in kinds
    failed = [e for e in listed if e["kind"] == "login.failed"]
    assert {e["subject_person_id"] for e in failed} == {agent.id, None}
    assert {e["actor_person_id"] for e in failed} == {None}
    issued = next(e for e in listed if e["kind"] == "api_token.issued")
    assert issued["detail"] == {"source": "exchange"}
    assert issued["client_address"] == "127.0.0.1"
    export = api.get("/api/v2/audit_events.csv", headers=admin).text
    whole = str(listed) + export
    for secret in (password, wrong, good.json()["data"]["token"], agent.primary_email):
        assert secret not in whole


def test_filters_and_pagination_newest_first(
    api: httpx.Client, services: Services, clock: ManualClock
) -> None:
    admin = key_header(make_key(services, make_person(services, admin=True)))
    first = make_person(services)
    clock.advance(timedelta(hours=1))
    middle = clock.now()
    second = make_person(services)
    third = make_person(services)

    created = events(api, admin, kind="person.created")
    since = events(api, admin, kind="person.created", since=middle.isoformat())
    until = events(api, admin, kind="person.created", until=middle.isoformat())
    of_second = events(api, admin, person_id=second.id)
    page = api.get(
        "/api/v2/audit_events",
        params={"kind": "person.created", "count": 2, "page": 2, "format": "json"},
        headers=admin,
    ).json()

    assert [e["subject_person_id"] for e in created][:3] == [third.id, second.id, first.id]
    assert [e["subject_person_id"] for e in since] == [third.id, second.id]
    assert first.id in [e["subject_person_id"] for e in until]
    assert second.id not in [e["subject_person_id"] for e in until]
    assert [e["kind"] for e in of_second] == ["person.created"]
    assert page["meta"]["pagination"] == {
        "total": len(created),
        "count": len(created) - 2,
        "per_page": 2,
        "current_page": 2,
        "total_pages": 2,
    }
    assert [e["id"] for e in page["data"]] == [e["id"] for e in created[2:]]


def test_csv_export_has_a_header_and_one_row_per_event(
    api: httpx.Client, services: Services
) -> None:
    admin = key_header(make_key(services, make_person(services, admin=True)))
    person = make_person(services)

    response = api.get("/api/v2/audit_events.csv", params={"person_id": person.id}, headers=admin)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows[0].keys() == {
        "id",
        "occurred_at",
        "kind",
        "actor_person_id",
        "subject_person_id",
        "credential_kind",
        "credential_id",
        "client_address",
        "detail",
    }
    assert [(r["kind"], r["subject_person_id"]) for r in rows] == [
        ("person.created", str(person.id))
    ]
    assert json.loads(rows[0]["detail"]) == {"is_agent": True, "is_admin": False}


def test_only_admins_read_the_trail_and_bad_dates_are_invalid_input(
    api: httpx.Client, services: Services
) -> None:
    agent = key_header(make_key(services, make_person(services)))
    admin = key_header(make_key(services, make_person(services, admin=True)))

    for path in ("/api/v2/audit_events", "/api/v2/audit_events.csv"):
        assert_error(api.get(path, headers=agent), envelope(403, "forbidden"))
    bad = api.get("/api/v2/audit_events", params={"since": "yesterday"}, headers=admin)
    assert_error(bad, invalid_input(since=field(INVALID)))
    bad_csv = api.get("/api/v2/audit_events.csv", params={"until": "2026-13-01"}, headers=admin)
    assert_error(bad_csv, invalid_input(until=field(INVALID)))


@pytest.mark.parametrize(
    "moment",
    ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+01:00"],
)
@pytest.mark.parametrize("path", ["/api/v2/audit_events", "/api/v2/audit_events.csv"])
def test_a_date_out_of_range_in_utc_is_invalid_input_not_a_crash(
    api: httpx.Client, services: Services, moment: str, path: str
) -> None:
    admin = key_header(make_key(services, make_person(services, admin=True)))

    answer = api.get(path, params={"since": moment, "until": moment}, headers=admin)

    assert_error(answer, invalid_input(since=field(INVALID), until=field(INVALID)))


def test_the_server_prunes_old_events_soon_after_it_starts(
    database_url: str, services: Services, clock: ManualClock
) -> None:
    clock.advance(-timedelta(days=400))
    old = make_person(services)
    clock.reset()
    recent = make_person(services)

    def about(person_id: int) -> list[AuditEvent]:
        return services.audit.list(AuditFilters(person_id=person_id), PageRequest(1, 10)).items

    with (
        extra_runtime(database_url, prune_every_seconds=0.2) as runtime,
        serving(create_app(runtime=runtime)),
    ):
        deadline = time.monotonic() + 10
        while about(old.id) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert about(old.id) == []
        assert [e.kind for e in about(recent.id)] == ["person.created"]


def test_an_admins_changes_to_an_oauth_client_are_recorded_without_its_secret(
    api: httpx.Client, services: Services
) -> None:
    admin_person = make_person(services, admin=True)
    admin = key_header(make_key(services, admin_person))
    body = {"name": "Calendar", "redirect_uris": ["https://calendar.example.test/cb"]}
    client = data_of(api.post("/api/v2/oauth_clients", json=body, headers=admin), 201)
    remember(client["secret"])
    path = f"/api/v2/oauth_clients/{client['id']}"
    api.put(path, json={"name": "Calendar Sync", "is_enabled": False}, headers=admin)
    rotated = data_of(api.post(f"{path}/rotate_secret", headers=admin))
    remember(rotated["secret"])
    api.delete(path, headers=admin)

    about = [
        event for event in reversed(events(api, admin)) if event["kind"].startswith("oauth_client.")
    ]

    assert [event["kind"] for event in about] == [
        "oauth_client.created",
        "oauth_client.changed",
        "oauth_client.secret_rotated",
        "oauth_client.deleted",
    ]
    assert {event["actor_person_id"] for event in about} == {admin_person.id}
    assert {event["detail"]["oauth_client_id"] for event in about} == {client["id"]}
    assert about[1]["detail"]["fields"] == ["is_enabled", "name"]
    assert about[3]["detail"]["name"] == "Calendar Sync"
    trail = json.dumps(about)
    assert client["secret"] not in trail
    assert rotated["secret"] not in trail


def test_a_new_clients_token_format_and_auth_method_are_recorded_without_its_keys(
    api: httpx.Client, services: Services
) -> None:
    admin_person = make_person(services, admin=True)
    admin = key_header(make_key(services, admin_person))
    keys = jwks(rsa_key())
    body = {
        "name": "Reports",
        "redirect_uris": ["https://reports.example.test/cb"],
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": keys,
        "access_token_format": "jwt",
    }
    by_key = data_of(api.post("/api/v2/oauth_clients", json=body, headers=admin), 201)
    plain = {"name": "Calendar", "redirect_uris": ["https://calendar.example.test/cb"]}
    by_secret = data_of(api.post("/api/v2/oauth_clients", json=plain, headers=admin), 201)
    remember(by_secret["secret"])

    created = {
        event["detail"]["oauth_client_id"]: event["detail"]
        for event in events(api, admin)
        if event["kind"] == "oauth_client.created"
    }

    assert created[by_key["id"]]["access_token_format"] == "jwt"
    assert created[by_key["id"]]["token_endpoint_auth_method"] == "private_key_jwt"
    assert created[by_secret["id"]]["access_token_format"] == "opaque"
    assert created[by_secret["id"]]["token_endpoint_auth_method"] == "client_secret_basic"
    trail = json.dumps(list(created.values()))
    assert keys["keys"][0]["n"] not in trail
    assert by_secret["secret"] not in trail
