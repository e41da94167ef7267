"""ID token signing keys: at most one signing per algorithm, kept by a unique column.

``signing_algorithm`` holds the algorithm while a key signs and NULL once it is retired. Two
processes that each find no key and make one race on that unique value: one insert wins, the
other is refused, and the loser reads the winner's key (ADR 0039).
"""

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tessera.core.signing_keys import SigningAlgorithm, StoredSigningKey
from tessera.store.tables import SigningKeyRow


def _stored(row: SigningKeyRow) -> StoredSigningKey:
    return StoredSigningKey(
        id=row.id,
        kid=row.kid,
        algorithm=SigningAlgorithm(row.algorithm),
        public_jwk=dict(row.public_jwk),
        sealed=row.sealed,
        secret_key_version=row.secret_key_version,
        created_at=row.created_at,
        retired_at=row.retired_at,
        published_until=row.published_until,
    )


def signing_key(session: Session, algorithm: SigningAlgorithm) -> StoredSigningKey | None:
    """The key that signs with ``algorithm`` now, if there is one."""
    row = session.scalars(
        select(SigningKeyRow).where(SigningKeyRow.signing_algorithm == algorithm.value)
    ).first()
    return None if row is None else _stored(row)


def published_keys(session: Session, *, now: datetime) -> list[StoredSigningKey]:
    """What the JWKS holds: the signing keys, and retired ones whose tokens may still be valid."""
    rows = session.scalars(
        select(SigningKeyRow)
        .where(
            or_(SigningKeyRow.signing_algorithm.is_not(None), SigningKeyRow.published_until > now)
        )
        .order_by(SigningKeyRow.id.desc())
    )
    return [_stored(row) for row in rows]


def all_keys(session: Session) -> list[StoredSigningKey]:
    return [
        _stored(row) for row in session.scalars(select(SigningKeyRow).order_by(SigningKeyRow.id))
    ]


def add_signing_key(
    session: Session,
    *,
    kid: str,
    algorithm: SigningAlgorithm,
    public_jwk: dict[str, Any],
    sealed: bytes,
    secret_key_version: int,
    now: datetime,
) -> bool:
    """Add a key that signs from now on; False when another already signs with ``algorithm``.

    In a savepoint: the refused insert leaves the caller's transaction usable.
    """
    row = SigningKeyRow(
        kid=kid,
        algorithm=algorithm.value,
        signing_algorithm=algorithm.value,
        public_jwk=public_jwk,
        sealed=sealed,
        secret_key_version=secret_key_version,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return False
    return True


def retire_signing_key(
    session: Session, key_id: int, *, now: datetime, published_until: datetime
) -> bool:
    """Stop a key from signing (it stays published until then); False if it no longer signed.

    The row stays locked until the transaction ends: of two rotations at once, the second
    finds the key already retired and does nothing.
    """
    result = session.execute(
        update(SigningKeyRow)
        .where(SigningKeyRow.id == key_id, SigningKeyRow.signing_algorithm.is_not(None))
        .values(signing_algorithm=None, retired_at=now, published_until=published_until)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def sealed_under(session: Session, secret_key_version: int) -> list[StoredSigningKey]:
    """Every key (signing or retired) sealed under this server secret key version, locked
    until the transaction ends so that the re-sealing of ADR 0035 sees each one once."""
    rows = session.scalars(
        select(SigningKeyRow)
        .where(SigningKeyRow.secret_key_version == secret_key_version)
        .order_by(SigningKeyRow.id)
        .with_for_update()
    )
    return [_stored(row) for row in rows]


def reseal(session: Session, key_id: int, *, secret_key_version: int, sealed: bytes) -> None:
    """Store the same private key sealed under another server secret key version."""
    session.execute(
        update(SigningKeyRow)
        .where(SigningKeyRow.id == key_id)
        .values(sealed=sealed, secret_key_version=secret_key_version)
        .execution_options(synchronize_session=False)
    )
