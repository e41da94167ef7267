"""Protected resources and the audience of tokens (RFC 8707 resource indicators, RFC 9728).

A *resource* is an API that accepts Tessera's OAuth tokens, named by an absolute URI without a
fragment (RFC 8707 §2): Tessera's own ``/api/v2`` (named by Tessera's public URL) and the
resources an operator registers (an MCP server, an API behind the guard). A client names the
resources it wants a token for with ``resource`` on the authorization and token requests; the
token's *audience* is then exactly those, and a resource refuses a token whose audience does not
name it (no token passthrough). A token asked for without ``resource`` has no audience: it is for
Tessera's own API, as every OAuth token was before (Deskpro compatibility, ADR 0043).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple
from urllib.parse import urlsplit

from tessera.core.errors import FieldError
from tessera.core.oauth_clients import is_loopback_redirect_host

#: The well-known segment of RFC 9728 §3: between the host and the resource's path.
PROTECTED_RESOURCE_PATH = "/.well-known/oauth-protected-resource"
MAX_RESOURCE_URI_LENGTH = 2000
MAX_RESOURCE_NAME_LENGTH = 200
#: How many ``resource`` values one request may name (each is one row of the audience).
MAX_RESOURCES_PER_REQUEST = 10

INVALID_RESOURCE_URI = FieldError(
    "invalid_resource_uri",
    "A resource is an absolute https URL (http only on a loopback address) without a "
    "fragment, user information or wildcard.",
)
RESOURCE_URI_TAKEN = FieldError("resource_uri_taken", "This resource is registered already.")
OWN_RESOURCE_URI = FieldError(
    "own_resource_uri", "This is Tessera's own API: it is always a resource, never registered."
)


@dataclass(frozen=True, slots=True)
class ProtectedResource:
    """A resource an operator registered: its tokens are audience-bound to ``uri``."""

    id: int
    uri: str
    name: str
    #: The OAuth clients (their row ids) that may ask for it; None: every client.
    client_ids: tuple[int, ...] | None
    created_at: datetime
    updated_at: datetime

    def allows_client(self, client_row_id: int) -> bool:
        return self.client_ids is None or client_row_id in self.client_ids


def resource_uri_problem(uri: str) -> FieldError | None:
    """Why ``uri`` cannot name a resource, or None (RFC 8707 §2: absolute, no fragment).

    https, or http to a loopback host (a resource on this machine, as for redirect URIs);
    no user information, no ``*`` (audiences are compared as exact strings), no query.
    """
    if not uri or len(uri) > MAX_RESOURCE_URI_LENGTH or uri != uri.strip() or "*" in uri:
        return INVALID_RESOURCE_URI
    if any(ord(char) < 0x21 or ord(char) == 0x7F for char in uri):
        return INVALID_RESOURCE_URI
    try:
        parts = urlsplit(uri)
        _ = parts.port  # raises ValueError on a port that is not a number
    except ValueError:
        return INVALID_RESOURCE_URI
    if "#" in uri or parts.query or "@" in parts.netloc or not parts.hostname:
        return INVALID_RESOURCE_URI
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and is_loopback_redirect_host(_host(parts.netloc)):
        return None
    return INVALID_RESOURCE_URI


def _host(netloc: str) -> str:
    return netloc if netloc.endswith("]") else netloc.rsplit(":", 1)[0]


def is_acceptable_indicator(value: str) -> bool:
    """Whether a ``resource`` value a client sent is well-formed (RFC 8707 §2: an absolute URI
    without a fragment). Well-formed is not known: that is the registry's question."""
    if not value or len(value) > MAX_RESOURCE_URI_LENGTH or "#" in value:
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return bool(parts.scheme and parts.netloc)


def own_resource_uri(public_url: str) -> str:
    """Tessera's own API as a resource: its public URL, without a trailing slash."""
    return public_url.rstrip("/")


def protected_resource_metadata_url(resource: str) -> str:
    """Where RFC 9728 §3.1 puts a resource's metadata: the well-known segment between the host
    and the resource's path (``https://api.example.com/mcp`` →
    ``https://api.example.com/.well-known/oauth-protected-resource/mcp``)."""
    parts = urlsplit(resource)
    return f"{parts.scheme}://{parts.netloc}{PROTECTED_RESOURCE_PATH}{parts.path.rstrip('/')}"


def unique_indicators(values: Iterable[str]) -> list[str]:
    """The ``resource`` values of a request, in order, each once."""
    return list(dict.fromkeys(values))


class InvalidTarget(Exception):
    """A ``resource`` that is malformed, unknown, not allowed to the client, or outside the
    grant (RFC 8707 §2: ``invalid_target``). The message is for the client's developer."""

    def __init__(self, description: str, resource: str | None = None) -> None:
        super().__init__(description)
        self.description = description
        #: The offending value, for the audit trail (never a secret: a URI the client sent).
        self.resource = resource


def narrowed(
    requested: Sequence[str], granted: tuple[str, ...] | None, own: str
) -> tuple[str, ...] | None:
    """The audience of a token asked for at the token endpoint (code, refresh or device grant).

    ``granted``: the resources the person approved (None: none named, so Tessera's own API).
    Nothing requested: the whole grant (RFC 8707 §2.2). Something requested: it must lie within
    the grant — a subset, never another resource — else ``InvalidTarget``.
    """
    values = unique_indicators(requested)
    if not values:
        return granted
    allowed = granted if granted is not None else (own,)
    for value in values:
        if value not in allowed:
            raise InvalidTarget("The grant does not cover this resource.", value)
    return tuple(values)


class AudienceRule(NamedTuple):
    """Which tokens a resource accepts, by their audience (ADR 0043).

    ``resource``: the URI of the resource being guarded; None when it was not declared (a
    route table without ``resource``). ``accept_unbound``: whether an OAuth token issued
    without ``resource`` (no audience: meant for Tessera's own API) is accepted here too.
    API keys and the tokens of the password exchange, device setup and the console are not
    OAuth access tokens and are never refused for their audience (they have none).
    """

    resource: str | None
    accept_unbound: bool

    def admits(self, audience: tuple[str, ...] | None, oauth_client_id: str | None) -> bool:
        if audience is None:
            return oauth_client_id is None or self.accept_unbound
        return self.resource is not None and self.resource in audience
