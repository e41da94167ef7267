"""Last-used times and addresses, written in batches off the request path."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from tessera.store.tables import ApiKeyRow, ApiTokenRow, UtcDateTime


@dataclass(frozen=True, slots=True)
class LastUse:
    credential_id: int
    at: datetime
    address: str | None


def write_last_used(
    session: Session, *, keys: Sequence[LastUse], tokens: Sequence[LastUse]
) -> None:
    """One executemany UPDATE per table; a later flush never moves a time backwards."""
    for table, uses in ((ApiKeyRow, keys), (ApiTokenRow, tokens)):
        if not uses:
            continue
        at = bindparam("at", type_=UtcDateTime())
        statement = (
            update(table)
            .where(table.id == bindparam("row_id"))
            .where(table.last_used_at.is_(None) | (table.last_used_at < at))
            .values(last_used_at=at, last_used_address=bindparam("address"))
            .execution_options(synchronize_session=False)
        )
        session.connection().execute(
            statement,
            [{"row_id": use.credential_id, "at": use.at, "address": use.address} for use in uses],
        )
