"""Bodies without ``Content-Type``, as Deskpro's PHP client sends them (shared/spec §1.7).

Its ``makeRequest`` JSON-encodes the body and sets no ``Content-Type``: every request here is
built the same way, bytes and nothing else, so that httpx adds no type either.
"""

import json
from typing import Any

import httpx
import pytest

from tessera.services.container import Services
from tessera.web.untyped_bodies import MAX_SNIFFED_BYTES, declared_type
from tests.factories import key_header, make_key, make_person, new_password
from tests.secrets_seen import remember
from tests.web.envelopes import admin_key, data_of, envelope, new_person_body


def php_client_body(value: Any) -> bytes:
    return json.dumps(value).encode()


def test_the_request_carries_no_content_type(api: httpx.Client) -> None:
    request = api.build_request("POST", "/api/v2/api_tokens", content=php_client_body({}))

    assert "content-type" not in request.headers


def test_the_php_client_exchanges_a_password(api: httpx.Client, services: Services) -> None:
    password = new_password()
    agent = make_person(services, password=password)
    body = php_client_body({"email": agent.primary_email, "password": password})

    response = api.post("/api/v2/api_tokens", content=body)

    data = data_of(response, 201)
    remember(data["token"])
    assert data["person_id"] == agent.id


def test_the_php_client_makes_an_admin_call(api: httpx.Client, services: Services) -> None:
    response = api.post(
        "/api/v2/people", content=php_client_body(new_person_body()), headers=admin_key(services)
    )

    assert data_of(response, 201)["name"] == "Ada Lovelace"


def test_the_php_client_updates_a_profile(api: httpx.Client, services: Services) -> None:
    agent = make_person(services)
    headers = key_header(make_key(services, agent))

    response = api.put(
        "/api/v2/me/profile", content=php_client_body({"name": "Grace Hopper"}), headers=headers
    )

    assert response.status_code == 204, response.text
    assert services.people.get(agent.id).name == "Grace Hopper"


def test_a_declared_type_is_never_second_guessed(api: httpx.Client, services: Services) -> None:
    """JSON text sent as a form is a form: the exchange, which reads JSON, refuses it."""
    password = new_password()
    agent = make_person(services, password=password)
    body = php_client_body({"email": agent.primary_email, "password": password})

    response = api.post(
        "/api/v2/api_tokens",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_input"


def test_malformed_json_declared_as_json_is_invalid_json(api: httpx.Client) -> None:
    response = api.post(
        "/api/v2/api_tokens", content=b'{"email": ', headers={"Content-Type": "application/json"}
    )

    assert (response.status_code, response.json()) == (400, envelope(400, "invalid_json_body"))


def test_a_form_without_a_type_stays_a_form(api: httpx.Client) -> None:
    """The OAuth token endpoint reads forms: an untyped one reaches it as the same form."""
    form = b"grant_type=password&username=someone&password=secret"

    typed = api.post(
        "/oauth/token", content=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    untyped = api.post("/oauth/token", content=form)

    assert typed.json()["error"] == "unauthorized_client"
    assert (untyped.status_code, untyped.json()) == (typed.status_code, typed.json())


def test_a_body_over_the_routes_bound_is_refused_before_it_is_looked_at(
    api: httpx.Client, services: Services
) -> None:
    """A larger untyped body is not held to be parsed: the route's bound refuses it first
    (web.body_limits; no route takes more than the sniffing limit)."""
    password = new_password()
    agent = make_person(services, password=password)
    fields = {"email": agent.primary_email, "password": password}
    padding = "x" * MAX_SNIFFED_BYTES

    small = api.post("/api/v2/api_tokens", content=php_client_body(fields))
    large = api.post("/api/v2/api_tokens", content=php_client_body({**fields, "pad": padding}))

    remember(data_of(small, 201)["token"])
    assert (large.status_code, large.json().get("code")) == (413, "payload_too_large")


@pytest.mark.parametrize(
    ("body", "declared"),
    [
        (b'{"email": "a@b.c"}', "application/json"),
        (b"[1, 2]", "application/json"),
        (b"grant_type=password&username=a%40b.c&scope=", "application/x-www-form-urlencoded"),
        (b"hello", None),
        (b"a=b c", None),
        (b"  \n", None),
        (b"\xff\xfe{", None),
    ],
)
def test_what_an_untyped_body_is_taken_for(body: bytes, declared: str | None) -> None:
    found = declared_type(body)

    assert (found[1].decode() if found else None) == declared
