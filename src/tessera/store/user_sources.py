"""User sources and the links of their subjects to people (ADR 0047)."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tessera.core.changes import ChangeKind
from tessera.core.ids import PersonId
from tessera.core.user_sources import OfferedTo, SourceKind, UserSource
from tessera.store.changes import record_changes
from tessera.store.id_lists import among_ids
from tessera.store.rows import row_by_id
from tessera.store.tables import (
    ApiTokenRow,
    OAuthGrantRow,
    OAuthRefreshTokenRow,
    SamlAssertionSeenRow,
    UserSourceLinkRow,
    UserSourceRow,
    WebSessionRow,
)


def _source(row: UserSourceRow) -> UserSource:
    return UserSource(
        id=row.id,
        kind=SourceKind(row.kind),
        title=row.title,
        issuer=row.issuer,
        client_id=row.client_id,
        sealed_secret=row.client_secret_sealed,
        secret_key_version=row.secret_key_version,
        email_claim=row.email_claim,
        name_claim=row.name_claim,
        groups_claim=row.groups_claim,
        agent_groups=tuple(row.agent_groups),
        admin_groups=tuple(row.admin_groups),
        create_unknown=row.create_unknown,
        link_by_email=row.link_by_email,
        offered_to=OfferedTo(row.offered_to),
        is_enabled=row.is_enabled,
        display_order=row.display_order,
        created_at=row.created_at,
        updated_at=row.updated_at,
        idp_metadata=row.idp_metadata,
        idp_metadata_url=row.idp_metadata_url,
    )


def add_source(session: Session, *, now: datetime, **columns: Any) -> UserSource:
    """A new source; ``columns`` are the row's (kind, title, issuer, client_id, …)."""
    row = UserSourceRow(**columns, created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    return _source(row)


def get_source(session: Session, source_id: int) -> UserSource | None:
    row = row_by_id(session, UserSourceRow, source_id)
    return None if row is None else _source(row)


def list_sources(session: Session, *, enabled_only: bool = False) -> list[UserSource]:
    query = select(UserSourceRow).order_by(UserSourceRow.display_order, UserSourceRow.id)
    if enabled_only:
        query = query.where(UserSourceRow.is_enabled.is_(True))
    return [_source(row) for row in session.scalars(query)]


def update_source(
    session: Session, source_id: int, *, now: datetime, **columns: Any
) -> UserSource | None:
    row = row_by_id(session, UserSourceRow, source_id, for_update=True)
    if row is None:
        return None
    for name, value in columns.items():
        setattr(row, name, value)
    row.updated_at = now
    session.flush()
    return _source(row)


def delete_source(session: Session, source_id: int) -> UserSource | None:
    row = row_by_id(session, UserSourceRow, source_id, for_update=True)
    if row is None:
        return None
    source = _source(row)
    session.execute(delete(UserSourceLinkRow).where(UserSourceLinkRow.source_id == source_id))
    session.delete(row)
    session.flush()
    return source


def linked_person(session: Session, source_id: int, subject: str) -> PersonId | None:
    """The person the provider's ``subject`` is here, if linked."""
    found = session.scalar(
        select(UserSourceLinkRow.person_id).where(
            UserSourceLinkRow.source_id == source_id, UserSourceLinkRow.subject == subject
        )
    )
    return None if found is None else PersonId(found)


def link(
    session: Session, *, source_id: int, subject: str, person_id: PersonId, now: datetime
) -> None:
    session.add(
        UserSourceLinkRow(
            source_id=source_id,
            subject=subject,
            person_id=person_id,
            created_at=now,
            last_sign_in_at=now,
        )
    )
    session.flush()


def note_sign_in(session: Session, source_id: int, subject: str, *, now: datetime) -> None:
    session.execute(
        update(UserSourceLinkRow)
        .where(UserSourceLinkRow.source_id == source_id, UserSourceLinkRow.subject == subject)
        .values(last_sign_in_at=now)
    )


def first_use_of_assertion(
    session: Session, source_id: int, assertion_id: str, *, expires_at: datetime
) -> bool:
    """Note a SAML assertion as used; False when it already was (a replay).

    The unique (source, assertion id) pair decides, so two processes given the same assertion
    at once cannot both succeed.
    """
    try:
        with session.begin_nested():
            session.add(
                SamlAssertionSeenRow(
                    source_id=source_id, assertion_id=assertion_id, expires_at=expires_at
                )
            )
            session.flush()
    except IntegrityError:
        return False
    return True


def sources_of_person(session: Session, person_id: PersonId) -> list[int]:
    return list(
        session.scalars(
            select(UserSourceLinkRow.source_id).where(UserSourceLinkRow.person_id == person_id)
        )
    )


def linked_people(session: Session, source_id: int) -> list[PersonId]:
    rows = session.scalars(
        select(UserSourceLinkRow.person_id).where(UserSourceLinkRow.source_id == source_id)
    )
    return [PersonId(person_id) for person_id in rows]


def end_access_of(session: Session, people: Sequence[PersonId], *, now: datetime) -> int:
    """End everything the people hold: sessions, API tokens, OAuth grants and refresh tokens.

    Each ended token goes into the change feed, so every process forgets it at once; how many
    tokens ended.
    """
    if not people:
        return 0
    ids = list(people)
    dialect = session.get_bind().dialect.name
    session.execute(
        update(WebSessionRow)
        .where(
            among_ids(WebSessionRow.person_id, ids, dialect),
            WebSessionRow.revoked_at.is_(None),
            WebSessionRow.expires_at > now,
        )
        .values(revoked_at=now)
    )
    grants = select(OAuthGrantRow.id).where(among_ids(OAuthGrantRow.person_id, ids, dialect))
    session.execute(
        update(OAuthRefreshTokenRow)
        .where(OAuthRefreshTokenRow.grant_id.in_(grants), OAuthRefreshTokenRow.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.execute(
        update(OAuthGrantRow)
        .where(among_ids(OAuthGrantRow.person_id, ids, dialect), OAuthGrantRow.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    ended = list(
        session.scalars(
            update(ApiTokenRow)
            .where(among_ids(ApiTokenRow.person_id, ids, dialect), ApiTokenRow.revoked_at.is_(None))
            .values(revoked_at=now)
            .returning(ApiTokenRow.id)
        )
    )
    record_changes(session, ChangeKind.API_TOKEN, ended, now=now)
    record_changes(session, ChangeKind.PERSON, ids, now=now)
    return len(ended)


def sealed_under(session: Session, secret_key_version: int) -> list[UserSource]:
    """The sources whose client secret is sealed under this server secret key version, locked
    until the transaction ends (the re-sealing of ADR 0035)."""
    rows = session.scalars(
        select(UserSourceRow)
        .where(
            UserSourceRow.secret_key_version == secret_key_version,
            UserSourceRow.client_secret_sealed.is_not(None),
        )
        .order_by(UserSourceRow.id)
        .with_for_update()
    )
    return [_source(row) for row in rows]


def reseal(session: Session, source_id: int, *, secret_key_version: int, sealed: bytes) -> None:
    """Store the same client secret sealed under another server secret key version (the
    source's ``updated_at`` stays: its settings did not change)."""
    session.execute(
        update(UserSourceRow)
        .where(UserSourceRow.id == source_id)
        .values(client_secret_sealed=sealed, secret_key_version=secret_key_version)
        .execution_options(synchronize_session=False)
    )
