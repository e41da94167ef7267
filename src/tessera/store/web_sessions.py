"""Signed-in browsers, found by the keyed digest of their cookie."""

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tessera.core.account import OpenSession
from tessera.core.ids import PersonId
from tessera.core.people import Person
from tessera.store.mapping import person_from_row
from tessera.store.tables import PersonRow, WebSessionRow

#: Column sizes: longer values are cut, never refused (a browser may send anything).
MAX_ADDRESS = 64
MAX_USER_AGENT = 300


def add_web_session(
    session: Session,
    *,
    token_digest: bytes,
    person_id: PersonId,
    now: datetime,
    expires_at: datetime,
    client_address: str | None = None,
    user_agent: str | None = None,
) -> None:
    session.add(
        WebSessionRow(
            token_digest=token_digest,
            person_id=person_id,
            created_at=now,
            expires_at=expires_at,
            client_address=client_address[:MAX_ADDRESS] if client_address else None,
            user_agent=user_agent[:MAX_USER_AGENT] if user_agent else None,
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


def list_live_sessions(
    session: Session, person_id: PersonId, *, now: datetime
) -> list[tuple[bytes, OpenSession]]:
    """The person's sessions that would still let a browser in, newest first, by digest.

    None is marked current here: which one is the caller's is the service's to say.
    """
    rows = session.scalars(
        select(WebSessionRow)
        .where(
            WebSessionRow.person_id == person_id,
            WebSessionRow.expires_at > now,
            WebSessionRow.revoked_at.is_(None),
        )
        .order_by(WebSessionRow.created_at.desc(), WebSessionRow.id.desc())
    )
    return [
        (
            row.token_digest,
            OpenSession(
                id=row.id,
                created_at=row.created_at,
                expires_at=row.expires_at,
                client_address=row.client_address,
                user_agent=row.user_agent,
                is_current=False,
            ),
        )
        for row in rows
    ]


def end_web_session(session: Session, token_digest: bytes, *, now: datetime) -> None:
    session.execute(
        update(WebSessionRow)
        .where(WebSessionRow.token_digest == token_digest, WebSessionRow.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def end_sessions_of(
    session: Session, person_id: PersonId, *, now: datetime, keep: bytes | None = None
) -> int:
    """End every live session of the person but the one whose digest is ``keep``; how many."""
    query = update(WebSessionRow).where(
        WebSessionRow.person_id == person_id,
        WebSessionRow.revoked_at.is_(None),
        WebSessionRow.expires_at > now,
    )
    if keep is not None:
        query = query.where(WebSessionRow.token_digest != keep)
    result = session.execute(query.values(revoked_at=now))
    return int(getattr(result, "rowcount", 0) or 0)
