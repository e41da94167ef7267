"""Signed reports from a secret-scanning partner: its public keys, and checking a signature.

GitHub signs each report it sends with ECDSA on P-256 over SHA-256 of the raw body, names the
key in ``Github-Public-Key-Identifier`` and carries the signature, DER in base64, in
``Github-Public-Key-Signature``. Its keys are published as
``{"public_keys": [{"key_identifier", "key" (PEM), "is_current"}]}``; the operator keeps a copy
of that document (docs/secret-scanning.md). Keys no longer current still verify: a report
signed just before a rotation may arrive just after it.
"""

import base64
import binascii
import json
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ec import (
    ECDSA,
    SECP256R1,
    EllipticCurvePublicKey,
)
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.serialization import load_pem_public_key

PartnerKeys = Mapping[str, EllipticCurvePublicKey]
#: A DER ECDSA signature on P-256 is at most 72 bytes; base64 of that, with room to spare.
_LONGEST_SIGNATURE = 256
#: Key identifiers are hex SHA-256 digests (64 characters); anything far longer is not one.
_LONGEST_KEY_IDENTIFIER = 256


class InvalidPartnerKeys(ValueError):
    """The keys document cannot be read as the partner's public keys."""


def parse_partner_keys(text: str) -> dict[str, EllipticCurvePublicKey]:
    """The P-256 public keys of a keys document, by identifier.

    Raises:
        InvalidPartnerKeys: not JSON of that shape, no key at all, or a key that is not a
            P-256 public key in PEM.
    """
    try:
        document = json.loads(text)
    except ValueError as error:
        raise InvalidPartnerKeys(f"not JSON: {error}") from None
    entries = document.get("public_keys") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise InvalidPartnerKeys('no "public_keys" list, or an empty one')
    keys: dict[str, EllipticCurvePublicKey] = {}
    for number, entry in enumerate(entries):
        identifier = entry.get("key_identifier") if isinstance(entry, dict) else None
        pem = entry.get("key") if isinstance(entry, dict) else None
        if not isinstance(identifier, str) or not identifier or not isinstance(pem, str):
            raise InvalidPartnerKeys(f'public_keys[{number}] lacks "key_identifier" or "key"')
        keys[identifier] = _p256_key(pem, number)
    return keys


def _p256_key(pem: str, number: int) -> EllipticCurvePublicKey:
    try:
        key = load_pem_public_key(pem.encode("ascii"))
    except (ValueError, UnicodeError, UnsupportedAlgorithm) as error:
        raise InvalidPartnerKeys(
            f"public_keys[{number}] is not a PEM public key: {error}"
        ) from None
    if not isinstance(key, EllipticCurvePublicKey) or not isinstance(key.curve, SECP256R1):
        raise InvalidPartnerKeys(f"public_keys[{number}] is not an ECDSA P-256 key")
    return key


def signature_verifies(
    keys: PartnerKeys, key_identifier: str | None, signature: str | None, body: bytes
) -> bool:
    """Whether ``signature`` (base64 DER) over ``body`` verifies under the named key."""
    if not key_identifier or not signature:
        return False
    if len(key_identifier) > _LONGEST_KEY_IDENTIFIER or len(signature) > _LONGEST_SIGNATURE:
        return False
    key = keys.get(key_identifier)
    if key is None:
        return False
    try:
        der = base64.b64decode(signature.encode("ascii"), validate=True)
        key.verify(der, body, ECDSA(SHA256()))
    except (UnicodeError, binascii.Error, InvalidSignature):
        return False
    return True
