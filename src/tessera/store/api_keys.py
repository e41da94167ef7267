"""API keys: created by admins, bound to an agent or acting for any agent (superuser)."""

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tessera.core.ids import ApiKeyId, PersonId
from tessera.core.records import ApiKeyInfo
from tessera.store.rows import row_by_id
from tessera.store.tables import ApiKeyRow


def _info(row: ApiKeyRow) -> ApiKeyInfo:
    return ApiKeyInfo(
        id=ApiKeyId(row.id),
        note=row.note,
        person_id=PersonId(row.person_id) if row.person_id is not None else None,
        is_superuser=row.is_superuser,
        admin_api=row.admin_api,
        tags=row.tags,
        created_at=row.created_at,
        regenerated_at=row.regenerated_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
        last_used_address=row.last_used_address,
    )


def add_api_key(
    session: Session,
    *,
    code_digest: bytes,
    person_id: PersonId | None,
    note: str,
    is_superuser: bool,
    admin_api: bool,
    tags: str,
    now: datetime,
) -> ApiKeyInfo:
    row = ApiKeyRow(
        code_digest=code_digest,
        person_id=person_id,
        note=note,
        is_superuser=is_superuser,
        admin_api=admin_api,
        tags=tags,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return _info(row)


def get_api_key(session: Session, key_id: ApiKeyId) -> ApiKeyInfo | None:
    row = row_by_id(session, ApiKeyRow, key_id)
    return None if row is None else _info(row)


def list_api_keys(
    session: Session, *, offset: int, limit: int, include_revoked: bool = True
) -> tuple[list[ApiKeyInfo], int]:
    query = select(ApiKeyRow)
    if not include_revoked:
        query = query.where(ApiKeyRow.revoked_at.is_(None))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(ApiKeyRow.id).offset(offset).limit(limit))
    return [_info(row) for row in rows], total


def update_api_key(session: Session, key_id: ApiKeyId, **changes: object) -> ApiKeyInfo | None:
    row = row_by_id(session, ApiKeyRow, key_id, for_update=True)
    if row is None:
        return None
    for column, value in changes.items():
        setattr(row, column, value)
    session.flush()
    return _info(row)


def revoke_api_key(
    session: Session, key_id: ApiKeyId, *, now: datetime
) -> tuple[ApiKeyInfo, bool] | None:
    """The key after revoking it, and whether this call revoked it (False: it already was)."""
    row = row_by_id(session, ApiKeyRow, key_id, for_update=True)
    if row is None:
        return None
    revoked_now = row.revoked_at is None
    if revoked_now:
        row.revoked_at = now
        session.flush()
    return _info(row), revoked_now
