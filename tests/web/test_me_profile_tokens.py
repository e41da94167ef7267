"""``/api/v2/me``, ``/me/profile`` and ``/me/api_tokens``: the caller, profile and tokens."""

from datetime import datetime, timedelta

import httpx
import pytest

from tessera.bootstrap import Runtime
from tessera.services.api_tokens import IssuedToken
from tessera.services.container import Services
from tests.clock import ManualClock
from tests.factories import (
    key_header,
    make_key,
    make_person,
    make_token,
    token_header,
    unique_email,
)
from tests.web.envelopes import (
    BEYOND_64_BITS,
    DUPLICATE,
    FORBIDDEN,
    INVALID,
    INVALID_API_TOKEN,
    INVALID_EMAIL,
    NOT_FOUND,
    PERSON_FIELDS,
    REQUIRED,
    TOO_FEW_ONE,
    UNAUTHORIZED,
    UNKNOWN_ID,
    Json,
    assert_error,
    data_of,
    field,
    invalid_input,
)

OWN_TOKEN_FIELDS = {
    "id",
    "person_id",
    "scope",
    "source",
    "date_created",
    "date_expires",
    "date_revoked",
    "date_last_used",
    "last_used_address",
    "app",
    "is_current",
}


def tokens_by_id(response: httpx.Response) -> dict[int, Json]:
    return {item["id"]: item for item in data_of(response)}


def instant(value: object) -> datetime:
    assert isinstance(value, str), value
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, value
    return parsed


# -- GET /me -------------------------------------------------------------------------------


def test_me_with_a_key_describes_the_agent_and_how_it_authenticated(
    api: httpx.Client, services: Services
) -> None:
    agent = make_person(services, name="Katherine Coleman Johnson")
    key = make_key(services, agent)

    response = api.get("/api/v2/me", headers=key_header(key))

    data = data_of(response)
    assert (response.json()["meta"], response.json()["linked"]) == ({}, {})
    assert {name: value for name, value in data.items() if name != "person"} == {
        "auth_method": "api_key",
        "app_id": None,
        "person_id": agent.id,
        "api_version": 2,
        "client_type": "standard",
        "client_version": "0",
    }
    assert {name: data["person"][name] for name in PERSON_FIELDS} == {
        "id": agent.id,
        "name": "Katherine Coleman Johnson",
        "first_name": "Katherine",
        "last_name": "Coleman Johnson",
        "display_name": "Katherine Coleman Johnson",
        "primary_email": agent.primary_email,
        "emails": [agent.primary_email],
        "is_agent": True,
        "can_admin": False,
        "is_disabled": False,
        "timezone": "UTC",
        "language_id": 1,
    }
    assert key.code not in response.text


def test_me_with_a_token_says_api_token(api: httpx.Client, services: Services) -> None:
    admin = make_person(services, admin=True)
    token = make_token(services, admin)

    response = api.get("/api/v2/me", headers=token_header(token))

    data = data_of(response)
    assert (data["auth_method"], data["app_id"], data["person_id"]) == (
        "api_token",
        None,
        admin.id,
    )
    assert (data["person"]["id"], data["person"]["can_admin"]) == (admin.id, True)
    assert token.code not in response.text


@pytest.mark.parametrize(
    ("header", "client_type", "client_version"),
    [
        ("iOS (v1.0.92)", "ios", "1.0.92"),
        ("Android (v2.3)", "android", "2.3"),
        ("Deskpro Desktop", "deskpro desktop", "0"),
        ("iOS v1.0.92", "ios v1.0.92", "0"),
        ("iOS (1.0.92)", "ios (1.0.92)", "0"),
    ],
)
def test_me_reports_the_client_type_header(
    api: httpx.Client,
    services: Services,
    header: str,
    client_type: str,
    client_version: str,
) -> None:
    token = token_header(make_token(services, make_person(services)))

    response = api.get("/api/v2/me", headers=token | {"X-DeskPRO-API-ClientType": header})

    data = data_of(response)
    assert (data["client_type"], data["client_version"]) == (client_type, client_version)


