"""``/api/v2/people``: admins list, add, change and delete people."""

import math
import secrets

import httpx
import pytest

from tessera.services.container import Services
from tests.factories import (
    make_person,
    unique_email,
)
from tests.web.envelopes import (
    BEYOND_64_BITS,
    DUPLICATE,
    INVALID_EMAIL,
    NOT_FOUND,
    PERSON_FIELDS,
    REQUIRED,
    SHORT_PASSWORD,
    UNKNOWN_ID,
    Json,
    admin_key,
    as_token,
    assert_error,
    assert_pagination,
    data_of,
    exchange_password,
    field,
    invalid_input,
    new_person_body,
    total_of,
)

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

    response = exchange_password(api, str(body["email"]), str(body["password"]))

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
