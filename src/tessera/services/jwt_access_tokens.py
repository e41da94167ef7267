"""RFC 9068 JWT access tokens: what Tessera signs, and how a presented one is read (ADR 0051).

A JWT access token is a row of the token store like an opaque one: its ``jti`` is the row's
id, and its signature segment plays the part of the row's code (the row keeps the keyed digest
of it, as it keeps an opaque code's). So after the signature, ``iss``, ``typ`` and ``exp`` are
checked here, the token becomes the ``PresentedCredential`` ``(token, jti, signature)`` and
takes the one per-request path of every token: the credential cache or one read by primary
key, the digest compared, revocation, the person, the app and the audience judged by the row.

The public keys are kept in memory by ``kid`` (a key never changes under its ``kid``); a
``kid`` not yet known is looked up in the database, never on the event loop. A signature costs
far more than the rest of the check (an RSA verification against a dictionary lookup), so the
tokens verified lately are remembered by the SHA-256 of their text with their row id and
``exp``: the same text again skips the JOSE work, never the row (ADR 0051).
"""

import hashlib
import json
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from itertools import islice
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey, import_key

from tessera.core.clock import Clock
from tessera.core.credentials import CredentialKind, PresentedCredential
from tessera.core.errors import InvalidApiToken
from tessera.core.signing_keys import SigningAlgorithm
from tessera.services.signing_keys import SigningKeyService

#: RFC 9068 §2.1: the ``typ`` of a JWT access token (``application/at+jwt`` is the same).
ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 (a media type, not a secret)
_TYPES = frozenset({ACCESS_TOKEN_TYPE, "application/at+jwt"})
#: RFC 9068 §2.1: RS256 is what every resource server can check; our access tokens use it.
ACCESS_TOKEN_ALGORITHM = SigningAlgorithm.RS256
_ALGORITHMS = [algorithm.value for algorithm in SigningAlgorithm]
_REGISTRY = jws.JWSRegistry(algorithms=_ALGORITHMS)
#: Ours are about 1 KB with several resources and a long scope; anything far longer is not one.
MAX_TOKEN_LENGTH = 8192
#: Ids are positive base-10 integers that fit a 64-bit column (as in ``ID:CODE``).
_MAX_ID_DIGITS = 18
#: Tokens remembered as verified, per process: about 200 bytes each (a digest, two ints).
VERIFIED_SIZE = 10_000

PublicKey = RSAKey | ECKey


