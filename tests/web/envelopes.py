"""Deskpro's response envelopes as the web tests expect them, whole (shared/spec §1.1–1.2).

Success: ``{"data", "meta", "linked"}``. Error: ``{"status", "code", "message"}`` plus
``errors`` for field problems; every 401 carries Deskpro's ``WWW-Authenticate`` challenge.
"""

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tessera.services.container import Services
from tests.factories import key_header, make_key, make_person, make_token, token_header

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
        assert response.headers["WWW-Authenticate"] == CHALLENGE
    else:
        assert "WWW-Authenticate" not in response.headers


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
