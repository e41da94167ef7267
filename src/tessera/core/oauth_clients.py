"""OAuth clients as values, their public ``client_id``, and which redirect URIs may be registered.

Deskpro accepts any URL as a redirect URI (shared/spec §7.2). Tessera is stricter, because a
redirect URI is where authorization codes and tokens are sent (decision 17, ADR 0019): RFC 6749
§3.1.2 (absolute, no fragment), RFC 8252 §7 (native apps: http on the loopback interface, app
schemes) and RFC 9700 §2.1 / §4.1 (exact, registered URIs; no open redirectors) decide here, at
registration, so that the authorization endpoint can compare strings and nothing more.
"""

import ipaddress
import re
import secrets
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from tessera.core.client_keys import ClientAuthMethod
from tessera.core.errors import DUPLICATE, FieldError, FieldErrors
from tessera.core.oauth_scopes import SESSION_SCOPE, ApiScope
from tessera.core.people import Person
from tessera.core.signing_keys import DEFAULT_ALGORITHM, SigningAlgorithm
from tessera.core.site import SiteInfo


class ClientContext(StrEnum):
    """Who may authorize the app: agents (and admins), or helpdesk users."""

    AGENT = "agent"
    USER = "user"


class GrantType(StrEnum):
    """Deskpro's ``allowed_grant_type``; ``token`` is the implicit grant (decision 11.11).

    ``device_code`` is ours: the device authorization grant (RFC 8628), whose token requests
    name it ``urn:ietf:params:oauth:grant-type:device_code`` (ADR 0040).
    """

    AUTHORIZATION_CODE = "authorization_code"
    IMPLICIT = "token"
    DEVICE_CODE = "device_code"

    @property
    def redirects(self) -> bool:
        """Whether answers go back through a redirect URI: the device grant's never do."""
        return self is not GrantType.DEVICE_CODE


class AccessTokenFormat(StrEnum):
    """What a client's access tokens look like (ADR 0051).

    ``opaque``: Deskpro's ``ID:CODE``, what every client gets unless an operator opts it in.
    ``jwt``: an RFC 9068 JWT signed with the server's keys, for resource servers that read the
    token's claims themselves; it is still a row of Tessera's token store, checked and revoked
    exactly like an opaque token.
    """

    OPAQUE = "opaque"
    JWT = "jwt"


class ClientOrigin(StrEnum):
    """How a client came to be (docs/oauth.md, ADRs 0044 and 0045)."""

    #: Registered by an admin (console, CLI, ``/api/v2/oauth_clients``).
    CONSOLE = "console"
    #: A client ID metadata document: its ``client_id`` is the document's https URL.
    DOCUMENT = "document"
    #: Registered by the client itself at ``/oauth/register`` (RFC 7591).
    REGISTERED = "registered"


def public_client_id(row_id: int, random_id: str, document_url: str | None = None) -> str:
    """The ``client_id`` apps send: ``<id>_<random_id>`` (Deskpro's ``public_id``), or the
    document's URL for a metadata-document client."""
    return document_url if document_url is not None else f"{row_id}_{random_id}"


