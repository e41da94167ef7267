"""``/api/v2/people``: admins list, add, change and delete people."""

import math
import secrets

import httpx
import pytest

from tessera.services.container import Services
from tests.factories import (
    key_header,
    make_key,
    make_person,
    make_token,
    new_password,
    token_header,
    unique_email,
)
from tests.secrets_seen import remember
from tests.web.envelopes import (
    BAD_CREDENTIALS,
    BEYOND_64_BITS,
    DUPLICATE,
    FORBIDDEN,
    INVALID,
    INVALID_API_KEY,
    INVALID_API_TOKEN,
    INVALID_EMAIL,
    NOT_FOUND,
    PERSON_FIELDS,
    REQUIRED,
    UNKNOWN_ID,
    Json,
    admin_key,
    assert_error,
    assert_pagination,
    data_of,
    field,
    invalid_input,
    new_person_body,
    total_of,
)

NOT_YOURSELF: Json = {
    "code": "not_yourself",
    "message": "You cannot do this to the person you act as.",
}
SHORT_PASSWORD: Json = {
    "code": "invalid_password",
    "message": "A password needs at least 8 characters.",
}


def exchange(api: httpx.Client, email: str, password: str) -> httpx.Response:
    """``POST /api/v2/api_tokens``; a token received is registered as a secret."""
    response = api.post("/api/v2/api_tokens", json={"email": email, "password": password})
    if response.status_code == 201:
        token = response.json()["data"]["token"]
        remember(token, token.split(":", 1)[1])
    return response


def as_token(token_string: str) -> dict[str, str]:
    return {"Authorization": f"token {token_string}"}


# -- list and get --------------------------------------------------------------------------


def test_list_pages_through_people_with_pagination_meta(
    api: httpx.Client, services: Services
) -> None:
    admin = admin_key(services)
    before = total_of(api, "/api/v2/people", admin)
    first, second = make_person(services), make_person(services, agent=False)
    total = before + 2
    last_page = math.ceil(total / 2)

    response = api.get("/api/v2/people", params={"count": 2, "page": last_page}, headers=admin)

    data = data_of(response)
    assert_pagination(response, total=total, per_page=2, page=last_page)
    assert data[-1]["id"] == second.id
    everyone = data_of(api.get("/api/v2/people", params={"count": 200}, headers=admin))
    assert {first.id, second.id} <= {person["id"] for person in everyone}
    assert all(set(person) >= PERSON_FIELDS for person in everyone)


def test_search_finds_people_by_name_case_insensitively(
    api: httpx.Client, services: Services
) -> None:
    admin = admin_key(services)
    marker = secrets.token_hex(4)
    wanted = make_person(services, name=f"Quill Marker{marker}")
    make_person(services, name="Someone Else")

    response = api.get("/api/v2/people", params={"search": f"MARKER{marker}"}, headers=admin)

    assert [person["id"] for person in data_of(response)] == [wanted.id]
    assert response.json()["meta"]["pagination"]["total"] == 1


def test_search_finds_people_by_email(api: httpx.Client, services: Services) -> None:
    admin = admin_key(services)
    wanted = make_person(services)
    make_person(services)
    fragment = wanted.primary_email.split("@")[0]

    response = api.get("/api/v2/people", params={"search": fragment}, headers=admin)

    assert [person["id"] for person in data_of(response)] == [wanted.id]


def test_search_without_a_match_is_an_empty_page(api: httpx.Client, services: Services) -> None:
    admin = admin_key(services)

    response = api.get(
        "/api/v2/people", params={"search": f"nobody-{secrets.token_hex(6)}"}, headers=admin
    )

    assert data_of(response) == []
    assert response.json()["meta"]["pagination"]["total"] == 0


@pytest.mark.parametrize("search", ["%", "_", "x%y", "Wild_ard"])
def test_search_takes_wildcard_characters_literally(
    api: httpx.Client, services: Services, search: str
) -> None:
    admin = admin_key(services)
    make_person(services, name="Wildcard Xanadu Ynot")

    response = api.get("/api/v2/people", params={"search": search}, headers=admin)

    assert data_of(response) == []


