"""ID tokens sent back to us: ``id_token_hint`` of authorization and logout requests.

OpenID Connect Core §3.1.2.1 and RP-Initiated Logout §2: the hint is an ID token this server
issued, checked with our keys (joserfc); its expiry does not matter (an app may send one that
has expired), so neither does whether its key is still published. What it tells: whom the app
believes is signed in (``sub``), and for which app it was issued (``aud``).
"""

from dataclasses import dataclass
from typing import Any, cast

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, KeySetSerialization

from tessera.core.signing_keys import SigningAlgorithm

#: An ID token of ours is well under this; anything longer is not one.
MAX_HINT_LENGTH = 8192
_ALGORITHMS = [algorithm.value for algorithm in SigningAlgorithm]


@dataclass(frozen=True, slots=True)
class IdTokenHint:
    #: The person the token was issued for (``sub``: their id as a string).
    subject: str
    #: The ``client_id`` values it was issued to.
    audiences: tuple[str, ...]

    def issued_to(self, client_id: str) -> bool:
        return client_id in self.audiences


def read_id_token_hint(value: str, *, keys: dict[str, Any], issuer: str) -> IdTokenHint | None:
    """The hint's subject and audience; None unless it is an ID token we signed for ``issuer``."""
    if not value or len(value) > MAX_HINT_LENGTH:
        return None
    try:
        # The JWKS document as Tessera publishes it: RFC 7517's shape, which joserfc types.
        decoded = jwt.decode(
            value, KeySet.import_key_set(cast(KeySetSerialization, keys)), algorithms=_ALGORITHMS
        )
    except (JoseError, ValueError, TypeError):
        return None
    claims = decoded.claims
    subject, audience = claims.get("sub"), claims.get("aud")
    if claims.get("iss") != issuer or not isinstance(subject, str) or not subject:
        return None
    audiences = (audience,) if isinstance(audience, str) else audience
    if not isinstance(audiences, list | tuple) or not all(isinstance(a, str) for a in audiences):
        return None
    return IdTokenHint(subject, tuple(audiences))