@dataclass(frozen=True, slots=True)
class OAuthClient:
    """A registered app as every layer sees it: never its secret, only whether it has one."""

    id: int
    random_id: str
    name: str
    context: ClientContext
    redirect_uris: tuple[str, ...]
    allowed_grant_type: GrantType
    is_enabled: bool
    #: No secret; must use PKCE (decision 11.11).
    is_public: bool
    has_secret: bool
    created_at: datetime
    updated_at: datetime
    #: What signs its ID tokens (OpenID Connect Registration's ``id_token_signed_response_alg``):
    #: RS256, which every library checks, unless the app asked for ES256.
    id_token_signed_response_alg: SigningAlgorithm = DEFAULT_ALGORITHM
    origin: ClientOrigin = ClientOrigin.CONSOLE
    #: A metadata-document client's URL (its ``client_id``); None for the others.
    document_url: str | None = None
    #: When a metadata-document client's document is fetched again.
    document_expires_at: datetime | None = None
    #: RFC 7591 metadata beyond the columns (``grant_types``, ``client_uri``, ``logo_uri``…).
    metadata: Mapping[str, Any] = field(default_factory=dict)
    #: Where the app may send the person after asking Tessera to sign them out (OpenID
    #: Connect RP-Initiated Logout §3): the same rules as redirect URIs, compared exactly.
    post_logout_redirect_uris: tuple[str, ...] = ()
    #: The API scopes it may be granted (ADR 0042): ``session`` and tag patterns, as stored.
    allowed_scopes: str = SESSION_SCOPE
    #: ``ID:CODE`` unless an operator opted the client into RFC 9068 JWT access tokens.
    access_token_format: AccessTokenFormat = AccessTokenFormat.OPAQUE
    #: A confidential client that proves itself with a JWT signed by its key (ADR 0052)
    #: instead of a secret; its public keys are at ``jwks_uri`` or in ``jwks``.
    private_key_jwt: bool = False
    jwks_uri: str | None = None
    jwks: Mapping[str, Any] | None = None

    @property
    def token_endpoint_auth_method(self) -> ClientAuthMethod:
        """RFC 7591's name for how it authenticates: a secret client accepts HTTP Basic and the
        form alike, and is named by RFC 7591's default, ``client_secret_basic``."""
        if self.is_public:
            return ClientAuthMethod.NONE
        if self.private_key_jwt:
            return ClientAuthMethod.PRIVATE_KEY_JWT
        return ClientAuthMethod.CLIENT_SECRET_BASIC

    @property
    def allowed_api_scope(self) -> ApiScope:
        """``allowed_scopes`` read; an unreadable value (never stored by Tessera) allows nothing."""
        return _allowed(self.allowed_scopes)

    @property
    def client_id(self) -> str:
        """The OAuth ``client_id`` apps send: Deskpro's ``public_id`` (``<id>_<random_id>``),
        or the URL of a metadata document."""
        return public_client_id(self.id, self.random_id, self.document_url)

    @property
    def may_refresh(self) -> bool:
        """Whether refresh tokens are issued: always for admins' clients; for the others when
        their metadata's ``grant_types`` (RFC 7591 §2) names ``refresh_token``."""
        if self.origin is ClientOrigin.CONSOLE:
            return True
        grant_types = self.metadata.get("grant_types")
        return isinstance(grant_types, list) and "refresh_token" in grant_types


@lru_cache(maxsize=1024)
def _allowed(text: str) -> ApiScope:
    try:
        return ApiScope.parse(text)
    except ValueError:
        return ApiScope(())


#: ``allowed_scopes`` as stored: at most this long.
MAX_ALLOWED_SCOPES = 1000
ALLOWED_SCOPES_REQUIRED = FieldError(
    "required", "Name at least one scope the app may be granted: session, or tag patterns."
)


def check_allowed_scopes(problems: FieldErrors, text: str) -> str | None:
    """The client's allowed scopes written the one way they are stored, or None (a problem).

    ``session`` and endpoint tag patterns (``tickets.*``, ``-*.delete``), separated by blanks
    or commas; at least one that allows something.
    """
    try:
        scope = ApiScope.parse(text)
    except ValueError as error:
        problems.add(
            ("allowed_scopes",),
            FieldError(
                "invalid_scope",
                f"{str(error)[:50]!r} is neither session nor an endpoint tag pattern "
                "(letters, digits, _ . and *, with - in front to take away).",
            ),
        )
        return None
    if not scope.allow:
        problems.add(("allowed_scopes",), ALLOWED_SCOPES_REQUIRED)
        return None
    stored = str(scope)
    if len(stored) > MAX_ALLOWED_SCOPES:
        problems.add(
            ("allowed_scopes",),
            FieldError("too_long", f"This value is too long ({MAX_ALLOWED_SCOPES} at most)."),
        )
        return None
    return stored


def person_may_authorize(person: Person, client: OAuthClient) -> bool:
    """Only active people; only active agents for agent-context apps (shared/spec §7.1)."""
    if person.is_disabled:
        return False
    return client.context is not ClientContext.AGENT or person.is_agent


#: Ids are 64-bit columns; without leading zeros, so that each client has one client_id string.
MAX_CLIENT_ID = 2**63 - 1
_CLIENT_ID = re.compile(r"([1-9][0-9]{0,18})_([A-Za-z0-9]{1,64})")


def parse_client_id(value: str) -> tuple[int, str] | None:
    """``"12_abc"`` → ``(12, "abc")``; None for anything that cannot name a client."""
    match = _CLIENT_ID.fullmatch(value)
    if match is None:
        return None
    row_id = int(match[1])
    if row_id > MAX_CLIENT_ID:
        return None
    return row_id, match[2]


#: The public half of a client_id (Deskpro's is base 36 too), random so that ids cannot be walked.
_RANDOM_ID_ALPHABET = string.ascii_lowercase + string.digits
_RANDOM_ID_LENGTH = 32


