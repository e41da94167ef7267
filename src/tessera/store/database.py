"""Engines and transactions for SQLite and PostgreSQL."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, QueuePool

from tessera.core.changes import CredentialChange
from tessera.store.changes import committed_changes

_T = TypeVar("_T")

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


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    url = normalize_url(url)
    # Parameters never reach logs or error messages: they include digests and hashes.
    options: dict[str, Any] = {"hide_parameters": True}
    if is_sqlite(url):
        engine = create_engine(url, connect_args={"check_same_thread": False}, **options)
        _configure_sqlite(engine)
        return engine
    return create_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, **options
    )


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
    """Short transactions on one engine: ``read()`` for lookups, ``write()`` for changes."""

    def __init__(self, engine: Engine) -> None:
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
        #: PostgreSQL: the pool of ``hot_read``'s connections (None: SQLite, nothing to lose).
        self._hot_pool = _without_pre_ping(engine)
        self._dialect_ready = self._hot_pool is None

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._readers() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits when the block ends normally, before anything is returned."""
        with self._writers.begin() as session:
            yield session

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A bare connection for short Core reads, checked by a pre-ping when taken."""
        with self._autocommit.connect() as connection:
            yield connection

    def hot_read(self, read: Callable[[Connection], _T]) -> _T:
        """Run an idempotent read on a pooled connection taken without a pre-ping.

        The per-request credential check's path (ADR 0014): a pre-ping is a round trip on
        every checkout, a third of a cold check. A connection found dead instead (PostgreSQL
        restarted, its backend terminated) fails the statement; SQLAlchemy invalidates it, the
        idle connections of the hot pool are closed (after a restart they are all dead), and
        the read runs once more on a fresh connection: the caller sees an answer, not an error.
        A database still down fails the retry too, and that error is raised.
        """
        try:
            with self._hot_connection() as connection:
                return read(connection)
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
        if self._hot_pool is not None:
            self._hot_pool.dispose()
        with self._hot_connection() as connection:
            return read(connection)

    def _hot_connection(self) -> Connection:
        if self._hot_pool is None:
            return self._autocommit.connect()
        if not self._dialect_ready:
            # Statements are compiled by the main engine's dialect, which learns the server's
            # version and settings on its engine's first connection: make sure it had one.
            self._autocommit.connect().close()
            self._dialect_ready = True
        # A connection of the unpinged pool, driven through the main engine: the same dialect,
        # options and event listeners as every other statement (tests count SELECTs by them).
        return Connection(self._autocommit, connection=self._hot_pool.raw_connection())

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
        if self._hot_pool is not None:
            self._hot_pool.dispose()


def _without_pre_ping(engine: Engine) -> Engine | None:
    """PostgreSQL: an engine whose pool serves ``hot_read`` without pre-ping; else None.

    Only its pool is used: pre-ping is a setting of the whole pool, so the hot path needs one
    of its own. As many connections as ``engine`` keeps, no overflow (a thread beyond waits for
    one, briefly: a read holds it for one statement); opened only when used, and the shared
    reads of ``verify_async`` use one or two.
    """
    if engine.dialect.name != "postgresql":
        return None
    pool = engine.pool
    size = pool.size() if isinstance(pool, QueuePool) else 10
    return create_engine(engine.url, pool_size=size, max_overflow=0, pool_pre_ping=False)
