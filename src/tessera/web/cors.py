"""CORS as Deskpro does it (shared/spec §1.6), as a plain ASGI middleware.

For the API and OAuth's token-side endpoints, a request with ``Origin`` gets that origin back
in ``Access-Control-Allow-Origin`` (errors included, so a page can read why it was refused),
and preflights are answered. Never credentials mode: cookies do not cross origins, and which
credentials may is decided per request (``web.deps.Access``: keys and OAuth tokens only).
Never on ``/oauth/authorize`` or any page: those are for top-level navigation only.
"""

import re

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_PREFIXES = ("/api/v2/", "/.well-known/oauth-authorization-server/")
_PATHS = {
    "/oauth/token",
    "/oauth/revoke",
    "/oauth/introspect",
    "/.well-known/oauth-authorization-server",
}
# scheme://host[:port], e.g. https://app.example, chrome-extension://abc, or "null".
_ORIGIN = re.compile(r"null|[a-z][a-z0-9+.-]{0,30}://[A-Za-z0-9.\-\[\]:]{1,255}")
_HEADER_LIST = re.compile(r"[A-Za-z0-9-]{1,64}(\s*,\s*[A-Za-z0-9-]{1,64}){0,30}")
ALLOWED_METHODS = "GET, POST, PUT, DELETE, OPTIONS"
DEFAULT_HEADERS = "Authorization, Content-Type, X-DeskPRO-Agent-ID, X-DeskPRO-API-ClientType"
EXPOSED = "X-DeskPRO-Request-ID, WWW-Authenticate, Retry-After"


def applies_to(path: str) -> bool:
    return path.startswith(_PREFIXES) or path in _PATHS


class CorsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not applies_to(scope["path"]):
            await self.app(scope, receive, send)
            return
        origin = None
        for name, value in scope["headers"]:  # one pass, no Headers object: most have none
            if name == b"origin":
                origin = value.decode("latin-1")
                break
        if origin is None or not _ORIGIN.fullmatch(origin):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            requested = headers.get("access-control-request-headers", "")
            allowed = requested if _HEADER_LIST.fullmatch(requested) else DEFAULT_HEADERS
            preflight = Response(
                status_code=200,
                headers={
                    "Access-Control-Allow-Origin": origin,
                    "Access-Control-Allow-Methods": ALLOWED_METHODS,
                    "Access-Control-Allow-Headers": allowed,
                    "Access-Control-Max-Age": "600",
                    "Vary": "Origin",
                },
            )
            await preflight(scope, receive, send)
            return

        async def send_with_origin(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                response_headers["Access-Control-Allow-Origin"] = origin
                response_headers["Access-Control-Expose-Headers"] = EXPOSED
                response_headers.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, send_with_origin)
