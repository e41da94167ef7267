"""Loading one row by id, for any id a caller may send."""

from typing import TypeVar

from sqlalchemy.orm import Session

from tessera.store.tables import Base

RowT = TypeVar("RowT", bound=Base)

#: Ids are 64-bit signed integers on PostgreSQL (and SQLite).
MAX_ID = 2**63 - 1


def row_by_id(
    session: Session, table: type[RowT], row_id: int, *, for_update: bool = False
) -> RowT | None:
    """The row with this id, or None; an id no column can hold names nothing (no query)."""
    if not 1 <= row_id <= MAX_ID:
        return None
    return session.get(table, row_id, with_for_update=for_update)
