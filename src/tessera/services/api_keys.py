"""API keys: created, changed, regenerated and revoked by admins (shared/spec §2.4, §4)."""

from dataclasses import dataclass

from sqlalchemy.orm import Session

from tessera.core.audit import AuditKind, CredentialKind, DetailValue
from tessera.core.changes import ChangeKind
from tessera.core.clock import Clock
from tessera.core.credential_codes import API_KEY_CODE
from tessera.core.credentials import CodeHasher, format_credential
from tessera.core.errors import (
    REQUIRED,
    FieldError,
    FieldErrors,
    InvalidInput,
    NotFound,
)
from tessera.core.ids import ApiKeyId, PersonId
from tessera.core.paging import Page, PageRequest
from tessera.core.records import ApiKeyInfo
from tessera.core.tags import InvalidTagPattern, TagPolicy
from tessera.services.audit import record
from tessera.store import api_keys as stored
from tessera.store import people as stored_people
from tessera.store.changes import record_change
from tessera.store.database import Database

_MAX_NOTE = 500
NOT_AN_AGENT = FieldError("not_an_agent", "This person is not an active agent.")
UNKNOWN_PERSON = FieldError("not_found", "No person has this id.")
ADMIN_API_NEEDS_SUPERUSER = FieldError(
    "superuser_only", "Only a superuser key can be given the admin API."
)
REVOKED = FieldError("revoked", "A revoked key cannot be regenerated; create a new one.")
INVALID_TAGS = FieldError("invalid_tag_pattern", "This value is not a list of tag patterns.")


@dataclass(frozen=True, slots=True)
class NewApiKey:
    note: str
    #: The bound agent of a normal key, or the default agent of a superuser key.
    person_id: int | None
    is_superuser: bool = False
    admin_api: bool = False
    tags: str = "*"


@dataclass(frozen=True, slots=True)
class ApiKeyChanges:
    note: str | None = None
    person_id: int | None = None
    clear_person: bool = False
    admin_api: bool | None = None
    tags: str | None = None


@dataclass(frozen=True, slots=True)
class IssuedApiKey:
    """A key with its full secret, which exists only in this value: shown once, never stored."""

    key: ApiKeyInfo
    code: str

    @property
    def key_string(self) -> str:
        return format_credential(self.key.id, self.code)


@dataclass(frozen=True, slots=True)
class TagCheck:
    """Whether a key with these tag patterns may call an endpoint with this tag."""

    #: The patterns as the key would store them.
    tags: str
    tag: str
    allowed: bool


