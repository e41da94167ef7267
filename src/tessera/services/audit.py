"""The audit trail: recorded by the other services inside their own transactions, read by admins.

``record`` takes the caller's session on purpose: an event commits with the change it describes
or not at all, so the trail never claims a change that was rolled back, nor misses one that was
made. Each event goes to the ``tessera.audit`` log as well, for operators who ship logs.
"""

import logging
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy.orm import Session

from tessera.core.audit import (
    AuditEvent,
    AuditFilters,
    AuditKind,
    CredentialKind,
    DetailValue,
    window_key,
)
from tessera.core.clock import Clock
from tessera.core.ids import PersonId
from tessera.core.paging import Page, PageRequest
from tessera.core.people import Person
from tessera.store import audit as stored
from tessera.store.database import Database

audit_log = logging.getLogger("tessera.audit")

#: Events deleted per transaction when pruning: bounded so that no prune holds a long lock.
PRUNE_BATCH = 5000


def record(
    session: Session,
    kind: AuditKind,
    clock: Clock,
    *,
    actor: PersonId | None = None,
    subject: PersonId | None = None,
    credential_kind: CredentialKind | None = None,
    credential_id: int | None = None,
    client_address: str | None = None,
    detail: dict[str, DetailValue] | None = None,
) -> AuditEvent:
    """Append an event in the caller's transaction, and log it. Never pass a secret here."""
    event = stored.add_event(
        session,
        kind=kind.value,
        now=clock.now(),
        actor=actor,
        subject=subject,
        credential_kind=credential_kind,
        credential_id=credential_id,
        client_address=client_address,
        detail=detail,
    )
    audit_log.info(
        kind.value,
        extra={
            "audit_event_id": event.id,
            "actor_person_id": actor,
            "subject_person_id": subject,
            "credential_kind": credential_kind.value if credential_kind else None,
            "credential_id": credential_id,
            "client_address": client_address,
            "detail": event.detail,
        },
    )
    return event


def count_repeat(
    session: Session,
    kind: AuditKind,
    clock: Clock,
    *,
    subject: PersonId | None,
    client_address: str | None,
) -> int:
    """Count one more of an event that may come in floods; how many in its window so far.

    One row per kind, subject, address and window (``core.audit.window_key``) holds the count,
    so a storm cannot grow the trail by a row per attempt. The log hears of the window's first
    one only, for the same reason.
    """
    now = clock.now()
    key = window_key(kind, now, subject, client_address)
    event_id, attempts = stored.count_repeated_event(
        session, kind=kind.value, key=key, now=now, subject=subject, client_address=client_address
    )
    if attempts == 1:
        audit_log.info(
            kind.value,
            extra={
                "audit_event_id": event_id,
                "subject_person_id": subject,
                "client_address": client_address,
                "detail": {"attempts": 1},
            },
        )
    return attempts


def record_person_change(
    session: Session,
    clock: Clock,
    before: Person,
    after: Person,
    columns: Iterable[str],
    actor: PersonId | None,
) -> None:
    """Disabling and enabling are events of their own; any other change names its fields.

    Only field names are recorded, never values: a password hash or an address is no business
    of the audit trail.
    """
    if before.is_disabled != after.is_disabled:
        kind = AuditKind.PERSON_DISABLED if after.is_disabled else AuditKind.PERSON_ENABLED
        record(session, kind, clock, actor=actor, subject=after.id)
    names = {"password" if c == "password_hash" else c for c in columns if c != "is_disabled"}
    if names:
        detail: dict[str, DetailValue] = {"fields": sorted(names)}
        record(
            session, AuditKind.PERSON_CHANGED, clock, actor=actor, subject=after.id, detail=detail
        )


class AuditService:
    def __init__(self, database: Database, clock: Clock, retention: timedelta) -> None:
        self._database = database
        self._clock = clock
        self.retention = retention

    def list(self, filters: AuditFilters, page: PageRequest) -> Page[AuditEvent]:
        with self._database.read() as session:
            items, total = stored.list_events(
                session, filters, offset=page.offset, limit=page.per_page
            )
        return Page(items, total, page)

    def prune(self, *, max_batches: int | None = None) -> int:
        """Delete events older than the retention period, in batches; the number deleted.

        ``max_batches`` bounds one call's work (the server prunes a little every hour); None
        keeps going until nothing old is left (the CLI).
        """
        cutoff = self._clock.now() - self.retention
        deleted, batches = 0, 0
        while max_batches is None or batches < max_batches:
            with self._database.write() as session:
                count = stored.prune_events(session, older_than=cutoff, limit=PRUNE_BATCH)
            deleted += count
            batches += 1
            if count < PRUNE_BATCH:
                break
        return deleted
