"""ASGI middleware: every request checked by Tessera before the application sees it.

Works for Starlette, FastAPI and any ASGI application::

    guard = Guard("https://auth.example.com", stream_key=os.environ["TESSERA_STREAM_KEY"])
    app.add_middleware(TesseraMiddleware, guard=guard)

Allowed: the application runs with the caller in the scope — ``request.user`` and
``request.auth`` (an ``Identity``: Starlette's ``@requires`` reads its ``scopes``) and
``request.state.tessera``. Refused: the client gets Tessera's answer as Tessera gave it (status,
Deskpro's envelope, ``WWW-Authenticate``, RFC 6750's ``error`` for ``Bearer``); Tessera out of
reach: 503 (fail closed, ``Guard``'s grace aside). A WebSocket handshake is checked the same
way and refused with close code 1008 (policy violation).

``exempt``: paths served without a check (exact, or a prefix ending in ``/``), such as a
health check. RFC 9728 protected-resource metadata: a ``Guard`` with a ``resource`` has its
metadata served (unguarded) at the address RFC 9728 §3.1 gives (``/.well-known/oauth-protected-
resource`` and the resource's path) and named in the challenge of every 401
(``resource_metadata="…"``), so that an OAuth client finds Tessera from the API alone;
``resource_metadata`` serves a document of one's own instead.
"""

import json
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

from tessera.guard.answers import Identity, Refusal
from tessera.guard.client import Guard
from tessera.guard.resources import metadata_path, metadata_url, protected_resource_metadata

__all__ = ["GuardLifespan", "TesseraMiddleware", "protected_resource_metadata"]

Scope = MutableMapping[str, Any]
Message = dict[str, Any]


class TesseraMiddleware:
    def __init__(
        self,
        app: Any,
        guard: Guard,
        *,
        exempt: Iterable[str] = (),
        resource_metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self.app = app
        self.guard = guard
        exempt = tuple(exempt)
        self._exact = frozenset(path for path in exempt if not path.endswith("/"))
        self._prefixes = tuple(path for path in exempt if path.endswith("/"))
        self._metadata: bytes | None = None
        self._metadata_path: str | None = None
        self._challenge: str | None = None
        if resource_metadata is None:
            resource_metadata = guard.resource_metadata()
        if resource_metadata is not None:
            resource = str(resource_metadata["resource"])
            self._metadata = json.dumps(dict(resource_metadata)).encode()
            self._metadata_path = metadata_path(resource)
            self._challenge = f'Bearer resource_metadata="{metadata_url(resource)}"'

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await closing_on_shutdown(self.app, self.guard, scope, receive, send)
            return
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if self._metadata is not None and path == self._metadata_path:
            await _send(send, 200, [(b"content-type", b"application/json")], self._metadata)
            return
        if path in self._exact or path.startswith(self._prefixes):
            await self.app(scope, receive, send)
            return
        self.guard.start()
        method = scope.get("method", "GET")
        answer = await self.guard.check_async(method, _raw_path(scope), scope["headers"])
        if isinstance(answer, Identity):
            attach(scope, answer)
            await self.app(scope, receive, send)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1008})
        else:
            await send_refusal(send, answer, self._challenge)


async def closing_on_shutdown(
    app: Any, guard: Guard, scope: Scope, receive: Any, send: Any
) -> None:
    """Run the app's lifespan; when it has shut down, close the guard's stream and pool.

    The pool's connections belong to the server's event loop: they must be closed on it,
    before it ends.
    """

    async def sending(message: Message) -> None:
        if message["type"] == "lifespan.shutdown.complete":
            await guard.aclose()
        await send(message)

    await app(scope, receive, sending)


class GuardLifespan:
    """Only the lifespan part of ``TesseraMiddleware``: for apps whose dependencies check."""

    def __init__(self, app: Any, guard: Guard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await closing_on_shutdown(self.app, self.guard, scope, receive, send)
        else:
            await self.app(scope, receive, send)


def attach(scope: Scope, identity: Identity) -> None:
    """Put the caller where Starlette's ``request.user``/``.auth``/``.state`` find it."""
    scope["user"] = identity
    scope["auth"] = identity
    state = scope.get("state")
    if state is None:
        state = scope["state"] = {}
    state["tessera"] = identity


def identity_of(scope: Scope) -> Identity | None:
    """The caller the middleware let in, if it did."""
    state = scope.get("state") or {}
    identity = state.get("tessera")
    return identity if isinstance(identity, Identity) else None


async def send_refusal(send: Any, refusal: Refusal, challenge: str | None = None) -> None:
    headers = [(name.encode(), value.encode("latin-1")) for name, value in refusal.headers]
    named = any("resource_metadata=" in value for value in refusal.www_authenticate)
    if challenge is not None and refusal.status == 401 and not named:
        headers.append((b"www-authenticate", challenge.encode()))
    await _send(send, refusal.status, headers, refusal.body)


async def _send(send: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _raw_path(scope: Scope) -> str:
    # As the client sent it (still percent-encoded), which is what Tessera's routes match.
    raw = scope.get("raw_path")
    if raw:
        return str(raw.decode("latin-1")).partition("?")[0]
    return str(scope["path"])