def test_superuser_key_acts_as_the_agent_named_in_the_header(
    api: httpx.Client, services: Services
) -> None:
    agent = make_person(services)
    key = key_header(make_key(services, None, superuser=True))

    response = api.get("/api/v2/me", headers=key | {"X-DeskPRO-Agent-ID": str(agent.id)})

    data = data_of(response)
    assert (data["auth_method"], data["person_id"], data["person"]["id"]) == (
        "api_key",
        agent.id,
        agent.id,
    )


def test_superuser_key_header_wins_over_its_default_agent(
    api: httpx.Client, services: Services
) -> None:
    default, named = make_person(services), make_person(services)
    key = key_header(make_key(services, default, superuser=True))

    with_header = api.get("/api/v2/me", headers=key | {"X-DeskPRO-Agent-ID": str(named.id)})
    without_header = api.get("/api/v2/me", headers=key)

    assert data_of(with_header)["person_id"] == named.id
    assert data_of(without_header)["person_id"] == default.id


def test_normal_key_ignores_the_agent_header(api: httpx.Client, services: Services) -> None:
    own, other = make_person(services), make_person(services)
    key = key_header(make_key(services, own))

    response = api.get("/api/v2/me", headers=key | {"X-DeskPRO-Agent-ID": str(other.id)})

    assert data_of(response)["person_id"] == own.id


def test_dated_path_answers_like_the_plain_one(api: httpx.Client, services: Services) -> None:
    agent = make_person(services)
    token = token_header(make_token(services, agent))

    plain = api.get("/api/v2/me", headers=token)
    dated = api.get("/api/v2/20161122/me", headers=token)

    assert data_of(dated) == data_of(plain)
    assert data_of(dated)["person_id"] == agent.id
    assert_error(api.get("/api/v2/20161122/me"), UNAUTHORIZED)


# -- /me/profile ---------------------------------------------------------------------------


def test_profile_shows_the_callers_profile(api: httpx.Client, services: Services) -> None:
    person = make_person(services, name="Hedy Lamarr")
    token = token_header(make_token(services, person))

    response = api.get("/api/v2/me/profile", headers=token)

    assert data_of(response) == {
        "name": "Hedy Lamarr",
        "display_name": "Hedy Lamarr",
        "primary_email": person.primary_email,
        "emails": [person.primary_email],
        "phone": None,
        "language_id": 1,
        "timezone": "UTC",
        "avatar": None,
    }


def test_profile_update_changes_what_get_shows(api: httpx.Client, services: Services) -> None:
    person = make_person(services)
    token = token_header(make_token(services, person))
    second = unique_email("second")

    response = api.put(
        "/api/v2/me/profile",
        json={
            "name": "Grace Brewster Hopper",
            "display_name": "Amazing Grace",
            "emails": [person.primary_email, second.upper()],
            "primary_email": second,
            "timezone": "Europe/Paris",
            "language_id": 2,
            "phone": "+1 555 0100",
        },
        headers=token,
    )

    assert response.status_code == 204
    assert response.content == b""
    assert data_of(api.get("/api/v2/me/profile", headers=token)) == {
        "name": "Grace Brewster Hopper",
        "display_name": "Amazing Grace",
        "primary_email": second,
        "emails": [second, person.primary_email],
        "phone": "+1 555 0100",
        "language_id": 2,
        "timezone": "Europe/Paris",
        "avatar": None,
    }
    me = data_of(api.get("/api/v2/me", headers=token))["person"]
    assert (me["name"], me["first_name"], me["last_name"], me["primary_email"]) == (
        "Grace Brewster Hopper",
        "Grace",
        "Brewster Hopper",
        second,
    )


def test_profile_update_cannot_grant_rights(api: httpx.Client, services: Services) -> None:
    person = make_person(services)
    token = token_header(make_token(services, person))

    response = api.put(
        "/api/v2/me/profile",
        json={"name": "Sneaky", "is_admin": True, "can_admin": True, "is_agent": True},
        headers=token,
    )

    assert response.status_code in {204, 400}
    me = data_of(api.get("/api/v2/me", headers=token))["person"]
    assert me["can_admin"] is False
    assert_error(api.get("/api/v2/people", headers=token), FORBIDDEN)


