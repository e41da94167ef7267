"""OpenID Connect on Authlib's ``OpenIDCode``: ID tokens at the code exchange, at refresh and
for an approved device.

Authlib decides when an ID token is due (``openid`` in the granted scope), checks the ``nonce``
of the authorization request, computes ``at_hash`` and signs with joserfc. Ours: which key
signs (``SigningKeyService``, read once per token so ``kid`` and key agree), the claims (the
issuer of our metadata, ``aud`` the client_id, times from our clock, ``auth_time`` kept with
the grant), and the person's claims by scope (``claims``).
"""

from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode, OpenIDToken

from tessera.core.oauth_grants import Grant
from tessera.core.openid_claims import person_claims
from tessera.core.people import Person
from tessera.oauth.context import OAuthContext
from tessera.oauth.models import ClientModel
from tessera.oauth.storage import OAuthStorage
from tessera.services.signing_keys import Signer, SigningJwk

#: What the database keeps of a nonce; a longer one is refused, never cut.
MAX_NONCE_LENGTH = 512


class _IdTokenClaims:
    """What both extensions share: the key, the header and the claims of one ID token."""

    def __init__(self, context: OAuthContext, storage: OAuthStorage) -> None:
        self._context = context
        self._storage = storage
        self._signer: Signer | None = None

    def _signer_now(self, client: ClientModel) -> Signer:
        # Once per token: a rotation between the header and the signature cannot split them.
        # The algorithm is the client's own (OpenID Connect Registration's
        # id_token_signed_response_alg): a strict library refuses any other.
        if self._signer is None:
            algorithm = client.client.id_token_signed_response_alg
            self._signer = self._context.signing_keys.signer(algorithm)
        return self._signer

    def resolve_client_private_key(self, client: ClientModel) -> SigningJwk:
        return self._signer_now(client).key

    def get_client_algorithm(self, client: ClientModel) -> str:
        return self._signer_now(client).algorithm.value

    def get_encode_header(self, client: ClientModel) -> dict[str, str]:
        signer = self._signer_now(client)
        return {"alg": signer.algorithm.value, "kid": signer.kid, "typ": "JWT"}

    def get_compatible_claims(self, request: Any) -> dict[str, Any]:
        now = self._context.clock.now()
        lifetime = self._context.config.access_token_lifetime
        claims: dict[str, Any] = {
            "iss": self._context.issuer,
            "aud": request.client.get_client_id(),
            "iat": int(now.timestamp()),
            "exp": int((now + lifetime).timestamp()),
        }
        grant = _consent_of(request)
        if grant is not None and grant.auth_time is not None:
            claims["auth_time"] = int(grant.auth_time.timestamp())
        # How the person signed in before consenting (ADR 0051); unknown for older grants.
        method = grant.sign_in_method if grant is not None else None
        if method is not None:
            claims["acr"] = method.acr
            claims["amr"] = list(method.amr)
        return claims

    def generate_user_info(self, user: Person, scope: str) -> UserInfo:
        return UserInfo(person_claims(user, scope))


def _consent_of(request: Any) -> Grant | None:
    """The person's consent the tokens come from: the code's, the refresh token's, or the
    approved device's (``DeviceCredential``, set by the device grant)."""
    for source in (
        request.authorization_code,
        request.refresh_token,
        getattr(request, "credential", None),
    ):
        if source is not None:
            grant: Grant | None = source.grant
            return grant
    return None


class OpenIDCodeExtension(_IdTokenClaims, OpenIDCode):
    """The code grant's extension: an ID token with the exchange, the nonce checked first."""

    def __init__(self, context: OAuthContext, storage: OAuthStorage) -> None:
        _IdTokenClaims.__init__(self, context, storage)
        OpenIDCode.__init__(self, require_nonce=False)

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        if len(nonce) > MAX_NONCE_LENGTH:
            raise InvalidRequestError(f"The nonce is longer than {MAX_NONCE_LENGTH} characters.")
        # A nonce a code of this client already carried: the request is replayed.
        return self._storage.nonce_used(nonce, request.client)


class OpenIDRefreshExtension(_IdTokenClaims, OpenIDToken):
    """The refresh grant's extension: a new ID token with the original ``auth_time``, no nonce
    (OpenID Connect Core §12.2)."""


class OpenIDDeviceExtension(_IdTokenClaims, OpenIDToken):
    """The device grant's extension (ADR 0040's amendment): with ``openid`` granted, an ID token
    for the person who approved, with the ``auth_time``, ``acr`` and ``amr`` of the browser's
    sign-in; no nonce (the device authorization request has none). OpenID Connect defines no
    device flow; Keycloak, Okta and Entra ID answer so, and a refresh of the same grant did
    already."""
