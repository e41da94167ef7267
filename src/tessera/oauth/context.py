"""What every OAuth step needs besides its transaction, built once at start."""

from dataclasses import dataclass
from datetime import timedelta

from tessera.core.client_registration import RegistrationMode
from tessera.core.clock import Clock
from tessera.core.credentials import CodeHasher
from tessera.core.oauth_scopes import OWN_CATALOGUE, ScopeCatalogue
from tessera.services.client_documents import ClientDocumentService
from tessera.services.client_keys import ClientKeySets
from tessera.services.jwt_access_tokens import JwtAccessTokens
from tessera.services.signing_keys import SigningKeyService


@dataclass(frozen=True, slots=True)
class OAuthConfig:
    access_token_lifetime: timedelta
    refresh_token_lifetime: timedelta
    code_lifetime: timedelta
    #: How long the refresh token just rotated away stays usable (lost response, two tabs).
    refresh_grace: timedelta
    #: The operator's switch for legacy clients: plain http redirects to other hosts.
    allow_insecure_redirects: bool = False
    #: How long a device may wait for a person's answer (RFC 8628 ``expires_in``).
    device_code_lifetime: timedelta = timedelta(minutes=10)
    #: Where the person types the device's code: the ``/device`` page.
    device_verification_uri: str = "http://127.0.0.1:8000/device"
    #: Dynamic client registration (RFC 7591): off, with an initial access token, or open.
    registration: RegistrationMode = RegistrationMode.OFF


@dataclass(frozen=True, slots=True)
class OAuthContext:
    config: OAuthConfig
    hasher: CodeHasher
    clock: Clock
    #: The keys that sign ID tokens (OpenID Connect).
    signing_keys: SigningKeyService
    #: ``iss`` of ID tokens: the issuer of the RFC 8414 metadata.
    issuer: str
    #: Client ID metadata documents (ADR 0044); None: not accepted.
    client_documents: ClientDocumentService | None = None
    #: The key sets of private_key_jwt clients at their jwks_uri (ADR 0052); None: not fetched.
    client_keys: ClientKeySets | None = None
    #: RFC 9068 access tokens for the clients opted in (ADR 0051); the same keys as ID tokens.
    jwt_access_tokens: JwtAccessTokens | None = None

    @property
    def access_tokens(self) -> JwtAccessTokens:
        """The JWT access tokens' signer and reader (made here when none was given)."""
        if self.jwt_access_tokens is None:
            return JwtAccessTokens(self.signing_keys, self.clock, self.issuer)
        return self.jwt_access_tokens

    @property
    def own_resource(self) -> str:
        """Tessera's own API as an RFC 8707 resource: the issuer's URL (ADR 0043)."""
        return self.issuer.rstrip("/")

    #: The endpoint tags API scopes may name: Tessera's own and the guard's (ADR 0042).
    scopes: ScopeCatalogue = OWN_CATALOGUE
