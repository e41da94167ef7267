"""Every invalid field of a request is reported in one answer, as Deskpro's forms do.

Each body here has several problems, found by different rules (pydantic's types and lengths,
the services' own rules, rules across fields); the whole envelope is compared, so a field
missing from the answer fails the test.
"""

import httpx
import pytest

from tessera.services.container import Services
from tests.factories import key_header, make_key, make_person, make_token, token_header
from tests.web.envelopes import (
    INVALID,
    INVALID_EMAIL,
    REQUIRED,
    SHORT_PASSWORD,
    TOO_FEW_ONE,
    Json,
    admin_key,
    assert_error,
    field,
    invalid_input,
)

INVALID_TAGS: Json = {
    "code": "invalid_tag_pattern",
    "message": "This value is not a list of tag patterns.",
}
TOO_LONG: Json = {"code": "too_long", "message": "This value is too long (200 at most)."}
SUPERUSER_ONLY: Json = {
    "code": "superuser_only",
    "message": "Only a superuser key can be given the admin API.",
}


def test_a_client_with_a_blank_name_and_no_redirect_uris(
    api: httpx.Client, services: Services
) -> None:
    response = api.post("/api/v2/oauth_clients", json={"name": ""}, headers=admin_key(services))

    assert_error(response, invalid_input(name=field(REQUIRED), redirect_uris=field(REQUIRED)))


def test_a_client_with_no_name_and_an_empty_list(api: httpx.Client, services: Services) -> None:
    response = api.post(
        "/api/v2/oauth_clients", json={"redirect_uris": []}, headers=admin_key(services)
    )

    assert_error(response, invalid_input(name=field(REQUIRED), redirect_uris=field(TOO_FEW_ONE)))


def test_a_client_whose_name_is_of_the_wrong_type(api: httpx.Client, services: Services) -> None:
    response = api.post(
        "/api/v2/oauth_clients", json={"name": 5, "redirect_uris": []}, headers=admin_key(services)
    )

    body = response.json()
    assert response.status_code == 400
    assert set(body["errors"]["fields"]) == {"name", "redirect_uris"}
    assert body["errors"]["fields"]["redirect_uris"] == field(TOO_FEW_ONE)


def test_a_client_change_with_two_bad_fields(api: httpx.Client, services: Services) -> None:
    headers = admin_key(services)
    created = api.post(
        "/api/v2/oauth_clients",
        json={"name": "App", "redirect_uris": ["https://app.example/cb"]},
        headers=headers,
    )
    client_id = created.json()["data"]["id"]

    response = api.put(
        f"/api/v2/oauth_clients/{client_id}",
        json={"name": "n" * 201, "redirect_uris": []},
        headers=headers,
    )

    assert_error(response, invalid_input(name=field(TOO_LONG), redirect_uris=field(TOO_FEW_ONE)))


JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("body", "headers"),
    [(b"", {}), (b"{}", JSON), (b'{"email": ""}', JSON), (b"{}", {})],
    ids=["absent", "empty object", "blank e-mail", "untyped empty object"],
)
def test_the_exchange_names_both_missing_fields(
    api: httpx.Client, body: bytes, headers: dict[str, str]
) -> None:
    response = api.post("/api/v2/api_tokens", content=body, headers=headers)

    assert_error(response, invalid_input(email=field(REQUIRED), password=field(REQUIRED)))


def test_a_key_without_note_or_agent(api: httpx.Client, services: Services) -> None:
    response = api.post("/api/v2/api_keys", json={}, headers=admin_key(services))

    assert_error(response, invalid_input(note=field(REQUIRED), person_id=field(REQUIRED)))


def test_a_key_with_every_kind_of_problem(api: httpx.Client, services: Services) -> None:
    body = {"note": "", "tags": "tickets.*, no way", "admin_api": True}

    response = api.post("/api/v2/api_keys", json=body, headers=admin_key(services))

    assert_error(
        response,
        invalid_input(
            note=field(REQUIRED),
            person_id=field(REQUIRED),
            admin_api=field(SUPERUSER_ONLY),
            tags=field(INVALID_TAGS),
        ),
    )


