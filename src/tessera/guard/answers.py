"""What Tessera answered about one request: an ``Identity`` (allowed) or a ``Refusal``.

Read from the answer of ``/authz/ext-authz/{path}`` (docs/guard.md): allowed is exactly 200
with the caller in ``X-Tessera-*`` headers; anything else is a refusal, relayed to the client
as Tessera gave it (status, Deskpro's envelope, ``WWW-Authenticate``).
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote

#: The refusal headers a guarded API passes on to its client, as Tessera sent them.
RELAYED_HEADERS = frozenset(
    ("content-type", "www-authenticate", "x-tessera-error-code", "x-tessera-error-message")
)


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is calling, as Tessera vouched for them.

    Also usable as Starlette's ``request.user`` and ``request.auth`` (``is_authenticated``,
    ``display_name``, ``identity``, ``scopes``): the ASGI middleware sets both.
    """

    person_id: int
    #: ``api_key`` or ``api_token``.
    auth_method: str
    #: ``key:12`` or ``token:34``: what a revocation names.
    credential: str
    email: str | None = None
    name: str | None = None
    #: The OAuth app whose token this is (``3_abc…``); None for keys and other tokens.
    client_id: str | None = None
    #: The token's OAuth scopes; empty for API keys (their endpoint tags limit them instead).
    scopes: tuple[str, ...] = ()
    #: The resources (RFC 8707) an OAuth token is for; empty: none named (keys, other tokens,
    #: OAuth tokens asked for without ``resource``).
    audience: tuple[str, ...] = ()

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.name or self.email or f"person {self.person_id}"

    @property
    def identity(self) -> str:
        return str(self.person_id)


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refused request, and how to answer it: Tessera's status, body and headers."""

    status: int
    #: Deskpro's error code (``unauthorized``, ``invalid_api_key``, ``forbidden``, …).
    code: str
    message: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = field(default=())

    @property
    def www_authenticate(self) -> list[str]:
        return [value for name, value in self.headers if name == "www-authenticate"]


def envelope(status: int, code: str, message: str) -> bytes:
    """Deskpro's error envelope, for the refusals the guard makes itself."""
    return json.dumps({"status": status, "code": code, "message": message}).encode()


#: Tessera could not be reached (or answered with a server error): the guard fails closed.
UNAVAILABLE = Refusal(
    status=503,
    code="service_unavailable",
    message="The credential check is unavailable. Try again in a moment.",
    body=envelope(
        503,
        "service_unavailable",
        "The credential check is unavailable. Try again in a moment.",
    ),
    headers=(("content-type", "application/json"), ("retry-after", "1")),
)


def identity_from_headers(headers: Mapping[str, str]) -> Identity:
    """The caller named by an allowed answer's headers (names lower-case)."""
    scopes = headers.get("x-tessera-scopes", "")
    return Identity(
        person_id=int(headers["x-tessera-person-id"]),
        auth_method=headers["x-tessera-auth-method"],
        credential=headers["x-tessera-credential"],
        email=_text(headers.get("x-tessera-email") or headers.get("remote-email")),
        name=_text(headers.get("x-tessera-name") or headers.get("remote-name")),
        client_id=headers.get("x-tessera-client-id"),
        scopes=tuple(scopes.split()),
        audience=tuple(headers.get("x-tessera-audience", "").split()),
    )


def refusal_from_answer(status: int, body: bytes, headers: Sequence[tuple[str, str]]) -> Refusal:
    """A refusal as Tessera gave it (header names lower-case)."""
    relayed = tuple((name, value) for name, value in headers if name in RELAYED_HEADERS)
    named = dict(relayed)
    code = named.get("x-tessera-error-code")
    message = named.get("x-tessera-error-message")
    if code is None or message is None:
        code, message = _envelope_fields(body, status)
    return Refusal(status=status, code=code, message=message, body=body, headers=relayed)


def _envelope_fields(body: bytes, status: int) -> tuple[str, str]:
    try:
        document = json.loads(body)
        return str(document["code"]), str(document["message"])
    except (ValueError, KeyError, TypeError):
        return ("unauthorized" if status == 401 else "forbidden"), "Refused."


def _text(value: str | None) -> str | None:
    # Tessera percent-encodes a value that is not printable ASCII (or holds a "%").
    return unquote(value) if value is not None else None
