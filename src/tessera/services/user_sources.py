"""User sources: connect external identity providers, and resolve who signed in through one.

An operator adds, changes and removes sources (each change audited; the settings are checked by
``services.user_source_settings``). ``resolve`` turns the
identity a provider vouched for into a person here: by the link of (source, subject) first; else
by verified e-mail address when the source allows linking; else a new person when the source
creates unknown people; else a refusal (ADR 0047). Disabling or removing a source ends at once
every session and token of its people (the change feed carries it to every process).

A SAML source (ADR 0049) is described by its IdP's metadata, checked when it is set; its
assertions are noted as used (``first_use``) so that none signs anybody in twice.
"""

from datetime import datetime

from sqlalchemy.orm import Session

from tessera.core.audit import AuditKind, DetailValue
from tessera.core.changes import ChangeKind
from tessera.core.clock import Clock
from tessera.core.errors import (
    REQUIRED,
    FieldErrors,
    InvalidInput,
    NotFound,
)
from tessera.core.ids import PersonId
from tessera.core.people import Person, is_valid_email, normalize_email, split_name
from tessera.core.secret_keys import SecretKeyRing
from tessera.core.user_sources import (
    MAX_SUBJECT_LENGTH,
    OfferedTo,
    ProviderIdentity,
    SourceKind,
    UserSource,
    open_client_secret,
    open_pending,
    roles_from_groups,
    seal_pending,
    sp_metadata_url,
)
from tessera.services.audit import record
from tessera.services.throttle import Throttle, ThrottleRule
from tessera.services.user_source_settings import (
    DEFAULTS,
    REQUIRED_FOR,
    SourceSettings,
    changed_names,
    checked_columns,
    kind_problems,
    merged,
)
from tessera.store import people as stored_people
from tessera.store import user_sources as stored
from tessera.store.changes import record_change
from tessera.store.database import Database


