"""``/api/v2/api_keys``: admins list, create, change, regenerate and revoke API keys."""

import math

import httpx
import pytest

from tessera.services.api_keys import IssuedApiKey
from tessera.services.container import Services
from tests.factories import key_header, make_key, make_person
from tests.web.envelopes import (
    BEYOND_64_BITS,
    FORBIDDEN,
    INVALID_API_KEY,
    NOT_FOUND,
    REQUIRED,
    UNKNOWN_ID,
    Json,
    admin_key,
    assert_error,
    assert_pagination,
    data_of,
    field,
    invalid_input,
    received_key_string,
    total_of,
)

NOT_AN_AGENT: Json = {"code": "not_an_agent", "message": "This person is not an active agent."}
SUPERUSER_ONLY: Json = {
    "code": "superuser_only",
    "message": "Only a superuser key can be given the admin API.",
}
INVALID_TAGS: Json = {
    "code": "invalid_tag_pattern",
    "message": "This value is not a list of tag patterns.",
}


def as_key(key_string: str) -> dict[str, str]:
    return {"Authorization": f"key {key_string}"}


def assert_no_secret(response: httpx.Response, *issued: IssuedApiKey) -> None:
    for key in issued:
        assert key.code not in response.text


# -- list and get --------------------------------------------------------------------------


def test_list_pages_through_keys_with_pagination_meta(
    api: httpx.Client, services: Services
) -> None:
    admin = admin_key(services)
    agent = make_person(services)
    before = total_of(api, "/api/v2/api_keys", admin)
    first, second = make_key(services, agent), make_key(services, agent)
    total = before + 2

    last_page = math.ceil(total / 2)
    response = api.get("/api/v2/api_keys", params={"count": 2, "page": last_page}, headers=admin)

    data = data_of(response)
    assert_pagination(response, total=total, per_page=2, page=last_page)
    assert response.json()["linked"] == {}
    assert data[-1]["id"] == second.key.id
    everything = data_of(api.get("/api/v2/api_keys", params={"count": 200}, headers=admin))
    assert {first.key.id, second.key.id} <= {item["id"] for item in everything}


def test_list_never_shows_a_secret(api: httpx.Client, services: Services) -> None:
    admin_person = make_person(services, admin=True)
    admin = make_key(services, admin_person)
    other = make_key(services, make_person(services))

    response = api.get("/api/v2/api_keys", params={"count": 200}, headers=key_header(admin))

    data = data_of(response)
    assert data
    assert all("key_string" not in item for item in data)
    assert_no_secret(response, admin, other)


def test_get_shows_a_key_without_its_secret(api: httpx.Client, services: Services) -> None:
    admin = admin_key(services)
    agent = make_person(services)
    key = make_key(services, agent, tags="tickets.*, -*.delete")

    response = api.get(f"/api/v2/api_keys/{key.key.id}", headers=admin)

    data = data_of(response)
    assert data == {
        "id": key.key.id,
        "note": "test key",
        "person_id": agent.id,
        "is_superuser": False,
        "admin_api": False,
        "tags": "tickets.*, -*.delete",
        "date_created": data["date_created"],
        "date_regenerated": None,
        "date_revoked": None,
        "is_revoked": False,
        "date_last_used": None,
        "last_used_address": None,
    }
    assert isinstance(data["date_created"], str)
    assert_no_secret(response, key)


def test_get_shows_when_and_where_a_key_was_last_used_after_a_flush(
    api: httpx.Client, services: Services
) -> None:
    admin = admin_key(services)
    key = make_key(services, make_person(services))
    assert api.get("/api/v2/me", headers=key_header(key)).status_code == 200

    services.usage.flush()
    data = data_of(api.get(f"/api/v2/api_keys/{key.key.id}", headers=admin))

    assert data["date_last_used"] is not None
    assert data["last_used_address"] == "127.0.0.1"


# -- create --------------------------------------------------------------------------------


