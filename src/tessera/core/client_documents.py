"""Client ID metadata documents: an ``https`` URL as a ``client_id``, its document judged.

draft-ietf-oauth-client-id-metadata-document (the MCP specification's preferred registration):
a client names itself by the URL of a JSON document that describes it; the server fetches the
document (``services.client_documents``, which does the I/O) and judges it here, without I/O:

- the URL: ``https``, a host, a path other than ``/``, no user information, no fragment, no
  ``.``/``..`` segments (draft §3);
- the document: a JSON object at most ``MAX_DOCUMENT_BYTES`` long whose ``client_id`` is the URL
  string exactly, with ``client_name`` and ``redirect_uris`` (the same redirect-URI rule as
  clients an admin registers); no secret (a document is public, so nothing in it can be a
  shared secret, draft §4.1): ``token_endpoint_auth_method`` ``none``, or ``private_key_jwt``
  with exactly one of ``jwks_uri`` and ``jwks`` (the MCP specification's way for a client to
  prove itself without a shared secret, ADR 0052); unknown fields are ignored; grant types are
  intersected with what such clients may use;
- which addresses the fetch may reach (``address_refusal``): never loopback, private,
  link-local, multicast, reserved or other special-use addresses, in IPv4 or IPv6 (IPv4 inside
  IPv6 included), unless the operator allowed a network for it;
- how long a fetched document is kept (``cache_lifetime``): per ``Cache-Control`` / ``Expires``,
  within ``MIN_CACHE`` and ``MAX_CACHE``.
"""