def test_get_shows_the_person_object(api: httpx.Client, services: Services) -> None:
    admin = admin_key(services)
    person = make_person(services, name="Grace Brewster Hopper")

    data = data_of(api.get(f"/api/v2/people/{person.id}", headers=admin))

    assert {name: data[name] for name in PERSON_FIELDS} == {
        "id": person.id,
        "name": "Grace Brewster Hopper",
        "first_name": "Grace",
        "last_name": "Brewster Hopper",
        "display_name": "Grace Brewster Hopper",
        "primary_email": person.primary_email,
        "emails": [person.primary_email],
        "is_agent": True,
        "can_admin": False,
        "is_disabled": False,
        "timezone": "UTC",
        "language_id": 1,
    }


@pytest.mark.parametrize("person_id", [str(UNKNOWN_ID), BEYOND_64_BITS])
@pytest.mark.parametrize(
    ("method", "body"),
    [("GET", None), ("PUT", {"name": "Nobody"}), ("DELETE", None)],
    ids=["get", "put", "delete"],
)
def test_unknown_person_is_not_found(
    api: httpx.Client, services: Services, method: str, body: Json | None, person_id: str
) -> None:
    admin = admin_key(services)

    response = api.request(method, f"/api/v2/people/{person_id}", json=body, headers=admin)

    assert response.status_code != 500
    assert_error(response, NOT_FOUND)


# -- add -----------------------------------------------------------------------------------


def test_create_answers_201_with_the_new_person(api: httpx.Client, services: Services) -> None:
    admin = admin_key(services)
    body = new_person_body()
    email = str(body["email"])

    response = api.post("/api/v2/people", json=body | {"email": email.upper()}, headers=admin)

    data = data_of(response, 201)
    assert {name: data[name] for name in PERSON_FIELDS} == {
        "id": data["id"],
        "name": "Ada Lovelace",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "display_name": "Ada Lovelace",
        "primary_email": email,
        "emails": [email],
        "is_agent": True,
        "can_admin": False,
        "is_disabled": False,
        "timezone": "UTC",
        "language_id": 1,
    }
    assert data["has_password"] is True
    assert str(body["password"]) not in response.text
    assert data_of(api.get(f"/api/v2/people/{data['id']}", headers=admin)) == data


def test_created_agent_can_exchange_the_password_for_a_token(
    api: httpx.Client, services: Services
) -> None:
    admin = admin_key(services)
    body = new_person_body()
    created = data_of(api.post("/api/v2/people", json=body, headers=admin), 201)

    response = exchange(api, str(body["email"]), str(body["password"]))

    issued = data_of(response, 201)
    assert issued["person_id"] == created["id"]
    me = data_of(api.get("/api/v2/me", headers=as_token(issued["token"])))
    assert (me["auth_method"], me["person_id"]) == ("api_token", created["id"])


def test_create_makes_an_admin_an_agent_too(api: httpx.Client, services: Services) -> None:
    admin = admin_key(services)

    response = api.post(
        "/api/v2/people",
        json=new_person_body(is_agent=False, is_admin=True),
        headers=admin,
    )

    data = data_of(response, 201)
    assert (data["is_agent"], data["can_admin"]) == (True, True)


def test_create_refuses_an_email_already_in_use(api: httpx.Client, services: Services) -> None:
    admin = admin_key(services)
    existing = make_person(services)
    before = total_of(api, "/api/v2/people", admin)

    response = api.post(
        "/api/v2/people",
        json=new_person_body(email=f"  {existing.primary_email.upper()} "),
        headers=admin,
    )

    assert_error(response, invalid_input(email=field(DUPLICATE)))
    assert total_of(api, "/api/v2/people", admin) == before


def test_create_refuses_an_email_that_is_someone_elses_second_address(
    api: httpx.Client, services: Services
) -> None:
    admin = admin_key(services)
    existing = make_person(services)
    second = unique_email("second")
    changed = api.put(
        f"/api/v2/people/{existing.id}",
        json={"emails": [existing.primary_email, second]},
        headers=admin,
    )
    assert changed.status_code == 204

    response = api.post("/api/v2/people", json=new_person_body(email=second), headers=admin)

    assert_error(response, invalid_input(email=field(DUPLICATE)))


@pytest.mark.parametrize("name", ["", "   "])
def test_create_refuses_a_blank_name(api: httpx.Client, services: Services, name: str) -> None:
    admin = admin_key(services)

    response = api.post("/api/v2/people", json=new_person_body(name=name), headers=admin)

    assert_error(response, invalid_input(name=field(REQUIRED)))


