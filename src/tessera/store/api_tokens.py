"""API tokens: issued to one person, by the exchange endpoint, device setup or OAuth."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, Select, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from tessera.core.ids import ApiTokenId, PersonId
from tessera.core.oauth_clients import public_client_id
from tessera.core.principals import TokenSource
from tessera.core.records import ApiTokenInfo, TokenApp
from tessera.store.rows import MAX_ID, row_by_id
from tessera.store.tables import (
    ApiTokenRow,
    Base,
    DeviceSetupCodeRow,
    OAuthClientRow,
    OAuthGrantRow,
)

_TOKENS = Base.metadata.tables[ApiTokenRow.__tablename__]
#: Built once: every issued token (OAuth grants above all) runs it.
_ADD_API_TOKEN = insert(_TOKENS).returning(_TOKENS.c.id)


@dataclass(frozen=True, slots=True)
class LiveAt:
    """What "still live" means at ``now``: used or created recently enough."""

    now: datetime
    #: Idle limit: the last use (or creation) must be after this.
    used_since: datetime | None
    #: Age limit: creation must be after this.
    created_since: datetime | None


def _info(row: ApiTokenRow, app: TokenApp | None = None) -> ApiTokenInfo:
    return ApiTokenInfo(
        id=ApiTokenId(row.id),
        person_id=PersonId(row.person_id),
        scope=row.scope,
        source=TokenSource(row.source),
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
        last_used_address=row.last_used_address,
        grant_id=row.grant_id,
        app=app,
    )


def _with_app() -> Select[ApiTokenRow, int, str, str, str | None]:
    """Tokens with the OAuth app that holds each: one statement. The outer join gives None
    for the app's columns of a token no app holds (the types cannot say so)."""
    return (
        select(
            ApiTokenRow,
            OAuthClientRow.id,
            OAuthClientRow.random_id,
            OAuthClientRow.name,
            OAuthClientRow.document_url,
        )
        .outerjoin(OAuthGrantRow, OAuthGrantRow.id == ApiTokenRow.grant_id)
        .outerjoin(OAuthClientRow, OAuthClientRow.id == OAuthGrantRow.client_id)
    )


def _info_with_app(found: Row[ApiTokenRow, int, str, str, str | None]) -> ApiTokenInfo:
    row, app_id, random_id, name, document_url = found[0], found[1], found[2], found[3], found[4]
    app = None
    if app_id is not None and random_id is not None and name is not None:
        client_id = public_client_id(app_id, random_id, document_url)
        app = TokenApp(id=app_id, client_id=client_id, name=name)
    return _info(row, app)


def add_api_token(
    session: Session,
    *,
    code_digest: bytes,
    person_id: PersonId,
    scope: str,
    source: TokenSource,
    now: datetime,
    expires_at: datetime | None = None,
    grant_id: int | None = None,
    audience: tuple[str, ...] | None = None,
) -> ApiTokenInfo:
    # Anything the caller left pending goes first, as the ORM's own flush would order it.
    session.flush()
    # Core, not the ORM unit of work: one INSERT … RETURNING, and the value from what we know.
    values = {
        "code_digest": code_digest,
        "person_id": person_id,
        "scope": scope,
        "source": source.value,
        "created_at": now,
        "expires_at": expires_at,
        "grant_id": grant_id,
        "audience": None if audience is None else list(audience),
    }
    token_id = session.connection().execute(_ADD_API_TOKEN, values).scalar_one()
    return ApiTokenInfo(
        id=ApiTokenId(token_id),
        person_id=person_id,
        scope=scope,
        source=source,
        created_at=now,
        expires_at=expires_at,
        revoked_at=None,
        last_used_at=None,
        last_used_address=None,
        grant_id=grant_id,
    )


def set_code_digest(session: Session, token_id: ApiTokenId, code_digest: bytes) -> None:
    """Give a token row just added its real code: a JWT access token's is its signature, known
    only once the JWT naming the row is signed (ADR 0051). In the adding transaction."""
    session.connection().execute(
        update(_TOKENS).where(_TOKENS.c.id == token_id).values(code_digest=code_digest)
    )