import ipaddress
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from tessera.core.client_keys import KeysRefused, jwks_uri_problem, parse_jwks
from tessera.core.errors import FieldErrors
from tessera.core.oauth_clients import (
    LOOPBACK_HOSTS,
    MAX_REDIRECT_URI_LENGTH,
    check_redirect_uris,
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: The most of a document read (draft §6.6 suggests 5 KB); a longer one is refused.
MAX_DOCUMENT_BYTES = 5 * 1024
#: Cache bounds (as node-oidc-provider's): never refetched more often, never kept longer.
MIN_CACHE = timedelta(seconds=30)
MAX_CACHE = timedelta(days=1)
#: Without caching headers.
DEFAULT_CACHE = timedelta(minutes=5)
#: What a document client may use: the code flow, and refresh tokens when it asks for them.
DOCUMENT_GRANT_TYPES = ("authorization_code", "refresh_token")
#: Fields that only a client with a secret has: a public document must not carry them.
_SECRET_FIELDS = ("client_secret", "client_secret_expires_at")
#: Shown to the person, so kept short.
MAX_CLIENT_NAME = 200


class DocumentRefused(Exception):
    """The client ID URL or its document cannot be used; ``reason`` says why, in words.

    The reason goes into error descriptions and logs: it names the URL's host at most, never a
    document's contents.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ClientDocument:
    """What Tessera keeps of a client's metadata document."""

    client_id: str
    client_name: str
    redirect_uris: tuple[str, ...]
    grant_types: tuple[str, ...]
    #: Other RFC 7591 fields Tessera shows (client_uri, logo_uri, …), strings only.
    extra: Mapping[str, str] = field(default_factory=dict)
    #: ``private_key_jwt``: its public keys at ``jwks_uri`` or in ``jwks`` (ADR 0052).
    private_key_jwt: bool = False
    jwks_uri: str | None = None
    jwks: Mapping[str, Any] | None = None

    @property
    def host(self) -> str:
        return document_host(self.client_id)


# -- the URL ----------------------------------------------------------------------------------


def is_document_client_id(client_id: str | None) -> bool:
    """Whether this ``client_id`` names a metadata document (an ``https`` URL), valid or not.

    Console-registered client_ids (``12_abc…``) never contain ``:``; anything that starts with
    ``https://`` is meant as a document and judged by ``check_document_url``.
    """
    return bool(client_id) and str(client_id)[:8].lower() == "https://"


_DOT_SEGMENT = re.compile(r"(?:^|/)\.{1,2}(?:/|$)")


def check_document_url(url: str) -> str:
    """The URL's host (lower case) if the URL may name a client; else ``DocumentRefused``."""
    if len(url) > MAX_REDIRECT_URI_LENGTH:
        raise DocumentRefused("The client_id URL is too long.")
    if any(ord(c) <= 0x20 or ord(c) >= 0x7F for c in url):
        raise DocumentRefused("The client_id URL has characters a URL cannot have.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise DocumentRefused("The client_id is not a valid URL.") from None
    if parts.scheme != "https" or not parts.hostname:
        raise DocumentRefused("A client_id URL must be https with a host.")
    if "@" in parts.netloc:
        raise DocumentRefused("A client_id URL must not have user information.")
    if parts.fragment or "#" in url:
        raise DocumentRefused("A client_id URL must not have a fragment.")
    if parts.path in ("", "/"):
        raise DocumentRefused("A client_id URL must have a path.")
    if _DOT_SEGMENT.search(parts.path):
        raise DocumentRefused("A client_id URL must not have . or .. segments.")
    if port == 0:
        raise DocumentRefused("The client_id URL's port is not valid.")
    return parts.hostname.lower()


def document_host(url: str) -> str:
    """The host a person should recognise: the URL's host (and port, if not 443)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    return host if port in (None, 443) else f"{host}:{port}"


def host_allowed(host: str, allowed_hosts: Iterable[str]) -> bool:
    """The operator's allow-list: exact host names, or ``.example.com`` for its subdomains.

    An empty list allows every host (the address checks still apply).
    """
    names = [name.strip().lower() for name in allowed_hosts if name.strip()]
    if not names:
        return True
    host = host.lower().rstrip(".")
    return any(host == name or (name.startswith(".") and host.endswith(name)) for name in names)


# -- addresses --------------------------------------------------------------------------------

#: NAT64 (RFC 6052): IPv6 addresses that stand for the IPv4 address in their last 32 bits.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries and reaches (mapped, NAT64, 6to4, Teredo)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def address_refusal(address: IPAddress, allowed_networks: Sequence[Network] = ()) -> str | None:
    """Why the document fetch may not connect to ``address``; None when it may.

    Only globally routable unicast addresses are allowed, and addresses in
    ``allowed_networks`` (the operator's, for internal deployments and tests). An IPv6 address
    that carries an IPv4 one (``::ffff:127.0.0.1``, NAT64, 6to4, Teredo) is judged by both.
    """
    if any(address in network for network in allowed_networks):
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address in _NAT64_LOCAL:
            return "a special-use address"
        inner = _embedded_ipv4(address)
        if inner is not None:
            if any(inner in network for network in allowed_networks):
                return None
            refused = _refusal(inner)
            if refused is not None:
                return refused
            if address.ipv4_mapped is not None or address in _NAT64:
                return None  # the same host as the IPv4 address, which is global
    return _refusal(address)


def _refusal(address: IPAddress) -> str | None:
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "a site-local address"
    if address.is_private:
        return "a private address"
    if address.is_reserved:
        return "a reserved address"
    if not address.is_global:
        return "a special-use address"
    return None


# -- the document -----------------------------------------------------------------------------


def parse_document(
    url: str, body: bytes, *, allow_insecure_redirects: bool = False
) -> ClientDocument:
    """Judge the document fetched for the client ID ``url``; ``DocumentRefused`` says why not."""
    if len(body) > MAX_DOCUMENT_BYTES:
        raise DocumentRefused(f"The client metadata document is over {MAX_DOCUMENT_BYTES} bytes.")
    try:
        document: Any = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise DocumentRefused("The client metadata document is not JSON.") from None
    if not isinstance(document, dict):
        raise DocumentRefused("The client metadata document is not a JSON object.")
    if document.get("client_id") != url:
        raise DocumentRefused(
            "The client metadata document's client_id is not the URL it was fetched from."
        )
    if any(name in document for name in _SECRET_FIELDS):
        raise DocumentRefused("A client metadata document must not contain a client secret.")
    method = document.get("token_endpoint_auth_method", "none")
    if method not in ("none", "private_key_jwt"):
        raise DocumentRefused(
            "A client metadata document client must use token_endpoint_auth_method none "
            "or private_key_jwt."
        )
    jwks_uri, jwks = _keys(document) if method == "private_key_jwt" else (None, None)
    name = document.get("client_name")
    if not isinstance(name, str) or not name.strip():
        raise DocumentRefused("The client metadata document has no client_name.")
    if len(name.strip()) > MAX_CLIENT_NAME:
        raise DocumentRefused("The client metadata document's client_name is too long.")
    uris = document.get("redirect_uris")
    if not isinstance(uris, list) or not all(isinstance(uri, str) for uri in uris):
        raise DocumentRefused("The client metadata document has no list of redirect_uris.")
    problems = FieldErrors()
    checked = check_redirect_uris(problems, uris, allow_insecure_http=allow_insecure_redirects)
    if checked is None:
        raise DocumentRefused("A redirect URI of the client metadata document is not allowed.")
    grant_types = _grant_types(document)
    response_types = document.get("response_types", ["code"])
    if not isinstance(response_types, list) or "code" not in response_types:
        raise DocumentRefused("A client metadata document client must use response_type code.")
    extra = {
        key: value
        for key in ("client_uri", "logo_uri", "tos_uri", "policy_uri", "software_id")
        if isinstance(value := document.get(key), str) and len(value) <= MAX_REDIRECT_URI_LENGTH
    }
    return ClientDocument(
        url,
        name.strip(),
        tuple(checked),
        grant_types,
        extra,
        private_key_jwt=method == "private_key_jwt",
        jwks_uri=jwks_uri,
        jwks=jwks,
    )


def _keys(document: Mapping[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
    uri, keys = document.get("jwks_uri"), document.get("jwks")
    if bool(uri) == bool(keys):
        raise DocumentRefused(
            "A private_key_jwt client metadata document has exactly one of jwks_uri and jwks."
        )
    if uri:
        problem = jwks_uri_problem(uri) if isinstance(uri, str) else "jwks_uri is not a string."
        if problem is not None:
            raise DocumentRefused(f"The client metadata document's jwks_uri: {problem}")
        return str(uri), None
    try:
        return None, parse_jwks(keys)
    except KeysRefused as refused:
        raise DocumentRefused(f"The client metadata document's jwks: {refused.reason}") from None


def _grant_types(document: Mapping[str, Any]) -> tuple[str, ...]:
    asked = document.get("grant_types", ["authorization_code"])  # RFC 7591 §2's default
    if not isinstance(asked, list):
        raise DocumentRefused("The client metadata document's grant_types is not a list.")
    granted = tuple(grant for grant in DOCUMENT_GRANT_TYPES if grant in asked)
    if "authorization_code" not in granted:
        raise DocumentRefused(
            "A client metadata document client must use the authorization_code grant."
        )
    return granted


def has_loopback_redirect(uris: Iterable[str]) -> bool:
    """Whether any redirect URI goes to this machine (the person's, where any program listens)."""
    for uri in uris:
        try:
            host = urlsplit(uri).hostname or ""
        except ValueError:
            continue
        if host.lower() in LOOPBACK_HOSTS or f"[{host}]" in LOOPBACK_HOSTS:
            return True
        try:
            if ipaddress.ip_address(host).is_loopback:
                return True
        except ValueError:
            pass
    return False


# -- caching ----------------------------------------------------------------------------------

_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?\s*(?:,|$)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-store|no-cache)\s*(?:[,=]|$)", re.IGNORECASE)


def cache_lifetime(headers: Mapping[str, str], now: datetime) -> timedelta:
    """How long a fetched document is used before it is fetched again (RFC 9111, simplified).

    ``Cache-Control: no-store``/``no-cache`` → the minimum; ``max-age`` (less ``Age``) wins
    over ``Expires`` (measured against ``Date`` when given); neither → ``DEFAULT_CACHE``;
    always within ``MIN_CACHE`` .. ``MAX_CACHE``. ``headers``: names in lower case.
    """
    control = headers.get("cache-control", "")
    lifetime: timedelta | None = None
    if _NO_CACHE.search(control):
        lifetime = timedelta(0)
    elif (match := _MAX_AGE.search(control)) is not None:
        lifetime = timedelta(seconds=min(int(match[1]), 10**9)) - _age(headers)
    elif "expires" in headers:
        lifetime = _until_expires(headers, now)
    if lifetime is None:
        lifetime = DEFAULT_CACHE
    return max(MIN_CACHE, min(MAX_CACHE, lifetime))


def _age(headers: Mapping[str, str]) -> timedelta:
    value = headers.get("age", "").strip()
    return timedelta(seconds=min(int(value), 10**9)) if value.isdigit() else timedelta(0)


def _until_expires(headers: Mapping[str, str], now: datetime) -> timedelta:
    try:
        expires = parsedate_to_datetime(headers["expires"])
    except (TypeError, ValueError, IndexError):
        return timedelta(0)  # RFC 9111 §5.3: an invalid date means already expired
    if expires.tzinfo is None:
        return timedelta(0)
    base = now
    if "date" in headers:
        try:
            date = parsedate_to_datetime(headers["date"])
            if date.tzinfo is not None:
                base = date
        except (TypeError, ValueError, IndexError):
            pass
    return expires - base
