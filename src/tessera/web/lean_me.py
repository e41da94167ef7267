"""``GET /api/v2/me`` for a caller the credential cache already knows, in the fewest steps.

Every API client calls it, often on every start, and it is the request issue #5 measures
against a bare ASGI app. A request that carries what such a client sends — an
``Authorization`` header with a key or token the cache holds, maybe a client type or a client
request id — is answered here, in one pass over its headers: no request or response objects,
no middleware frames, the body from ``me.me_body`` (ADR 0017).

Everything else takes the general way (request context → CORS → ``me.serve_me``), which
answers it exactly as before: another credential header, a cookie, an ``Origin``, a query
string, a credential the cache does not hold or that is refused, a tag the key lacks. So this
way never builds an error of its own, and a test compares both ways on every kind of request.
"""

import logging

from starlette.types import ASGIApp, Receive, Scope, Send

from tessera.logs import request_id
from tessera.services.authenticate import Authenticator
from tessera.web.api.me import ME_ACCESS, me_body
from tessera.web.middleware import CLIENT_REQUEST_ID, REQUEST_ID_HEADER, request_id_for

log = logging.getLogger(__name__)

_AUTHORIZATION = b"authorization"
_CLIENT_TYPE = b"x-deskpro-api-clienttype"
#: What the general way reads besides the above: any of these sends a request there.
_GENERAL_ONLY = frozenset(
    (
        b"origin",
        b"cookie",
        b"x-deskpro-api-key",
        b"x-deskpro-api-token",
        b"x-deskpro-agent-id",
        b"x-deskpro-app-id",
    )
)
_JSON = (b"content-type", b"application/json")
_REQUEST_ID = REQUEST_ID_HEADER.lower().encode("latin-1")


class LeanMe:
    """An ASGI app for ``GET /api/v2/me`` that hands what it does not answer to ``general``."""

    def __init__(self, authenticator: Authenticator, general: ASGIApp) -> None:
        self._authenticator = authenticator
        self._general = general

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        authorization = client_type = client_request_id = None
        for name, value in scope["headers"]:
            if name == _AUTHORIZATION:
                authorization = value if authorization is None else authorization
            elif name == _CLIENT_TYPE:
                client_type = value if client_type is None else client_type
            elif name == CLIENT_REQUEST_ID:
                client_request_id = value if client_request_id is None else client_request_id
            elif name in _GENERAL_ONLY:
                await self._general(scope, receive, send)
                return
        body = None
        if authorization is not None and not scope["query_string"]:
            try:
                body = self._answer(scope, authorization, client_type)
            except Exception:
                # A fault of this shortcut alone must not fail the request: say so, then let
                # the general way answer (and report whatever fails there too).
                log.exception("the lean GET /api/v2/me failed; answering the general way")
        if body is None:
            await self._general(scope, receive, send)
            return
        rid = request_id_for(client_request_id)
        token = request_id.set(rid)
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-length", str(len(body)).encode("latin-1")),
                        _JSON,
                        (_REQUEST_ID, rid.encode("latin-1")),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
        finally:
            request_id.reset(token)

    def _answer(
        self, scope: Scope, authorization: bytes, client_type: bytes | None
    ) -> bytes | None:
        """The body for a caller the cache answers for and that may read it, else None."""
        client = scope.get("client")
        principal = self._authenticator.cached_for_authorization(
            authorization.decode("latin-1"), str(client[0]) if client else None
        )
        if principal is None or not principal.may_call(ME_ACCESS.tags, admin=ME_ACCESS.admin):
            return None
        return me_body(principal, client_type.decode("latin-1") if client_type else None)
