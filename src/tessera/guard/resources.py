"""The guarded API as an OAuth protected resource (RFC 8707, RFC 9728), in the library.

A ``Guard`` given its API's ``resource`` URI refuses OAuth tokens whose audience does not name
it (Tessera tells the audience in ``X-Tessera-Audience``), so a token meant for another resource
is never passed through; and it describes the API in RFC 9728 metadata, served at the address
RFC 9728 §3.1 gives (``metadata_path``), named in the challenge of every 401. API keys and
Deskpro's own tokens have no audience and are not concerned. Tessera's route table should name
the same ``resource`` (docs/guard.md): then the door refuses such tokens before the library does.
"""

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from tessera.guard.answers import Identity, Refusal, envelope

WELL_KNOWN = "/.well-known/oauth-protected-resource"
DESKPRO_CHALLENGE = 'session,token,key realm="DeskPRO API"'
_REFUSED_MESSAGE = "Invalid API token."


def metadata_path(resource: str) -> str:
    """The path of a resource's metadata on its own host: the well-known segment first, then
    the resource's path (``https://api.example.com/v1`` →
    ``/.well-known/oauth-protected-resource/v1``)."""
    return WELL_KNOWN + urlsplit(resource).path.rstrip("/")


def metadata_url(resource: str) -> str:
    parts = urlsplit(resource)
    return f"{parts.scheme}://{parts.netloc}{metadata_path(resource)}"


def protected_resource_metadata(
    resource: str,
    tessera_url: str,
    *,
    scopes: Iterable[str] = ("session",),
    name: str | None = None,
    documentation: str | None = None,
) -> dict[str, Any]:
    """RFC 9728 metadata for an API that Tessera guards: its authorization server is Tessera.

    ``resource``: the API's own URL as clients call it (and as they name it in ``resource``
    when they ask Tessera for a token); ``tessera_url``: Tessera's public URL (whose
    ``/.well-known/oauth-authorization-server`` describes its OAuth endpoints).
    """
    metadata: dict[str, Any] = {
        "resource": resource,
        "authorization_servers": [tessera_url.rstrip("/")],
        "scopes_supported": list(scopes),
        "bearer_methods_supported": ["header"],
    }
    if name is not None:
        metadata["resource_name"] = name
    if documentation is not None:
        metadata["resource_documentation"] = documentation
    return metadata


def metadata_body(metadata: dict[str, Any]) -> bytes:
    return json.dumps(metadata).encode()


def admits(identity: Identity, resource: str, *, accept_unbound: bool) -> bool:
    """Whether this API (``resource``) takes the caller's credential, by its audience."""
    if identity.audience:
        return resource in identity.audience
    return identity.client_id is None or accept_unbound


def another_resource(resource: str) -> Refusal:
    """Deskpro's 401 for an OAuth token meant for another resource, with RFC 6750's error."""
    bearer = (
        'Bearer realm="DeskPRO API", error="invalid_token", '
        'error_description="The token is meant for another resource.", '
        f'resource_metadata="{metadata_url(resource)}"'
    )
    return Refusal(
        status=401,
        code="invalid_api_token",
        message=_REFUSED_MESSAGE,
        body=envelope(401, "invalid_api_token", _REFUSED_MESSAGE),
        headers=(
            ("content-type", "application/json"),
            ("www-authenticate", DESKPRO_CHALLENGE),
            ("www-authenticate", bearer),
        ),
    )


def with_metadata_challenge(refusal: Refusal, resource: str | None) -> Refusal:
    """A 401 with ``Bearer resource_metadata="…"`` added, unless Tessera already named it."""
    if resource is None or refusal.status != 401:
        return refusal
    if any("resource_metadata=" in value for value in refusal.www_authenticate):
        return refusal
    challenge = ("www-authenticate", f'Bearer resource_metadata="{metadata_url(resource)}"')
    return Refusal(
        status=refusal.status,
        code=refusal.code,
        message=refusal.message,
        body=refusal.body,
        headers=(*refusal.headers, challenge),
    )
