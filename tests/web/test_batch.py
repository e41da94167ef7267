"""``POST /api/v2/batch`` (shared/spec §1.7) over real HTTP: each request answered as if alone.

"As if alone" is checked by sending the same request alone and comparing the answers whole
(but for the request id, which is each request's own).
"""

import json
from typing import Any

import httpx

from tessera.services.container import Services
from tessera.web.api.batch import MAX_BATCH_BYTES
from tessera.web.batch_requests import MAX_REQUESTS
from tests.factories import key_header, make_key, make_person, unique_email
from tests.web.envelopes import (
    CHALLENGE,
    FORBIDDEN,
    NOT_FOUND,
    REQUIRED,
    UNAUTHORIZED,
    Json,
    admin_key,
    assert_error,
    field,
    invalid_input,
)

BATCH = "/api/v2/batch"


def batch(api: httpx.Client, requests: dict[str, Any], **headers: str) -> dict[str, Json]:
    response = api.post(BATCH, json={"requests": requests}, headers=headers)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"responses"}
    responses: dict[str, Json] = response.json()["responses"]
    assert list(responses) == list(requests)
    return responses


def alone(answer: Json) -> tuple[int, Json]:
    """A sub-answer as the request alone got it: its status and body, without ``headers``."""
    body = dict(answer)
    headers = body.pop("headers")
    assert headers["status-code"] == headers["response_code"]
    return headers["status-code"], body


def codes_in(node: Json) -> list[str]:
    """Every error code in a node of ``errors.fields`` and below it."""
    codes = [error["code"] for error in node.get("errors", [])]
    for child in node.get("fields", {}).values():
        codes += codes_in(child)
    return codes


def test_each_request_is_answered_under_its_name_as_if_alone(
    api: httpx.Client, services: Services
) -> None:
    headers = admin_key(services)

    responses = batch(
        api,
        {"who": "/me", "site": "helpdesk/discover", "first": {"url": "/api/v2/people?count=1"}},
        **headers,
    )

    for name, path in [("who", "/me"), ("site", "/helpdesk/discover"), ("first", "/people")]:
        single = api.get(
            "/api/v2" + path, params={"count": 1} if name == "first" else None, headers=headers
        )
        assert alone(responses[name]) == (single.status_code, single.json()), name


def test_every_answer_carries_its_own_status_and_request_id(
    api: httpx.Client, services: Services
) -> None:
    responses = batch(api, {"a": "/me", "b": "/me"}, **admin_key(services))

    ids = {responses[name]["headers"]["x-deskpro-request-id"] for name in ("a", "b")}
    assert len(ids) == 2
    assert responses["a"]["headers"]["content-type"] == "application/json"
    assert "content-length" not in responses["a"]["headers"]


def test_a_key_limited_by_tags_is_refused_per_request(
    api: httpx.Client, services: Services
) -> None:
    key = make_key(services, make_person(services, admin=True), tags="me.*")

    responses = batch(api, {"me": "/me", "people": "/people"}, **key_header(key))

    assert alone(responses["me"])[0] == 200
    assert alone(responses["people"]) == (403, FORBIDDEN)


def test_a_bad_path_is_not_found_and_the_others_still_answer(
    api: httpx.Client, services: Services
) -> None:
    responses = batch(api, {"lost": "/nowhere/at/all", "me": "/me"}, **admin_key(services))

    assert alone(responses["lost"]) == (404, NOT_FOUND)
    assert alone(responses["me"])[0] == 200


def test_without_a_credential_each_request_is_checked_on_its_own(api: httpx.Client) -> None:
    responses = batch(api, {"me": "/me", "site": "/helpdesk/discover"})

    assert alone(responses["me"]) == (401, UNAUTHORIZED)
    # The answer alone has two challenges, Deskpro's first; the node joins them (RFC 9110 §5.3).
    assert responses["me"]["headers"]["www-authenticate"] == (
        f'{CHALLENGE}, Bearer resource_metadata="http://helpdesk.test/.well-known/oauth-protected-resource"'
    )
    assert alone(responses["site"])[0] == 200


