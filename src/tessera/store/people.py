"""People and their e-mail addresses."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from tessera.core.ids import PersonId
from tessera.core.people import Person
from tessera.store.id_lists import among_ids
from tessera.store.mapping import person_from_row
from tessera.store.rows import row_by_id
from tessera.store.tables import ApiKeyRow, PersonEmailRow, PersonRow


@dataclass(frozen=True, slots=True)
class LoginRecord:
    person: Person
    password_hash: str | None


def add_person(
    session: Session,
    *,
    emails: Sequence[str],
    name: str,
    first_name: str,
    last_name: str,
    display_name: str,
    is_agent: bool,
    is_admin: bool,
    password_hash: str | None,
    identity_provider: str | None,
    timezone: str,
    language_id: int,
    phone: str | None,
    now: datetime,
) -> Person:
    row = PersonRow(
        primary_email=emails[0],
        emails=list(emails),
        name=name,
        first_name=first_name,
        last_name=last_name,
        display_name=display_name,
        is_agent=is_agent,
        is_admin=is_admin,
        is_disabled=False,
        password_hash=password_hash,
        identity_provider=identity_provider,
        timezone=timezone,
        language_id=language_id,
        phone=phone,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    session.add_all(PersonEmailRow(person_id=row.id, email=email) for email in emails)
    session.flush()
    return person_from_row(row)


def emails_in_use(
    session: Session, emails: Sequence[str], *, except_person: PersonId | None = None
) -> set[str]:
    query = select(PersonEmailRow.email).where(PersonEmailRow.email.in_(list(emails)))
    if except_person is not None:
        query = query.where(PersonEmailRow.person_id != except_person)
    return set(session.scalars(query))


def get_person(session: Session, person_id: PersonId) -> Person | None:
    row = row_by_id(session, PersonRow, person_id)
    return None if row is None else person_from_row(row)


def find_login(session: Session, email: str) -> LoginRecord | None:
    row = session.execute(
        select(PersonRow)
        .join(PersonEmailRow, PersonEmailRow.person_id == PersonRow.id)
        .where(PersonEmailRow.email == email)
    ).scalar_one_or_none()
    return None if row is None else LoginRecord(person_from_row(row), row.password_hash)


def find_person_by_email(session: Session, email: str) -> Person | None:
    login = find_login(session, email)
    return None if login is None else login.person


def list_people(
    session: Session, *, offset: int, limit: int, search: str | None = None
) -> tuple[list[Person], int]:
    query = select(PersonRow)
    if search:
        # A substring search: autoescape keeps "%" and "_" literal.
        text = search.lower()
        query = query.where(
            or_(
                func.lower(PersonRow.name).contains(text, autoescape=True),
                PersonRow.primary_email.contains(text, autoescape=True),
            )
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(PersonRow.id).offset(offset).limit(limit))
    return [person_from_row(row) for row in rows], total


def update_person(
    session: Session,
    person_id: PersonId,
    *,
    now: datetime,
    emails: list[str] | None = None,
    **changes: object,
) -> Person | None:
    """Set the given columns; ``emails`` (primary first) also rewrites the lookup table."""
    row = row_by_id(session, PersonRow, person_id, for_update=True)
    if row is None:
        return None
    for column, value in changes.items():
        setattr(row, column, value)
    if emails is not None:
        row.emails = emails
        row.primary_email = emails[0]
        session.execute(delete(PersonEmailRow).where(PersonEmailRow.person_id == person_id))
        session.flush()
        session.add_all(PersonEmailRow(person_id=person_id, email=e) for e in emails)
    row.updated_at = now
    session.flush()
    return person_from_row(row)


def delete_person(session: Session, person_id: PersonId) -> Person | None:
    """Remove a person. Their tokens and normal keys go with them (Deskpro cascades too)."""
    row = row_by_id(session, PersonRow, person_id)
    if row is None:
        return None
    person = person_from_row(row)
    session.execute(
        delete(ApiKeyRow).where(ApiKeyRow.person_id == person_id, ApiKeyRow.is_superuser.is_(False))
    )
    # A superuser key survives the loss of its default agent; it then needs X-DeskPRO-Agent-ID.
    session.execute(
        update(ApiKeyRow).where(ApiKeyRow.person_id == person_id).values(person_id=None)
    )
    session.delete(row)
    session.flush()
    return person


def count_admins(session: Session) -> int:
    query = select(func.count()).where(
        PersonRow.is_admin.is_(True), PersonRow.is_disabled.is_(False)
    )
    return session.scalar(query) or 0


def people_by_ids(session: Session, person_ids: Sequence[int]) -> dict[PersonId, Person]:
    if not person_ids:
        return {}
    dialect = session.get_bind().dialect.name
    rows = session.scalars(
        select(PersonRow).where(among_ids(PersonRow.id, set(person_ids), dialect))
    )
    return {PersonId(row.id): person_from_row(row) for row in rows}