def new_random_id() -> str:
    return "".join(secrets.choice(_RANDOM_ID_ALPHABET) for _ in range(_RANDOM_ID_LENGTH))


def authorization_endpoint(site: SiteInfo) -> str:
    """Where apps send people to sign in and consent (decision 11.11)."""
    return site.helpdesk_url + "oauth/authorize"


def token_endpoint(site: SiteInfo) -> str:
    return site.helpdesk_url + "oauth/token"


#: RFC 8414's well-known URI suffix.
METADATA_PATH = "/.well-known/oauth-authorization-server"


def metadata_url(site: SiteInfo) -> str:
    """Where clients look for the metadata: RFC 8414 §3.1 puts the well-known segment between
    the host and the issuer's path (``https://example.com/auth`` →
    ``https://example.com/.well-known/oauth-authorization-server/auth``)."""
    issuer = urlsplit(site.public_url)
    return f"{issuer.scheme}://{issuer.netloc}{METADATA_PATH}{issuer.path.rstrip('/')}"


# -- redirect URIs ---------------------------------------------------------------------------

MAX_REDIRECT_URI_LENGTH = 2000
MAX_REDIRECT_URIS = 20

INVALID_URL = FieldError("invalid_url", "This value is not a valid URL.")
INSECURE_REDIRECT_URI = FieldError(
    "insecure_redirect_uri",
    "A redirect URI must use https, or http on a loopback address (127.0.0.1, [::1] or "
    "localhost); this server does not allow plain http to other hosts.",
)
MALFORMED_REVERSE_DOMAIN = FieldError(
    "invalid_scheme",
    "A scheme with dots must be a reverse domain name the app controls, such as "
    "com.example.app (RFC 8252).",
)
NOT_AN_APP_SCHEME = FieldError(
    "invalid_scheme",
    "This scheme cannot take a redirect: use https, http on a loopback address, "
    "or the app's own scheme (myapp or com.example.app).",
)
WILDCARD_REDIRECT_URI = FieldError(
    "wildcard_redirect_uri",
    "A redirect URI is compared exactly: wildcards (*) are not supported; register each URI.",
)
REDIRECT_URI_TOO_LONG = FieldError(
    "too_long", f"This value is too long ({MAX_REDIRECT_URI_LENGTH} at most)."
)
TOO_FEW_REDIRECT_URIS = FieldError(
    "too_few_elements", "This collection should contain 1 elements or more."
)
TOO_MANY_REDIRECT_URIS = FieldError(
    "too_many_elements",
    f"This collection should contain {MAX_REDIRECT_URIS} elements or less.",
)

#: Schemes that run or read something in the browser instead of reaching an app.
_DANGEROUS_SCHEMES = frozenset(
    {"javascript", "vbscript", "data", "file", "blob", "about", "filesystem", "view-source"}
)
#: Network protocols the browser would speak itself, never hand to an app.
_NOT_APP_SCHEMES = frozenset({"ws", "wss", "ftp", "ftps"})
#: Where plain http may go: this machine, whose listener the app itself opened (RFC 8252
#: §7.3). ``localhost`` too, though §8.3 prefers IP literals: command-line and MCP clients
#: register it, and the name must resolve to the loopback interface (RFC 6761 §6.3).
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "[::1]", "localhost"})

# RFC 3986 characters only (no blanks, controls or non-ASCII); "%" must start a valid escape.
_URI_CHARACTERS = re.compile(r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})+")
_SCHEME_AND_REST = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):(.*)", re.DOTALL)
# A reverse-domain scheme: dot-separated labels, as in com.example.app.
_REVERSE_DOMAIN = re.compile(r"[a-z][a-z0-9+\-]*(?:\.[a-z0-9+\-]+)+")
_AUTHORITY_AND_PATH = re.compile(r"//([^/?]*)(.*)", re.DOTALL)
_HOST_AND_PORT = re.compile(r"(\[[^\]]*\]|[^:\[\]]*)(?::([0-9]{1,5}))?")
_DNS_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
_DNS_NAME = re.compile(rf"{_DNS_LABEL}(?:\.{_DNS_LABEL})*\.?")


def is_loopback_redirect_host(host: str) -> bool:
    """``127.0.0.1``, ``[::1]`` or ``localhost`` (any case), as written in a URI's authority."""
    return host.lower() in LOOPBACK_HOSTS


