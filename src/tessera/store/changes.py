"""The change table: credential changes written with the change, read back by every process.

``record_change`` takes the caller's session on purpose: the row commits with the revocation
(or edit) it announces, or not at all, so a process that dies right after committing loses
nothing. It also remembers the change on the session, so that ``Database`` can hand it to this
process's listeners the moment the transaction commits (``committed_changes``).
"""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, func, select, text
from sqlalchemy.orm import Session

from tessera.core.changes import ChangeKind, CredentialChange
from tessera.store.id_lists import among_ids
from tessera.store.tables import CredentialChangeRow

_PENDING = "tessera_credential_changes"
_TABLE = CredentialChangeRow.__table__


def record_change(
    session: Session, kind: ChangeKind, subject_id: int, *, now: datetime
) -> CredentialChange:
    change = CredentialChange(kind, subject_id)
    session.add(CredentialChangeRow(kind=kind.value, subject_id=subject_id, created_at=now))
    session.info.setdefault(_PENDING, []).append(change)
    return change


def record_changes(
    session: Session, kind: ChangeKind, subject_ids: Sequence[int], *, now: datetime
) -> None:
    for subject_id in subject_ids:
        record_change(session, kind, subject_id, now=now)


def committed_changes(session: Session) -> list[CredentialChange]:
    """The changes recorded in the session's transaction, taken (each is handed over once)."""
    pending: list[CredentialChange] = session.info.pop(_PENDING, [])
    return pending


def forget_changes(session: Session) -> None:
    """A rolled-back transaction announced nothing."""
    session.info.pop(_PENDING, None)


def changes_after(
    connection: Connection, last_id: int, *, also: Sequence[int] = (), limit: int
) -> list[tuple[int, CredentialChange]]:
    """Rows with an id above ``last_id`` (and the ids in ``also``), oldest first, at most
    ``limit``.

    One indexed range read on the primary key: what every process runs a few times a second.
    The ids in ``also`` (holes below the cursor, rows still in flight) are a second read by
    primary key: in one ``OR``, SQLite scans the whole table in id order instead.
    """
    columns = select(_TABLE.c.id, _TABLE.c.kind, _TABLE.c.subject_id)
    rows = list(
        connection.execute(columns.where(_TABLE.c.id > last_id).order_by(_TABLE.c.id).limit(limit))
    )
    if also:
        # Ids still in flight, as many as there are: one parameter (store/id_lists.py).
        in_flight = columns.where(among_ids(_TABLE.c.id, also, connection.dialect.name))
        rows = sorted([*connection.execute(in_flight), *rows], key=lambda row: row.id)[:limit]
    return [(row.id, _change(row.kind, row.subject_id)) for row in rows]


def newest_ids(connection: Connection) -> tuple[int, int]:
    """The largest id committed, and the largest ever handed out (pruned or in flight).

    The second is read from the id sequence: after pruning, the table alone would not tell.
    """
    newest = int(connection.execute(select(func.max(_TABLE.c.id))).scalar() or 0)
    if connection.dialect.name == "sqlite":
        sequence = "SELECT seq FROM sqlite_sequence WHERE name = 'credential_changes'"
    else:
        sequence = (
            "SELECT pg_sequence_last_value(pg_get_serial_sequence('credential_changes', 'id'))"
        )
    issued = connection.execute(text(sequence)).scalar()
    return newest, max(newest, int(issued or 0))


def _change(kind: str, subject_id: int) -> CredentialChange:
    try:
        return CredentialChange(ChangeKind(kind), subject_id)
    except ValueError:
        # Written by a newer release that knows a kind this one does not: be safe.
        return CredentialChange(ChangeKind.EVERYTHING)
