"""The guard's forward-auth endpoints: one decision behind three doors (issue #13, ADR 0024).

A proxy in front of an API Tessera did not write asks, for each request, whether to let it
through. Each proxy asks in its own way, so each has a door that only reads *which request*
this is — its method and path — from how that proxy says it:

| door | for | method | path |
|---|---|---|---|
| ``/authz/forward-auth`` | Traefik, Caddy | ``X-Forwarded-Method`` | ``X-Forwarded-Uri`` |
| ``/authz/auth-request`` | nginx | ``X-Original-Method`` | ``X-Original-URL`` / ``-URI`` |
| ``/authz/ext-authz/…`` | Envoy, ``tessera.guard`` | its own | what follows the prefix |

``X-Forwarded-*``/``X-Original-*`` count only from a trusted proxy (``web.forwarded``); from
anyone else the door's own method and path are checked, which no route names.

Then one decision, the same as every ``/api/v2/*`` endpoint's: the route table gives the tags,
and ``web.deps.authorize`` — the credential check, the CORS rule and the tag check — decides on
the request's own headers, read as ``/api/v2/*`` reads them (session cookies aside: programs
call a guarded API). Allowed: 200, no body, identity headers (``web.identity_headers``).
Refused: Deskpro's envelope, its status and challenge, plus ``X-Tessera-Error-Code``,
``-Message`` and ``-Status`` headers, and at the nginx door ``-Body`` (the envelope as ASCII
JSON), which nginx needs to rebuild the answer (it drops the body of an auth answer). nginx
turns any status but 2xx, 401 and 403 into a 500, so the nginx door answers 403 for anything
else (a database that cannot be reached, say), with the real status in
``X-Tessera-Error-Status``: a 401 would tell clients to throw a good credential away.
"""

import json
import logging
from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from tessera.core.errors import InternalError, TesseraError
from tessera.core.principals import Principal
from tessera.core.resources import protected_resource_metadata_url
from tessera.core.routes import RouteTable
from tessera.logs import request_id
from tessera.web.deps import authorize
from tessera.web.errors import STATUS, error_response
from tessera.web.forwarded import is_from_trusted_proxy
from tessera.web.identity_headers import IdentityHeaderNames, IdentityHeaders
from tessera.web.middleware import CLIENT_REQUEST_ID, REQUEST_ID_HEADER, request_id_for
from tessera.web.resource_metadata import bearer_challenge, presented_bearer

log = logging.getLogger(__name__)

PREFIX = "/authz/"
FORWARD_AUTH = "/authz/forward-auth"
AUTH_REQUEST = "/authz/auth-request"
EXT_AUTHZ = "/authz/ext-authz"
#: The audience of an OAuth token that has one (RFC 8707), space-separated, on an allowed
#: answer: the guard library checks it against its own resource (ADR 0043).
AUDIENCE_HEADER = b"x-tessera-audience"
#: What nginx's ``auth_request`` passes on; it makes any other status a 500.
_NGINX_STATUSES = frozenset((200, 401, 403))
_REQUEST_ID = REQUEST_ID_HEADER.lower().encode("latin-1")


class Door(Enum):
    FORWARD_AUTH = "forward-auth"
    AUTH_REQUEST = "auth-request"
    EXT_AUTHZ = "ext-authz"


def door_for(path: str) -> Door | None:
    """The door a request path opens, if any (other ``/authz/`` paths are FastAPI's)."""
    if path == FORWARD_AUTH:
        return Door.FORWARD_AUTH
    if path == AUTH_REQUEST:
        return Door.AUTH_REQUEST
    if path == EXT_AUTHZ or path.startswith(EXT_AUTHZ + "/"):
        return Door.EXT_AUTHZ
    return None


class OriginalRequest(NamedTuple):
    """The request the proxy asks about: its method, path (raw) and query string."""

    method: str
    path: str
    query: str


def original_request(door: Door, scope: Scope) -> OriginalRequest:
    """Which request a door is asked about, from what its proxy sends (and may be believed)."""
    if door is Door.EXT_AUTHZ:
        # Envoy appends the original path to the door's: what follows it is that path.
        path = _raw_path(scope)[len(EXT_AUTHZ) :] or "/"
        return OriginalRequest(scope["method"], path, scope["query_string"].decode("latin-1"))
    target = method = None
    if is_from_trusted_proxy(scope):
        if door is Door.FORWARD_AUTH:
            method, target = _headers(scope, _FORWARDED_METHOD, _FORWARDED_TARGETS)
        else:
            method, target = _headers(scope, _ORIGINAL_METHOD, _ORIGINAL_TARGETS)
    if target is None:  # not from a trusted proxy, or it did not say: the door's own
        own_query = scope["query_string"].decode("latin-1")
        return OriginalRequest(scope["method"], _raw_path(scope), own_query)
    path, query = _split_target(target)
    return OriginalRequest(method or scope["method"], path, query)


def _raw_path(scope: Scope) -> str:
    raw = scope.get("raw_path")
    return raw.decode("latin-1").partition("?")[0] if raw else str(scope["path"])


_FORWARDED_METHOD = b"x-forwarded-method"
_FORWARDED_TARGETS = (b"x-forwarded-uri",)
_ORIGINAL_METHOD = b"x-original-method"
_ORIGINAL_TARGETS = (b"x-original-url", b"x-original-uri")


