"""Keys and tokens as admins and owners see them: every field but the secret."""

from dataclasses import dataclass
from datetime import datetime

from tessera.core.ids import ApiKeyId, ApiTokenId, PersonId
from tessera.core.principals import TokenSource


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    id: ApiKeyId
    note: str
    #: The bound agent of a normal key, or a superuser key's default agent.
    person_id: PersonId | None
    is_superuser: bool
    admin_api: bool
    tags: str
    created_at: datetime
    regenerated_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    last_used_address: str | None


@dataclass(frozen=True, slots=True)
class TokenApp:
    """The OAuth app a token was issued to."""

    id: int
    #: The public ``client_id`` (``<id>_<random_id>``), as the app knows itself.
    client_id: str
    name: str


#: What holds a token that no OAuth app holds, by how it was issued.
HOLDER_NAMES = {
    TokenSource.EXCHANGE: "Password exchange",
    TokenSource.DEVICE_SETUP: "Device setup",
    TokenSource.OAUTH: "OAuth app",
    TokenSource.SESSION: "Signed-in browser",
    TokenSource.USER_SOURCE: "Identity provider",
}
#: The same, as a word for machines (``app.kind`` in the API's and the CLI's JSON).
HOLDER_KINDS = {
    TokenSource.EXCHANGE: "password_exchange",
    TokenSource.DEVICE_SETUP: "device_setup",
    TokenSource.OAUTH: "oauth_client",
    TokenSource.SESSION: "session",
    TokenSource.USER_SOURCE: "user_source",
}


@dataclass(frozen=True, slots=True)
class ApiTokenInfo:
    id: ApiTokenId
    person_id: PersonId
    scope: str
    source: TokenSource
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    last_used_address: str | None
    #: The OAuth consent it was issued under; None for exchange and device-setup tokens.
    grant_id: int | None = None
    #: The OAuth app that holds it, when lists read it (None for other tokens).
    app: TokenApp | None = None

    @property
    def holder(self) -> str:
        """Who holds the token, as lists name it: the OAuth app, else how it was issued."""
        return self.app.name if self.app is not None else HOLDER_NAMES[self.source]
