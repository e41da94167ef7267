"""CORS as Deskpro does it (shared/spec §1.6), applied by the request-context middleware.

For the API and OAuth's token-side endpoints, a request with ``Origin`` gets that origin back
in ``Access-Control-Allow-Origin`` (errors included, so a page can read why it was refused),
and preflights are answered. Never credentials mode: cookies do not cross origins, and which
credentials may is decided per request (``web.deps.Access``: keys and OAuth tokens only).
``web.middleware.RequestContextMiddleware`` applies it in the same pass as the request id:
one middleware frame, one look at the headers, for every request (ADR 0027).
Never on ``/oauth/authorize`` or any page: those are for top-level navigation only.
"""

import re

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import Message, Scope

_PREFIXES = (
    "/api/v2/",
    "/.well-known/oauth-authorization-server/",
    "/.well-known/oauth-protected-resource/",
    # RFC 7592: a registration's own address, read and changed with its registration token.
    "/oauth/register/",
)
_PATHS = {
    "/.well-known/oauth-protected-resource",
    "/oauth/token",
    "/oauth/revoke",
    "/oauth/introspect",
    "/.well-known/oauth-authorization-server",
    # What a client in a page needs besides (MCP Inspector, oidc-client-ts): discovery, the
    # keys of its ID tokens, UserInfo, and dynamic registration (RFC 7591), none of which
    # reads a cookie.
    "/.well-known/openid-configuration",
    "/oauth/jwks",
    "/oauth/userinfo",
    "/oauth/register",
}
# scheme://host[:port], e.g. https://app.example, chrome-extension://abc, or "null".
_ORIGIN = re.compile(r"null|[a-z][a-z0-9+.-]{0,30}://[A-Za-z0-9.\-\[\]:]{1,255}")
_HEADER_LIST = re.compile(r"[A-Za-z0-9-]{1,64}(\s*,\s*[A-Za-z0-9-]{1,64}){0,30}")
ALLOWED_METHODS = "GET, POST, PUT, DELETE, OPTIONS"
DEFAULT_HEADERS = "Authorization, Content-Type, X-DeskPRO-Agent-ID, X-DeskPRO-API-ClientType"
EXPOSED = "X-DeskPRO-Request-ID, WWW-Authenticate, Retry-After"


def applies_to(path: str) -> bool:
    return path.startswith(_PREFIXES) or path in _PATHS


def origin_to_answer(scope: Scope, origin: str | None) -> str | None:
    """The request's ``Origin``, when this path answers CORS and it is an origin at all."""
    if origin is None or not applies_to(scope["path"]) or not _ORIGIN.fullmatch(origin):
        return None
    return origin


def preflight(scope: Scope, origin: str) -> Response | None:
    """The answer to a CORS preflight (``OPTIONS`` with ``Access-Control-Request-Method``)."""
    if scope["method"] != "OPTIONS":
        return None
    headers = Headers(scope=scope)
    if "access-control-request-method" not in headers:
        return None
    requested = headers.get("access-control-request-headers", "")
    allowed = requested if _HEADER_LIST.fullmatch(requested) else DEFAULT_HEADERS
    return Response(
        status_code=200,
        headers={
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": ALLOWED_METHODS,
            "Access-Control-Allow-Headers": allowed,
            "Access-Control-Max-Age": "600",
            "Vary": "Origin",
        },
    )


def add_cors_headers(message: Message, origin: str) -> None:
    """What an answer to a cross-origin request carries (errors included)."""
    response_headers = MutableHeaders(scope=message)
    response_headers["Access-Control-Allow-Origin"] = origin
    response_headers["Access-Control-Expose-Headers"] = EXPOSED
    response_headers.add_vary_header("Origin")
