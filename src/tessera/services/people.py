"""People: add, change, disable and remove the persons that credentials act for."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tessera.core.audit import AuditKind, DetailValue
from tessera.core.changes import ChangeKind
from tessera.core.clock import Clock
from tessera.core.errors import (
    DUPLICATE,
    INVALID,
    INVALID_EMAIL,
    REQUIRED,
    FieldError,
    FieldErrors,
    InvalidInput,
    NotFound,
)
from tessera.core.ids import PersonId
from tessera.core.paging import Page, PageRequest
from tessera.core.passwords import PasswordHasher, password_problem
from tessera.core.people import Person, is_valid_email, normalize_email, split_name
from tessera.services.audit import record, record_person_change
from tessera.store import people as stored
from tessera.store import web_sessions as stored_sessions
from tessera.store.changes import record_change
from tessera.store.database import Database

_MAX_NAME = 200
NOT_YOURSELF = FieldError("not_yourself", "You cannot do this to the person you act as.")


@dataclass(frozen=True, slots=True)
class NewPerson:
    email: str
    name: str
    is_agent: bool = False
    is_admin: bool = False
    password: str | None = None
    identity_provider: str | None = None
    display_name: str | None = None
    timezone: str = "UTC"
    language_id: int = 1
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class PersonChanges:
    """Fields to change; None leaves a field as it is."""

    name: str | None = None
    display_name: str | None = None
    emails: Sequence[str] | None = None
    primary_email: str | None = None
    is_agent: bool | None = None
    is_admin: bool | None = None
    is_disabled: bool | None = None
    identity_provider: str | None = None
    clear_identity_provider: bool = False
    timezone: str | None = None
    language_id: int | None = None
    phone: str | None = None
    #: A new password (hashed here), or ``remove_password`` to take it away.
    password: str | None = None
    remove_password: bool = False


class PeopleService:
    def __init__(self, database: Database, passwords: PasswordHasher, clock: Clock) -> None:
        self._database = database
        self._passwords = passwords
        self._clock = clock

    def add(self, new: NewPerson, *, actor: PersonId | None = None) -> Person:
        problems = FieldErrors()
        email = normalize_email(new.email)
        check_email(problems, ("email",), email)
        name = check_name(problems, ("name",), new.name)
        if new.password is not None:
            check_password(problems, ("password",), new.password)
        if problems:
            raise InvalidInput(problems)
        password_hash = self._passwords.hash(new.password) if new.password is not None else None
        first, last = split_name(name)
        with self._database.write() as session:
            if stored.emails_in_use(session, [email]):
                raise InvalidInput.for_field("email", DUPLICATE)
            person = stored.add_person(
                session,
                emails=[email],
                name=name,
                first_name=first,
                last_name=last,
                display_name=(new.display_name or "").strip() or name,
                # An admin is always an agent: admin rights act through the agent interface.
                is_agent=new.is_agent or new.is_admin,
                is_admin=new.is_admin,
                password_hash=password_hash,
                identity_provider=new.identity_provider,
                timezone=new.timezone,
                language_id=new.language_id,
                phone=new.phone,
                now=self._clock.now(),
            )
            detail: dict[str, DetailValue] = {
                "is_agent": person.is_agent,
                "is_admin": person.is_admin,
            }
            record(
                session,
                AuditKind.PERSON_CREATED,
                self._clock,
                actor=actor,
                subject=person.id,
                detail=detail,
            )
        return person

    def get(self, person_id: int) -> Person:
        with self._database.read() as session:
            person = stored.get_person(session, PersonId(person_id))
        if person is None:
            raise NotFound()
        return person

    def get_many(self, person_ids: Iterable[int]) -> dict[PersonId, Person]:
        """The people of these ids that exist (to name them in a list of keys or events)."""
        with self._database.read() as session:
            return stored.people_by_ids(session, list(person_ids))

    def find(self, email_or_id: str) -> Person:
        """Find by numeric id or by any of the person's e-mail addresses."""
        value = email_or_id.strip()
        if value.isascii() and value.isdigit():
            return self.get(int(value))
        with self._database.read() as session:
            person = stored.find_person_by_email(session, normalize_email(value))
        if person is None:
            raise NotFound()
        return person

    def list(self, page: PageRequest, search: str | None = None) -> Page[Person]:
        with self._database.read() as session:
            items, total = stored.list_people(
                session, offset=page.offset, limit=page.per_page, search=search
            )
        return Page(items, total, page)

    def change(
        self, person_id: int, changes: PersonChanges, *, actor: PersonId | None = None
    ) -> Person:
        locks_out = changes.is_disabled or changes.is_admin is False or changes.is_agent is False
        if actor is not None and actor == person_id and locks_out:
            # An admin cannot take away their own way back in (the last admin, say).
            raise InvalidInput.for_field("person_id", NOT_YOURSELF)
        problems = FieldErrors()
        columns: dict[str, object] = {}
        if changes.name is not None:
            name = check_name(problems, ("name",), changes.name)
            first, last = split_name(name)
            columns.update(name=name, first_name=first, last_name=last)
        if changes.display_name is not None:
            columns["display_name"] = changes.display_name.strip()[:_MAX_NAME]
        for flag in ("is_agent", "is_admin", "is_disabled", "timezone", "language_id", "phone"):
            value = getattr(changes, flag)
            if value is not None:
                columns[flag] = value
        if changes.identity_provider is not None:
            columns["identity_provider"] = changes.identity_provider
        if changes.clear_identity_provider:
            columns["identity_provider"] = None
        if columns.get("is_admin") is True:
            columns["is_agent"] = True
        emails = check_emails(problems, changes.emails, changes.primary_email)
        if changes.password is not None:
            check_password(problems, ("password",), changes.password)
        if problems:
            raise InvalidInput(problems)
        if changes.password is not None:
            columns["password_hash"] = self._passwords.hash(changes.password)
        elif changes.remove_password:
            columns["password_hash"] = None
        with self._database.write() as session:
            current = stored.get_person(session, PersonId(person_id))
            if current is None:
                raise NotFound()
            if emails is None and changes.primary_email is not None:
                emails = _with_primary(problems, list(current.emails), changes.primary_email)
                if problems:
                    raise InvalidInput(problems)
            if columns.get("is_agent") is False and "is_admin" not in columns:
                columns["is_admin"] = False
            if emails is not None:
                taken = stored.emails_in_use(session, emails, except_person=current.id)
                for index, email in enumerate(emails):
                    if email in taken:
                        problems.add(("emails", f"emails_{index}"), DUPLICATE)
                if problems:
                    raise InvalidInput(problems)
            person = stored.update_person(
                session, current.id, now=self._clock.now(), emails=emails, **columns
            )
            if person is not None:
                changed = [*columns, *(["emails"] if emails is not None else [])]
                record_person_change(session, self._clock, current, person, changed, actor)
                # Any change: cached checks hold the person's snapshot (flags, name, addresses).
                record_change(session, ChangeKind.PERSON, person.id, now=self._clock.now())
                if "password_hash" in columns or person.is_disabled:
                    # A reset password or a disabled person: every signed-in browser is out.
                    stored_sessions.end_sessions_of(session, person.id, now=self._clock.now())
        if person is None:  # gone since it was read: as if never there
            raise NotFound()
        return person

    def set_password(
        self, person_id: int, password: str | None, *, actor: PersonId | None = None
    ) -> Person:
        """Set a new password, or remove it (the person can then not use the exchange)."""
        changes = PersonChanges(password=password, remove_password=password is None)
        return self.change(person_id, changes, actor=actor)

    def set_disabled(
        self, person_id: int, disabled: bool, *, actor: PersonId | None = None
    ) -> Person:
        return self.change(person_id, PersonChanges(is_disabled=disabled), actor=actor)

    def delete(self, person_id: int, *, actor: PersonId | None = None) -> Person:
        if actor is not None and actor == person_id:
            raise InvalidInput.for_field("person_id", NOT_YOURSELF)
        with self._database.write() as session:
            person = stored.delete_person(session, PersonId(person_id))
            if person is not None:
                record(
                    session, AuditKind.PERSON_DELETED, self._clock, actor=actor, subject=person.id
                )
                # Their tokens and keys go too (cascade): forgetting the person covers them.
                record_change(session, ChangeKind.PERSON, person.id, now=self._clock.now())
        if person is None:
            raise NotFound()
        return person

    def count_admins(self) -> int:
        with self._database.read() as session:
            return stored.count_admins(session)


