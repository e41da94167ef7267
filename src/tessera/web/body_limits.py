"""Request bodies: bounded in size and in time, refused early, never buffered past the bound.

A ``Content-Length`` over the route's limit is refused with 413 before a byte of the body is
read; a body without one (chunked) is counted as it arrives and refused the moment it passes
the limit. A body that stops arriving is given up after ``body_seconds`` from its first read
with 408. Both answers are Deskpro's envelope (``PayloadTooLarge``, ``RequestTimeout``), and
the connection is not reused after them (the rest of the body may still be on the way).

Limits by route: the endpoints that take credentials (the exchange, the OAuth token-side
endpoints, sign-in forms) need only a few hundred bytes and get ``CREDENTIAL_BODY_BYTES``; the
callbacks of user sources, where a SAML IdP posts its signed Response, get
``SIGN_IN_ANSWER_BYTES`` whatever the operator's setting (ADR 0049);
``/api/v2/batch`` has its own, larger bound (ADR 0018), and so has a secret-scanning partner's
report (a thousand items); every other route gets the operator's ``TESSERA_MAX_BODY_KIB``.
"""

import re
from dataclasses import dataclass

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tessera.core.errors import PayloadTooLarge, RequestTimeout, TesseraError
from tessera.web.api import secret_scanning
from tessera.web.api.batch import MAX_BATCH_BYTES
from tessera.web.errors import error_response

#: What a credential endpoint's body may hold: an e-mail, a password, a code, a few fields.
CREDENTIAL_BODY_BYTES = 16 * 1024
_CREDENTIAL_PATHS = frozenset(
    {
        "/api/v2/api_tokens",
        "/oauth/token",
        "/oauth/revoke",
        "/oauth/introspect",
        "/login",
    }
)
#: A SAML Response posted to a user source's callback: a few KiB in practice, never more.
SIGN_IN_ANSWER_BYTES = 128 * 1024
_SIGN_IN_ANSWER_PATHS = re.compile(
    r"/login/sources/\d{1,19}/callback|/api/v2/api_tokens/user_sources/\d{1,19}/callback/\w{1,20}"
)
_BATCH_PATH = "/api/v2/batch"
#: A full secret-scanning report: ``MAX_REPORTED`` items with their URLs, and room to spare.
SECRET_SCANNING_BODY_BYTES = 1024 * 1024
_NO_BODY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class BodyLimitSettings:
    #: Every route but the credential endpoints and the batch.
    max_bytes: int = 64 * 1024
    body_seconds: float = 30.0


class BodyLimits:
    """ASGI middleware: a size bound per route and a time bound on reading every body."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, body_seconds: float) -> None:
        self.app = app
        self._max_bytes = max_bytes
        self._body_seconds = body_seconds

    def limit_for(self, path: str) -> int:
        if path in _CREDENTIAL_PATHS:
            return min(CREDENTIAL_BODY_BYTES, self._max_bytes)
        if path == _BATCH_PATH:
            return MAX_BATCH_BYTES
        if path == secret_scanning.PATH:
            return SECRET_SCANNING_BODY_BYTES
        if _SIGN_IN_ANSWER_PATHS.fullmatch(path):
            return SIGN_IN_ANSWER_BYTES
        return self._max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _NO_BODY_METHODS:
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(PayloadTooLarge(limit), scope, receive, send)
            return
        started = False

        async def send_noting_start(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self.app(scope, _Bounded(receive, limit, self._body_seconds), send_noting_start)
        except (PayloadTooLarge, RequestTimeout) as error:
            # Raised while a middleware read the body (FastAPI's handlers answer the ones an
            # endpoint's reading raises): answered here, unless an answer was begun.
            if started:
                raise
            await _refuse(error, scope, receive, send)


class _Bounded:
    """``receive`` with the bounds: raises the refusal, which the app's handlers answer."""

    def __init__(self, receive: Receive, limit: int, seconds: float) -> None:
        self._receive = receive
        self._limit = limit
        self._seconds = seconds
        self._received = 0
        self._deadline: float | None = None

    async def __call__(self) -> Message:
        if self._deadline is None:
            self._deadline = anyio.current_time() + self._seconds
        with anyio.move_on_after(self._deadline - anyio.current_time()) as waited:
            message = await self._receive()
        if waited.cancelled_caught:
            raise RequestTimeout()
        if message["type"] == "http.request":
            self._received += len(message.get("body", b""))
            if self._received > self._limit:
                raise PayloadTooLarge(self._limit)
        return message


async def _refuse(error: TesseraError, scope: Scope, receive: Receive, send: Send) -> None:
    response = error_response(error, {"Connection": "close"})
    await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length before we see it
    return None
