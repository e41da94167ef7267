"""RFC 8707 resource indicators on Authlib's grants, written by hand (Authlib 1.9 has none).

The rules are ``core.resources`` and ``services.protected_resources``; this module only says
where in Authlib's flow they apply and turns a refusal into OAuth's ``invalid_target``
(RFC 8707 §2): at the authorization endpoint a redirect back to the client (the redirect URI is
checked by then), at the token and device endpoints a 400 JSON answer. ADR 0043.
"""

from collections.abc import Sequence
from typing import Any

from authlib.oauth2.rfc6749.errors import OAuth2Error

from tessera.core.resources import InvalidTarget, narrowed
from tessera.oauth.models import ClientModel
from tessera.oauth.storage import StorageHost
from tessera.services.protected_resources import resolve

#: The parameter of RFC 8707 §2, repeated once per resource.
RESOURCE = "resource"


class InvalidTargetError(OAuth2Error):
    """RFC 8707 §2: "The requested resource is invalid, missing, unknown, or malformed."."""

    error = "invalid_target"
    status_code = 400


def requested(request: Any) -> list[str]:
    """Every ``resource`` value of the request (query for authorize, form for token)."""
    values: Sequence[str] = request.payload.datalist.get(RESOURCE, [])
    return list(values)


def authorization_resources(
    server: StorageHost, request: Any, redirect_uri: str, *, fragment: bool = False
) -> tuple[str, ...] | None:
    """The resources of an authorization request (or None), or an ``invalid_target`` that goes
    back to ``redirect_uri``."""
    client: ClientModel = request.client
    try:
        return resolve(
            server.storage.session,
            requested(request),
            client_row_id=client.client.id,
            own_uri=server.storage.context.own_resource,
        )
    except InvalidTarget as problem:
        raise InvalidTargetError(
            problem.description, redirect_uri=redirect_uri, redirect_fragment=fragment
        ) from None


def device_resources(
    server: StorageHost, request: Any, client: ClientModel
) -> tuple[str, ...] | None:
    """The resources a device asks for at the device authorization endpoint (RFC 8628 §3.1)."""
    try:
        return resolve(
            server.storage.session,
            requested(request),
            client_row_id=client.client.id,
            own_uri=server.storage.context.own_resource,
        )
    except InvalidTarget as problem:
        raise InvalidTargetError(problem.description) from None


def token_audience(
    server: StorageHost, request: Any, granted: tuple[str, ...] | None
) -> tuple[str, ...] | None:
    """The audience of the token being issued at the token endpoint: the ``resource`` values
    of this request within what the grant holds, or the whole grant (RFC 8707 §2.2); each
    still registered and allowed to the client (a resource removed since is refused)."""
    client: ClientModel = request.client
    own = server.storage.context.own_resource
    try:
        audience = narrowed(requested(request), granted, own)
        if audience is None:
            return None
        return resolve(
            server.storage.session, audience, client_row_id=client.client.id, own_uri=own
        )
    except InvalidTarget as problem:
        raise InvalidTargetError(problem.description) from None
