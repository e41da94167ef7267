"""Deskpro's response envelopes as the web tests expect them, whole (shared/spec §1.1–1.2).

Success: ``{"data", "meta", "linked"}``. Error: ``{"status", "code", "message"}`` plus
``errors`` for field problems; every 401 carries Deskpro's ``WWW-Authenticate`` challenge.
"""

import re
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

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

Json = dict[str, Any]

CHALLENGE = 'session,token,key realm="DeskPRO API"'

UNAUTHORIZED: Json = {
    "status": 401,
    "code": "unauthorized",
    "message": "You must be authenticated to make this request.",
}
INVALID_API_KEY: Json = {"status": 401, "code": "invalid_api_key", "message": "Invalid API key."}
INVALID_API_TOKEN: Json = {
    "status": 401,
    "code": "invalid_api_token",
    "message": "Invalid API token.",
}
BAD_CREDENTIALS: Json = {"status": 401, "code": "bad_credentials", "message": "Bad credentials."}
FORBIDDEN: Json = {
    "status": 403,
    "code": "forbidden",
    "message": "You are not authorized to make this request.",
}
NOT_FOUND: Json = {
    "status": 404,
    "code": "not_found",
    "message": "The requested resource was not found.",
}

MESSAGES = {
    "unauthorized": "You must be authenticated to make this request.",
    "invalid_signature": "The request is not signed by a known key of the scanning partner.",
    "malformed_authorization_header": (
        'Malformed Authorization header (should be "Authorization: type value").'
    ),
    "invalid_authorization_header": (
        'Invalid Authorization header (type can be one of "key" or "token").'
    ),
    "invalid_api_key": "Invalid API key.",
    "invalid_api_token": "Invalid API token.",
    "bad_credentials": "Bad credentials.",
    "invalid_session_id": "Invalid session ID.",
    "forbidden": "You are not authorized to make this request.",
    "not_found": "The requested resource was not found.",
    "rate_limits": "Your limit for api calls is exhausted.",
    "invalid_json_body": "The request JSON body is not valid JSON.",
    "invalid_input": "Request input is invalid.",
    "service_unavailable": (
        "The server is too busy to answer this request now. Try again in a moment."
    ),
    "invalid_cors_auth_type": "Cross-origin requests must use an API key or an OAuth token.",
    "internal_error": (
        "An unexpected error occurred. It has been logged with this response's request id."
    ),
}


def envelope(status: int, code: str) -> dict[str, Any]:
    return {"status": status, "code": code, "message": MESSAGES[code]}


# Field errors: Deskpro's catalogue where it has the code, Tessera's own wording otherwise.
REQUIRED: Json = {"code": "required", "message": "This value should not be blank."}
INVALID: Json = {"code": "invalid", "message": "This value is not valid."}
DUPLICATE: Json = {"code": "duplicate", "message": "This value is already used."}
INVALID_EMAIL: Json = {
    "code": "invalid_email",
    "message": "This value is not a valid email address.",
}
TOO_FEW_ONE: Json = {
    "code": "too_few_elements",
    "message": "This collection should contain 1 elements or more.",
}


def field(*errors: Json, **children: Json) -> Json:
    """One node of ``errors.fields``: its own errors, then its nested fields."""
    node: Json = {}
    if errors:
        node["errors"] = list(errors)
    if children:
        node["fields"] = dict(children)
    return node


def invalid_input(**fields: Json) -> Json:
    """The whole 400 ``invalid_input`` envelope for these field nodes."""
    return {
        "status": 400,
        "code": "invalid_input",
        "message": "Request input is invalid.",
        "errors": {"fields": dict(fields)},
    }


def data_of(response: httpx.Response, status: int = 200) -> Any:
    """Assert a success envelope with this status; return its ``data``."""
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body, dict)
    assert set(body) == {"data", "meta", "linked"}, f"not a success envelope: {body!r}"
    return body["data"]


def assert_error(response: httpx.Response, expected: Json) -> None:
    """Assert the whole error envelope (and the challenge on a 401)."""
    actual = (response.status_code, response.json())
    assert actual == (expected["status"], expected), f"{actual!r} != {expected!r}"
    assert response.headers["content-type"].startswith("application/json")
    if expected["status"] == 401:
        assert deskpro_challenge(response) == CHALLENGE
    else:
        assert "WWW-Authenticate" not in response.headers


def assert_refused(response: httpx.Response, code: str) -> None:
    """A 401 exactly as Deskpro sends it: status, challenge header, whole body."""
    assert response.status_code == 401, response.text
    assert deskpro_challenge(response) == CHALLENGE
    assert response.json() == envelope(401, code)


def deskpro_challenge(response: httpx.Response) -> str:
    """The first ``WWW-Authenticate``: Deskpro's, byte for byte. Any after it are RFC 6750's
    and RFC 9728's ``Bearer`` challenge (the API's 401s carry one: ADR 0043)."""
    challenges = response.headers.get_list("WWW-Authenticate")
    assert all(value.startswith("Bearer ") for value in challenges[1:]), challenges
    return challenges[0]


