"""The first-run setup link's code, by keyed digest."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from tessera.store.tables import SetupCodeRow


def replace_setup_code(
    session: Session, *, code_digest: bytes, now: datetime, expires_at: datetime
) -> None:
    """A new link; every earlier one stops working."""
    session.execute(delete(SetupCodeRow))
    session.add(SetupCodeRow(code_digest=code_digest, created_at=now, expires_at=expires_at))
    session.flush()


def is_live(session: Session, code_digests: Sequence[bytes], *, now: datetime) -> bool:
    found = session.scalar(
        select(SetupCodeRow.id).where(
            SetupCodeRow.code_digest.in_(code_digests),
            SetupCodeRow.used_at.is_(None),
            SetupCodeRow.expires_at > now,
        )
    )
    return found is not None


def spend(session: Session, code_digests: Sequence[bytes], *, now: datetime) -> bool:
    """Use the code once: of two concurrent uses, exactly one gets True."""
    result = session.connection().execute(
        update(SetupCodeRow)
        .where(
            SetupCodeRow.code_digest.in_(code_digests),
            SetupCodeRow.used_at.is_(None),
            SetupCodeRow.expires_at > now,
        )
        .values(used_at=now)
    )
    return result.rowcount == 1