def check_name(problems: FieldErrors, path: tuple[str, ...], name: str) -> str:
    name = " ".join(name.split())
    if not name:
        problems.add(path, REQUIRED)
    elif len(name) > _MAX_NAME:
        problems.add(path, FieldError("too_long", f"This value is too long ({_MAX_NAME} at most)."))
    return name


def check_email(problems: FieldErrors, path: tuple[str, ...], email: str) -> None:
    if not email:
        problems.add(path, REQUIRED)
    elif not is_valid_email(email):
        problems.add(path, INVALID_EMAIL)


def check_password(problems: FieldErrors, path: tuple[str, ...], password: str) -> None:
    problem = password_problem(password)
    if problem is not None:
        problems.add(path, FieldError("invalid_password", problem))


def check_emails(
    problems: FieldErrors, emails: Sequence[str] | None, primary: str | None
) -> list[str] | None:
    """Normalize a new address list, primary first; report problems per ``emails_N``."""
    if emails is None:
        return None
    if not emails:
        problems.add(
            ("emails",),
            FieldError("too_few_elements", "This collection should contain 1 elements or more."),
        )
        return None
    normalized: list[str] = []
    for index, email in enumerate(emails):
        value = normalize_email(email)
        check_email(problems, ("emails", f"emails_{index}"), value)
        if value in normalized:
            problems.add(("emails", f"emails_{index}"), DUPLICATE)
        normalized.append(value)
    if problems:
        return None
    return _with_primary(problems, normalized, primary) if primary is not None else normalized


def _with_primary(problems: FieldErrors, emails: list[str], primary: str) -> list[str]:
    value = normalize_email(primary)
    if value not in emails:
        problems.add(("primary_email",), INVALID)
        return emails
    return [value, *(e for e in emails if e != value)]