def test_profile_update_with_only_a_name_keeps_the_rest(
    api: httpx.Client, services: Services
) -> None:
    person = make_person(services)
    key = key_header(make_key(services, person))

    response = api.put("/api/v2/me/profile", json={"name": "Mary Jackson"}, headers=key)

    assert response.status_code == 204
    profile = data_of(api.get("/api/v2/me/profile", headers=key))
    assert (profile["name"], profile["display_name"], profile["emails"]) == (
        "Mary Jackson",
        "Test Person",
        [person.primary_email],
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"display_name": "No Name"}, invalid_input(name=field(REQUIRED))),
        ({"name": ""}, invalid_input(name=field(REQUIRED))),
        ({"name": "   "}, invalid_input(name=field(REQUIRED))),
        ({"name": "N", "emails": []}, invalid_input(emails=field(TOO_FEW_ONE))),
        (
            {"name": "N", "emails": ["a-profile@example.test"], "primary_email": "b@x.test"},
            invalid_input(primary_email=field(INVALID)),
        ),
        (
            {"name": "N", "emails": ["not-an-email"]},
            invalid_input(emails=field(emails_0=field(INVALID_EMAIL))),
        ),
    ],
    ids=[
        "missing_name",
        "empty_name",
        "blank_name",
        "no_emails",
        "primary_not_in_emails",
        "bad_email",
    ],
)
def test_profile_update_refuses_bad_input_and_changes_nothing(
    api: httpx.Client, services: Services, body: Json, expected: Json
) -> None:
    person = make_person(services)
    token = token_header(make_token(services, person))
    before = data_of(api.get("/api/v2/me/profile", headers=token))

    response = api.put("/api/v2/me/profile", json=body, headers=token)

    assert_error(response, expected)
    assert data_of(api.get("/api/v2/me/profile", headers=token)) == before


def test_profile_update_refuses_a_primary_email_the_person_does_not_have(
    api: httpx.Client, services: Services
) -> None:
    person = make_person(services)
    token = token_header(make_token(services, person))

    response = api.put(
        "/api/v2/me/profile", json={"name": "N", "primary_email": unique_email()}, headers=token
    )

    assert_error(response, invalid_input(primary_email=field(INVALID)))


def test_profile_update_refuses_someone_elses_email(api: httpx.Client, services: Services) -> None:
    person, other = make_person(services), make_person(services)
    token = token_header(make_token(services, person))

    response = api.put(
        "/api/v2/me/profile",
        json={"name": "N", "emails": [person.primary_email, other.primary_email]},
        headers=token,
    )

    assert_error(response, invalid_input(emails=field(emails_1=field(DUPLICATE))))


# -- /me/api_tokens ------------------------------------------------------------------------


def test_own_tokens_are_listed_with_the_current_one_marked_and_no_secret(
    api: httpx.Client, services: Services
) -> None:
    person, other = make_person(services), make_person(services)
    current, second = make_token(services, person), make_token(services, person)
    foreign = make_token(services, other)

    response = api.get("/api/v2/me/api_tokens", headers=token_header(current))

    listed = tokens_by_id(response)
    assert set(listed) == {current.token.id, second.token.id}
    assert {token_id: item["is_current"] for token_id, item in listed.items()} == {
        current.token.id: True,
        second.token.id: False,
    }
    for item in listed.values():
        assert set(item) == OWN_TOKEN_FIELDS
        assert (item["person_id"], item["scope"], item["source"]) == (
            person.id,
            "client",
            "device_setup",
        )
        assert item["date_revoked"] is None
    assert response.json()["meta"]["pagination"]["total"] == 2
    for issued in (current, second, foreign):
        assert issued.code not in response.text


