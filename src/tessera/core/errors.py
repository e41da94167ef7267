"""Every error a caller can see, named after its Deskpro wire ``code``.

The core says *what* went wrong; adapters decide *how* to show it (``web/errors.py`` maps the
kind to an HTTP status, ``cli/output.py`` to an exit status). Messages are Deskpro's catalogue
strings (shared/spec §1.2), so a client sees the same answer from either server.
"""

from dataclasses import dataclass, field
from enum import Enum, auto
from typing import Any, ClassVar


class ErrorKind(Enum):
    UNAUTHENTICATED = auto()
    FORBIDDEN = auto()
    INVALID_INPUT = auto()
    NOT_FOUND = auto()
    METHOD_NOT_ALLOWED = auto()
    RATE_LIMITED = auto()
    INTERNAL = auto()
    UNAVAILABLE = auto()
    TOO_LARGE = auto()
    TIMED_OUT = auto()


#: The ``status`` field of Deskpro's error envelope for each kind. It is part of the error's wire
#: identity (clients read it from the body), so the web API and the CLI's JSON share this table.
WIRE_STATUS: dict[ErrorKind, int] = {
    ErrorKind.UNAUTHENTICATED: 401,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.INVALID_INPUT: 400,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.METHOD_NOT_ALLOWED: 405,
    ErrorKind.RATE_LIMITED: 429,
    ErrorKind.INTERNAL: 500,
    ErrorKind.UNAVAILABLE: 503,
    ErrorKind.TOO_LARGE: 413,
    ErrorKind.TIMED_OUT: 408,
}


@dataclass(frozen=True, slots=True)
class FieldError:
    code: str
    message: str


#: Deskpro's field-level messages (shared/spec §1.2; Symfony's validator wording).
REQUIRED = FieldError("required", "This value should not be blank.")
INVALID = FieldError("invalid", "This value is not valid.")
DUPLICATE = FieldError("duplicate", "This value is already used.")
INVALID_EMAIL = FieldError("invalid_email", "This value is not a valid email address.")


@dataclass
class FieldErrors:
    """Problems with named fields, nested as Deskpro nests them (``errors.fields``)."""

    errors: list[FieldError] = field(default_factory=list)
    fields: dict[str, "FieldErrors"] = field(default_factory=dict)

    def add(self, path: tuple[str, ...], error: FieldError) -> None:
        node = self
        for name in path:
            node = node.fields.setdefault(name, FieldErrors())
        node.errors.append(error)

    def __bool__(self) -> bool:
        return bool(self.errors or self.fields)

    def as_json(self) -> dict[str, Any]:
        """Deskpro's nested shape: ``{"errors": [{"code", "message"}], "fields": {name: …}}``."""
        out: dict[str, Any] = {}
        if self.errors:
            out["errors"] = [{"code": e.code, "message": e.message} for e in self.errors]
        if self.fields:
            out["fields"] = {name: child.as_json() for name, child in self.fields.items()}
        return out


class TesseraError(Exception):
    """Base of every error with a wire identity."""

    kind: ClassVar[ErrorKind]
    code: ClassVar[str]
    message: ClassVar[str]

    def __init__(self) -> None:
        super().__init__(self.message)


class Unauthorized(TesseraError):
    kind = ErrorKind.UNAUTHENTICATED
    code = "unauthorized"
    message = "You must be authenticated to make this request."


class MalformedAuthorizationHeader(TesseraError):
    kind = ErrorKind.UNAUTHENTICATED
    code = "malformed_authorization_header"
    message = 'Malformed Authorization header (should be "Authorization: type value").'


class InvalidAuthorizationHeader(TesseraError):
    kind = ErrorKind.UNAUTHENTICATED
    code = "invalid_authorization_header"
    message = 'Invalid Authorization header (type can be one of "key" or "token").'


class InvalidApiKey(TesseraError):
    kind = ErrorKind.UNAUTHENTICATED
    code = "invalid_api_key"
    message = "Invalid API key."


class InvalidApiToken(TesseraError):
    kind = ErrorKind.UNAUTHENTICATED
    code = "invalid_api_token"
    message = "Invalid API token."


class TokenForAnotherResource(InvalidApiToken):
    """An OAuth token whose audience does not name this resource (RFC 8707, ADR 0043).

    Deskpro's ``invalid_api_token`` on the wire; the RFC 6750 challenge says why.
    """


class InvalidSignature(TesseraError):
    """A secret-scanning report without a signature that one of the partner's keys verifies."""

    kind = ErrorKind.UNAUTHENTICATED
    code = "invalid_signature"
    # Not in Deskpro's catalogue (Deskpro has no such endpoint): ours says what is wrong.
    message = "The request is not signed by a known key of the scanning partner."


