"""Who may call the admin endpoints: admin rights, and the tag patterns of the key used."""

from typing import Any

import httpx

from tessera.services.container import Services
from tests.factories import key_header, make_key, make_person
from tests.web.envelopes import (
    ADMIN_CALLERS,
    FORBIDDEN,
    NON_ADMIN_CALLERS,
    UNAUTHORIZED,
    Caller,
    Json,
    admin_key,
    assert_error,
    data_of,
    new_person_body,
    received_key_string,
    total_of,
)

# -- API keys: who may call ----------------------------------------------------------------


@ADMIN_CALLERS
def test_admins_may_manage_keys(api: httpx.Client, services: Services, caller: Caller) -> None:
    headers = caller(services)
    agent = make_person(services)

    listed = api.get("/api/v2/api_keys", headers=headers)
    created = api.post(
        "/api/v2/api_keys", json={"note": "by admin", "person_id": agent.id}, headers=headers
    )

    data_of(listed)
    received_key_string(data_of(created, 201))


@NON_ADMIN_CALLERS
def test_non_admins_may_not_manage_keys(
    api: httpx.Client, services: Services, caller: Caller
) -> None:
    headers = caller(services)
    agent = make_person(services)
    victim = make_key(services, agent)
    admin = admin_key(services)
    before = total_of(api, "/api/v2/api_keys", admin)

    responses: list[tuple[str, str, Any]] = [
        ("GET", "/api/v2/api_keys", None),
        ("GET", f"/api/v2/api_keys/{victim.key.id}", None),
        ("POST", "/api/v2/api_keys", {"note": "sneaky", "person_id": agent.id}),
        ("PUT", f"/api/v2/api_keys/{victim.key.id}", {"tags": "-*"}),
        ("POST", f"/api/v2/api_keys/{victim.key.id}/regenerate", None),
        ("DELETE", f"/api/v2/api_keys/{victim.key.id}", None),
    ]
    for method, path, body in responses:
        assert_error(api.request(method, path, json=body, headers=headers), FORBIDDEN)

    assert total_of(api, "/api/v2/api_keys", admin) == before
    assert api.get("/api/v2/me", headers=key_header(victim)).status_code == 200


def test_anonymous_callers_may_not_list_keys(api: httpx.Client, services: Services) -> None:
    response = api.get("/api/v2/api_keys")

    assert_error(response, UNAUTHORIZED)


# -- tag patterns on admin endpoints -------------------------------------------------------


def test_admin_key_limited_by_tags_may_list_but_not_delete(
    api: httpx.Client, services: Services
) -> None:
    limited = key_header(
        make_key(services, make_person(services, admin=True), tags="api_keys.*, -*.delete")
    )
    victim = make_key(services, make_person(services))

    listed = api.get("/api/v2/api_keys", headers=limited)
    fetched = api.get(f"/api/v2/api_keys/{victim.key.id}", headers=limited)
    deleted = api.delete(f"/api/v2/api_keys/{victim.key.id}", headers=limited)

    data_of(listed)
    data_of(fetched)
    assert_error(deleted, FORBIDDEN)
    assert api.get("/api/v2/me", headers=key_header(victim)).status_code == 200


def test_admin_key_limited_to_people_may_not_list_keys(
    api: httpx.Client, services: Services
) -> None:
    people_only = key_header(make_key(services, make_person(services, admin=True), tags="people.*"))

    keys = api.get("/api/v2/api_keys", headers=people_only)
    people = api.get("/api/v2/people", headers=people_only)

    assert_error(keys, FORBIDDEN)
    data_of(people)


# -- people: who may call ------------------------------------------------------------------


@ADMIN_CALLERS
def test_admins_may_manage_people(api: httpx.Client, services: Services, caller: Caller) -> None:
    headers = caller(services)

    listed = api.get("/api/v2/people", headers=headers)
    created = api.post("/api/v2/people", json=new_person_body(), headers=headers)

    data_of(listed)
    data_of(created, 201)


@NON_ADMIN_CALLERS
def test_non_admins_may_not_manage_people(
    api: httpx.Client, services: Services, caller: Caller
) -> None:
    headers = caller(services)
    victim = make_person(services)
    admin = admin_key(services)
    before = total_of(api, "/api/v2/people", admin)

    attempts: list[tuple[str, str, Json | None]] = [
        ("GET", "/api/v2/people", None),
        ("GET", f"/api/v2/people/{victim.id}", None),
        ("POST", "/api/v2/people", new_person_body()),
        ("PUT", f"/api/v2/people/{victim.id}", {"is_disabled": True}),
        ("DELETE", f"/api/v2/people/{victim.id}", None),
    ]
    for method, path, body in attempts:
        assert_error(api.request(method, path, json=body, headers=headers), FORBIDDEN)

    assert total_of(api, "/api/v2/people", admin) == before
    victim_now = data_of(api.get(f"/api/v2/people/{victim.id}", headers=admin))
    assert victim_now["is_disabled"] is False


def test_admin_key_limited_to_keys_may_not_list_people(
    api: httpx.Client, services: Services
) -> None:
    keys_only = key_header(make_key(services, make_person(services, admin=True), tags="api_keys.*"))

    response = api.get("/api/v2/people", headers=keys_only)

    assert_error(response, FORBIDDEN)