def test_own_tokens_listed_with_a_key_have_none_current(
    api: httpx.Client, services: Services
) -> None:
    person = make_person(services)
    token = make_token(services, person)

    response = api.get("/api/v2/me/api_tokens", headers=key_header(make_key(services, person)))

    listed = tokens_by_id(response)
    assert set(listed) == {token.token.id}
    assert listed[token.token.id]["is_current"] is False


def test_expired_tokens_are_not_listed_as_live(
    api: httpx.Client, services: Services, clock: ManualClock
) -> None:
    person = make_person(services)
    expired = make_token(services, person)
    clock.advance(timedelta(days=91))
    current = make_token(services, person)

    response = api.get("/api/v2/me/api_tokens", headers=token_header(current))

    assert_error(api.get("/api/v2/me", headers=token_header(expired)), INVALID_API_TOKEN)
    assert set(tokens_by_id(response)) == {current.token.id}


def test_revoking_an_own_token_stops_it_at_once(api: httpx.Client, services: Services) -> None:
    person = make_person(services)
    current, other = make_token(services, person), make_token(services, person)
    assert api.get("/api/v2/me", headers=token_header(other)).status_code == 200

    response = api.delete(f"/api/v2/me/api_tokens/{other.token.id}", headers=token_header(current))

    data = data_of(response)
    assert (data["id"], data["person_id"]) == (other.token.id, person.id)
    assert data["date_revoked"] is not None
    assert other.code not in response.text
    assert_error(api.get("/api/v2/me", headers=token_header(other)), INVALID_API_TOKEN)
    remaining = api.get("/api/v2/me/api_tokens", headers=token_header(current))
    assert set(tokens_by_id(remaining)) == {current.token.id}


def test_revoking_the_current_token_stops_it_at_once(api: httpx.Client, services: Services) -> None:
    token = make_token(services, make_person(services))

    response = api.delete(f"/api/v2/me/api_tokens/{token.token.id}", headers=token_header(token))

    assert data_of(response)["date_revoked"] is not None
    assert_error(api.get("/api/v2/me", headers=token_header(token)), INVALID_API_TOKEN)


def test_revoking_someone_elses_token_is_not_found_and_leaves_it_working(
    api: httpx.Client, services: Services
) -> None:
    mine = make_token(services, make_person(services))
    other_person = make_person(services)
    theirs = make_token(services, other_person)

    response = api.delete(f"/api/v2/me/api_tokens/{theirs.token.id}", headers=token_header(mine))

    assert_error(response, NOT_FOUND)
    assert data_of(api.get("/api/v2/me", headers=token_header(theirs)))["person_id"] == (
        other_person.id
    )


@pytest.mark.parametrize("token_id", [str(UNKNOWN_ID), BEYOND_64_BITS])
def test_revoking_an_unknown_token_is_not_found(
    api: httpx.Client, services: Services, token_id: str
) -> None:
    mine = make_token(services, make_person(services))

    response = api.delete(f"/api/v2/me/api_tokens/{token_id}", headers=token_header(mine))

    assert response.status_code != 500
    assert_error(response, NOT_FOUND)


def test_last_use_is_recorded_off_the_request_path_and_shown_after_a_flush(
    api: httpx.Client, services: Services, runtime: Runtime, clock: ManualClock
) -> None:
    token: IssuedToken = make_token(services, make_person(services))
    runtime.services.usage.flush()
    started = clock.now()

    used = api.get("/api/v2/me", headers=token_header(token))
    before_flush = tokens_by_id(api.get("/api/v2/me/api_tokens", headers=token_header(token)))
    runtime.services.usage.flush()
    after_flush = tokens_by_id(api.get("/api/v2/me/api_tokens", headers=token_header(token)))
    finished = clock.now()

    assert used.status_code == 200
    mine_before = before_flush[token.token.id]
    assert (mine_before["date_last_used"], mine_before["last_used_address"]) == (None, None)
    mine_after = after_flush[token.token.id]
    assert mine_after["last_used_address"] == "127.0.0.1"
    assert started <= instant(mine_after["date_last_used"]) <= finished
