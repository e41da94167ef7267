"""Per-request context as a plain ASGI middleware: request ids, dated paths, last-resort 500.

* ``X-DeskPRO-Request-ID`` on every response (``<seconds>-<30 alphanumerics>``, or the
  client's ``X-DeskPRO-Client-Request-ID`` plus ``-c``; shared/spec §1.4).
* A date segment pins a version in Deskpro (``/api/v2/20161122/me``); Tessera has one version,
  so the segment is dropped (decision 11.1).
* An unexpected exception is logged once, with the request id, and answered with the generic
  500 envelope: no traceback, SQL or secret ever reaches the body.
"""

import logging
import re
import secrets
import time

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tessera.core.errors import InternalError
from tessera.logs import redact, request_id
from tessera.web.errors import error_response

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-DeskPRO-Request-ID"
_CLIENT_REQUEST_ID = b"x-deskpro-client-request-id"
_CLIENT_ID_SHAPE = re.compile(r"[A-Za-z0-9._-]{1,64}")
_DATED_PATH = re.compile(r"^/api/v2/\d{8}(?=/|$)")


def new_request_id() -> str:
    return f"{int(time.time())}-{secrets.token_hex(15)}"


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _request_id(scope)
        token = request_id.set(rid)
        _undate_path(scope)
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error in %s %s", scope["method"], redact(scope["path"]))
            if not started:
                response = error_response(InternalError(), {REQUEST_ID_HEADER: rid})
                await response(scope, receive, send)
        finally:
            request_id.reset(token)


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == _CLIENT_REQUEST_ID:
            client_id = value.decode("latin-1")
            if _CLIENT_ID_SHAPE.fullmatch(client_id):
                return f"{client_id}-c"
    return new_request_id()


def _undate_path(scope: Scope) -> None:
    path: str = scope["path"]
    if path.startswith("/api/v2/"):
        undated = _DATED_PATH.sub("/api/v2", path, count=1)
        if undated != path:
            scope["path"] = undated
            scope["raw_path"] = undated.encode()
