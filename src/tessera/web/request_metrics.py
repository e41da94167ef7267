"""Time every HTTP request into ``tessera_http_request_duration_seconds``, by route template.

The route is the template FastAPI matched (``/api/v2/people/{person_id}``), never the path a
client sent: label values stay a bounded set however many ids or invented paths arrive. A path
no route matched is ``unmatched``; the endpoints served before FastAPI name their own
(``ROUTE``). Per request: one clock read at each end and one histogram step, its child found
in a dict (``labels()`` takes a lock and builds a key on every call).
"""

import time

from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tessera.metrics.catalogue import REQUEST_SECONDS

#: Scope key: the route label of a request served before FastAPI routes it.
ROUTE = "tessera.route"
UNMATCHED = "unmatched"
#: What a request that ended before its answer began (the client left) is counted under.
NO_STATUS = 0
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_of(scope: Scope) -> str:
    """The request's route template, once the app has routed it."""
    named: str | None = scope.get(ROUTE)
    if named is not None:
        return named
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


class RequestTimer:
    """An ASGI middleware for HTTP requests only (``TesseraApp`` hands it nothing else)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._children: dict[tuple[str, str, int], Histogram] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = NO_STATUS

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            self._observe(scope, status, time.perf_counter() - started)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        method = scope["method"]
        key = (route_of(scope), method if method in _METHODS else "other", status)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = REQUEST_SECONDS.labels(key[0], key[1], str(status))
        child.observe(seconds)
