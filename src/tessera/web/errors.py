"""Errors rendered as Deskpro's error envelope. The only table of HTTP statuses.

``{"status", "code", "message"}`` plus ``errors`` for field problems (shared/spec §1.1–1.2);
every 401 carries Deskpro's ``WWW-Authenticate`` challenge, every 429 and 503 a ``Retry-After``.
"""

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import Scope

from tessera.core.errors import (
    INVALID,
    REQUIRED,
    WIRE_STATUS,
    BadRequest,
    FieldError,
    FieldErrors,
    Forbidden,
    InsufficientScope,
    InvalidCorsAuthType,
    InvalidInput,
    InvalidJsonBody,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    RequestTimeout,
    TesseraError,
    Unauthorized,
    Unavailable,
)
from tessera.web.field_rules import carried_problems, merge_into
from tessera.web.resource_metadata import bearer_challenge, presented_bearer

#: Sent with every 401, byte for byte what Deskpro clients expect.
DESKPRO_CHALLENGE = 'session,token,key realm="DeskPRO API"'
#: The CORS guard's own challenge (shared/spec §1.6): only these may cross origins.
CORS_CHALLENGE = 'key,oauth token realm="DeskPRO API"'

#: The HTTP status is the envelope's own ``status`` (one table, in the core).
STATUS = WIRE_STATUS

_BY_HTTP_STATUS: dict[int, type[TesseraError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
}


def insufficient_scope_challenge(error: InsufficientScope) -> str:
    """RFC 6750 §3.1: the 403 of a token whose scope lacks what the endpoint needs, and the
    scope that would do (tags are scope-token characters: no escaping needed)."""
    needed = " ".join(error.needed)
    return f'Bearer realm="DeskPRO API", error="insufficient_scope", scope="{needed}"'


def error_body(error: TesseraError) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": STATUS[error.kind],
        "code": error.code,
        "message": error.message,
    }
    if isinstance(error, InvalidInput):
        body["errors"] = error.problems.as_json()
    return body


def error_response(error: TesseraError, headers: dict[str, str] | None = None) -> Response:
    status = STATUS[error.kind]
    all_headers = dict(headers or {})
    if status == 401:
        cross_origin = isinstance(error, InvalidCorsAuthType)
        all_headers["WWW-Authenticate"] = CORS_CHALLENGE if cross_origin else DESKPRO_CHALLENGE
    if isinstance(error, InsufficientScope):
        all_headers["WWW-Authenticate"] = insufficient_scope_challenge(error)
    if isinstance(error, RateLimited | Unavailable):
        all_headers["Retry-After"] = str(error.retry_after_seconds)
    if isinstance(error, PayloadTooLarge | RequestTimeout):
        # The rest of the body may still be on its way: this connection is done.
        all_headers["Connection"] = "close"
    return Response(
        json.dumps(error_body(error), separators=(",", ":")).encode(),
        status_code=status,
        headers=all_headers,
        media_type="application/json",
    )


#: Where the API's 401s add RFC 9728's and RFC 6750's challenge (not the pages).
API_PREFIX = "/api/"


def api_error_response(error: TesseraError, scope: Scope) -> Response:
    """``error_response``, and on a 401 of the API a second challenge after Deskpro's:
    ``Bearer resource_metadata="…"`` (RFC 9728 §5.1), with ``error="invalid_token"`` when a
    Bearer credential was presented (RFC 6750 §3). Deskpro's challenge and body are unchanged.
    """
    response = error_response(error)
    if response.status_code != 401 or not str(scope.get("path", "")).startswith(API_PREFIX):
        return response
    app = scope.get("app")
    metadata_url = getattr(getattr(app, "state", None), "api_metadata_url", None)
    challenge = bearer_challenge(
        error, metadata_url=metadata_url, failed_bearer=presented_bearer(scope)
    )
    if challenge is not None:
        response.headers.append("WWW-Authenticate", challenge)
    return response


async def _on_tessera_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, TesseraError):  # registered for TesseraError only
        raise exc
    return api_error_response(exc, request.scope)


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):  # registered for HTTPException only
        raise exc
    if isinstance(exc.__cause__, PayloadTooLarge | RequestTimeout):
        # FastAPI turns any error met while reading a body into "400, cannot parse": the
        # body's own bound (web.body_limits) is the real answer.
        return error_response(exc.__cause__)
    error = _BY_HTTP_STATUS.get(exc.status_code, BadRequest)()
    headers = {"Allow": exc.headers["Allow"]} if exc.headers and "Allow" in exc.headers else None
    return error_response(error, headers)


async def _on_invalid_request(request: Request, exc: Exception) -> Response:
    """Every problem FastAPI found (it checks every parameter and field) in one answer."""
    if not isinstance(exc, RequestValidationError):  # registered for it only
        raise exc
    problems = FieldErrors()
    for problem in exc.errors():
        if problem["type"] == "json_invalid":
            return error_response(InvalidJsonBody())
        carried = carried_problems(problem)
        if carried is not None:
            merge_into(problems, carried)
        elif problem["type"] == "missing" and tuple(problem["loc"]) == ("body",):
            # No body at all: each required field is missing, as from an empty object.
            names = _required_body_fields(request)
            for name in names:
                problems.add((name,), REQUIRED)
            if not names:
                problems.add((), REQUIRED)
        else:
            problems.add(_path(problem["loc"]), _field_error(problem))
    return error_response(InvalidInput(problems))


def _required_body_fields(request: Request) -> list[str]:
    route = request.scope.get("route")
    body_field = route.body_field if isinstance(route, APIRoute) else None
    model = body_field.field_info.annotation if body_field is not None else None
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return []
    return [
        field.alias or name for name, field in model.model_fields.items() if field.is_required()
    ]


def _path(loc: tuple[Any, ...]) -> tuple[str, ...]:
    """``("body", "emails", 0)`` → ``("emails", "emails_0")``: Deskpro's nested field names."""
    path: list[str] = []
    for part in loc[1:]:
        if isinstance(part, int):
            path.append(f"{path[-1] if path else 'item'}_{part}")
        else:
            path.append(str(part))
    return tuple(path)


def _field_error(problem: dict[str, Any]) -> FieldError:
    kind = problem["type"]
    context = problem.get("ctx") or {}
    if kind == "missing" or (kind == "string_too_short" and context.get("min_length") == 1):
        return REQUIRED
    if kind == "too_short":
        limit = context.get("min_length", 1)
        return FieldError(
            "too_few_elements", f"This collection should contain {limit} elements or more."
        )
    if kind == "string_too_long":
        return FieldError(
            "too_long", f"This value is too long ({context.get('max_length')} at most)."
        )
    if kind.startswith("url_"):
        return FieldError("invalid_url", "This value is not a valid URL.")
    if kind == "extra_forbidden":
        return FieldError("unknown_field", "This field is not expected.")
    return FieldError(INVALID.code, str(problem.get("msg") or INVALID.message))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(TesseraError, _on_tessera_error)
    app.add_exception_handler(HTTPException, _on_http_exception)
    app.add_exception_handler(RequestValidationError, _on_invalid_request)