def test_create_refuses_a_missing_email(api: httpx.Client, services: Services) -> None:
    admin = admin_key(services)
    body = new_person_body()
    del body["email"]

    response = api.post("/api/v2/people", json=body, headers=admin)

    assert_error(response, invalid_input(email=field(REQUIRED)))


@pytest.mark.parametrize("email", ["not-an-email", "two@@example.test", "a b@example.test"])
def test_create_refuses_an_invalid_email(api: httpx.Client, services: Services, email: str) -> None:
    admin = admin_key(services)

    response = api.post("/api/v2/people", json=new_person_body(email=email), headers=admin)

    assert_error(response, invalid_input(email=field(INVALID_EMAIL)))


def test_create_refuses_a_too_short_password(api: httpx.Client, services: Services) -> None:
    admin = admin_key(services)
    before = total_of(api, "/api/v2/people", admin)

    response = api.post("/api/v2/people", json=new_person_body(password="short"), headers=admin)

    assert_error(response, invalid_input(password=field(SHORT_PASSWORD)))
    assert total_of(api, "/api/v2/people", admin) == before


# -- change --------------------------------------------------------------------------------


def test_update_changes_the_name(api: httpx.Client, services: Services) -> None:
    admin = admin_key(services)
    person = make_person(services)

    response = api.put(
        f"/api/v2/people/{person.id}", json={"name": "  Alan   Mathison Turing "}, headers=admin
    )

    assert response.status_code == 204
    assert response.content == b""
    data = data_of(api.get(f"/api/v2/people/{person.id}", headers=admin))
    assert (data["name"], data["first_name"], data["last_name"]) == (
        "Alan Mathison Turing",
        "Alan",
        "Mathison Turing",
    )


def test_disabling_a_person_stops_their_credentials_at_once_and_enabling_restores_them(
    api: httpx.Client, services: Services
) -> None:
    admin = admin_key(services)
    person = make_person(services)
    token = token_header(make_token(services, person))
    key = key_header(make_key(services, person))
    assert api.get("/api/v2/me", headers=token).status_code == 200
    assert api.get("/api/v2/me", headers=key).status_code == 200

    disabled = api.put(f"/api/v2/people/{person.id}", json={"is_disabled": True}, headers=admin)
    token_while_disabled = api.get("/api/v2/me", headers=token)
    key_while_disabled = api.get("/api/v2/me", headers=key)
    enabled = api.put(f"/api/v2/people/{person.id}", json={"is_disabled": False}, headers=admin)
    token_after = api.get("/api/v2/me", headers=token)
    key_after = api.get("/api/v2/me", headers=key)

    assert (disabled.status_code, enabled.status_code) == (204, 204)
    assert_error(token_while_disabled, INVALID_API_TOKEN)
    assert_error(key_while_disabled, INVALID_API_KEY)
    assert data_of(token_after)["person_id"] == person.id
    assert data_of(key_after)["person_id"] == person.id


def test_update_replaces_the_email_addresses(api: httpx.Client, services: Services) -> None:
    admin = admin_key(services)
    person = make_person(services)
    first, second = unique_email("first"), unique_email("second")

    response = api.put(
        f"/api/v2/people/{person.id}",
        json={"emails": [first, second.upper()], "primary_email": second},
        headers=admin,
    )

    assert response.status_code == 204
    data = data_of(api.get(f"/api/v2/people/{person.id}", headers=admin))
    assert (data["primary_email"], data["emails"]) == (second, [second, first])


def test_update_reports_a_bad_second_email_address_by_its_index(
    api: httpx.Client, services: Services
) -> None:
    admin = admin_key(services)
    person = make_person(services)

    response = api.put(
        f"/api/v2/people/{person.id}",
        json={"emails": [unique_email(), "not-an-email"]},
        headers=admin,
    )

    assert_error(response, invalid_input(emails=field(emails_1=field(INVALID_EMAIL))))
    data = data_of(api.get(f"/api/v2/people/{person.id}", headers=admin))
    assert data["emails"] == [person.primary_email]


def test_update_refuses_an_email_of_someone_else(api: httpx.Client, services: Services) -> None:
    admin = admin_key(services)
    person, other = make_person(services), make_person(services)

    response = api.put(
        f"/api/v2/people/{person.id}",
        json={"emails": [person.primary_email, other.primary_email]},
        headers=admin,
    )

    assert_error(response, invalid_input(emails=field(emails_1=field(DUPLICATE))))


