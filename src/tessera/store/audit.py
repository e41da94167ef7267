"""Audit events: appended inside the transaction of the change they describe, listed, pruned."""

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tessera.core.audit import AuditEvent, AuditFilters, CredentialKind, DetailValue
from tessera.core.ids import PersonId
from tessera.store.tables import AuditEventRow, Base

_EVENTS = Base.metadata.tables[AuditEventRow.__tablename__]
#: Built once: every audited use case runs it.
_ADD_EVENT = insert(_EVENTS).returning(_EVENTS.c.id)


def _detail(row: AuditEventRow) -> dict[str, DetailValue]:
    """The stored detail; a repeated event's count and latest time are part of it when read."""
    detail: dict[str, DetailValue] = dict(row.detail or {})
    if row.window_key is not None:
        detail["attempts"] = row.attempts
        last = row.last_occurred_at or row.occurred_at
        detail["last_attempt_at"] = last.isoformat().replace("+00:00", "Z")
    return detail


def _event(row: AuditEventRow) -> AuditEvent:
    return AuditEvent(
        id=row.id,
        occurred_at=row.occurred_at,
        kind=row.kind,
        actor_person_id=PersonId(row.actor_person_id) if row.actor_person_id is not None else None,
        subject_person_id=(
            PersonId(row.subject_person_id) if row.subject_person_id is not None else None
        ),
        credential_kind=CredentialKind(row.credential_kind) if row.credential_kind else None,
        credential_id=row.credential_id,
        client_address=row.client_address,
        detail=_detail(row),
    )


def add_event(
    session: Session,
    *,
    kind: str,
    now: datetime,
    actor: PersonId | None = None,
    subject: PersonId | None = None,
    credential_kind: CredentialKind | None = None,
    credential_id: int | None = None,
    client_address: str | None = None,
    detail: dict[str, DetailValue] | None = None,
) -> AuditEvent:
    # Anything the caller left pending goes first, as the ORM's own flush would order it.
    session.flush()
    # Core, not the ORM unit of work: every audited use case pays for this INSERT.
    values: dict[str, Any] = {
        "occurred_at": now,
        "kind": kind,
        "actor_person_id": actor,
        "subject_person_id": subject,
        "credential_kind": credential_kind.value if credential_kind is not None else None,
        "credential_id": credential_id,
        "client_address": client_address[:64] if client_address else None,
        "detail": dict(detail or {}),
    }
    event_id = session.connection().execute(_ADD_EVENT, values).scalar_one()
    return AuditEvent(
        id=event_id,
        occurred_at=now,
        kind=kind,
        actor_person_id=actor,
        subject_person_id=subject,
        credential_kind=credential_kind,
        credential_id=credential_id,
        client_address=values["client_address"],
        detail=values["detail"],
    )


def count_repeated_event(
    session: Session,
    *,
    kind: str,
    key: str,
    now: datetime,
    subject: PersonId | None,
    client_address: str | None,
) -> tuple[int, int]:
    """One more repeat of the event of ``key``: its row made, or its count raised; (id, count).

    One statement, ``INSERT … ON CONFLICT (window_key) DO UPDATE``: the database settles any
    race, so two processes counting the same window at once leave one row and lose no count.
    """
    dialect = session.get_bind().dialect.name
    build = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = build(_EVENTS).values(
        occurred_at=now,
        kind=kind,
        actor_person_id=None,
        subject_person_id=subject,
        client_address=client_address[:64] if client_address else None,
        detail={},
        window_key=key,
        attempts=1,
        last_occurred_at=now,
    )
    upsert = statement.on_conflict_do_update(
        index_elements=[_EVENTS.c.window_key],
        set_={
            "attempts": _EVENTS.c.attempts + 1,
            "last_occurred_at": statement.excluded.last_occurred_at,
        },
    ).returning(_EVENTS.c.id, _EVENTS.c.attempts)
    session.flush()
    row = session.connection().execute(upsert).one()
    return int(row.id), int(row.attempts)


def _conditions(filters: AuditFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.person_id is not None:
        # "Events about or by this person": what an admin looking at one person wants.
        conditions.append(
            or_(
                AuditEventRow.subject_person_id == filters.person_id,
                AuditEventRow.actor_person_id == filters.person_id,
            )
        )
    if filters.kind is not None:
        conditions.append(AuditEventRow.kind == filters.kind)
    if filters.since is not None:
        conditions.append(AuditEventRow.occurred_at >= filters.since)
    if filters.until is not None:
        conditions.append(AuditEventRow.occurred_at < filters.until)
    return conditions


def list_events(
    session: Session, filters: AuditFilters, *, offset: int, limit: int
) -> tuple[list[AuditEvent], int]:
    """Newest first (by id: events are appended in commit order within a clock tick)."""
    conditions = _conditions(filters)
    total: Any = session.scalar(select(func.count()).select_from(AuditEventRow).where(*conditions))
    rows = session.scalars(
        select(AuditEventRow)
        .where(*conditions)
        .order_by(AuditEventRow.occurred_at.desc(), AuditEventRow.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [_event(row) for row in rows], int(total or 0)


def prune_events(session: Session, *, older_than: datetime, limit: int) -> int:
    """Delete at most ``limit`` events older than ``older_than``; the number deleted.

    Bounded, so that pruning a long-neglected trail never holds one huge transaction.
    """
    # In no order: ordered by id, the trail is scanned whole instead of by its time index.
    ids = (
        select(AuditEventRow.id)
        .where(AuditEventRow.occurred_at < older_than)
        .limit(limit)
        .scalar_subquery()
    )
    result = session.execute(delete(AuditEventRow).where(AuditEventRow.id.in_(ids)))
    return int(getattr(result, "rowcount", 0) or 0)


def list_events_about(
    session: Session, person_id: PersonId, kinds: Collection[str], *, limit: int
) -> list[AuditEvent]:
    """The newest events of these kinds whose subject is the person (their sign-ins, say)."""
    rows = session.scalars(
        select(AuditEventRow)
        .where(AuditEventRow.subject_person_id == person_id, AuditEventRow.kind.in_(kinds))
        .order_by(AuditEventRow.occurred_at.desc(), AuditEventRow.id.desc())
        .limit(limit)
    )
    return [_event(row) for row in rows]
