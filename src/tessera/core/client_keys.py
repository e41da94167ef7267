"""Clients that prove who they are with a signed JWT: ``private_key_jwt`` (ADR 0052).

OpenID Connect Core §9 and RFC 7523 §2.2: at the token, revocation and introspection endpoints
a client sends ``client_assertion``, a JWT it signed with its private key, instead of a secret.
Tessera keeps only public keys: inline (``jwks``) or at an ``https`` address the client
publishes (``jwks_uri``), fetched with the guarded fetcher of metadata documents.

The rules here are without I/O: which methods exist, which algorithms an assertion may use
(asymmetric only: never ``none``, never an HMAC, whose "key" would be the public key), how long
an assertion may live, what a key set may hold (public keys of kinds that sign, no private or
symmetric members) and what a ``jwks_uri`` may be.
"""

import hashlib
import json
from collections.abc import Mapping
from datetime import timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from tessera.core.errors import FieldError, FieldErrors


class ClientAuthMethod(StrEnum):
    """RFC 7591 §2's ``token_endpoint_auth_method`` values Tessera accepts."""

    #: A secret, as HTTP Basic (RFC 6749 §2.3.1); ``client_secret_post`` is accepted beside it.
    CLIENT_SECRET_BASIC = "client_secret_basic"  # noqa: S105 (a method's name, not a secret)
    CLIENT_SECRET_POST = "client_secret_post"  # noqa: S105
    #: A JWT signed with the client's private key (OpenID Connect Core §9).
    PRIVATE_KEY_JWT = "private_key_jwt"
    #: A public client: only its ``client_id`` (and PKCE).
    NONE = "none"


#: RFC 7523 §2.2's ``client_assertion_type``.
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: What an assertion may be signed with: RSA (PKCS #1 and PSS) and ECDSA. Never ``none``, never
#: HS*: a server verifying an HMAC with a client's *public* key would accept anyone's assertion.
ASSERTION_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
)
#: How far ahead of now an assertion's ``exp`` may lie; its ``jti`` is remembered this long at
#: most. Assertions are made per request, so a few minutes would do — but Authlib's client
#: (``PrivateKeyJWT``) signs every assertion with ``exp`` an hour ahead and cannot be told
#: otherwise, as Google's service accounts do: an hour is the bound common clients meet.
#: (oauth4webapi and openid-client use 60 seconds.) A longer-lived one is refused.
MAX_ASSERTION_LIFETIME = timedelta(hours=1)
#: Clock skew allowed on ``exp``, ``nbf`` and ``iat``.
CLOCK_LEEWAY = timedelta(seconds=60)
#: The longest ``jti`` remembered; a longer one is refused (it is stored as a digest anyway).
MAX_JTI_LENGTH = 256
#: A key set, inline or fetched: at most this long and this many keys.
MAX_JWKS_BYTES = 16 * 1024
MAX_JWKS_KEYS = 16
MAX_JWKS_URI_LENGTH = 2000
#: Key types that sign with the allowed algorithms.
_KEY_TYPES = frozenset({"RSA", "EC"})
#: Members only a private key has (RFC 7518 §6.2.2, §6.3.2); ``k`` is a symmetric key's.
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


