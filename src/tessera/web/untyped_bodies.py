"""A request body without ``Content-Type`` is read for what it is: JSON, a form, or neither.

Deskpro's PHP client sends its JSON bodies with no ``Content-Type`` at all (shared/spec §1.7),
and FastAPI reads a body as JSON only when a JSON type is declared: every write such a client
made was refused. So, for the whole application and before any endpoint sees the request, a
body that comes without a type is given one when it parses as JSON (``application/json``) or
is a URL-encoded form (``application/x-www-form-urlencoded``); anything else stays untyped.

A declared type is never second-guessed: a form stays a form even if its text happens to parse
as JSON, and malformed JSON declared as JSON still gets ``invalid_json_body``. Only bodies up to
``MAX_SNIFFED_BYTES`` are looked at; a larger one passes through untyped, as before.
"""

import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Well above any body an endpoint of ours accepts, well below what would hurt to hold.
MAX_SNIFFED_BYTES = 1024 * 1024
_NO_BODY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_JSON = (b"content-type", b"application/json")
_FORM = (b"content-type", b"application/x-www-form-urlencoded")
# name=value pairs joined by "&", in the characters a URL-encoded form uses (no blanks).
_FORM_PAIR = rb"[A-Za-z0-9._~%+*\-]+=[A-Za-z0-9._~%+*\-=]*"
_FORM_BODY = re.compile(_FORM_PAIR + rb"(?:&" + _FORM_PAIR + rb")*")


class UntypedBodyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] in _NO_BODY_METHODS
            or any(name == b"content-type" for name, _ in scope["headers"])
        ):
            await self.app(scope, receive, send)
            return
        read: list[Message] = []
        size, complete = 0, False
        while not complete and size <= MAX_SNIFFED_BYTES:
            message = await receive()
            read.append(message)
            if message["type"] != "http.request":
                break  # the client went away: hand on what came, and that
            size += len(message.get("body", b""))
            complete = not message.get("more_body", False)
        if complete and size <= MAX_SNIFFED_BYTES:
            declared = declared_type(b"".join(m.get("body", b"") for m in read))
            if declared is not None:
                scope = dict(scope, headers=[*scope["headers"], declared])

        async def replay() -> Message:
            return read.pop(0) if read else await receive()

        await self.app(scope, replay, send)


def declared_type(body: bytes) -> tuple[bytes, bytes] | None:
    """The ``Content-Type`` header a body without one is taken to have, or None."""
    if not body.strip():
        return None
    try:
        json.loads(body)
    except ValueError:  # also UnicodeDecodeError
        return _FORM if _FORM_BODY.fullmatch(body) else None
    return _JSON