def test_create_answers_201_with_the_key_string_once(api: httpx.Client, services: Services) -> None:
    admin = admin_key(services)
    agent = make_person(services)

    response = api.post(
        "/api/v2/api_keys",
        json={"note": "  Zapier integration ", "person_id": agent.id, "tags": "me.*,people.*"},
        headers=admin,
    )

    data = data_of(response, 201)
    key_string = received_key_string(data)
    assert data == {
        "id": data["id"],
        "key_string": key_string,
        "note": "Zapier integration",
        "person_id": agent.id,
        "is_superuser": False,
        "admin_api": False,
        "tags": "me.*, people.*",
        "date_created": data["date_created"],
        "date_regenerated": None,
        "date_revoked": None,
        "is_revoked": False,
        "date_last_used": None,
        "last_used_address": None,
    }
    code = key_string.split(":", 1)[1]
    shown_again = api.get(f"/api/v2/api_keys/{data['id']}", headers=admin)
    assert "key_string" not in data_of(shown_again)
    assert code not in shown_again.text
    listed = api.get("/api/v2/api_keys", params={"count": 200}, headers=admin)
    assert code not in listed.text


def test_created_key_authenticates_as_its_agent(api: httpx.Client, services: Services) -> None:
    admin = admin_key(services)
    agent = make_person(services)
    created = api.post(
        "/api/v2/api_keys", json={"note": "new", "person_id": agent.id}, headers=admin
    )
    key_string = received_key_string(data_of(created, 201))

    me = data_of(api.get("/api/v2/me", headers=as_key(key_string)))

    assert (me["auth_method"], me["person_id"]) == ("api_key", agent.id)


def test_create_makes_a_superuser_key_with_admin_api(api: httpx.Client, services: Services) -> None:
    admin = admin_key(services)
    agent = make_person(services)

    response = api.post(
        "/api/v2/api_keys",
        json={"note": "machine", "is_superuser": True, "admin_api": True},
        headers=admin,
    )

    data = data_of(response, 201)
    key_string = received_key_string(data)
    assert (data["is_superuser"], data["admin_api"], data["person_id"]) == (True, True, None)
    acting = as_key(key_string) | {"X-DeskPRO-Agent-ID": str(agent.id)}
    assert data_of(api.get("/api/v2/me", headers=acting))["person_id"] == agent.id
    assert api.get("/api/v2/api_keys", headers=acting).status_code == 200


@pytest.mark.parametrize("note", ["", "   "])
def test_create_refuses_a_blank_note(api: httpx.Client, services: Services, note: str) -> None:
    admin = admin_key(services)
    agent = make_person(services)
    before = total_of(api, "/api/v2/api_keys", admin)

    response = api.post(
        "/api/v2/api_keys", json={"note": note, "person_id": agent.id}, headers=admin
    )

    assert_error(response, invalid_input(note=field(REQUIRED)))
    assert total_of(api, "/api/v2/api_keys", admin) == before


def test_create_refuses_a_normal_key_without_an_agent(
    api: httpx.Client, services: Services
) -> None:
    admin = admin_key(services)

    response = api.post("/api/v2/api_keys", json={"note": "orphan"}, headers=admin)

    assert_error(response, invalid_input(person_id=field(REQUIRED)))


@pytest.mark.parametrize("disabled", [False, True], ids=["user", "disabled_agent"])
def test_create_refuses_a_person_who_is_not_an_active_agent(
    api: httpx.Client, services: Services, disabled: bool
) -> None:
    admin = admin_key(services)
    # The user is no agent at all; the disabled person is an agent no longer active.
    person = make_person(services, agent=disabled)
    if disabled:
        services.people.set_disabled(person.id, True)

    response = api.post(
        "/api/v2/api_keys", json={"note": "n", "person_id": person.id}, headers=admin
    )

    assert_error(response, invalid_input(person_id=field(NOT_AN_AGENT)))


def test_create_refuses_an_unknown_person(api: httpx.Client, services: Services) -> None:
    admin = admin_key(services)

    response = api.post(
        "/api/v2/api_keys", json={"note": "n", "person_id": UNKNOWN_ID}, headers=admin
    )

    assert_error(
        response,
        invalid_input(person_id=field({"code": "not_found", "message": "No person has this id."})),
    )


def test_create_refuses_admin_api_on_a_normal_key(api: httpx.Client, services: Services) -> None:
    admin = admin_key(services)
    agent = make_person(services)
    before = total_of(api, "/api/v2/api_keys", admin)

    response = api.post(
        "/api/v2/api_keys",
        json={"note": "n", "person_id": agent.id, "admin_api": True},
        headers=admin,
    )

    assert_error(response, invalid_input(admin_api=field(SUPERUSER_ONLY)))
    assert total_of(api, "/api/v2/api_keys", admin) == before


