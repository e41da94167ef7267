"""Client assertions already used: each ``jti`` once per client, until it expires (ADR 0052)."""

from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tessera.store.tables import Base, OAuthClientAssertionRow

_ASSERTIONS = Base.metadata.tables[OAuthClientAssertionRow.__tablename__]


def use_once(session: Session, client_id: int, jti_digest: bytes, *, expires_at: datetime) -> bool:
    """Remember this ``jti`` for the client; False when it was already used.

    One statement that inserts or does nothing, on the unique (client, jti) pair: of two
    requests presenting the same assertion at once, on any process, exactly one inserts (on
    PostgreSQL the second waits for the first's transaction, then finds the row). It stays in
    the caller's transaction, which commits even when the request is answered with an error, so
    an assertion spent on a refused request stays spent.
    """
    dialect = session.get_bind().dialect.name
    build = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        build(_ASSERTIONS)
        .values(client_id=client_id, jti_digest=jti_digest, expires_at=expires_at)
        .on_conflict_do_nothing(index_elements=[_ASSERTIONS.c.client_id, _ASSERTIONS.c.jti_digest])
        # A row comes back only when one was inserted (psycopg reports no rowcount here).
        .returning(_ASSERTIONS.c.id)
    )
    session.flush()
    return session.connection().execute(statement).first() is not None