class KeysRefused(Exception):
    """A key set or ``jwks_uri`` that cannot be used; ``reason`` says why, in words (no key)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_jwks(value: object) -> dict[str, Any]:
    """The key set as kept: ``{"keys": [...]}`` with only public signing keys.

    Raises:
        KeysRefused: not a JWK Set (RFC 7517 §5), too many keys, a private or symmetric key,
            a key for encryption or for an algorithm not allowed, or keys that do not import.
    """
    if not isinstance(value, Mapping) or not isinstance(value.get("keys"), list):
        raise KeysRefused('A JWK Set is a JSON object with a "keys" list (RFC 7517).')
    keys = value["keys"]
    if not keys:
        raise KeysRefused("The JWK Set has no keys.")
    if len(keys) > MAX_JWKS_KEYS:
        raise KeysRefused(f"The JWK Set has more than {MAX_JWKS_KEYS} keys.")
    kept = [_public_signing_key(key) for key in keys]
    # Imported here: every module that knows OAuth clients imports this one, and a command
    # line that lists clients has no use for a JOSE library (ADR 0022).
    from joserfc.errors import JoseError
    from joserfc.jwk import KeySet

    try:
        KeySet.import_key_set({"keys": kept})
    except (JoseError, ValueError, TypeError):
        raise KeysRefused("A key of the JWK Set is not a valid RSA or EC public key.") from None
    if len(json.dumps({"keys": kept})) > MAX_JWKS_BYTES:
        raise KeysRefused(f"The JWK Set is over {MAX_JWKS_BYTES} bytes.")
    return {"keys": kept}


def parse_jwks_body(body: bytes) -> dict[str, Any]:
    """A key set fetched from a ``jwks_uri``: JSON, at most ``MAX_JWKS_BYTES``, then as above."""
    if len(body) > MAX_JWKS_BYTES:
        raise KeysRefused(f"The JWK Set is over {MAX_JWKS_BYTES} bytes.")
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise KeysRefused("The JWK Set is not JSON.") from None
    return parse_jwks(value)


def _public_signing_key(key: object) -> dict[str, Any]:
    if not isinstance(key, Mapping):
        raise KeysRefused("A key of the JWK Set is not a JSON object.")
    if key.get("kty") not in _KEY_TYPES:
        raise KeysRefused("Only RSA and EC public keys are accepted (kty RSA or EC).")
    if any(member in key for member in _PRIVATE_MEMBERS):
        raise KeysRefused("The JWK Set holds a private key: give only the public keys.")
    if key.get("use", "sig") != "sig":
        raise KeysRefused('A key of the JWK Set is not for signatures ("use" is not "sig").')
    alg = key.get("alg")
    if alg is not None and alg not in ASSERTION_ALGORITHMS:
        raise KeysRefused(f"A key of the JWK Set names an algorithm not allowed: {str(alg)[:20]}.")
    kid = key.get("kid")
    if kid is not None and (not isinstance(kid, str) or len(kid) > 200):
        raise KeysRefused("A key's kid must be a string of at most 200 characters.")
    return {name: value for name, value in key.items() if isinstance(name, str)}


def jwks_uri_problem(uri: str) -> str | None:
    """Why this may not be a client's ``jwks_uri``, or None: an absolute ``https`` URL with a
    host, no user information and no fragment (the fetch refuses anything else too)."""
    if len(uri) > MAX_JWKS_URI_LENGTH:
        return f"A jwks_uri is at most {MAX_JWKS_URI_LENGTH} characters."
    if any(ord(c) <= 0x20 or ord(c) >= 0x7F for c in uri):
        return "The jwks_uri has characters a URL cannot have."
    try:
        parts = urlsplit(uri)
        port = parts.port  # a port that is not a number is a ValueError
    except ValueError:
        return "The jwks_uri is not a valid URL."
    if port == 0:
        return "The jwks_uri's port is not valid."
    if parts.scheme != "https" or not parts.hostname:
        return "A jwks_uri must be an https URL with a host."
    if "@" in parts.netloc or parts.fragment or "#" in uri:
        return "A jwks_uri must have no user information and no fragment."
    return None


INVALID_JWKS_URI = "invalid_jwks_uri"
INVALID_JWKS = "invalid_jwks"
KEYS_REQUIRED = FieldError(
    "required", "A private_key_jwt client needs its public keys: a jwks_uri or a jwks, not both."
)
KEYS_WITHOUT_METHOD = FieldError(
    "invalid", "Only a private_key_jwt client has a jwks_uri or a jwks."
)


def check_jwks_uri(problems: FieldErrors, uri: str) -> str | None:
    problem = jwks_uri_problem(uri)
    if problem is not None:
        problems.add(("jwks_uri",), FieldError(INVALID_JWKS_URI, problem))
        return None
    return uri


def check_jwks(problems: FieldErrors, value: object) -> dict[str, Any] | None:
    try:
        return parse_jwks(value)
    except KeysRefused as refused:
        problems.add(("jwks",), FieldError(INVALID_JWKS, refused.reason))
        return None


def check_client_keys(
    problems: FieldErrors,
    method: ClientAuthMethod,
    jwks_uri: str | None,
    jwks: object | None,
) -> tuple[str | None, dict[str, Any] | None]:
    """The keys to keep for a client of this method: exactly one of ``jwks_uri`` and ``jwks``
    for ``private_key_jwt``, neither for the others (problems name the fields)."""
    if method is not ClientAuthMethod.PRIVATE_KEY_JWT:
        if jwks_uri or jwks:
            problems.add(("jwks_uri" if jwks_uri else "jwks",), KEYS_WITHOUT_METHOD)
        return None, None
    if bool(jwks_uri) == bool(jwks):
        problems.add(("jwks_uri",), KEYS_REQUIRED)
        return None, None
    if jwks_uri:
        return check_jwks_uri(problems, jwks_uri), None
    return None, check_jwks(problems, jwks)


def jti_digest(jti: str) -> bytes:
    """What is stored of a ``jti`` to refuse it a second time: fixed length, whatever it was.
    (A ``jti`` is no secret; the digest only bounds the column.)"""
    return hashlib.sha256(jti.encode("utf-8", "surrogatepass")).digest()
