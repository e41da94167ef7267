"""The keys that sign ID tokens, and how their private part is kept at rest (ADR 0039).

A private key is stored sealed: AES-256-GCM under a key derived (HKDF-SHA-256) from the active
server secret key, whose version is stored beside it, and bound to the key's ``kid``. A process
that lacks that secret key version, or holds another value under its number, cannot open the
key and says which key and which version it is missing; the database alone opens nothing.
"""

import os
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tessera.core.secret_keys import SecretKeyRing

_SALT_BYTES = 16
_NONCE_BYTES = 12
_PURPOSE = b"tessera oidc signing key v1"


class SigningAlgorithm(StrEnum):
    #: Every OpenID Connect client can check it (OpenID Connect Core §15.1): the default.
    RS256 = "RS256"
    #: Offered beside it: shorter tokens, for the clients that ask for it.
    ES256 = "ES256"


#: The algorithm of ID tokens for a client that registered none (OpenID Connect Registration §2).
DEFAULT_ALGORITHM = SigningAlgorithm.RS256


class SigningKeyUnavailable(RuntimeError):
    """A signing key this process needs cannot be opened (or there is none)."""


class NoSigningKeyYet(SigningKeyUnavailable):
    """No key signs with this algorithm yet: make one (outside the caller's transaction)."""


@dataclass(frozen=True, slots=True)
class StoredSigningKey:
    """A signing key as the database holds it: the public JWK in clear, the private part sealed."""

    id: int
    kid: str
    algorithm: SigningAlgorithm
    public_jwk: dict[str, Any]
    sealed: bytes
    #: The server secret key version that sealed it.
    secret_key_version: int
    created_at: datetime
    #: None while it signs; then when its successor took over.
    retired_at: datetime | None
    #: After this, no token it signed is still valid: it leaves the JWKS.
    published_until: datetime | None

    @property
    def is_active(self) -> bool:
        return self.retired_at is None

    def __repr__(self) -> str:  # never the sealed bytes, wherever this is printed
        return f"StoredSigningKey(kid={self.kid!r}, algorithm={self.algorithm})"


def _cipher(secret: bytes, salt: bytes) -> AESGCM:
    key = HKDF(algorithm=SHA256(), length=32, salt=salt, info=_PURPOSE).derive(secret)
    return AESGCM(key)


def seal_private_key(ring: SecretKeyRing, kid: str, private_pem: bytes) -> tuple[int, bytes]:
    """The private key sealed under the active secret key: (that key's version, sealed bytes).

    The sealed form is salt, nonce and ciphertext; ``kid`` is the associated data, so a sealed
    key copied onto another row does not open.
    """
    active = ring.active
    salt, nonce = os.urandom(_SALT_BYTES), os.urandom(_NONCE_BYTES)
    body = _cipher(active.value, salt).encrypt(nonce, private_pem, kid.encode())
    return active.version, salt + nonce + body


def open_private_key(ring: SecretKeyRing, stored: StoredSigningKey) -> bytes:
    """The private key in PEM.

    Raises:
        SigningKeyUnavailable: the secret key version is missing or is not the one that sealed
            it; the message names both, never a key.
    """
    secret = ring.get(stored.secret_key_version)
    if secret is None:
        raise SigningKeyUnavailable(
            f"signing key {stored.kid} ({stored.algorithm}) was sealed with secret key version "
            f"{stored.secret_key_version}, which this process does not have: give it every "
            "secret key version the other servers have (docs/operations.md#secret-keys)"
        )
    sealed = stored.sealed
    salt, nonce = sealed[:_SALT_BYTES], sealed[_SALT_BYTES : _SALT_BYTES + _NONCE_BYTES]
    body = sealed[_SALT_BYTES + _NONCE_BYTES :]
    try:
        return _cipher(secret.value, salt).decrypt(nonce, body, stored.kid.encode())
    except InvalidTag:
        raise SigningKeyUnavailable(
            f"signing key {stored.kid} ({stored.algorithm}) does not open with secret key "
            f"version {stored.secret_key_version}: this process has another key under that "
            "version than the process that sealed it"
        ) from None


def reseal_private_key(ring: SecretKeyRing, stored: StoredSigningKey) -> tuple[int, bytes]:
    """The same private key sealed anew under the active secret key (ADR 0035: before the key
    that sealed it is retired). The ``kid`` and the key itself do not change.

    Raises:
        SigningKeyUnavailable: it does not open with the version that sealed it.
    """
    return seal_private_key(ring, stored.kid, open_private_key(ring, stored))
