"""Per-request context as a plain ASGI middleware: request ids, CORS, dated paths, a last 500.

* ``X-DeskPRO-Request-ID`` on every response (``<seconds>-<30 alphanumerics>``, or the
  client's ``X-DeskPRO-Client-Request-ID`` plus ``-c``; shared/spec §1.4).
* A date segment pins a version in Deskpro (``/api/v2/20161122/me``); Tessera has one version,
  so the segment is dropped (decision 11.1).
* CORS as Deskpro does it (``web.cors``): in the same pass, so that every request pays one
  middleware frame and one look at its headers for both.
* An unexpected exception is logged once, with the request id, and answered with the generic
  500 envelope: no traceback, SQL or secret ever reaches the body.
"""

import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tessera.core.errors import InternalError
from tessera.logs import redact, request_id
from tessera.web.cors import add_cors_headers, origin_to_answer, preflight
from tessera.web.errors import error_response

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-DeskPRO-Request-ID"
CLIENT_REQUEST_ID = b"x-deskpro-client-request-id"
_CLIENT_ID_SHAPE = re.compile(r"[A-Za-z0-9._-]{1,64}")
_DATED_PATH = re.compile(r"^/api/v2/\d{8}(?=/|$)")


class _RandomHex:
    """30 random hex digits at a time, from ``secrets`` fetched 256 ids at once.

    One getrandom() system call per request showed in profiles: besides its own cost it lets
    go of the GIL, and the event loop then waits for a worker thread to give it back.
    """

    _IDS_PER_FETCH = 256
    _DIGITS = 30

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buffer = ""
        self._position = 0
        # A forked child must not hand out the ids its parent will hand out too.
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._buffer, self._position = "", 0

    def next(self) -> str:
        with self._lock:
            if self._position >= len(self._buffer):
                self._buffer = secrets.token_hex(self._DIGITS // 2 * self._IDS_PER_FETCH)
                self._position = 0
            start = self._position
            self._position += self._DIGITS
            return self._buffer[start : self._position]


_random_hex = _RandomHex()


def new_request_id() -> str:
    return f"{int(time.time())}-{_random_hex.next()}"


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client_request_id, origin = _client_id_and_origin(scope)
        rid = request_id_for(client_request_id)
        token = request_id.set(rid)
        _undate_path(scope)
        cors_origin = origin = origin_to_answer(scope, origin)
        api = scope["path"].startswith(_API_PREFIX)
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if cors_origin is not None:
                    add_cors_headers(message, cors_origin)
                message["headers"] = _answer_headers(message.get("headers", ()), rid, api)
            await send(message)

        try:
            answer = preflight(scope, origin) if origin is not None else None
            if answer is not None:
                cors_origin = None  # a preflight's answer carries its own CORS headers
                await answer(scope, receive, send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error in %s %s", scope["method"], redact(scope["path"]))
            if not started:
                response = error_response(InternalError(), {REQUEST_ID_HEADER: rid})
                await response(scope, receive, send)
        finally:
            request_id.reset(token)


_REQUEST_ID = REQUEST_ID_HEADER.lower().encode("latin-1")
_ORIGIN = b"origin"
_CACHE_CONTROL = b"cache-control"
_NO_STORE = (_CACHE_CONTROL, b"no-store")
#: Every answer under this prefix is an API answer (``/api/v2/…``, dated paths included).
_API_PREFIX = "/api/"


def _answer_headers(
    headers: Iterable[tuple[bytes, bytes]], rid: str, api: bool
) -> list[tuple[bytes, bytes]]:
    """The response's headers with ours as the one request id and, for an API answer that
    says nothing of caching, ``Cache-Control: no-store`` (one pass over what the app set).

    API answers carry new codes, personal data and decisions about credentials: no cache on
    the way may keep them unless the endpoint says so (the forward-auth doors do, ADR 0029).
    """
    kept = list(headers)
    has_request_id = has_cache_control = False
    for name, _ in kept:
        lowered = name.lower()
        if lowered == _REQUEST_ID:
            has_request_id = True
        elif lowered == _CACHE_CONTROL:
            has_cache_control = True
    if has_request_id:
        kept = [(name, value) for name, value in kept if name.lower() != _REQUEST_ID]
    kept.append((_REQUEST_ID, rid.encode("latin-1")))
    if api and not has_cache_control:
        kept.append(_NO_STORE)
    return kept


def _client_id_and_origin(scope: Scope) -> tuple[bytes | None, str | None]:
    """``X-DeskPRO-Client-Request-ID`` and ``Origin`` (first of each), in one pass."""
    client_id = origin = None
    for name, value in scope["headers"]:
        if name == CLIENT_REQUEST_ID:
            client_id = value if client_id is None else client_id
        elif name == _ORIGIN and origin is None:
            origin = value.decode("latin-1")
    return client_id, origin


def request_id_for(client_request_id: bytes | None) -> str:
    """The id of a request that sent this ``X-DeskPRO-Client-Request-ID`` (or none)."""
    if client_request_id is not None:
        client_id = client_request_id.decode("latin-1")
        if _CLIENT_ID_SHAPE.fullmatch(client_id):
            return f"{client_id}-c"
    return new_request_id()


def _undate_path(scope: Scope) -> None:
    path: str = scope["path"]
    # Cheap test first: only a digit after /api/v2/ can start a date.
    if path.startswith("/api/v2/") and path[8:9].isdigit():
        undated = _DATED_PATH.sub("/api/v2", path, count=1)
        if undated != path:
            scope["path"] = undated
            scope["raw_path"] = undated.encode()
