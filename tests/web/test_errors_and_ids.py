"""The error envelope on every failure, and a request id on every response (§1.1, §1.4)."""

import logging
import re

import httpx
import pytest
from fastapi import FastAPI

from tessera.app import create_app
from tessera.bootstrap import Runtime
from tessera.services.container import Services
from tests.factories import key_header, make_key, make_person, make_token, token_header
from tests.live import serving
from tests.web.envelopes import envelope

REQUEST_ID = re.compile(r"\d+-[a-zA-Z0-9]{30}")


def test_unknown_routes_are_not_found(api: httpx.Client) -> None:
    for path in ("/api/v2/nothing-here", "/nothing-here", "/api/v3/me"):
        response = api.get(path)
        assert response.status_code == 404
        assert response.json() == envelope(404, "not_found")


def test_wrong_methods_say_so(api: httpx.Client) -> None:
    response = api.delete("/api/v2/helpdesk/discover")

    assert response.status_code == 405
    assert response.json() == {
        "status": 405,
        "code": "method_not_allowed",
        "message": "The request method is not supported by this resource.",
    }
    assert response.headers["Allow"] == "GET"


def test_invalid_json_is_its_own_error(api: httpx.Client) -> None:
    response = api.post(
        "/api/v2/api_tokens", content=b'{"email": ', headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json() == envelope(400, "invalid_json_body")


def test_a_body_that_is_not_an_object_is_invalid_input(api: httpx.Client) -> None:
    response = api.post("/api/v2/api_tokens", json=["email", "password"])

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_input"
    assert response.json()["errors"]["errors"][0]["code"] == "invalid"


def test_nested_field_errors_follow_deskpro(api: httpx.Client, services: Services) -> None:
    headers = token_header(make_token(services, make_person(services)))

    response = api.put(
        "/api/v2/me/profile", json={"name": "", "emails": ["ok@example.test", 5]}, headers=headers
    )

    body = response.json()
    assert response.status_code == 400
    assert body["code"] == "invalid_input"
    assert body["errors"]["fields"]["name"]["errors"][0]["code"] == "required"
    assert (
        body["errors"]["fields"]["emails"]["fields"]["emails_1"]["errors"][0]["code"] == "invalid"
    )


def test_query_validation_uses_the_envelope(api: httpx.Client, services: Services) -> None:
    headers = token_header(make_token(services, make_person(services)))

    response = api.get("/api/v2/me/api_tokens", params={"count": "lots"}, headers=headers)

    assert response.status_code == 400
    assert "count" in response.json()["errors"]["fields"]


def test_huge_ids_in_paths_are_refused_cleanly(api: httpx.Client, services: Services) -> None:
    headers = token_header(make_token(services, make_person(services)))

    response = api.delete("/api/v2/me/api_tokens/99999999999999999999999", headers=headers)

    # Beyond what a 64-bit id column holds: it names nothing, and never reaches the database.
    assert response.status_code == 404
    assert response.json() == envelope(404, "not_found")


@pytest.fixture
def exploding_server(runtime: Runtime, services: Services) -> object:
    app: FastAPI = create_app(runtime=runtime)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("SELECT secret FROM somewhere -- internal detail")

    with serving(app) as url:
        yield url


def test_an_unexpected_error_is_a_plain_500_with_its_id_logged(
    exploding_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR), httpx.Client(base_url=exploding_server) as client:
        response = client.get("/boom")

    request_id = response.headers["X-DeskPRO-Request-ID"]
    assert response.status_code == 500
    assert response.json() == {
        "status": 500,
        "code": "internal_error",
        "message": (
            "An unexpected error occurred. It has been logged with this response's request id."
        ),
    }
    assert "SELECT" not in response.text
    assert "Traceback" not in response.text
    logged = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(logged) == 1
    assert logged[0].exc_info is not None
    assert logged[0].__dict__.get("request_id", request_id) == request_id


def test_every_response_has_a_request_id(api: httpx.Client, services: Services) -> None:
    key = make_key(services, make_person(services))
    responses = [
        api.get("/api/v2/me", headers=key_header(key)),
        api.get("/api/v2/me"),
        api.get("/api/v2/nowhere"),
        api.post("/api/v2/api_tokens", json={}),
        api.get("/api/v2/helpdesk/discover"),
        api.get("/openapi.json"),
    ]

    ids = [r.headers["X-DeskPRO-Request-ID"] for r in responses]
    assert all(REQUEST_ID.fullmatch(i) for i in ids), ids
    assert len(set(ids)) == len(ids)


def test_a_client_request_id_is_echoed_with_a_suffix(api: httpx.Client) -> None:
    echoed = api.get("/api/v2/helpdesk/discover", headers={"X-DeskPRO-Client-Request-ID": "abc-1"})
    unsafe = api.get("/api/v2/helpdesk/discover", headers={"X-DeskPRO-Client-Request-ID": "a b<"})

    assert echoed.headers["X-DeskPRO-Request-ID"] == "abc-1-c"
    assert REQUEST_ID.fullmatch(unsafe.headers["X-DeskPRO-Request-ID"])


def test_discover_is_open(api: httpx.Client) -> None:
    response = api.get("/api/v2/helpdesk/discover")

    assert response.status_code == 200
    data = response.json()["data"]
    assert data["is_deskpro"] is True
    assert data["helpdesk_url"] == "http://helpdesk.test/"
    assert data["base_api_url"] == "http://helpdesk.test/api/v2/"
    assert data["build"]


def test_a_dated_path_reaches_the_same_endpoint(api: httpx.Client) -> None:
    dated = api.get("/api/v2/20161122/helpdesk/discover")

    assert dated.status_code == 200
    assert dated.json()["data"]["is_deskpro"] is True