def get_api_token(session: Session, token_id: ApiTokenId) -> ApiTokenInfo | None:
    """The token with the app that holds it."""
    if not 1 <= token_id <= MAX_ID:
        return None
    found = session.execute(_with_app().where(ApiTokenRow.id == token_id)).first()
    return None if found is None else _info_with_app(found)


def list_api_tokens(
    session: Session,
    *,
    person_id: PersonId | None,
    offset: int,
    limit: int,
    include_revoked: bool,
    live_at: LiveAt | None = None,
) -> tuple[list[ApiTokenInfo], int]:
    """Tokens, newest first, each with the app that holds it; with ``live_at``, only those
    that would still authenticate. The page is one statement (and the total another)."""
    query = select(ApiTokenRow)
    if person_id is not None:
        query = query.where(ApiTokenRow.person_id == person_id)
    if not include_revoked:
        query = query.where(ApiTokenRow.revoked_at.is_(None))
    if live_at is not None:
        query = query.where(
            or_(ApiTokenRow.expires_at.is_(None), ApiTokenRow.expires_at > live_at.now)
        )
        if live_at.used_since is not None:
            last_use = func.coalesce(ApiTokenRow.last_used_at, ApiTokenRow.created_at)
            query = query.where(last_use > live_at.used_since)
        if live_at.created_since is not None:
            query = query.where(ApiTokenRow.created_at > live_at.created_since)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = _with_app()
    if query.whereclause is not None:
        page = page.where(query.whereclause)
    rows = session.execute(page.order_by(ApiTokenRow.id.desc()).offset(offset).limit(limit))
    return [_info_with_app(found) for found in rows], total


def revoke_api_token(
    session: Session, token_id: ApiTokenId, *, now: datetime
) -> ApiTokenInfo | None:
    row = row_by_id(session, ApiTokenRow, token_id, for_update=True)
    if row is None:
        return None
    if row.revoked_at is None:
        row.revoked_at = now
        session.flush()
    return get_api_token(session, token_id)


def add_device_setup_code(
    session: Session,
    *,
    code_digest: bytes,
    person_id: PersonId,
    now: datetime,
    expires_at: datetime,
) -> int:
    """Store a new one-time code, its id; the person's earlier codes stop working."""
    session.execute(delete(DeviceSetupCodeRow).where(DeviceSetupCodeRow.person_id == person_id))
    row = DeviceSetupCodeRow(
        code_digest=code_digest, person_id=person_id, created_at=now, expires_at=expires_at
    )
    session.add(row)
    session.flush()
    return row.id


def take_device_setup_code(
    session: Session, code_digests: Sequence[bytes], *, now: datetime
) -> PersonId | None:
    """Consume a live code: of two concurrent redemptions, exactly one gets the person.

    The row stays, marked used, so that the page that showed the code can tell.
    """
    row = session.execute(
        select(DeviceSetupCodeRow.id, DeviceSetupCodeRow.person_id).where(
            DeviceSetupCodeRow.code_digest.in_(code_digests),
            DeviceSetupCodeRow.expires_at > now,
            DeviceSetupCodeRow.used_at.is_(None),
        )
    ).first()
    if row is None:
        return None
    # Conditional on still unused: the second of two racing redemptions updates nothing.
    taken = session.connection().execute(
        update(DeviceSetupCodeRow)
        .where(DeviceSetupCodeRow.id == row.id, DeviceSetupCodeRow.used_at.is_(None))
        .values(used_at=now)
    )
    return PersonId(row.person_id) if taken.rowcount == 1 else None


@dataclass(frozen=True, slots=True)
class StoredDeviceSetup:
    id: int
    expires_at: datetime
    used_at: datetime | None


def find_device_setup(
    session: Session, setup_id: int, person_id: PersonId
) -> StoredDeviceSetup | None:
    """One of the person's codes, by id (another person's reads as missing)."""
    if not 1 <= setup_id <= MAX_ID:
        return None
    row = session.execute(
        select(
            DeviceSetupCodeRow.id, DeviceSetupCodeRow.expires_at, DeviceSetupCodeRow.used_at
        ).where(DeviceSetupCodeRow.id == setup_id, DeviceSetupCodeRow.person_id == person_id)
    ).first()
    if row is None:
        return None
    return StoredDeviceSetup(id=row.id, expires_at=row.expires_at, used_at=row.used_at)
