"""Sealed secrets waiting for the one page that shows them, by session and subject."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from tessera.store.tables import Base, ShownOnceRow, WebSessionRow

_ROWS = Base.metadata.tables[ShownOnceRow.__tablename__]


@dataclass(frozen=True, slots=True)
class Sealed:
    salt: bytes
    sealed: bytes


def put(
    session: Session,
    *,
    session_id: int,
    subject: str,
    salt: bytes,
    sealed: bytes,
    now: datetime,
    expires_at: datetime,
) -> None:
    """Keep one sealed secret for this session and subject, replacing an earlier one."""
    session.execute(
        delete(ShownOnceRow).where(
            ShownOnceRow.session_id == session_id, ShownOnceRow.subject == subject
        )
    )
    session.execute(
        insert(_ROWS).values(
            session_id=session_id,
            subject=subject,
            salt=salt,
            sealed=sealed,
            created_at=now,
            expires_at=expires_at,
        )
    )


def take(
    session: Session, *, token_digests: Sequence[bytes], subject: str, now: datetime
) -> Sealed | None:
    """Remove and return what waits for the session of this cookie digest and subject.

    One ``DELETE … RETURNING``: of two requests racing for it (a double reload), exactly one
    gets it; the other finds nothing.
    """
    of_session = select(WebSessionRow.id).where(WebSessionRow.token_digest.in_(token_digests))
    row = session.execute(
        delete(ShownOnceRow)
        .where(
            ShownOnceRow.session_id == of_session.scalar_subquery(),
            ShownOnceRow.subject == subject,
            ShownOnceRow.expires_at > now,
        )
        .returning(ShownOnceRow.salt, ShownOnceRow.sealed)
    ).first()
    return None if row is None else Sealed(salt=row.salt, sealed=row.sealed)
