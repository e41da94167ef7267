"""Engines and transactions for SQLite and PostgreSQL, within one budget of connections."""

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, QueuePool

from tessera.core.changes import CredentialChange
from tessera.core.errors import Unavailable
from tessera.store.changes import committed_changes

log = logging.getLogger(__name__)

_T = TypeVar("_T")

#: How long a caller waits for a pooled connection before ``Unavailable`` (SQLAlchemy's: 30 s).
DEFAULT_WAIT_SECONDS = 10.0
#: The credential check's own connections: a fifth of the budget, never more than this many.
HOT_CONNECTIONS_MAX = 4

#: Told, right after a write transaction commits, of the credential changes it recorded.
CommitListener = Callable[[list[CredentialChange]], None]


def normalize_url(url: str) -> str:
    """Accept the plain ``postgresql://`` form and use psycopg 3 for it."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


@dataclass(frozen=True, slots=True)
class ConnectionBudget:
    """The most connections one process opens to PostgreSQL, and how they are shared (ADR 0021).

    ``hot`` of them serve the credential check's reads, without a pre-ping (ADR 0014); the
    other ``main`` ones serve everything else. Neither pool overflows, so together they never
    pass ``total``. A caller finding its pool's connections all busy waits ``wait_seconds`` for
    one, then gets ``Unavailable``.
    """

    total: int
    wait_seconds: float = DEFAULT_WAIT_SECONDS

    def __post_init__(self) -> None:
        if self.total < 1 or self.wait_seconds <= 0:
            raise ValueError("a budget holds at least one connection and waits a while for it")

    @property
    def hot(self) -> int:
        # Two or three are busy at once (a shared read per credential kind, the refresher); a
        # budget under five keeps them all in one pool rather than leave the main one short.
        return min(HOT_CONNECTIONS_MAX, self.total // 5)

    @property
    def main(self) -> int:
        return self.total - self.hot


def make_engine(
    url: str, *, pool_size: int = 10, wait_seconds: float = DEFAULT_WAIT_SECONDS
) -> Engine:
    """An engine; on PostgreSQL, a pool of at most ``pool_size`` connections, pre-pinged."""
    url = normalize_url(url)
    if is_sqlite(url):
        # Parameters never reach logs or error messages: they include digests and hashes.
        engine = create_engine(url, connect_args={"check_same_thread": False}, hide_parameters=True)
        _configure_sqlite(engine)
        return engine
    return _postgresql_engine(url, pool_size, pre_ping=True, wait_seconds=wait_seconds)


def _postgresql_engine(url: str, size: int, *, pre_ping: bool, wait_seconds: float) -> Engine:
    # No overflow: a connection beyond ``size`` would break the budget, and overflow ones are
    # closed whenever the pool has enough idle ones, so an uneven load reconnects (ADR 0015).
    return create_engine(
        url,
        pool_size=size,
        max_overflow=0,
        pool_timeout=wait_seconds,
        pool_pre_ping=pre_ping,
        connect_args=_application_name(url),
        hide_parameters=True,
    )


def _application_name(url: str) -> dict[str, str]:
    """Name this process's connections in ``pg_stat_activity``, unless the URL names them."""
    if "application_name" in make_url(url).query:
        return {}
    return {"application_name": f"tessera-{os.getpid()}"}