def test_writes_run_in_order_with_their_payloads(api: httpx.Client, services: Services) -> None:
    email = unique_email("batch")
    person = {"method": "POST", "url": "/people", "payload": {"email": email, "name": "Ada"}}
    bad = {"method": "POST", "url": "/people", "data": {"email": "", "name": ""}}

    responses = batch(
        api,
        {"add": person, "find": {"url": "/people", "params": {"search": email}}, "bad": bad},
        **admin_key(services),
    )

    status, created = alone(responses["add"])
    assert (status, created["data"]["primary_email"]) == (201, email)
    assert [p["id"] for p in alone(responses["find"])[1]["data"]] == [created["data"]["id"]]
    assert alone(responses["bad"]) == (
        400,
        invalid_input(email=field(REQUIRED), name=field(REQUIRED)),
    )


def test_a_superuser_key_may_name_its_agent_per_request(
    api: httpx.Client, services: Services
) -> None:
    ann, bob = make_person(services), make_person(services)
    key = make_key(services, ann, superuser=True)

    responses = batch(
        api,
        {
            "default": "/me",
            "as_bob": {"url": "/me", "headers": {"X-DeskPRO-Agent-ID": str(bob.id)}},
        },
        **key_header(key),
    )

    assert alone(responses["default"])[1]["data"]["person_id"] == ann.id
    assert alone(responses["as_bob"])[1]["data"]["person_id"] == bob.id


def test_deskpros_php_client_sends_its_batch_without_a_content_type(
    api: httpx.Client, services: Services
) -> None:
    body = json.dumps({"requests": {"me": "/me"}}).encode()

    response = api.post(BATCH, content=body, headers=admin_key(services))

    assert response.status_code == 200, response.text
    assert alone(response.json()["responses"]["me"])[0] == 200


def test_every_problem_of_every_request_at_once(api: httpx.Client) -> None:
    requests = {
        "nested": "/batch",
        "dated_nested": "/api/v2/20161122/batch",
        "elsewhere": "https://other.example/api/v2/me",
        "upwards": "/me/../../console",
        "key": {"url": "/me", "headers": {"Authorization": "key 1:ABC"}},
        "query_key": "/me?API-KEY=1:ABC",
        "verb": {"url": "/me", "method": "BREW"},
        "nothing": {},
        "number": 5,
    }

    response = api.post(BATCH, json={"requests": requests})

    body = response.json()
    assert (response.status_code, body["code"]) == (400, "invalid_input")
    problems = body["errors"]["fields"]["requests"]["fields"]
    codes = {name: sorted(codes_in(node)) for name, node in problems.items()}
    assert codes == {
        "nested": ["nested_batch"],
        "dated_nested": ["nested_batch"],
        "elsewhere": ["invalid_url"],
        "upwards": ["invalid_url"],
        "key": ["own_credential"],
        "query_key": ["own_credential"],
        "verb": ["invalid"],
        "nothing": ["required"],
        "number": ["invalid"],
    }


def test_a_batch_is_bounded_in_count(api: httpx.Client) -> None:
    requests = {f"r{i}": "/helpdesk/discover" for i in range(MAX_REQUESTS + 1)}

    response = api.post(BATCH, json={"requests": requests})

    assert_error(
        response,
        invalid_input(
            requests=field(
                {
                    "code": "too_many_elements",
                    "message": f"This collection should contain {MAX_REQUESTS} elements or less.",
                }
            )
        ),
    )


def test_a_batch_is_bounded_in_size(api: httpx.Client) -> None:
    padding = "x" * MAX_BATCH_BYTES
    body = {"requests": {"me": {"url": "/me", "payload": {"pad": padding}}}}

    response = api.post(BATCH, json=body)

    # Refused as every body over its route's bound is (web.body_limits, ADR 0032).
    assert (response.status_code, response.json()["code"]) == (413, "payload_too_large")


def test_a_batch_needs_its_requests(api: httpx.Client) -> None:
    for response in (api.post(BATCH, json={}), api.post(BATCH)):
        assert_error(response, invalid_input(requests=field(REQUIRED)))


def test_malformed_json_is_invalid_json(api: httpx.Client) -> None:
    response = api.post(
        BATCH, content=b'{"requests": ', headers={"Content-Type": "application/json"}
    )

    assert (response.status_code, response.json()["code"]) == (400, "invalid_json_body")