class InvalidSessionId(TesseraError):
    kind = ErrorKind.UNAUTHENTICATED
    code = "invalid_session_id"
    message = "Invalid session ID."


class InvalidCorsAuthType(TesseraError):
    """A browser on another origin may only use API keys and OAuth-issued tokens (§1.6)."""

    kind = ErrorKind.UNAUTHENTICATED
    code = "invalid_cors_auth_type"
    # Deskpro's catalogue has no text for this code (§10.9): ours says what to do instead.
    message = "Cross-origin requests must use an API key or an OAuth token."


class BadCredentials(TesseraError):
    kind = ErrorKind.UNAUTHENTICATED
    code = "bad_credentials"
    message = "Bad credentials."


class InvalidInput(TesseraError):
    kind = ErrorKind.INVALID_INPUT
    code = "invalid_input"
    message = "Request input is invalid."

    def __init__(self, problems: FieldErrors) -> None:
        super().__init__()
        self.problems = problems

    @classmethod
    def for_field(cls, name: str, error: FieldError) -> "InvalidInput":
        problems = FieldErrors()
        problems.add((name,), error)
        return cls(problems)


class InvalidJsonBody(TesseraError):
    kind = ErrorKind.INVALID_INPUT
    code = "invalid_json_body"
    message = "The request JSON body is not valid JSON."


class BadRequest(TesseraError):
    kind = ErrorKind.INVALID_INPUT
    code = "bad_request"
    message = "Request is invalid."


class UnsupportedUserSource(BadRequest):
    """E8/E9 for a source that is unknown, switched off or cannot call back (spec §8.2)."""

    message = "Not supported usersource."


class UnableToRedirect(BadRequest):
    """E8 when the identity provider cannot be asked (spec §8.2): down, or answering nonsense."""

    message = "Unable to redirect."


class Forbidden(TesseraError):
    kind = ErrorKind.FORBIDDEN
    code = "forbidden"
    message = "You are not authorized to make this request."


class InsufficientScope(Forbidden):
    """``forbidden`` for an OAuth token whose scope lacks a tag the endpoint needs.

    The same envelope as any refusal by tags; the answer also names the scope that would
    allow the request (RFC 6750 §3.1 ``insufficient_scope``), so that the app can ask the
    person for it (ADR 0042).
    """

    def __init__(self, needed: tuple[str, ...]) -> None:
        super().__init__()
        #: The endpoint tags the token's scope does not allow, as scope values.
        self.needed = needed


class NotFound(TesseraError):
    kind = ErrorKind.NOT_FOUND
    code = "not_found"
    message = "The requested resource was not found."


class MethodNotAllowed(TesseraError):
    kind = ErrorKind.METHOD_NOT_ALLOWED
    code = "method_not_allowed"
    message = "The request method is not supported by this resource."


class RateLimited(TesseraError):
    kind = ErrorKind.RATE_LIMITED
    code = "rate_limits"
    message = "Your limit for api calls is exhausted."

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__()
        self.retry_after_seconds = max(1, retry_after_seconds)


class Unavailable(TesseraError):
    """The server cannot answer now (every database connection stayed busy); try again soon.

    Not in Deskpro's catalogue: Tessera's own code, in the same envelope, with ``Retry-After``.
    """

    kind = ErrorKind.UNAVAILABLE
    code = "service_unavailable"
    message = "The server is too busy to answer this request now. Try again in a moment."

    def __init__(self, retry_after_seconds: int = 1) -> None:
        super().__init__()
        self.retry_after_seconds = max(1, retry_after_seconds)


class DatabaseUnavailable(Unavailable):
    """The database cannot serve now (refused, gone, timed out, disk full); try again soon."""

    message = "The database cannot be reached now. Try again in a moment."

    def __init__(self, retry_after_seconds: int = 5) -> None:
        super().__init__(retry_after_seconds)


class PayloadTooLarge(TesseraError):
    """A request body over its route's limit (not in Deskpro's catalogue: Tessera's own code)."""

    kind = ErrorKind.TOO_LARGE
    code = "payload_too_large"
    message = "The request body is larger than this endpoint accepts."

    def __init__(self, limit_bytes: int) -> None:
        super().__init__()
        self.limit_bytes = limit_bytes


class RequestTimeout(TesseraError):
    """A request body that stopped arriving (Tessera's own code)."""

    kind = ErrorKind.TIMED_OUT
    code = "request_timeout"
    message = "The request body did not arrive in time."


class InternalError(TesseraError):
    kind = ErrorKind.INTERNAL
    code = "internal_error"
    message = "An unexpected error occurred. It has been logged with this response's request id."
