"""Signed-in browsers, found by the keyed digest of their cookie."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, select, update
from sqlalchemy.orm import Session

from tessera.core.account import OpenSession
from tessera.core.ids import PersonId
from tessera.core.people import Person
from tessera.core.sign_in_methods import SignInMethod, sign_in_method
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
    signed_in_by: SignInMethod | None = None,
) -> None:
    session.add(
        WebSessionRow(
            token_digest=token_digest,
            person_id=person_id,
            created_at=now,
            expires_at=expires_at,
            client_address=client_address[:MAX_ADDRESS] if client_address else None,
            user_agent=user_agent[:MAX_USER_AGENT] if user_agent else None,
            sign_in_method=None if signed_in_by is None else signed_in_by.value,
        )
    )
    session.flush()


def _last_seen() -> ColumnElement[datetime]:
    """When the session last saw a request, as far as the database knows."""
    return func.coalesce(WebSessionRow.last_seen_at, WebSessionRow.created_at)


def _live(now: datetime, idle_since: datetime) -> ColumnElement[bool]:
    """Not signed out, not past its absolute end, and used after ``idle_since``."""
    return and_(
        WebSessionRow.revoked_at.is_(None),
        WebSessionRow.expires_at > now,
        _last_seen() > idle_since,
    )


@dataclass(frozen=True, slots=True)
class LiveSession:
    id: int
    person: Person
    last_seen_at: datetime
    #: When the person signed in (OpenID Connect's ``auth_time``).
    signed_in_at: datetime
    #: How (OpenID Connect's ``acr`` and ``amr``); None for sessions from before it was kept.
    sign_in_method: SignInMethod | None = None


def find_live_session(
    session: Session, token_digests: Sequence[bytes], *, now: datetime, idle_since: datetime
) -> LiveSession | None:
    """The session of one of these digests with its person, if it is live, or None."""
    found = session.execute(
        select(
            PersonRow,
            WebSessionRow.id,
            _last_seen().label("last_seen"),
            WebSessionRow.created_at,
            WebSessionRow.sign_in_method,
        )
        .join(WebSessionRow, WebSessionRow.person_id == PersonRow.id)
        .where(WebSessionRow.token_digest.in_(token_digests), _live(now, idle_since))
    ).first()
    if found is None:
        return None
    # coalesce() takes its type from the columns: the time comes back as an aware UTC datetime.
    return LiveSession(
        id=found[1],
        person=person_from_row(found[0]),
        last_seen_at=found[2],
        signed_in_at=found[3],
        sign_in_method=sign_in_method(found[4]),
    )


def session_id_of(session: Session, token_digests: Sequence[bytes]) -> int | None:
    """The id of the session of these digests, live or not (the caller has checked that)."""
    return session.scalar(
        select(WebSessionRow.id).where(WebSessionRow.token_digest.in_(token_digests))
    )


def find_web_session_person(
    session: Session, token_digests: Sequence[bytes], *, now: datetime, idle_since: datetime
) -> Person | None:
    """The person of a live session (not expired, not idle, not signed out), or None."""
    live = find_live_session(session, token_digests, now=now, idle_since=idle_since)
    return None if live is None else live.person


def touch_web_session(
    session: Session, session_id: int, *, now: datetime, before: datetime
) -> None:
    """Record a request, unless one after ``before`` is recorded already (racing pages write
    once: the condition is checked by the update itself)."""
    session.execute(
        update(WebSessionRow)
        .where(WebSessionRow.id == session_id, _last_seen() <= before)
        .values(last_seen_at=now)
    )


def list_live_sessions(
    session: Session, person_id: PersonId, *, now: datetime, idle_since: datetime
) -> list[tuple[bytes, OpenSession]]:
    """The person's sessions that would still let a browser in, newest first, by digest.

    None is marked current here: which one is the caller's is the service's to say.
    """
    rows = session.scalars(
        select(WebSessionRow)
        .where(WebSessionRow.person_id == person_id, _live(now, idle_since))
        .order_by(WebSessionRow.created_at.desc(), WebSessionRow.id.desc())
    )
    return [
        (
            row.token_digest,
            OpenSession(
                id=row.id,
                created_at=row.created_at,
                expires_at=row.expires_at,
                last_seen_at=row.last_seen_at or row.created_at,
                client_address=row.client_address,
                user_agent=row.user_agent,
                is_current=False,
            ),
        )
        for row in rows
    ]


def end_web_session(session: Session, token_digests: Sequence[bytes], *, now: datetime) -> None:
    session.execute(
        update(WebSessionRow)
        .where(WebSessionRow.token_digest.in_(token_digests), WebSessionRow.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def end_sessions_of(
    session: Session, person_id: PersonId, *, now: datetime, keep: Sequence[bytes] = ()
) -> int:
    """End every live session of the person but the one of the digests ``keep``; how many."""
    query = update(WebSessionRow).where(
        WebSessionRow.person_id == person_id,
        WebSessionRow.revoked_at.is_(None),
        WebSessionRow.expires_at > now,
    )
    if keep:
        query = query.where(WebSessionRow.token_digest.not_in(keep))
    result = session.execute(query.values(revoked_at=now))
    return int(getattr(result, "rowcount", 0) or 0)
