"""Initial access tokens for dynamic client registration: only their keyed digests are kept."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tessera.core.client_registration import InitialAccessToken
from tessera.store.rows import row_by_id
from tessera.store.tables import InitialAccessTokenRow


def _token(row: InitialAccessTokenRow) -> InitialAccessToken:
    return InitialAccessToken(
        id=row.id,
        note=row.note,
        created_at=row.created_at,
        expires_at=row.expires_at,
        single_use=row.single_use,
        uses=row.uses,
        used_at=row.used_at,
        revoked_at=row.revoked_at,
        created_by=row.created_by,
    )


def add_token(
    session: Session,
    *,
    token_digest: bytes,
    note: str,
    created_by: int | None,
    now: datetime,
    expires_at: datetime,
    single_use: bool,
) -> InitialAccessToken:
    row = InitialAccessTokenRow(
        token_digest=token_digest,
        note=note,
        created_by=created_by,
        created_at=now,
        expires_at=expires_at,
        single_use=single_use,
        uses=0,
    )
    session.add(row)
    session.flush()
    return _token(row)


def find_token(session: Session, digests: Sequence[bytes]) -> InitialAccessToken | None:
    """The token with one of these digests (one per secret-key version), locked for its use."""
    row = session.scalars(
        select(InitialAccessTokenRow)
        .where(InitialAccessTokenRow.token_digest.in_(list(digests)))
        .with_for_update()
    ).first()
    return None if row is None else _token(row)


def spend_token(session: Session, token_id: int, *, now: datetime, single_use: bool) -> bool:
    """Count one registration; a single-use token only if unused (False: someone was first)."""
    statement = (
        update(InitialAccessTokenRow)
        .where(InitialAccessTokenRow.id == token_id)
        .values(uses=InitialAccessTokenRow.uses + 1, used_at=now)
    )
    if single_use:
        statement = statement.where(InitialAccessTokenRow.uses == 0)
    return session.connection().execute(statement).rowcount == 1


def list_tokens(session: Session, *, limit: int = 200) -> list[InitialAccessToken]:
    rows = session.scalars(
        select(InitialAccessTokenRow).order_by(InitialAccessTokenRow.id.desc()).limit(limit)
    )
    return [_token(row) for row in rows]


def revoke_token(session: Session, token_id: int, *, now: datetime) -> InitialAccessToken | None:
    row = row_by_id(session, InitialAccessTokenRow, token_id, for_update=True)
    if row is None:
        return None
    if row.revoked_at is None:
        row.revoked_at = now
        session.flush()
    return _token(row)
