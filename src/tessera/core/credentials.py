"""Credentials as they arrive: parsing, generating and verifying ``ID:CODE`` strings.

Pure functions, no I/O: the first half of the per-request check (``services/authenticate.py``
is the second). Parsing follows Deskpro (shared/spec §3.1) with Tessera's decisions 11.2–11.3:
scheme names are case-insensitive, ``Bearer`` means ``token``, ``Basic`` carries ``ID:CODE``.
"""

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from enum import StrEnum
from typing import NamedTuple

from tessera.core.errors import (
    InvalidApiKey,
    InvalidApiToken,
    InvalidAuthorizationHeader,
    MalformedAuthorizationHeader,
)
from tessera.core.secret_keys import SecretKeyRing

#: Deskpro's code alphabet (``Strings::CHARS_KEY``): no 0/1/E/F/I/L/O/U/V to misread.
CODE_ALPHABET = "23456789ABCDGHJKMNPQRSTWXYZ"
#: 25 symbols of 27 carry about 119 bits: guessing is hopeless, so a fast keyed hash suffices.
CODE_LENGTH = 25
#: No code we issue is longer; anything longer cannot verify, so it is not even hashed.
MAX_CODE_LENGTH = 256
_SHA256_BLOCK = 64

_SEPARATORS = re.compile(r"[\s,]+")
# Ids are positive base-10 integers that fit a 64-bit column.
_ID_AND_CODE = re.compile(r"([0-9]{1,18}):(.*)", re.DOTALL)
#: ``ID:CODE`` with no separator in it: after ``scheme`` and one space, the common form.
_PLAIN_ID_AND_CODE = re.compile(r"([0-9]{1,18}):([^\s,]*)")


class CredentialKind(StrEnum):
    API_KEY = "key"
    API_TOKEN = "token"
    #: HTTP Basic ``ID:CODE``: tried as a key, then as a token (legacy v1 clients).
    EITHER = "basic"


_SCHEMES = {
    "key": CredentialKind.API_KEY,
    "token": CredentialKind.API_TOKEN,
    "bearer": CredentialKind.API_TOKEN,
    "basic": CredentialKind.EITHER,
}


class PresentedCredential(NamedTuple):
    # A named tuple: built on every request, at a fraction of a frozen dataclass's cost.
    kind: CredentialKind
    id: int
    code: str


#: Every JWS in compact form starts with its header, base64url of ``{"``: ``eyJ``. No
#: ``ID:CODE`` does (ids are digits), so this first test is all the opaque path pays.
JWT_START = "eyJ"


class PresentedJwt(NamedTuple):
    """A bearer token in JWT form (an RFC 9068 access token, ADR 0051), not yet verified."""

    compact: str


def parse_authorization(header: str) -> PresentedCredential | PresentedJwt:
    """Read an ``Authorization`` header value that is not empty.

    A ``Bearer`` (or ``token``) value that starts like a JWT is handed back as such, for the
    caller to verify; everything else must be ``ID:CODE``.

    Raises:
        MalformedAuthorizationHeader: the value does not split into exactly two parts, or a
            Basic value is not base64 of ``ID:CODE`` text.
        InvalidAuthorizationHeader: the scheme is not key, token, Bearer or Basic.
        InvalidApiKey, InvalidApiToken: the value is not ``ID:CODE`` (nor a JWT).
    """
    # The form every client sends, ``token 12:CODE``, in one match; anything else the long way.
    scheme, _, value = header.partition(" ")
    kind = _SCHEMES.get(scheme.lower())
    if kind is not None and kind is not CredentialKind.EITHER:
        match = _PLAIN_ID_AND_CODE.fullmatch(value)
        if match is not None and len(match[2]) <= MAX_CODE_LENGTH:
            return PresentedCredential(kind, int(match[1]), match[2])
    return _parse_separated(header)


def _parse_separated(header: str) -> PresentedCredential | PresentedJwt:
    """The general rule: ``scheme`` and value, split at any run of blanks or commas."""
    parts = _SEPARATORS.split(header.strip())
    if len(parts) != 2:
        raise MalformedAuthorizationHeader()
    scheme, value = parts
    kind = _SCHEMES.get(scheme.lower())
    if kind is None:
        raise InvalidAuthorizationHeader()
    if kind is CredentialKind.API_TOKEN and value.startswith(JWT_START):
        return PresentedJwt(value)
    if kind is CredentialKind.EITHER:
        value = _decode_basic(value)
    return parse_credential(kind, value)


