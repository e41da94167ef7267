"""Magic sign-in links, by keyed digest of their code (ADR 0048)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tessera.core.ids import PersonId
from tessera.store.tables import MagicLinkRow


@dataclass(frozen=True, slots=True)
class TakenLink:
    id: int
    person_id: PersonId
    target: str


def add_magic_link(
    session: Session,
    *,
    code_digest: bytes,
    person_id: PersonId,
    target: str,
    now: datetime,
    expires_at: datetime,
) -> int:
    """Store a new link, its id. The person's earlier links still work until they expire."""
    row = MagicLinkRow(
        code_digest=code_digest,
        person_id=person_id,
        target=target,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return row.id


def is_live(session: Session, code_digests: Sequence[bytes], *, now: datetime) -> bool:
    """Whether the code names a link that is neither used nor expired (reads only)."""
    found = session.scalar(
        select(MagicLinkRow.id).where(
            MagicLinkRow.code_digest.in_(code_digests),
            MagicLinkRow.used_at.is_(None),
            MagicLinkRow.expires_at > now,
        )
    )
    return found is not None


def take_magic_link(
    session: Session, code_digests: Sequence[bytes], *, now: datetime
) -> TakenLink | None:
    """Use a live link once: of two concurrent uses, exactly one gets it."""
    row = session.execute(
        select(MagicLinkRow.id, MagicLinkRow.person_id, MagicLinkRow.target).where(
            MagicLinkRow.code_digest.in_(code_digests),
            MagicLinkRow.used_at.is_(None),
            MagicLinkRow.expires_at > now,
        )
    ).first()
    if row is None:
        return None
    # Conditional on still unused: the second of two racing uses updates nothing.
    taken = session.connection().execute(
        update(MagicLinkRow)
        .where(MagicLinkRow.id == row.id, MagicLinkRow.used_at.is_(None))
        .values(used_at=now)
    )
    if taken.rowcount != 1:
        return None
    return TakenLink(id=row.id, person_id=PersonId(row.person_id), target=row.target)