class ApiKeyService:
    def __init__(self, database: Database, hasher: CodeHasher, clock: Clock) -> None:
        self._database = database
        self._hasher = hasher
        self._clock = clock

    def create(self, new: NewApiKey, *, actor: PersonId | None = None) -> IssuedApiKey:
        problems = FieldErrors()
        note = check_note(problems, new.note)
        tags = check_tags(problems, new.tags)
        check_bound_agent(problems, new.person_id, is_superuser=new.is_superuser)
        check_admin_api(problems, new.admin_api, is_superuser=new.is_superuser)
        if problems:
            raise InvalidInput(problems)
        code = API_KEY_CODE.new()
        with self._database.write() as session:
            if new.person_id is not None:
                _check_agent(session, problems, new.person_id)
                if problems:
                    raise InvalidInput(problems)
            key = stored.add_api_key(
                session,
                code_digest=self._hasher.digest(code),
                person_id=PersonId(new.person_id) if new.person_id is not None else None,
                note=note,
                is_superuser=new.is_superuser,
                admin_api=new.admin_api,
                tags=tags,
                now=self._clock.now(),
            )
            detail: dict[str, DetailValue] = {
                "is_superuser": key.is_superuser,
                "admin_api": key.admin_api,
            }
            self._record(session, AuditKind.API_KEY_CREATED, key, actor, detail)
        return IssuedApiKey(key, code)

    @staticmethod
    def check_tag(tags: str, tag: str) -> TagCheck:
        """Would a key with ``tags`` be allowed to call ``tag``? The rule is TagPolicy's only."""
        problems = FieldErrors()
        normalized = check_tags(problems, tags)
        if not tag.strip():
            problems.add(("tag",), REQUIRED)
        if problems:
            raise InvalidInput(problems)
        policy = TagPolicy.parse(normalized)
        return TagCheck(normalized, tag.strip(), policy.allows(tag.strip()))

    def get(self, key_id: int) -> ApiKeyInfo:
        with self._database.read() as session:
            key = stored.get_api_key(session, ApiKeyId(key_id))
        if key is None:
            raise NotFound()
        return key

    def list(self, page: PageRequest, *, include_revoked: bool = True) -> Page[ApiKeyInfo]:
        with self._database.read() as session:
            items, total = stored.list_api_keys(
                session, offset=page.offset, limit=page.per_page, include_revoked=include_revoked
            )
        return Page(items, total, page)

    def change(
        self, key_id: int, changes: ApiKeyChanges, *, actor: PersonId | None = None
    ) -> ApiKeyInfo:
        problems = FieldErrors()
        columns: dict[str, object] = {}
        if changes.note is not None:
            columns["note"] = check_note(problems, changes.note)
        if changes.tags is not None:
            columns["tags"] = check_tags(problems, changes.tags)
        if problems:
            raise InvalidInput(problems)
        with self._database.write() as session:
            current = stored.get_api_key(session, ApiKeyId(key_id))
            if current is None:
                raise NotFound()
            if changes.admin_api is not None:
                check_admin_api(problems, changes.admin_api, is_superuser=current.is_superuser)
                columns["admin_api"] = changes.admin_api
            if changes.person_id is not None:
                _check_agent(session, problems, changes.person_id)
                columns["person_id"] = changes.person_id
            elif changes.clear_person:
                if not current.is_superuser:
                    problems.add(("person_id",), REQUIRED)
                columns["person_id"] = None
            if problems:
                raise InvalidInput(problems)
            key = stored.update_api_key(session, current.id, **columns)
            if key is not None:
                fields: dict[str, DetailValue] = {"fields": sorted(columns)}
                self._record(session, AuditKind.API_KEY_CHANGED, key, actor, fields)
                record_change(session, ChangeKind.API_KEY, key.id, now=self._clock.now())
        if key is None:  # gone since it was read: as if never there
            raise NotFound()
        return key

    def regenerate(self, key_id: int, *, actor: PersonId | None = None) -> IssuedApiKey:
        """Give the key a new secret; the old one stops working at once (Deskpro §2.4)."""
        code = API_KEY_CODE.new()
        with self._database.write() as session:
            current = stored.get_api_key(session, ApiKeyId(key_id))
            if current is None:
                raise NotFound()
            if current.revoked_at is not None:
                # Its new secret could never authenticate: say so instead of showing one.
                problems = FieldErrors()
                problems.add((), REVOKED)
                raise InvalidInput(problems)
            key = stored.update_api_key(
                session,
                current.id,
                code_digest=self._hasher.digest(code),
                regenerated_at=self._clock.now(),
            )
            if key is not None:
                self._record(session, AuditKind.API_KEY_REGENERATED, key, actor)
                record_change(session, ChangeKind.API_KEY, key.id, now=self._clock.now())
        if key is None:  # gone since it was read: as if never there
            raise NotFound()
        return IssuedApiKey(key, code)

    def revoke(
        self,
        key_id: int,
        *,
        actor: PersonId | None = None,
        detail: dict[str, DetailValue] | None = None,
    ) -> ApiKeyInfo:
        """Revoke a key; ``detail``: why, for the audit trail (a reported leak, say)."""
        with self._database.write() as session:
            outcome = stored.revoke_api_key(session, ApiKeyId(key_id), now=self._clock.now())
            # Revoking a revoked key changes nothing: no second event, no cache change.
            if outcome is not None and outcome[1]:
                self._record(session, AuditKind.API_KEY_REVOKED, outcome[0], actor, detail)
                record_change(session, ChangeKind.API_KEY, outcome[0].id, now=self._clock.now())
        if outcome is None:
            raise NotFound()
        return outcome[0]

    def _record(
        self,
        session: Session,
        kind: AuditKind,
        key: ApiKeyInfo,
        actor: PersonId | None,
        detail: dict[str, DetailValue] | None = None,
    ) -> None:
        record(
            session,
            kind,
            self._clock,
            actor=actor,
            subject=key.person_id,
            credential_kind=CredentialKind.KEY,
            credential_id=key.id,
            detail=detail,
        )


def check_note(problems: FieldErrors, note: str) -> str:
    note = note.strip()
    if not note:
        problems.add(("note",), REQUIRED)
    elif len(note) > _MAX_NOTE:
        problems.add(
            ("note",), FieldError("too_long", f"This value is too long ({_MAX_NOTE} at most).")
        )
    return note


def check_bound_agent(problems: FieldErrors, person_id: int | None, *, is_superuser: bool) -> None:
    """A normal key acts for its agent: it needs one (a superuser key may do without)."""
    if person_id is None and not is_superuser:
        problems.add(("person_id",), REQUIRED)


def check_admin_api(problems: FieldErrors, admin_api: bool, *, is_superuser: bool) -> None:
    if admin_api and not is_superuser:
        problems.add(("admin_api",), ADMIN_API_NEEDS_SUPERUSER)


def check_tags(problems: FieldErrors, text: str) -> str:
    try:
        return str(TagPolicy.parse(text))
    except InvalidTagPattern:
        problems.add(("tags",), INVALID_TAGS)
        return text


def _check_agent(session: Session, problems: FieldErrors, person_id: int) -> None:
    person = stored_people.get_person(session, PersonId(person_id))
    if person is None:
        problems.add(("person_id",), UNKNOWN_PERSON)
    elif not person.is_active_agent:
        problems.add(("person_id",), NOT_AN_AGENT)