@pytest.mark.parametrize("tags", ["tickets.*; drop", "tickets.* people.*", "tickets/*", "-"])
def test_create_refuses_bad_tag_patterns(api: httpx.Client, services: Services, tags: str) -> None:
    admin = admin_key(services)
    agent = make_person(services)

    response = api.post(
        "/api/v2/api_keys",
        json={"note": "n", "person_id": agent.id, "tags": tags},
        headers=admin,
    )

    assert_error(response, invalid_input(tags=field(INVALID_TAGS)))


# -- change --------------------------------------------------------------------------------


def test_update_changes_note_and_tags(api: httpx.Client, services: Services) -> None:
    admin = admin_key(services)
    key = make_key(services, make_person(services))

    response = api.put(
        f"/api/v2/api_keys/{key.key.id}",
        json={"note": "renamed", "tags": " people.* ,-*.delete "},
        headers=admin,
    )

    assert response.status_code == 204
    assert response.content == b""
    data = data_of(api.get(f"/api/v2/api_keys/{key.key.id}", headers=admin))
    assert (data["note"], data["tags"]) == ("renamed", "people.*, -*.delete")


def test_restricting_tags_takes_effect_on_the_next_request(
    api: httpx.Client, services: Services
) -> None:
    admin = admin_key(services)
    key = make_key(services, make_person(services))
    assert api.get("/api/v2/me", headers=key_header(key)).status_code == 200

    restricted = api.put(f"/api/v2/api_keys/{key.key.id}", json={"tags": "people.*"}, headers=admin)
    refused = api.get("/api/v2/me", headers=key_header(key))
    widened = api.put(f"/api/v2/api_keys/{key.key.id}", json={"tags": "me.*"}, headers=admin)
    allowed = api.get("/api/v2/me", headers=key_header(key))

    assert (restricted.status_code, widened.status_code) == (204, 204)
    assert_error(refused, FORBIDDEN)
    assert data_of(allowed)["auth_method"] == "api_key"


def test_update_refuses_bad_tags_and_keeps_the_old_ones(
    api: httpx.Client, services: Services
) -> None:
    admin = admin_key(services)
    key = make_key(services, make_person(services), tags="me.*")

    response = api.put(
        f"/api/v2/api_keys/{key.key.id}", json={"tags": "tickets.*; drop"}, headers=admin
    )

    assert_error(response, invalid_input(tags=field(INVALID_TAGS)))
    assert data_of(api.get(f"/api/v2/api_keys/{key.key.id}", headers=admin))["tags"] == "me.*"


def test_update_refuses_admin_api_on_a_normal_key(api: httpx.Client, services: Services) -> None:
    admin = admin_key(services)
    key = make_key(services, make_person(services))

    response = api.put(f"/api/v2/api_keys/{key.key.id}", json={"admin_api": True}, headers=admin)

    assert_error(response, invalid_input(admin_api=field(SUPERUSER_ONLY)))
    assert api.get("/api/v2/api_keys", headers=key_header(key)).status_code == 403


def test_update_rebinds_a_key_to_another_agent(api: httpx.Client, services: Services) -> None:
    admin = admin_key(services)
    key = make_key(services, make_person(services))
    other = make_person(services)

    response = api.put(
        f"/api/v2/api_keys/{key.key.id}", json={"person_id": other.id}, headers=admin
    )

    assert response.status_code == 204
    assert data_of(api.get("/api/v2/me", headers=key_header(key)))["person_id"] == other.id


def test_update_refuses_to_bind_a_key_to_a_non_agent(api: httpx.Client, services: Services) -> None:
    admin = admin_key(services)
    agent = make_person(services)
    key = make_key(services, agent)
    user = make_person(services, agent=False)

    response = api.put(f"/api/v2/api_keys/{key.key.id}", json={"person_id": user.id}, headers=admin)

    assert_error(response, invalid_input(person_id=field(NOT_AN_AGENT)))
    assert data_of(api.get("/api/v2/me", headers=key_header(key)))["person_id"] == agent.id


