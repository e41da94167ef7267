"""API tokens: issued to one person, by the exchange endpoint, device setup or OAuth."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from tessera.core.ids import ApiTokenId, PersonId
from tessera.core.principals import TokenSource
from tessera.core.records import ApiTokenInfo
from tessera.store.rows import row_by_id
from tessera.store.tables import ApiTokenRow, DeviceSetupCodeRow


@dataclass(frozen=True, slots=True)
class LiveAt:
    """What "still live" means at ``now``: used or created recently enough."""

    now: datetime
    #: Idle limit: the last use (or creation) must be after this.
    used_since: datetime | None
    #: Age limit: creation must be after this.
    created_since: datetime | None


def _info(row: ApiTokenRow) -> ApiTokenInfo:
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
    )


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
) -> ApiTokenInfo:
    row = ApiTokenRow(
        code_digest=code_digest,
        person_id=person_id,
        scope=scope,
        source=source.value,
        created_at=now,
        expires_at=expires_at,
        grant_id=grant_id,
    )
    session.add(row)
    session.flush()
    return _info(row)


def get_api_token(session: Session, token_id: ApiTokenId) -> ApiTokenInfo | None:
    row = row_by_id(session, ApiTokenRow, token_id)
    return None if row is None else _info(row)


def list_api_tokens(
    session: Session,
    *,
    person_id: PersonId | None,
    offset: int,
    limit: int,
    include_revoked: bool,
    live_at: LiveAt | None = None,
) -> tuple[list[ApiTokenInfo], int]:
    """Tokens, newest first; with ``live_at``, only those that would still authenticate."""
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
    rows = session.scalars(query.order_by(ApiTokenRow.id.desc()).offset(offset).limit(limit))
    return [_info(row) for row in rows], total


def revoke_api_token(
    session: Session, token_id: ApiTokenId, *, now: datetime
) -> ApiTokenInfo | None:
    row = row_by_id(session, ApiTokenRow, token_id, for_update=True)
    if row is None:
        return None
    if row.revoked_at is None:
        row.revoked_at = now
        session.flush()
    return _info(row)


def add_device_setup_code(
    session: Session,
    *,
    code_digest: bytes,
    person_id: PersonId,
    now: datetime,
    expires_at: datetime,
) -> None:
    """Store a new one-time code; the person's earlier codes stop working."""
    session.execute(delete(DeviceSetupCodeRow).where(DeviceSetupCodeRow.person_id == person_id))
    session.add(
        DeviceSetupCodeRow(
            code_digest=code_digest, person_id=person_id, created_at=now, expires_at=expires_at
        )
    )
    session.flush()


def take_device_setup_code(
    session: Session, code_digest: bytes, *, now: datetime
) -> PersonId | None:
    """Consume a live code: of two concurrent redemptions, exactly one gets the person."""
    row = session.execute(
        select(DeviceSetupCodeRow.id, DeviceSetupCodeRow.person_id).where(
            DeviceSetupCodeRow.code_digest == code_digest, DeviceSetupCodeRow.expires_at > now
        )
    ).first()
    if row is None:
        return None
    deleted = session.connection().execute(
        delete(DeviceSetupCodeRow).where(DeviceSetupCodeRow.id == row.id)
    )
    return PersonId(row.person_id) if deleted.rowcount == 1 else None
