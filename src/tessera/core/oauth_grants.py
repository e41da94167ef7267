"""OAuth grants, codes and refresh tokens as values (the client type is in ``oauth_clients``)."""

from dataclasses import dataclass
from datetime import datetime

from tessera.core.sign_in_methods import SignInMethod


@dataclass(frozen=True, slots=True)
class Grant:
    """One person's consent to one app; every token issued under it descends from it."""

    id: int
    client_id: int
    person_id: int
    scope: str
    created_at: datetime
    revoked_at: datetime | None
    #: When the person signed in before consenting (OpenID Connect ``auth_time``), if known.
    auth_time: datetime | None = None
    #: The resources (RFC 8707) the person approved; None: none named (Tessera's own API).
    resources: tuple[str, ...] | None = None
    #: How the person had signed in before consenting (``acr``, ``amr``), if known.
    sign_in_method: SignInMethod | None = None


@dataclass(frozen=True, slots=True)
class AuthorizationCode:
    id: int
    grant: Grant
    redirect_uri: str
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: datetime
    used_at: datetime | None
    #: The authorization request's OpenID Connect ``nonce``, for the ID token.
    nonce: str | None = None


@dataclass(frozen=True, slots=True)
class RefreshToken:
    id: int
    grant: Grant
    access_token_id: int | None
    created_at: datetime
    expires_at: datetime
    rotated_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class ConnectedApp:
    """An app a person connected and has not disconnected (live tokens under a grant)."""

    client_id: str
    name: str
    connected_at: datetime
