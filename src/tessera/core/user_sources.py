"""User sources: external identity providers people sign in through instead of a password.

Deskpro calls them "usersources" (spec §8.2). An operator connects one (an OpenID provider, or
a SAML 2.0 identity provider by its metadata) and says which claim (SAML: attribute) carries the
e-mail address and the name, whether unknown people are created on first sign-in, which groups
make an agent or an admin, and whether agents, users or both are offered the source.

The client secret is kept sealed at rest like the ID token signing keys (ADR 0039): AES-256-GCM
under a key derived from the active server secret key, whose version is stored beside it, and
bound to the source's client_id. A person who signed in through a source is linked to it by the
provider's subject (``sub``; SAML: the persistent NameID), never by e-mail alone (ADR 0047,
ADR 0049).
"""

import base64
import ipaddress
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tessera.core.errors import FieldError
from tessera.core.secret_keys import SecretKeyRing

_SALT_BYTES = 16
_NONCE_BYTES = 12
_PURPOSE = b"tessera user source client secret v1"

MAX_TITLE_LENGTH = 100
MAX_CLAIM_LENGTH = 100
MAX_SUBJECT_LENGTH = 255

INVALID_ISSUER = FieldError(
    "invalid_issuer",
    "The issuer must be an https URL (http only on a loopback address), without a query or"
    " fragment.",
)
INVALID_CLAIM = FieldError("invalid_claim", "A claim name is 1 to 100 characters, no blanks.")


class SourceKind(StrEnum):
    """The protocol a source speaks (Deskpro's ``source_type``)."""

    OIDC = "oidc"
    #: SAML 2.0 Web Browser SSO (ADR 0049): ``issuer`` is the IdP's entity id, ``client_id``
    #: ours (the SP entity id, the audience its assertions must name).
    SAML = "saml"


class OfferedTo(StrEnum):
    """Who is offered the source (Deskpro's ``type``: a source is for agents or users)."""

    AGENTS = "agents"
    USERS = "users"
    BOTH = "both"

    def offers(self, context: str) -> bool:
        """Whether the source is listed in Deskpro's ``context`` (``agent`` or ``user``)."""
        return self is OfferedTo.BOTH or self.value == f"{context}s"


@dataclass(frozen=True, slots=True)
class UserSource:
    id: int
    kind: SourceKind
    title: str
    #: The OpenID provider's issuer (discovery: ``/.well-known/openid-configuration``).
    issuer: str
    client_id: str
    #: The client secret sealed (``seal_client_secret``), or None for a public client.
    sealed_secret: bytes | None
    secret_key_version: int | None
    email_claim: str
    name_claim: str
    #: The claim holding the person's groups (a list of strings), or None: no group mapping.
    groups_claim: str | None
    agent_groups: tuple[str, ...]
    admin_groups: tuple[str, ...]
    #: Unknown people are created at their first sign-in (just in time); else they must exist.
    create_unknown: bool
    #: A person with no link yet may be found by the provider's verified e-mail address.
    link_by_email: bool
    offered_to: OfferedTo
    is_enabled: bool
    display_order: int
    created_at: datetime
    updated_at: datetime
    #: SAML: the IdP's metadata document (its sign-in URL and signing certificates).
    idp_metadata: str | None = None
    #: SAML: where the metadata was fetched from, if it was (``tessera user-sources`` refetches).
    idp_metadata_url: str | None = None

    @property
    def sp_entity_id(self) -> str:
        """SAML: our entity id at this IdP (kept in ``client_id``: it is how the IdP knows us)."""
        return self.client_id

    @property
    def has_secret(self) -> bool:
        return self.sealed_secret is not None

    @property
    def identity_provider(self) -> str:
        """What a linked person's ``identity_provider`` says (at most 100 characters)."""
        return f"user_source:{self.id}"

    def __repr__(self) -> str:  # never the sealed secret, wherever this is printed
        return f"UserSource(id={self.id}, kind={self.kind}, title={self.title!r})"


@dataclass(frozen=True, slots=True)
class ProviderIdentity:
    """Who the provider says signed in: checked claims of a validated ID token, or the NameID
    and attributes of a validated SAML assertion."""

    subject: str
    email: str | None
    email_verified: bool
    name: str | None
    groups: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Roles:
    is_agent: bool
    is_admin: bool


def roles_from_groups(source: UserSource, groups: Iterable[str]) -> Roles | None:
    """What the person's groups make them; None when the source maps no groups."""
    if source.groups_claim is None:
        return None
    held = set(groups)
    is_admin = any(group in held for group in source.admin_groups)
    is_agent = is_admin or any(group in held for group in source.agent_groups)
    return Roles(is_agent=is_agent, is_admin=is_admin)


def issuer_problem(issuer: str) -> FieldError | None:
    """None when ``issuer`` may name an OpenID provider (OpenID Connect Discovery §2)."""
    try:
        parts = urlsplit(issuer)
        host = parts.hostname or ""
    except ValueError:
        return INVALID_ISSUER
    if not host or parts.query or parts.fragment or len(issuer) > 2000:
        return INVALID_ISSUER
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and _is_loopback(host):
        return None
    return INVALID_ISSUER


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def claim_problem(claim: str) -> FieldError | None:
    if not claim or len(claim) > MAX_CLAIM_LENGTH or any(c.isspace() for c in claim):
        return INVALID_CLAIM
    return None


def clean_groups(groups: Sequence[str]) -> tuple[str, ...]:
    """Group names trimmed, blanks and repeats dropped, order kept."""
    seen: dict[str, None] = {}
    for group in groups:
        if group.strip():
            seen.setdefault(group.strip(), None)
    return tuple(seen)


