"""``/api/v2/people``: admins change and delete people, and it takes effect at once."""

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
from tests.web.envelopes import (
    BAD_CREDENTIALS,
    DUPLICATE,
    FORBIDDEN,
    INVALID,
    INVALID_API_KEY,
    INVALID_API_TOKEN,
    INVALID_EMAIL,
    NOT_FOUND,
    NOT_YOURSELF,
    SHORT_PASSWORD,
    admin_key,
    as_token,
    assert_error,
    data_of,
    exchange_password,
    field,
    invalid_input,
    new_person_body,
)

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
    assert_error(exchange_password(api, person.primary_email, old), BAD_CREDENTIALS)
    issued = data_of(exchange_password(api, person.primary_email, new), 201)
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
    assert data_of(exchange_password(api, person.primary_email, old), 201)["person_id"] == person.id


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