def parse_credential(kind: CredentialKind, value: str) -> PresentedCredential:
    """Split ``ID:CODE`` at the first colon (legacy headers carry the bare value).

    Raises:
        InvalidApiKey, InvalidApiToken: the value names no credential.
    """
    match = _ID_AND_CODE.fullmatch(value)
    if match is None or len(match[2]) > MAX_CODE_LENGTH:
        raise InvalidApiToken() if kind is CredentialKind.API_TOKEN else InvalidApiKey()
    return PresentedCredential(kind, int(match[1]), match[2])


def _decode_basic(value: str) -> str:
    try:
        return base64.b64decode(value.encode("ascii"), validate=True).decode("utf-8")
    except (UnicodeError, binascii.Error):
        raise MalformedAuthorizationHeader() from None


def new_code(length: int = CODE_LENGTH) -> str:
    """Return a fresh secret code from a CSPRNG (decision 11.9)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def format_credential(credential_id: int, code: str) -> str:
    return f"{credential_id}:{code}"


class CodeHasher:
    """Keyed digests of generated codes: what the database holds instead of the code.

    HMAC-SHA-256 under the server's secret key: a stolen database alone does not let anyone
    check guesses, and a digest costs a microsecond, not an argon2 hash per API request
    (ADR 0003). Keys have versions (ADR 0035): a digest under version 1 is the bare 32 bytes
    (as every digest was before versions), under a later one the version's byte and then the
    32 bytes, so each stored digest says which key checks it.
    """

    def __init__(self, keys: SecretKeyRing | bytes) -> None:
        ring = keys if isinstance(keys, SecretKeyRing) else SecretKeyRing.single(keys)
        self._by_version = {key.version: _KeyedDigest(key.value) for key in ring.keys}
        self._active_version = ring.active.version
        self._active = self._by_version[self._active_version]
        # The active key first: lookups by digest try it first, and it is the likeliest.
        others = [version for version in self._by_version if version != self._active_version]
        self._versions = (self._active_version, *others)

    def digest(self, code: str) -> bytes:
        """The stored form of ``code``'s digest under the active key."""
        return _stored_form(self._active_version, self._active.digest(code))

    def digests(self, code: str) -> tuple[bytes, ...]:
        """The stored forms under every key, active first: what a lookup by digest matches."""
        return tuple(
            _stored_form(version, self._by_version[version].digest(code))
            for version in self._versions
        )

    def matches(self, code: str, stored_digest: bytes) -> bool:
        """Whether ``stored_digest`` is ``code``'s, under the key it names (constant time)."""
        # Inline, not through the helpers below: this runs on every cached API request.
        size = len(stored_digest)
        if size == _DIGEST_SIZE:
            keyed, prefix = self._by_version.get(1), b""
        elif size == _DIGEST_SIZE + 1:
            keyed, prefix = self._by_version.get(stored_digest[0]), stored_digest[:1]
        else:
            return False
        if keyed is None:
            return False  # made under a retired key: that credential has ended
        return hmac.compare_digest(prefix + keyed.digest(code), stored_digest)

    def version_of(self, stored_digest: bytes) -> int:
        return _version_of(stored_digest)


class _KeyedDigest:
    """HMAC-SHA-256 under one key, its two padded key states prepared once."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, secret_key: bytes) -> None:
        if len(secret_key) < 32:
            raise ValueError("the secret key must be at least 32 bytes")
        # HMAC (RFC 2104) hashes the key, padded to the block, XOR-ed with two constants
        # before every message. Done once here, each digest is two copies of a started
        # SHA-256 and two short updates: a third of ``hmac.digest``'s cost per call, which
        # sets up that key state again every time (measured in bench/hot_path.py).
        if len(secret_key) > _SHA256_BLOCK:
            secret_key = hashlib.sha256(secret_key).digest()
        block = secret_key.ljust(_SHA256_BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in block))
        self._outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in block))

    def digest(self, code: str) -> bytes:
        inner = self._inner.copy()
        inner.update(code.encode("utf-8", "surrogatepass"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


_DIGEST_SIZE = 32


def _stored_form(version: int, digest: bytes) -> bytes:
    return digest if version == 1 else bytes((version,)) + digest


def _version_of(stored_digest: bytes) -> int:
    """The key version a stored digest names; 0 (no key) for anything malformed."""
    size = len(stored_digest)
    if size == _DIGEST_SIZE:
        return 1
    return stored_digest[0] if size == _DIGEST_SIZE + 1 else 0
