"""Which parts of a request Tessera's answer depends on, and the cache key made of them.

Tessera decides on the method, the path (the route table's tags) and the credential headers —
``Authorization``, the legacy ``X-DeskPRO-API-Key``/``-Token``, ``X-DeskPRO-Agent-ID`` (whom a
superuser key acts as) and ``Origin`` (the CORS rule) — and on nothing else: the guard sends
only those, and its cache key is made of exactly those. The query string is not sent (routes
match paths only) and never reaches Tessera's logs.

The key is a keyed BLAKE2b digest (a random key per process): the cache holds no credential,
and a memory dump does not give one away.
"""

import hashlib
import secrets
from collections.abc import Iterable

#: Header names as ASGI and WSGI servers hand them over, lower-case.
CREDENTIAL_HEADERS = (
    "authorization",
    "x-deskpro-api-key",
    "x-deskpro-api-token",
    "x-deskpro-agent-id",
    "origin",
)
_CREDENTIAL_BYTES = frozenset(name.encode() for name in CREDENTIAL_HEADERS)


def credential_headers(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    """The first value of each credential header present, from raw (ASGI) header pairs."""
    found: dict[bytes, bytes] = {}
    for name, value in headers:
        lowered = name.lower()
        if lowered in _CREDENTIAL_BYTES and lowered not in found:
            found[lowered] = value
    return [(name.decode(), value.decode("latin-1")) for name, value in found.items()]


def has_credential(headers: list[tuple[str, str]]) -> bool:
    return any(name != "origin" for name, _ in headers)


class CacheKeys:
    """Keyed digests naming (credential headers, method, path)."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def key(self, method: str, path: str, headers: list[tuple[str, str]]) -> bytes:
        digest = hashlib.blake2b(key=self._key, digest_size=16)
        digest.update(method.encode("latin-1"))
        digest.update(b"\0")
        digest.update(path.encode("utf-8", "surrogateescape"))
        for name, value in sorted(headers):
            digest.update(b"\0")
            digest.update(name.encode())
            digest.update(b"\1")
            digest.update(value.encode("latin-1", "replace"))
        return digest.digest()