def check_redirect_uris(
    problems: FieldErrors,
    uris: Sequence[str],
    *,
    allow_insecure_http: bool = False,
    field: str = "redirect_uris",
    required: bool = True,
) -> list[str] | None:
    """The URIs to store, or None; problems go per ``redirect_uris_N`` as Deskpro nests them.

    ``field``: the list's name (``post_logout_redirect_uris`` follows the same rules, and
    may be empty: ``required=False``).
    """
    if isinstance(uris, str):  # a str is a Sequence[str] too: one URI, not its characters
        uris = [uris]
    if not uris:
        if not required:
            return []
        problems.add((field,), TOO_FEW_REDIRECT_URIS)
        return None
    if len(uris) > MAX_REDIRECT_URIS:
        problems.add((field,), TOO_MANY_REDIRECT_URIS)
        return None
    checked: list[str] = []
    valid = True
    for index, uri in enumerate(uris):
        problem = redirect_uri_problem(uri, allow_insecure_http=allow_insecure_http)
        if problem is None and uri in checked:
            problem = DUPLICATE
        if problem is not None:
            problems.add((field, f"{field}_{index}"), problem)
            valid = False
        checked.append(uri)
    return checked if valid else None


def redirect_uri_problem(uri: str, *, allow_insecure_http: bool = False) -> FieldError | None:
    """Why this URI may not be registered as a redirect URI, or None when it may (decision 17).

    Accepted: ``https://host/…``; ``http://`` to ``127.0.0.1``, ``[::1]`` or ``localhost``
    (any port); an app's own scheme, short (``myapp://callback``, as Deskpro's apps use) or a
    reverse domain (``com.example.app:/callback``); plain http to any other host only with
    ``allow_insecure_http`` (the operator's switch for legacy clients). Refused: anything that
    is not an absolute URI, a fragment, user information, a wildcard, browser-executed schemes,
    web protocols other than http(s), more than 2000 characters.
    """
    if len(uri) > MAX_REDIRECT_URI_LENGTH:
        return REDIRECT_URI_TOO_LONG
    if _URI_CHARACTERS.fullmatch(uri) is None or "#" in uri:
        return INVALID_URL
    match = _SCHEME_AND_REST.fullmatch(uri)
    if match is None or not match[2]:
        return INVALID_URL
    scheme, rest = match[1].lower(), match[2]
    if scheme in _DANGEROUS_SCHEMES or len(scheme) == 1:  # one letter: a Windows drive, C:/…
        return INVALID_URL
    if "*" in uri:
        return WILDCARD_REDIRECT_URI
    if scheme in ("http", "https"):
        return _web_problem(scheme, rest, allow_insecure_http=allow_insecure_http)
    if scheme in _NOT_APP_SCHEMES:
        return NOT_AN_APP_SCHEME
    if "." in scheme and _REVERSE_DOMAIN.fullmatch(scheme) is None:
        return MALFORMED_REVERSE_DOMAIN
    authority = _AUTHORITY_AND_PATH.fullmatch(rest)
    if authority is not None and "@" in authority[1]:
        return INVALID_URL
    return None


def is_insecure_redirect_uri(uri: str) -> bool:
    """Plain http to a host off the loopback interface: allowed only by the operator's switch."""
    match = _SCHEME_AND_REST.fullmatch(uri)
    if match is None or match[1].lower() != "http":
        return False
    authority = _AUTHORITY_AND_PATH.fullmatch(match[2])
    host_and_port = None if authority is None else _HOST_AND_PORT.fullmatch(authority[1])
    return host_and_port is None or not is_loopback_redirect_host(host_and_port[1])


def _web_problem(scheme: str, rest: str, *, allow_insecure_http: bool) -> FieldError | None:
    """An http(s) URI needs a host (no user information); http only to loopback, unless allowed."""
    authority = _AUTHORITY_AND_PATH.fullmatch(rest)
    if authority is None or "@" in authority[1]:
        return INVALID_URL
    host_and_port = _HOST_AND_PORT.fullmatch(authority[1])
    if host_and_port is None:
        return INVALID_URL
    host, port = host_and_port[1], host_and_port[2]
    if not _is_host(host) or (port is not None and not 1 <= int(port) <= 65535):
        return INVALID_URL
    if scheme == "http" and not is_loopback_redirect_host(host) and not allow_insecure_http:
        return INSECURE_REDIRECT_URI
    return None


def _is_host(host: str) -> bool:
    if host.startswith("["):
        if "%" in host:  # a zone id names an interface of the client's machine, not a host
            return False
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return False
        return True
    return _DNS_NAME.fullmatch(host) is not None
