"""Sealing a secret for one browser: AES-GCM under a key derived from its session cookie.

Used for a secret that must wait, between the POST that made it and the GET that shows it,
somewhere every process can read (ADR 0020). The cookie is never stored (only its keyed
digest), so what the database holds cannot be opened without the browser that asked.
"""

import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SALT_BYTES = 16
_NONCE_BYTES = 12
_PURPOSE = b"tessera shown-once v1"


def new_salt() -> bytes:
    return os.urandom(SALT_BYTES)


def _cipher(cookie: str, salt: bytes) -> AESGCM:
    key = HKDF(algorithm=SHA256(), length=32, salt=salt, info=_PURPOSE).derive(cookie.encode())
    return AESGCM(key)


def seal(cookie: str, salt: bytes, subject: str, values: dict[str, str]) -> bytes:
    """``values`` encrypted and bound to ``subject`` (opened under another subject, it fails)."""
    nonce = os.urandom(_NONCE_BYTES)
    plain = json.dumps(values).encode()
    return nonce + _cipher(cookie, salt).encrypt(nonce, plain, subject.encode())


def unseal(cookie: str, salt: bytes, subject: str, sealed: bytes) -> dict[str, str] | None:
    """What ``seal`` sealed, or None when this cookie or subject is not the one it was for."""
    nonce, body = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
    try:
        plain = _cipher(cookie, salt).decrypt(nonce, body, subject.encode())
    except InvalidTag:
        return None
    values = json.loads(plain)
    return {str(k): str(v) for k, v in values.items()}
