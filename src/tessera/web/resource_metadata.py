"""RFC 9728 on the resource side: protected-resource metadata, and the challenges of 401s.

A client that meets a 401 from ``/api/v2`` (or from a guarded API) learns where to get a token
from ``WWW-Authenticate: Bearer resource_metadata="…"`` (RFC 9728 §5.1): that document names
the resource and its authorization server, whose own metadata (RFC 8414) says the rest. When
a ``Bearer`` credential was presented and failed, the same challenge says so with RFC 6750 §3's
``error="invalid_token"``, which strict clients read. Deskpro's own challenge stays first and
unchanged: its clients read that one (ADR 0043).
"""

from urllib.parse import urlsplit

from starlette.types import Scope

from tessera.core.errors import TesseraError, TokenForAnotherResource
from tessera.core.oauth_scopes import SESSION_SCOPE
from tessera.core.resources import protected_resource_metadata_url

REALM = "DeskPRO API"
_AUTHORIZATION = b"authorization"


def presented_bearer(scope: Scope) -> bool:
    """Whether the ``Authorization`` scheme is Bearer (Deskpro splits on blanks and commas)."""
    for name, value in scope["headers"]:
        if name == _AUTHORIZATION:
            value = bytes(value).strip()
            return value[:6].lower() == b"bearer" and value[6:7] in b" \t,"
    return False


def bearer_challenge(
    error: TesseraError, *, metadata_url: str | None, failed_bearer: bool
) -> str | None:
    """RFC 6750/9728's challenge for a 401, or None when there is nothing to say.

    ``failed_bearer``: a Bearer credential was presented and refused (``invalid_token``);
    ``metadata_url``: where the resource's RFC 9728 metadata is.
    """
    parts = []
    if failed_bearer:
        parts += [f'realm="{REALM}"', 'error="invalid_token"']
        if isinstance(error, TokenForAnotherResource):
            parts.append('error_description="The token is meant for another resource."')
    if metadata_url is not None:
        parts.append(f'resource_metadata="{metadata_url}"')
    return "Bearer " + ", ".join(parts) if parts else None


def metadata_document(
    resource: str, issuer: str, name: str, documentation: str | None = None
) -> dict[str, object]:
    """A resource's RFC 9728 §2 metadata, Tessera its authorization server."""
    document: dict[str, object] = {
        "resource": resource,
        "authorization_servers": [issuer],
        "scopes_supported": [SESSION_SCOPE],
        "bearer_methods_supported": ["header"],
        "resource_name": name,
    }
    if documentation is not None:
        document["resource_documentation"] = documentation
    return document


def candidate_resources(suffix: str, request_origin: str, public_url: str) -> list[str]:
    """The resource identifiers a metadata request may be asking about (RFC 9728 §3.1).

    ``suffix``: what follows the well-known segment (the resource's path, or nothing). The
    resource's host is the one the request came to (a proxy in front of a guarded API may pass
    this path to Tessera), or Tessera's own; a resource at the root may be registered with or
    without its slash.
    """
    public = urlsplit(public_url)
    origins = dict.fromkeys((request_origin, f"{public.scheme}://{public.netloc}"))
    candidates = [origin + suffix for origin in origins]
    if not suffix:
        candidates += [origin + "/" for origin in origins]
    return list(dict.fromkeys(candidates))


__all__ = [
    "bearer_challenge",
    "candidate_resources",
    "metadata_document",
    "presented_bearer",
    "protected_resource_metadata_url",
]