def test_update_refuses_to_unbind_a_normal_key(api: httpx.Client, services: Services) -> None:
    admin = admin_key(services)
    key = make_key(services, make_person(services))

    response = api.put(f"/api/v2/api_keys/{key.key.id}", json={"clear_person": True}, headers=admin)

    assert_error(response, invalid_input(person_id=field(REQUIRED)))


def test_update_refuses_a_blank_note(api: httpx.Client, services: Services) -> None:
    admin = admin_key(services)
    key = make_key(services, make_person(services))

    response = api.put(f"/api/v2/api_keys/{key.key.id}", json={"note": "  "}, headers=admin)

    assert_error(response, invalid_input(note=field(REQUIRED)))


# -- regenerate ----------------------------------------------------------------------------


def test_regenerate_gives_a_new_secret_and_the_old_one_stops_at_once(
    api: httpx.Client, services: Services
) -> None:
    admin = admin_key(services)
    agent = make_person(services)
    key = make_key(services, agent)
    assert api.get("/api/v2/me", headers=key_header(key)).status_code == 200

    response = api.post(f"/api/v2/api_keys/{key.key.id}/regenerate", headers=admin)

    data = data_of(response)
    new_string = received_key_string(data)
    assert data["id"] == key.key.id
    assert new_string != key.key_string
    assert data["date_regenerated"] is not None
    assert_error(api.get("/api/v2/me", headers=key_header(key)), INVALID_API_KEY)
    assert data_of(api.get("/api/v2/me", headers=as_key(new_string)))["person_id"] == agent.id
    shown = api.get(f"/api/v2/api_keys/{key.key.id}", headers=admin)
    assert "key_string" not in data_of(shown)
    assert new_string.split(":", 1)[1] not in shown.text


# -- revoke --------------------------------------------------------------------------------


def test_delete_revokes_the_key_at_once(api: httpx.Client, services: Services) -> None:
    admin = admin_key(services)
    key = make_key(services, make_person(services))
    assert api.get("/api/v2/me", headers=key_header(key)).status_code == 200

    response = api.delete(f"/api/v2/api_keys/{key.key.id}", headers=admin)

    data = data_of(response)
    assert data["id"] == key.key.id
    assert data["date_revoked"] is not None
    assert data["is_revoked"] is True
    assert "key_string" not in data
    assert_error(api.get("/api/v2/me", headers=key_header(key)), INVALID_API_KEY)
    assert data_of(api.get(f"/api/v2/api_keys/{key.key.id}", headers=admin))["is_revoked"]


# -- unknown ids ---------------------------------------------------------------------------

KEY_OPERATIONS = pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("PUT", "", {"note": "x"}),
        ("POST", "/regenerate", None),
        ("DELETE", "", None),
    ],
    ids=["get", "put", "regenerate", "delete"],
)


@KEY_OPERATIONS
def test_unknown_key_is_not_found(
    api: httpx.Client, services: Services, method: str, suffix: str, body: Json | None
) -> None:
    admin = admin_key(services)

    response = api.request(
        method, f"/api/v2/api_keys/{UNKNOWN_ID}{suffix}", json=body, headers=admin
    )

    assert_error(response, NOT_FOUND)


@KEY_OPERATIONS
def test_id_beyond_64_bits_is_not_found(
    api: httpx.Client, services: Services, method: str, suffix: str, body: Json | None
) -> None:
    admin = admin_key(services)

    response = api.request(
        method, f"/api/v2/api_keys/{BEYOND_64_BITS}{suffix}", json=body, headers=admin
    )

    assert response.status_code != 500
    assert_error(response, NOT_FOUND)


def test_a_revoked_key_cannot_be_regenerated(api: httpx.Client, services: Services) -> None:
    admin = key_header(make_key(services, make_person(services, admin=True)))
    revoked = make_key(services, make_person(services))
    services.api_keys.revoke(revoked.key.id)

    response = api.post(f"/api/v2/api_keys/{revoked.key.id}/regenerate", headers=admin)

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "errors": [
            {
                "code": "revoked",
                "message": "A revoked key cannot be regenerated; create a new one.",
            }
        ]
    }
    assert "key_string" not in response.text