def _headers(
    scope: Scope, method_name: bytes, target_names: tuple[bytes, ...]
) -> tuple[str | None, str | None]:
    """The method header, and the first of the target headers present (in that order)."""
    found: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        if (name == method_name or name in target_names) and name not in found:
            found[name] = value
    method = found.get(method_name, b"").decode("latin-1").strip().upper()
    target = next((found[name] for name in target_names if name in found), None)
    return method or None, None if target is None else target.decode("latin-1").strip()


def _split_target(target: str) -> tuple[str, str]:
    """``/a/b?x=1`` or ``https://api.example/a/b?x=1`` → (``/a/b``, ``x=1``)."""
    if not target.startswith("/"):
        try:
            parts = urlsplit(target)
        except ValueError:  # "http://[::1/…": no URL; left as it is, no route takes it
            return target, ""
        return parts.path or "/", parts.query
    path, _, query = target.partition("?")
    return path, query.partition("#")[0]


@dataclass(frozen=True, slots=True)
class AuthzOptions:
    routes: RouteTable
    identity: IdentityHeaderNames
    #: ``Cache-Control: private, max-age=N`` on every decision a proxy may reuse.
    max_age: int = 0


class ForwardAuth:
    """The three doors, as one ASGI app (``TesseraApp`` sends every door's request here)."""

    def __init__(self, options: AuthzOptions) -> None:
        self._routes = options.routes
        self._audience = options.routes.audience
        resource = self._audience.resource
        #: RFC 9728: where the guarded API's metadata is, named in every 401 (if it has a URI).
        self._metadata_url = None if resource is None else protected_resource_metadata_url(resource)
        self._identity = IdentityHeaders(options.identity)
        self._max_age = options.max_age
        self._cache_control = f"private, max-age={options.max_age}"
        self._cache_control_bytes = self._cache_control.encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        door = door_for(scope["path"])
        if door is None:  # not a door: TesseraApp does not send those here
            raise LookupError(scope["path"])
        rid = request_id_for(_first(scope, CLIENT_REQUEST_ID))
        token = request_id.set(rid)
        try:
            try:
                original = original_request(door, scope)
                tags = self._routes.tags_for(original.method, original.path)
                request = Request(_original_scope(scope, original))
                principal = await authorize(
                    request, tags, admin=False, sessions=False, audience=self._audience
                )
            except TesseraError as error:
                refusal = self._refusal(error, door, scope)
            except Exception:
                log.exception("the forward-auth decision failed (%s)", door.value)
                refusal = self._refusal(InternalError(), door, scope)
            else:
                headers = [
                    (b"content-length", b"0"),
                    (b"cache-control", self._allowed_cache_control(principal)),
                    (_REQUEST_ID, rid.encode("latin-1")),
                    *self._identity(principal),
                ]
                if principal.audience is not None:
                    audience = " ".join(principal.audience).encode("latin-1", "replace")
                    headers.append((AUDIENCE_HEADER, audience))
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": b""})
                return
            refusal.headers[REQUEST_ID_HEADER] = rid
            await refusal(scope, receive, send)
        finally:
            request_id.reset(token)

    def _allowed_cache_control(self, principal: Principal) -> bytes:
        """``max-age`` never past the credential's own end: a token expiring in 20 s may be
        reused for 20 s at most, whatever the setting allows."""
        left = principal.seconds_left
        if left is None or left >= self._max_age:
            return self._cache_control_bytes
        return f"private, max-age={max(int(left), 0)}".encode("latin-1")

    def _refusal(self, error: TesseraError, door: Door, scope: Scope) -> Response:
        status = STATUS[error.kind]
        headers = {
            "X-Tessera-Error-Code": error.code,
            "X-Tessera-Error-Message": error.message,
            "X-Tessera-Error-Status": str(status),
            # A refused credential may be remembered as long as an accepted one; the rest not.
            "Cache-Control": self._cache_control if status in (401, 403) else "no-store",
        }
        response = error_response(error, headers)
        if door is Door.AUTH_REQUEST:
            # nginx drops the body of an auth answer: the envelope whole, for its error_page.
            envelope = json.dumps(json.loads(bytes(response.body)), separators=(",", ":"))
            response.headers["X-Tessera-Error-Body"] = envelope
        if status == 401:
            challenge = bearer_challenge(
                error, metadata_url=self._metadata_url, failed_bearer=presented_bearer(scope)
            )
            if challenge is not None:
                response.headers.append("WWW-Authenticate", challenge)
        if door is Door.AUTH_REQUEST and status not in _NGINX_STATUSES:
            response.status_code = 403
        return response


def _original_scope(scope: Scope, original: OriginalRequest) -> Scope:
    """The door's request as the original one: its headers, the original method and target."""
    return {
        **scope,
        "method": original.method,
        "path": original.path,
        "raw_path": original.path.encode("latin-1", "replace"),
        "query_string": original.query.encode("latin-1", "replace"),
    }


def _first(scope: Scope, name: bytes) -> bytes | None:
    for header, value in scope["headers"]:
        if header == name:
            return bytes(value)
    return None