def test_update_refuses_a_primary_email_outside_the_list(
    api: httpx.Client, services: Services
) -> None:
    admin = admin_key(services)
    person = make_person(services)

    response = api.put(
        f"/api/v2/people/{person.id}", json={"primary_email": unique_email()}, headers=admin
    )

    assert_error(response, invalid_input(primary_email=field(INVALID)))


def test_new_password_works_for_the_exchange_and_the_old_one_no_longer(
    api: httpx.Client, services: Services
) -> None:
    admin = admin_key(services)
    old, new = new_password(), new_password()
    person = make_person(services, password=old)

    response = api.put(f"/api/v2/people/{person.id}", json={"password": new}, headers=admin)

    assert response.status_code == 204
    assert_error(exchange(api, person.primary_email, old), BAD_CREDENTIALS)
    issued = data_of(exchange(api, person.primary_email, new), 201)
    assert issued["person_id"] == person.id
    assert data_of(api.get("/api/v2/me", headers=as_token(issued["token"])))["person_id"] == (
        person.id
    )


def test_update_refuses_a_too_short_password(api: httpx.Client, services: Services) -> None:
    admin = admin_key(services)
    old = new_password()
    person = make_person(services, password=old)

    response = api.put(f"/api/v2/people/{person.id}", json={"password": "short"}, headers=admin)

    assert_error(response, invalid_input(password=field(SHORT_PASSWORD)))
    assert data_of(exchange(api, person.primary_email, old), 201)["person_id"] == person.id


def test_demoting_an_admin_takes_their_rights_away_on_the_next_request(
    api: httpx.Client, services: Services
) -> None:
    admin = admin_key(services)
    other = make_person(services, admin=True)
    other_key = key_header(make_key(services, other))
    assert api.get("/api/v2/people", headers=other_key).status_code == 200

    response = api.put(f"/api/v2/people/{other.id}", json={"is_admin": False}, headers=admin)

    assert response.status_code == 204
    assert_error(api.get("/api/v2/people", headers=other_key), FORBIDDEN)
    me = data_of(api.get("/api/v2/me", headers=other_key))["person"]
    assert (me["is_agent"], me["can_admin"]) == (True, False)


def test_admin_may_not_disable_themselves(api: httpx.Client, services: Services) -> None:
    me = make_person(services, admin=True)
    headers = key_header(make_key(services, me))

    response = api.put(f"/api/v2/people/{me.id}", json={"is_disabled": True}, headers=headers)

    assert_error(response, invalid_input(person_id=field(NOT_YOURSELF)))
    assert api.get("/api/v2/me", headers=headers).status_code == 200


# -- delete --------------------------------------------------------------------------------


def test_delete_removes_the_person_and_stops_their_credentials_at_once(
    api: httpx.Client, services: Services
) -> None:
    admin = admin_key(services)
    person = make_person(services)
    token = token_header(make_token(services, person))
    key = key_header(make_key(services, person))
    assert api.get("/api/v2/me", headers=token).status_code == 200

    response = api.delete(f"/api/v2/people/{person.id}", headers=admin)

    data = data_of(response)
    assert (data["id"], data["primary_email"]) == (person.id, person.primary_email)
    assert_error(api.get("/api/v2/me", headers=token), INVALID_API_TOKEN)
    assert_error(api.get("/api/v2/me", headers=key), INVALID_API_KEY)
    assert_error(api.get(f"/api/v2/people/{person.id}", headers=admin), NOT_FOUND)


def test_deleted_person_email_can_be_used_again(api: httpx.Client, services: Services) -> None:
    admin = admin_key(services)
    person = make_person(services)
    assert api.delete(f"/api/v2/people/{person.id}", headers=admin).status_code == 200

    response = api.post(
        "/api/v2/people", json=new_person_body(email=person.primary_email), headers=admin
    )

    assert data_of(response, 201)["primary_email"] == person.primary_email


@pytest.mark.parametrize("credential", ["key", "token"])
def test_admin_may_not_delete_themselves(
    api: httpx.Client, services: Services, credential: str
) -> None:
    me = make_person(services, admin=True)
    headers = (
        key_header(make_key(services, me))
        if credential == "key"
        else token_header(make_token(services, me))
    )

    response = api.delete(f"/api/v2/people/{me.id}", headers=headers)

    assert_error(response, invalid_input(person_id=field(NOT_YOURSELF)))
    assert data_of(api.get(f"/api/v2/people/{me.id}", headers=headers))["id"] == me.id
