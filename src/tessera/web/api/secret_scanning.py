"""``POST /api/v2/secret_scanning/reports``: GitHub's secret scanning partner protocol.

GitHub posts the strings that matched our registered patterns (docs/secret-scanning.md); we
answer with a label for each. Off (404) unless the operator configured GitHub's public keys.
The body is read raw: the signature covers its exact bytes, not a re-encoding of its JSON.
"""

from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request
from pydantic import BaseModel

from tessera.core.errors import NotFound
from tessera.core.leak_reports import MAX_REPORTED
from tessera.web.deps import ServicesDep, client_address

router = APIRouter(prefix="/api/v2", tags=["secret_scanning"])

PATH = "/api/v2/secret_scanning/reports"
KEY_IDENTIFIER_HEADER = "Github-Public-Key-Identifier"
SIGNATURE_HEADER = "Github-Public-Key-Signature"


class VerdictOut(BaseModel):
    #: Hex SHA-256 of the reported string: the answer never holds a code.
    token_hash: str
    token_type: str
    label: str


_REPORT_SCHEMA: dict[str, Any] = {
    "type": "array",
    "maxItems": MAX_REPORTED,
    "items": {
        "type": "object",
        "required": ["token"],
        "properties": {
            "token": {"type": "string", "description": "The string that matched a pattern."},
            "type": {"type": "string", "description": "The name of the pattern."},
            "url": {"type": "string", "description": "Where it was found (may be empty)."},
            "source": {"type": "string", "description": "`commit`, `issue_comment`, …"},
        },
    },
}

_SIGNATURE_HEADERS = [
    {
        "name": KEY_IDENTIFIER_HEADER,
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
        "description": "Which of GitHub's keys signed the body.",
    },
    {
        "name": SIGNATURE_HEADER,
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
        "description": "Base64 DER ECDSA P-256 signature of SHA-256 over the raw body.",
    },
]


@router.post(
    "/secret_scanning/reports",
    summary="Receive leaked credentials from GitHub secret scanning (partner program)",
    responses={
        401: {"description": "`invalid_signature`: unsigned, unknown key, or a bad signature"},
        404: {"description": "`not_found`: no partner keys configured (the endpoint is off)"},
    },
    openapi_extra={
        "parameters": _SIGNATURE_HEADERS,
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _REPORT_SCHEMA}},
        },
    },
)
async def receive_report(request: Request, services: ServicesDep) -> list[VerdictOut]:
    """Open endpoint for GitHub: each reported string that is a live API key, API token or
    OAuth refresh token is revoked at once (an audit event names it, its owner and where it was
    found) and labelled `true_positive`; anything else is `false_positive`. Signed by a key of
    the operator's `secret_scanning_keys_file`, or refused; throttled per address."""
    leak_reports = services.leak_reports
    if not leak_reports.enabled:
        raise NotFound()  # before the body is read: nothing is spent on an endpoint that is off
    body = await request.body()
    verdicts = await anyio.to_thread.run_sync(
        leak_reports.handle,
        body,
        request.headers.get(KEY_IDENTIFIER_HEADER),
        request.headers.get(SIGNATURE_HEADER),
        client_address(request),
    )
    return [
        VerdictOut(token_hash=judged.token_hash, token_type=judged.token_type, label=judged.label)
        for judged in verdicts
    ]