def assert_pagination(response: httpx.Response, *, total: int, per_page: int, page: int) -> None:
    """Assert Deskpro's ``meta.pagination`` for one page of a list."""
    count = len(data_of(response))
    assert response.json()["meta"] == {
        "pagination": {
            "total": total,
            "count": count,
            "per_page": per_page,
            "current_page": page,
            "total_pages": max(1, -(-total // per_page)),
        }
    }


def raw_get(base_url: str, path: str, header_lines: list[bytes]) -> tuple[int, bytes]:
    """Send a GET with arbitrary header bytes; return the status and the body."""
    parts = urlsplit(base_url)
    assert parts.hostname is not None
    assert parts.port is not None
    request = b"GET " + path.encode() + b" HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
    request += b"".join(line + b"\r\n" for line in header_lines) + b"\r\n"
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def total_of(api: httpx.Client, path: str, headers: dict[str, str]) -> int:
    """How many items a paginated admin list holds now (read from ``meta.pagination``)."""
    meta = api.get(path, params={"count": 1}, headers=headers).json()["meta"]
    total = meta["pagination"]["total"]
    assert isinstance(total, int)
    return total


def new_person_body(**overrides: object) -> Json:
    """A valid ``POST /api/v2/people`` body for someone new (an agent with a password)."""
    return {
        "email": unique_email("new"),
        "name": "Ada Lovelace",
        "is_agent": True,
        "password": new_password(),
        **overrides,
    }


NOT_YOURSELF: Json = {
    "code": "not_yourself",
    "message": "You cannot do this to the person you act as.",
}
SHORT_PASSWORD: Json = {
    "code": "invalid_password",
    "message": "A password needs at least 8 characters.",
}


def exchange_password(api: httpx.Client, email: str, password: str) -> httpx.Response:
    """``POST /api/v2/api_tokens``; a token received is registered as a secret."""
    response = api.post("/api/v2/api_tokens", json={"email": email, "password": password})
    if response.status_code == 201:
        token = response.json()["data"]["token"]
        remember(token, token.split(":", 1)[1])
    return response


def as_token(token_string: str) -> dict[str, str]:
    return {"Authorization": f"token {token_string}"}


#: ``ID:CODE`` as Tessera issues a key: its kind prefix, 25 random symbols, a checksum.
KEY_STRING = re.compile(r"([0-9]+):(TSRK[23456789ABCDGHJKMNPQRSTWXYZ]{32})")


def received_key_string(data: Json) -> str:
    """The ``ID:CODE`` of a key create/regenerate response, registered as a secret."""
    key_string = data["key_string"]
    assert isinstance(key_string, str)
    match = KEY_STRING.fullmatch(key_string)
    assert match is not None, key_string
    remember(key_string, match[2])
    assert int(match[1]) == data["id"]
    return key_string


#: An id no row has, and one no 64-bit column can hold.
UNKNOWN_ID = 2**62
BEYOND_64_BITS = "99999999999999999999"
#: Decision 11.16's person object.
PERSON_FIELDS = {
    "id",
    "name",
    "first_name",
    "last_name",
    "display_name",
    "primary_email",
    "emails",
    "is_agent",
    "can_admin",
    "is_disabled",
    "timezone",
    "language_id",
}


# -- callers of admin endpoints ------------------------------------------------------------

#: Builds the headers of one kind of caller, with the rows that caller needs.
Caller = Callable[[Services], dict[str, str]]


def admin_key(services: Services) -> dict[str, str]:
    """A normal key bound to an admin."""
    return key_header(make_key(services, make_person(services, admin=True)))


def agent_key(services: Services) -> dict[str, str]:
    """A normal key bound to an agent who is not an admin."""
    return key_header(make_key(services, make_person(services)))


def superuser_key_without_admin_api(services: Services) -> dict[str, str]:
    """A superuser key whose default agent is even an admin, but without the admin flag."""
    return key_header(make_key(services, make_person(services, admin=True), superuser=True))


def superuser_key_with_admin_api(services: Services) -> dict[str, str]:
    """A superuser key with the admin flag, acting as its (non-admin) default agent."""
    return key_header(make_key(services, make_person(services), superuser=True, admin_api=True))


def superuser_key_with_admin_api_and_agent_header(services: Services) -> dict[str, str]:
    """A superuser key with the admin flag and no default agent, naming one per request."""
    agent = make_person(services)
    headers = key_header(make_key(services, None, superuser=True, admin_api=True))
    headers["X-DeskPRO-Agent-ID"] = str(agent.id)
    return headers


def admin_token(services: Services) -> dict[str, str]:
    return token_header(make_token(services, make_person(services, admin=True)))


def agent_token(services: Services) -> dict[str, str]:
    return token_header(make_token(services, make_person(services)))


def _caller_name(caller: Caller) -> str:
    return caller.__name__


#: ``@ADMIN_CALLERS`` runs a test once per kind of caller that may use admin endpoints.
ADMIN_CALLERS = pytest.mark.parametrize(
    "caller",
    [
        admin_key,
        superuser_key_with_admin_api,
        superuser_key_with_admin_api_and_agent_header,
        admin_token,
    ],
    ids=_caller_name,
)
#: ``@NON_ADMIN_CALLERS``: once per kind of authenticated caller that may not.
NON_ADMIN_CALLERS = pytest.mark.parametrize(
    "caller", [agent_key, superuser_key_without_admin_api, agent_token], ids=_caller_name
)