def open_database(url: str, budget: ConnectionBudget) -> "Database":
    """The database at ``url``; on PostgreSQL, never more than ``budget.total`` connections."""
    if is_sqlite(normalize_url(url)):
        return Database(make_engine(url))
    engine = make_engine(url, pool_size=budget.main, wait_seconds=budget.wait_seconds)
    hot = None
    if budget.hot:
        hot = _postgresql_engine(
            normalize_url(url), budget.hot, pre_ping=False, wait_seconds=budget.wait_seconds
        )
    return Database(engine, hot=hot)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 10000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take the write lock up front: two deferred transactions that both read and
        # then write would otherwise fail with "database is locked" instead of waiting.
        mode = connection.get_execution_options().get("tessera_sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """Short transactions on one engine: ``read()`` for lookups, ``write()`` for changes.

    Every way in waits for a pooled connection at most the engine's pool timeout; a caller
    still without one gets ``Unavailable`` (503 on the web), never an endless wait.
    """

    def __init__(self, engine: Engine, *, hot: Engine | None = None) -> None:
        self.engine = engine
        self._readers = sessionmaker(engine, expire_on_commit=False)
        writer_engine = engine.execution_options(tessera_sqlite_begin="IMMEDIATE")
        self._writers = sessionmaker(writer_engine, expire_on_commit=False)
        self._commit_listeners: list[CommitListener] = []
        event.listen(self._writers, "after_commit", self._after_commit)
        # A single-statement read needs no transaction: on PostgreSQL, autocommit saves the
        # BEGIN and ROLLBACK round trips of every credential check.
        self._autocommit = (
            engine.execution_options(isolation_level="AUTOCOMMIT")
            if engine.dialect.name == "postgresql"
            else engine
        )
        #: PostgreSQL: the engine whose pool serves ``hot_read`` without a pre-ping (None: the
        #: main pool serves it, as on SQLite, where there is no round trip to save).
        self._hot = hot
        # After a restart every idle hot connection is dead: one attempt more than it holds
        # (the main pool's pre-ping finds dead ones first: one more attempt is plenty there).
        held = hot.pool.size() if hot is not None and isinstance(hot.pool, QueuePool) else 1
        self._hot_attempts = 1 + held
        # Hot statements are compiled by the main engine's dialect, which learns the server's
        # version and settings on its pool's first connection (SQLAlchemy's own listener runs
        # first); until then, the first hot read makes it connect once.
        self._dialect_ready = hot is None
        event.listen(engine.pool, "connect", self._on_main_dialect_ready, once=True)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with _unavailable_when_exhausted(), self._readers() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits when the block ends normally, before anything is returned."""
        with _unavailable_when_exhausted(), self._writers.begin() as session:
            yield session

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A bare connection for short Core reads, checked by a pre-ping when taken."""
        with _unavailable_when_exhausted(), self._autocommit.connect() as connection:
            yield connection

    def hot_read(self, read: Callable[[Connection], _T]) -> _T:
        """Run an idempotent read on a pooled connection taken without a pre-ping.

        The per-request credential check's path (ADR 0014): a pre-ping is a round trip on
        every checkout, a third of a cold check. A connection found dead instead (PostgreSQL
        restarted, its backend terminated) fails the statement; SQLAlchemy invalidates it (it
        reconnects on its next use) and the read runs again, on the next connection: after a
        restart each idle one fails once, so there is one attempt more than the pool holds,
        and the caller sees an answer, not an error. A database still down fails the last
        attempt too, and that error is raised. The pool is never disposed for this: the
        connections other threads hold would return to a pool nobody uses and stay open,
        beyond the budget, until the garbage collector closed them.
        """
        with _unavailable_when_exhausted():
            for _ in range(self._hot_attempts - 1):
                try:
                    with self._hot_connection() as connection:
                        return read(connection)
                except DBAPIError as error:
                    if not error.connection_invalidated:
                        raise
            with self._hot_connection() as connection:
                return read(connection)

    def _hot_connection(self) -> Connection:
        if self._hot is None:
            return self._autocommit.connect()
        if not self._dialect_ready:
            self._autocommit.connect().close()
            self._dialect_ready = True
        # A connection of the unpinged pool, driven through the main engine: the same dialect,
        # options and event listeners as every other statement (tests count SELECTs by them).
        return Connection(self._autocommit, connection=self._hot.raw_connection())

    def _on_main_dialect_ready(self, *_: object) -> None:
        self._dialect_ready = True

    def on_changes_committed(self, listener: CommitListener) -> None:
        """Call ``listener`` after each commit that recorded credential changes (any thread)."""
        self._commit_listeners.append(listener)

    def _after_commit(self, session: Session) -> None:
        changes = committed_changes(session)
        if changes:
            for listener in self._commit_listeners:
                listener(changes)

    def dispose(self) -> None:
        self.engine.dispose()
        if self._hot is not None:
            self._hot.dispose()


@contextmanager
def _unavailable_when_exhausted() -> Iterator[None]:
    """Turn the pool's timeout (every connection busy for the whole wait) into ``Unavailable``."""
    try:
        yield
    except PoolTimeout as error:
        log.warning(
            "no database connection came free in time: the caller is told to try again"
            " (this process's connection budget is too small for its load, or the database slow)"
        )
        raise Unavailable() from error
