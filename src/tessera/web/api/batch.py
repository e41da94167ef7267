"""``POST /api/v2/batch``: several API requests in one, as Deskpro's clients send them (§1.7).

Each sub-request goes through the whole application in-process (``web/in_process``) with the
batch's own credential, and is answered under its name with what it would have got alone:
``{"responses": {NAME: answer}}``, 200 as soon as the batch itself is readable. The batch needs
no credential of its own, so it has no tags: every sub-request is checked, tags included, as if
it came alone. Bounded: at most ``MAX_REQUESTS`` sub-requests, ``MAX_BATCH_BYTES`` of body, and
no batch inside a batch (ADR 0018).
"""

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from tessera.core.errors import FieldError, FieldErrors, InvalidInput, InvalidJsonBody
from tessera.web.batch_requests import MAX_REQUESTS, read_batch
from tessera.web.in_process import run

router = APIRouter(prefix="/api/v2", tags=["batch"])

#: As much JSON as 50 requests with generous payloads need, and no more is read.
MAX_BATCH_BYTES = 1024 * 1024
NOT_JSON = FieldError("invalid", 'A batch is a JSON object: {"requests": {"name": request}}.')

_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["requests"],
    "properties": {
        "requests": {
            "type": "object",
            "maxProperties": MAX_REQUESTS,
            "description": "Name → a URL under /api/v2 (a GET), or an object.",
            "additionalProperties": {
                "oneOf": [
                    {"type": "string", "example": "/me"},
                    {
                        "type": "object",
                        "required": ["url"],
                        "properties": {
                            "url": {"type": "string", "example": "/people?page=2"},
                            "method": {"type": "string", "default": "GET"},
                            "payload": {"description": "The JSON body (also: data)."},
                            "params": {"type": "object", "description": "Query parameters."},
                            "headers": {"type": "object", "description": "Extra headers."},
                        },
                    },
                ]
            },
        }
    },
}


@router.post(
    "/batch",
    summary="Several API requests in one; each answered as if sent alone",
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": _SCHEMA}}}
    },
    responses={
        200: {"description": '`{"responses": {name: answer}}`; each answer has a `headers` node'},
        400: {
            "description": "`invalid_input` (every problem of every request) or `invalid_json_body`"
        },
    },
)
async def batch(request: Request) -> JSONResponse:
    subrequests = read_batch(await _document(request))
    responses = {}
    for sub in subrequests:
        # One after another, in the order sent: a later request may use what an earlier made.
        answer = await run(request.app, request.scope, sub)
        responses[sub.name] = answer.envelope()
    return JSONResponse({"responses": responses})


async def _document(request: Request) -> Any:
    """The JSON body (no larger than ``MAX_BATCH_BYTES``: ``web.body_limits`` refuses a larger
    one with 413 before or while it is read); an empty one is ``{}``."""
    body = await request.body()
    if not body.strip():
        return {}
    if not _is_json(request.headers.get("content-type", "")):
        # Untyped JSON was given its type on the way in (web/untyped_bodies): this is not JSON.
        raise _invalid(NOT_JSON)
    try:
        return json.loads(body)
    except ValueError:
        raise InvalidJsonBody() from None


def _is_json(content_type: str) -> bool:
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _invalid(error: FieldError) -> InvalidInput:
    problems = FieldErrors()
    problems.add((), error)
    return InvalidInput(problems)