class JwtAccessTokens:
    """Signs the JWT access tokens of opted-in clients and reads presented ones."""

    def __init__(
        self,
        signing_keys: SigningKeyService,
        clock: Clock,
        issuer: str,
        *,
        verified_size: int = VERIFIED_SIZE,
    ) -> None:
        self._signing_keys = signing_keys
        self._clock = clock
        self.issuer = issuer
        self._keys: dict[str, PublicKey] = {}
        #: SHA-256 of a token's text → its row id and ``exp``: verified already. Never the
        #: token itself; the signature to compare is taken from the token presented.
        self._verified: dict[bytes, tuple[int, int]] = {}
        self._verified_size = verified_size
        self._lock = threading.Lock()

    # -- issuing ----------------------------------------------------------------------------

    def sign(self, claims: Mapping[str, Any]) -> tuple[str, str]:
        """The token, and its signature segment (the code whose digest the row keeps).

        Raises:
            NoSigningKeyYet, SigningKeyUnavailable: as for ID tokens (ADR 0039).
        """
        signer = self._signing_keys.signer(ACCESS_TOKEN_ALGORITHM)
        header = {"alg": signer.algorithm.value, "kid": signer.kid, "typ": ACCESS_TOKEN_TYPE}
        token = jwt.encode(header, dict(claims), signer.key, algorithms=[signer.algorithm.value])
        return token, signature_of(token)

    # -- reading ----------------------------------------------------------------------------

    def presented(self, compact: str, *, may_read: bool) -> PresentedCredential | None:
        """The token row this JWT names, with its signature as the code to compare.

        None only when the key that signed it is not known yet and ``may_read`` is False
        (the event loop): the caller asks again where it may read. The rest (revoked,
        expired row, person, app, audience) is the row's to say, as for any token.

        Raises:
            InvalidApiToken: not a JWT access token of ours, badly signed, or expired.
        """
        if len(compact) > MAX_TOKEN_LENGTH:
            raise InvalidApiToken()
        seen = hashlib.sha256(compact.encode("utf-8", "surrogatepass")).digest()
        verified = self._verified.get(seen)
        if verified is not None:
            token_id, expires = verified
            if expires <= self._clock.now().timestamp():
                raise InvalidApiToken()
            return PresentedCredential(CredentialKind.API_TOKEN, token_id, signature_of(compact))
        try:
            signed = jws.extract_compact(compact.encode("ascii"), registry=_REGISTRY)
            header = signed.headers()
        except (JoseError, ValueError, TypeError, UnicodeError):
            raise InvalidApiToken() from None
        kid = header.get("kid")
        if not isinstance(kid, str) or str(header.get("typ", "")).lower() not in _TYPES:
            raise InvalidApiToken()
        key = self._keys.get(kid)
        if key is None:
            if not may_read:
                return None
            key = self._load(kid)
        try:
            if not jws.validate_compact(signed, key, registry=_REGISTRY):
                raise InvalidApiToken()
            claims = json.loads(signed.payload)
        except (JoseError, ValueError, TypeError):
            raise InvalidApiToken() from None
        token_id, expires = self._judge(claims)
        self._remember(seen, token_id, expires)
        return PresentedCredential(CredentialKind.API_TOKEN, token_id, signature_of(compact))

    def _remember(self, seen: bytes, token_id: int, expires: int) -> None:
        """Note a verified token; the oldest noted go first when the bound is reached."""
        if self._verified_size <= 0:
            return
        with self._lock:
            verified = self._verified
            if len(verified) >= self._verified_size:
                # An eighth at a time: a dictionary finds its first live entry only by scanning
                # past the deleted ones (as the credential cache's generations, ADR 0028).
                for oldest in list(islice(verified, max(1, self._verified_size // 8))):
                    del verified[oldest]
            verified[seen] = (token_id, expires)

    def _judge(self, claims: Any) -> tuple[int, int]:
        """The row id and ``exp``, if the claims are a live access token's of this issuer."""
        if not isinstance(claims, dict) or claims.get("iss") != self.issuer:
            raise InvalidApiToken()
        expires, jti = claims.get("exp"), claims.get("jti")
        if not isinstance(expires, int) or expires <= self._clock.now().timestamp():
            raise InvalidApiToken()
        if not isinstance(jti, str) or not (jti.isascii() and jti.isdigit()):
            raise InvalidApiToken()
        if len(jti) > _MAX_ID_DIGITS:
            raise InvalidApiToken()
        return int(jti), expires

    def _load(self, kid: str) -> PublicKey:
        """The published key ``kid`` (one read of the small key table), or a refusal."""
        for jwk in self._signing_keys.published_public_keys():
            if jwk.get("kid") == kid:
                key = import_key(jwk)
                if not isinstance(key, RSAKey | ECKey):
                    break
                with self._lock:
                    self._keys[kid] = key
                return key
        raise InvalidApiToken()


def signature_of(compact: str) -> str:
    """The last segment of a compact JWS: what the token row's digest is of."""
    return compact.rpartition(".")[2]


def access_token_claims(
    *,
    issuer: str,
    token_id: int,
    subject: str,
    client_id: str,
    audience: Sequence[str],
    scope: str,
    issued_at: datetime,
    expires_at: datetime,
    auth_time: datetime | None = None,
    acr: str | None = None,
    amr: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The claims of RFC 9068 §2.2, written the way JWT writes them."""
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": subject,
        # One audience as a string, several as a list (RFC 7519 §4.1.3).
        "aud": audience[0] if len(audience) == 1 else list(audience),
        "client_id": client_id,
        "iat": int(issued_at.timestamp()),
        "exp": int(expires_at.timestamp()),
        "jti": str(token_id),
        "scope": scope,
    }
    if auth_time is not None:
        claims["auth_time"] = int(auth_time.timestamp())
    if acr is not None:
        claims["acr"] = acr
    if amr:
        claims["amr"] = list(amr)
    return claims