class SignInRefused(Exception):
    """The provider's answer names nobody who may sign in here; ``reason`` says why (a fixed
    sentence, safe to show)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UserSourceService:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        ring: SecretKeyRing,
        public_url: str = "",
        *,
        throttle: Throttle | None = None,
        callbacks_per_address: ThrottleRule | None = None,
    ) -> None:
        """``callbacks_per_address``: how many providers' answers one address may have checked
        (a SAML response costs about 0.2 s of xmlsec1; anyone can start a sign-in and post)."""
        self._database = database
        self._clock = clock
        self._ring = ring
        self._public_url = public_url
        self._throttle = throttle
        self._callbacks_per_address = callbacks_per_address

    def count_callback(self, client_address: str | None) -> None:
        """Count one answer from a provider, before it is checked.

        Raises:
            RateLimited: this address had too many answers checked.
        """
        if self._throttle is not None and self._callbacks_per_address is not None:
            self._throttle.hit(self._callbacks_per_address, client_address or "unknown")

    def create(
        self,
        settings: SourceSettings,
        *,
        kind: SourceKind = SourceKind.OIDC,
        actor: PersonId | None = None,
    ) -> UserSource:
        complete = merged(DEFAULTS, settings)
        problems = FieldErrors()
        for name in REQUIRED_FOR[kind]:
            if not (getattr(complete, name) or "").strip():
                problems.add((name,), REQUIRED)
        kind_problems(problems, kind, complete)
        columns = checked_columns(problems, complete, self._ring)
        if kind is SourceKind.SAML:
            columns.setdefault("client_id", "")  # our entity id: its default needs the id
        if problems:
            raise InvalidInput(problems)
        with self._database.write() as session:
            now = self._clock.now()
            source = stored.add_source(session, kind=kind.value, now=now, **columns)
            if kind is SourceKind.SAML and not source.client_id:
                default = sp_metadata_url(self._public_url, source.id)
                named = stored.update_source(session, source.id, now=now, client_id=default)
                if named is None:  # pragma: no cover - added just above, in this transaction
                    raise NotFound()
                source = named
            self._record(session, AuditKind.USER_SOURCE_CREATED, source, actor)
        return source

    def first_use(self, source: UserSource, assertion_id: str, expires_at: datetime) -> bool:
        """Note a SAML assertion as used; False if it was before (a replay: refuse it)."""
        with self._database.write() as session:
            return stored.first_use_of_assertion(
                session, source.id, assertion_id, expires_at=expires_at
            )

    def check(self, settings: SourceSettings) -> None:
        """Check the settings given, storing nothing (a form with a problem of its own shows
        every other field's at once).

        Raises:
            InvalidInput: per field.
        """
        problems = FieldErrors()
        checked_columns(problems, settings, self._ring)
        if problems:
            raise InvalidInput(problems)

    def list(self, *, enabled_only: bool = False) -> list[UserSource]:
        with self._database.read() as session:
            return stored.list_sources(session, enabled_only=enabled_only)

    def get(self, source_id: int) -> UserSource:
        with self._database.read() as session:
            source = stored.get_source(session, source_id)
        if source is None:
            raise NotFound()
        return source

    def linked_people(self, source_id: int) -> int:
        """How many people signed in through the source (whose access ends if it goes off)."""
        with self._database.read() as session:
            return len(stored.linked_people(session, source_id))

    def seal_pending(self, values: dict[str, str]) -> str:
        """A sign-in under way, sealed for the browser to carry (core.user_sources)."""
        return seal_pending(self._ring, values)

    def open_pending(self, sealed: str) -> dict[str, str] | None:
        return open_pending(self._ring, sealed)

    def client_secret(self, source: UserSource) -> str | None:
        """The source's client secret in clear (for the token request only; never log it)."""
        return open_client_secret(self._ring, source)

    def update(
        self, source_id: int, changes: SourceSettings, *, actor: PersonId | None = None
    ) -> UserSource:
        problems = FieldErrors()
        with self._database.write() as session:
            current = stored.get_source(session, source_id)
            if current is None:
                raise NotFound()
            if changes.client_id is not None and changes.client_secret is None:
                # The secret is bound to the client_id: a new client_id needs its secret anew.
                secret = open_client_secret(self._ring, current)
                changes = merged(changes, SourceSettings(client_secret=secret or ""))
            kind_problems(problems, current.kind, changes)
            columns = checked_columns(problems, changes, self._ring, current.client_id)
            if problems:
                raise InvalidInput(problems)
            source = stored.update_source(session, source_id, now=self._clock.now(), **columns)
            if source is None:  # pragma: no cover - read under the same lock just above
                raise NotFound()
            changed: dict[str, DetailValue] = {"fields": changed_names(current, columns)}
            self._record(session, AuditKind.USER_SOURCE_CHANGED, source, actor, changed)
            if current.is_enabled and not source.is_enabled:
                stored.end_access_of(
                    session, stored.linked_people(session, source.id), now=self._clock.now()
                )
        return source

    def delete(self, source_id: int, *, actor: PersonId | None = None) -> UserSource:
        """Remove a source: its people keep their records but cannot sign in until another
        source or an admin gives them a way; everything they held ends now."""
        with self._database.write() as session:
            people = stored.linked_people(session, source_id)
            source = stored.delete_source(session, source_id)
            if source is None:
                raise NotFound()
            stored.end_access_of(session, people, now=self._clock.now())
            self._record(session, AuditKind.USER_SOURCE_DELETED, source, actor)
        return source

    def resolve(
        self,
        source: UserSource,
        identity: ProviderIdentity,
        *,
        client_address: str | None = None,
    ) -> Person:
        """The person the provider vouched for, found, linked or created; the sign-in audited.

        Raises:
            SignInRefused: the answer names nobody who may sign in (the refusal is audited).
        """
        now = self._clock.now()
        try:
            with self._database.write() as session:
                fresh = stored.get_source(session, source.id)
                if fresh is None or not fresh.is_enabled:
                    raise SignInRefused("This sign-in method is switched off.")
                source = fresh
                person = self._find_or_create(session, source, identity)
                if person.is_disabled:
                    raise SignInRefused("Your account here is disabled.")
                person = self._apply_roles(session, source, identity, person)
                stored.note_sign_in(session, source.id, identity.subject, now=now)
                record(
                    session,
                    AuditKind.USER_SOURCE_SIGNED_IN,
                    self._clock,
                    actor=person.id,
                    subject=person.id,
                    client_address=client_address,
                    detail={
                        "source_id": source.id,
                        "source": source.title,
                        "subject": identity.subject,
                    },
                )
        except SignInRefused as refused:
            # Nothing of the refused sign-in was kept; the refusal itself is, on its own.
            with self._database.write() as session:
                self._refused(session, source, identity, refused.reason, client_address)
            raise
        return person

    def _find_or_create(
        self, session: Session, source: UserSource, identity: ProviderIdentity
    ) -> Person:
        if not identity.subject or len(identity.subject) > MAX_SUBJECT_LENGTH:
            raise SignInRefused("The identity provider named no usable subject.")
        linked = stored.linked_person(session, source.id, identity.subject)
        if linked is not None:
            person = stored_people.get_person(session, linked)
            if person is not None:
                return person
        email = normalize_email(identity.email or "")
        if not email or not is_valid_email(email):
            # Deskpro: an identity without an e-mail address signs nobody in (spec §8.2).
            raise SignInRefused("The identity provider sent no e-mail address.")
        existing = stored_people.find_person_by_email(session, email)
        now = self._clock.now()
        if existing is not None:
            if not (source.link_by_email and identity.email_verified):
                raise SignInRefused(
                    "An account with this e-mail address exists but is not linked to this"
                    " sign-in method; ask an admin."
                )
            stored.link(
                session,
                source_id=source.id,
                subject=identity.subject,
                person_id=existing.id,
                now=now,
            )
            if existing.identity_provider is None:
                # From now on the person signs in at the provider, never with a password here.
                existing = (
                    stored_people.update_person(
                        session, existing.id, now=now, identity_provider=source.identity_provider
                    )
                    or existing
                )
            return existing
        if not source.create_unknown:
            raise SignInRefused("You have no account here yet; ask an admin to add you.")
        roles = roles_from_groups(source, identity.groups)
        is_admin = roles.is_admin if roles else False
        is_agent = roles.is_agent if roles else source.offered_to is not OfferedTo.USERS
        name = " ".join((identity.name or "").split())[:200] or email.split("@")[0]
        first, last = split_name(name)
        person = stored_people.add_person(
            session,
            emails=[email],
            name=name,
            first_name=first,
            last_name=last,
            display_name=name,
            is_agent=is_agent,
            is_admin=is_admin,
            password_hash=None,
            identity_provider=source.identity_provider,
            timezone="UTC",
            language_id=1,
            phone=None,
            now=now,
        )
        stored.link(
            session, source_id=source.id, subject=identity.subject, person_id=person.id, now=now
        )
        record(
            session,
            AuditKind.PERSON_CREATED,
            self._clock,
            subject=person.id,
            detail={
                "is_agent": person.is_agent,
                "is_admin": person.is_admin,
                "source_id": source.id,
            },
        )
        return person

    def _apply_roles(
        self, session: Session, source: UserSource, identity: ProviderIdentity, person: Person
    ) -> Person:
        """With group mapping on, the provider's groups decide agent and admin at each sign-in."""
        roles = roles_from_groups(source, identity.groups)
        if roles is None or (roles.is_agent, roles.is_admin) == (person.is_agent, person.is_admin):
            return person
        now = self._clock.now()
        changed = stored_people.update_person(
            session, person.id, now=now, is_agent=roles.is_agent, is_admin=roles.is_admin
        )
        if changed is None:  # pragma: no cover - read in this transaction
            return person
        record(
            session,
            AuditKind.PERSON_CHANGED,
            self._clock,
            subject=person.id,
            detail={
                "changed": ["is_agent", "is_admin"],
                "is_agent": changed.is_agent,
                "is_admin": changed.is_admin,
                "source_id": source.id,
            },
        )
        record_change(session, ChangeKind.PERSON, person.id, now=now)
        return changed

    def refused(self, source: UserSource, reason: str, client_address: str | None) -> None:
        """Audit a provider answer that signed nobody in (a forged or stale token, an error)."""
        with self._database.write() as session:
            self._refused(session, source, None, reason, client_address)

    def _refused(
        self,
        session: Session,
        source: UserSource,
        identity: ProviderIdentity | None,
        reason: str,
        client_address: str | None,
    ) -> None:
        record(
            session,
            AuditKind.USER_SOURCE_REFUSED,
            self._clock,
            client_address=client_address,
            detail={
                "source_id": source.id,
                "source": source.title,
                "subject": identity.subject[:MAX_SUBJECT_LENGTH] if identity else None,
                "reason": reason[:200],
            },
        )

    def _record(
        self,
        session: Session,
        kind: AuditKind,
        source: UserSource,
        actor: PersonId | None,
        extra: dict[str, DetailValue] | None = None,
    ) -> None:
        detail: dict[str, DetailValue] = (extra or {}) | {
            "source_id": source.id,
            "kind": source.kind.value,
            "title": source.title,
            "issuer": source.issuer,
            "is_enabled": source.is_enabled,
            "offered_to": source.offered_to.value,
        }
        record(session, kind, self._clock, actor=actor, detail=detail)
