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