def _cipher(secret: bytes, salt: bytes) -> AESGCM:
    key = HKDF(algorithm=SHA256(), length=32, salt=salt, info=_PURPOSE).derive(secret)
    return AESGCM(key)


class ClientSecretUnavailable(RuntimeError):
    """The sealed client secret cannot be opened by this process (the message says why)."""


def seal_client_secret(ring: SecretKeyRing, client_id: str, secret: str) -> tuple[int, bytes]:
    """The secret sealed under the active secret key: (that key's version, sealed bytes).

    ``client_id`` is the associated data: a sealed secret copied to another source won't open.
    """
    active = ring.active
    salt, nonce = os.urandom(_SALT_BYTES), os.urandom(_NONCE_BYTES)
    body = _cipher(active.value, salt).encrypt(nonce, secret.encode(), client_id.encode())
    return active.version, salt + nonce + body


def open_client_secret(ring: SecretKeyRing, source: UserSource) -> str | None:
    """The source's client secret in clear, or None when it has none.

    Raises:
        ClientSecretUnavailable: the secret key version that sealed it is missing here, or
            holds another value; the message names the source and version, never a key.
    """
    if source.sealed_secret is None or source.secret_key_version is None:
        return None
    secret = ring.get(source.secret_key_version)
    if secret is None:
        raise ClientSecretUnavailable(
            f"user source {source.id} was sealed with secret key version "
            f"{source.secret_key_version}, which this process does not have"
        )
    sealed = source.sealed_secret
    salt, nonce = sealed[:_SALT_BYTES], sealed[_SALT_BYTES : _SALT_BYTES + _NONCE_BYTES]
    try:
        plain = _cipher(secret.value, salt).decrypt(
            nonce, sealed[_SALT_BYTES + _NONCE_BYTES :], source.client_id.encode()
        )
    except InvalidTag:
        raise ClientSecretUnavailable(
            f"user source {source.id}'s client secret does not open with secret key version "
            f"{source.secret_key_version}"
        ) from None
    return plain.decode()


def reseal_client_secret(ring: SecretKeyRing, source: UserSource) -> tuple[int, bytes] | None:
    """The source's client secret sealed anew under the active secret key (ADR 0035: before the
    key that sealed it is retired); None when it has none.

    Raises:
        ClientSecretUnavailable: it does not open with the version that sealed it.
    """
    secret = open_client_secret(ring, source)
    return None if secret is None else seal_client_secret(ring, source.client_id, secret)


_PENDING_PURPOSE = b"tessera user source sign-in v1"


def _pending_cipher(secret: bytes, salt: bytes) -> AESGCM:
    key = HKDF(algorithm=SHA256(), length=32, salt=salt, info=_PENDING_PURPOSE).derive(secret)
    return AESGCM(key)


def seal_pending(ring: SecretKeyRing, values: dict[str, str]) -> str:
    """A sign-in under way (state, nonce, PKCE verifier, where to go next), sealed for the
    browser to carry back: encrypted and authenticated under the active secret key."""
    active = ring.active
    salt, nonce = os.urandom(_SALT_BYTES), os.urandom(_NONCE_BYTES)
    body = _pending_cipher(active.value, salt).encrypt(nonce, json.dumps(values).encode(), None)
    raw = active.version.to_bytes(4, "big") + salt + nonce + body
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def open_pending(ring: SecretKeyRing, sealed: str) -> dict[str, str] | None:
    """What ``seal_pending`` sealed; None for anything else (forged, cut, another key)."""
    try:
        raw = base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4))
    except ValueError:
        return None
    head = 4 + _SALT_BYTES + _NONCE_BYTES
    if len(raw) <= head or len(sealed) > 4096:
        return None
    secret = ring.get(int.from_bytes(raw[:4], "big"))
    if secret is None:
        return None
    salt, nonce = raw[4 : 4 + _SALT_BYTES], raw[4 + _SALT_BYTES : head]
    try:
        plain = _pending_cipher(secret.value, salt).decrypt(nonce, raw[head:], None)
    except InvalidTag:
        return None
    values = json.loads(plain)
    return {str(k): str(v) for k, v in values.items()} if isinstance(values, dict) else None


#: Deskpro's E9 hand-over formats (spec §8.2), each with its own return URL.
HAND_OVER_FORMATS = ("default", "ios", "deskpro_scheme")


def sign_in_return_url(public_url: str, source_id: int) -> str:
    """Where the provider sends the browser back for a console sign-in (the redirect URI of an
    OpenID provider; a SAML assertion consumer service)."""
    return f"{public_url.rstrip('/')}/login/sources/{source_id}/callback"


def app_return_url(public_url: str, source_id: int, hand_over: str) -> str:
    """Deskpro's E9 for one hand-over format (spec §8.2)."""
    base = public_url.rstrip("/")
    return f"{base}/api/v2/api_tokens/user_sources/{source_id}/callback/{hand_over}"


def return_urls(public_url: str, source_id: int) -> tuple[str, ...]:
    """Every URL the provider may send the browser back to for this source: the console's,
    then E9's for each format (all registered at the provider)."""
    return (
        sign_in_return_url(public_url, source_id),
        *(app_return_url(public_url, source_id, each) for each in HAND_OVER_FORMATS),
    )


def sp_metadata_url(public_url: str, source_id: int) -> str:
    """A SAML source's service provider metadata, for the IdP's administrator; also the SP
    entity id unless the operator chose another."""
    return f"{public_url.rstrip('/')}/login/sources/{source_id}/metadata"