def test_a_key_whose_superuser_flag_is_not_a_boolean(api: httpx.Client, services: Services) -> None:
    """The rules that depend on it wait for a valid flag; the other fields are still checked."""
    body = {"note": "", "is_superuser": "perhaps", "admin_api": True}

    response = api.post("/api/v2/api_keys", json=body, headers=admin_key(services))

    assert response.status_code == 400
    assert set(response.json()["errors"]["fields"]) == {"note", "is_superuser"}


def test_a_key_change_with_two_bad_fields(api: httpx.Client, services: Services) -> None:
    key = make_key(services, make_person(services))

    response = api.put(
        f"/api/v2/api_keys/{key.key.id}",
        json={"note": "", "tags": "-"},
        headers=admin_key(services),
    )

    assert_error(response, invalid_input(note=field(REQUIRED), tags=field(INVALID_TAGS)))


def test_a_new_person_with_three_bad_fields(api: httpx.Client, services: Services) -> None:
    body = {"email": "not-an-address", "name": "", "password": "short"}

    response = api.post("/api/v2/people", json=body, headers=admin_key(services))

    assert_error(
        response,
        invalid_input(
            email=field(INVALID_EMAIL), name=field(REQUIRED), password=field(SHORT_PASSWORD)
        ),
    )


def test_a_person_change_with_three_bad_fields(api: httpx.Client, services: Services) -> None:
    person = make_person(services)
    body = {"name": "", "emails": ["a@example.test", "nope"], "password": "short"}

    response = api.put(f"/api/v2/people/{person.id}", json=body, headers=admin_key(services))

    assert_error(
        response,
        invalid_input(
            name=field(REQUIRED),
            emails=field(emails_1=field(INVALID_EMAIL)),
            password=field(SHORT_PASSWORD),
        ),
    )


def test_a_profile_with_a_blank_name_and_no_addresses(
    api: httpx.Client, services: Services
) -> None:
    headers = key_header(make_key(services, make_person(services)))

    response = api.put("/api/v2/me/profile", json={"name": " ", "emails": []}, headers=headers)

    assert_error(response, invalid_input(name=field(REQUIRED), emails=field(TOO_FEW_ONE)))


def test_a_password_change_without_either_password(api: httpx.Client, services: Services) -> None:
    headers = token_header(make_token(services, make_person(services)))

    response = api.put("/api/v2/me/password", json={}, headers=headers)

    assert_error(
        response, invalid_input(current_password=field(REQUIRED), new_password=field(REQUIRED))
    )


def test_a_password_change_with_only_a_weak_new_one(api: httpx.Client, services: Services) -> None:
    headers = token_header(make_token(services, make_person(services)))

    response = api.put("/api/v2/me/password", json={"new_password": "short"}, headers=headers)

    assert_error(
        response,
        invalid_input(current_password=field(REQUIRED), new_password=field(SHORT_PASSWORD)),
    )


def test_every_bad_audit_filter(api: httpx.Client, services: Services) -> None:
    response = api.get(
        "/api/v2/audit_events",
        params={"person_id": "0", "since": "yesterday", "until": "soon"},
        headers=admin_key(services),
    )

    body = response.json()
    assert response.status_code == 400
    assert set(body["errors"]["fields"]) == {"person_id", "since", "until"}
    assert body["errors"]["fields"]["since"] == field(INVALID)
    assert body["errors"]["fields"]["until"] == field(INVALID)


def test_a_change_without_a_body_says_the_body_is_required(
    api: httpx.Client, services: Services
) -> None:
    """Every field of a change is optional: it is the body itself that is missing."""
    person = make_person(services)

    response = api.put(f"/api/v2/people/{person.id}", headers=admin_key(services))

    assert_error(
        response,
        {
            "status": 400,
            "code": "invalid_input",
            "message": "Request input is invalid.",
            "errors": {"errors": [REQUIRED]},
        },
    )
