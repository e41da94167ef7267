"""Signed-in browsers, found by the keyed digest of their cookie."""

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tessera.core.ids import PersonId
from tessera.core.people import Person
from tessera.store.mapping import person_from_row
from tessera.store.tables import PersonRow, WebSessionRow


def add_web_session(
    session: Session,
    *,
    token_digest: bytes,
    person_id: PersonId,
    now: datetime,
    expires_at: datetime,
) -> None:
    session.add(
        WebSessionRow(
            token_digest=token_digest, person_id=person_id, created_at=now, expires_at=expires_at
        )
    )
    session.flush()


def find_web_session_person(
    session: Session, token_digest: bytes, *, now: datetime
) -> Person | None:
    """The person of a live session (not expired, not signed out), or None."""
    row = session.execute(
        select(PersonRow)
        .join(WebSessionRow, WebSessionRow.person_id == PersonRow.id)
        .where(
            WebSessionRow.token_digest == token_digest,
            WebSessionRow.expires_at > now,
            WebSessionRow.revoked_at.is_(None),
        )
    ).scalar_one_or_none()
    return None if row is None else person_from_row(row)


def end_web_session(session: Session, token_digest: bytes, *, now: datetime) -> None:
    session.execute(
        update(WebSessionRow)
        .where(WebSessionRow.token_digest == token_digest, WebSessionRow.revoked_at.is_(None))
        .values(revoked_at=now)
    )
