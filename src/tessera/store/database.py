"""Engines and transactions for SQLite and PostgreSQL, within one budget of connections."""

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, QueuePool

from tessera.core.changes import CredentialChange
from tessera.core.errors import DatabaseUnavailable, Unavailable
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


@dataclass(frozen=True, slots=True)
class PostgresTimeouts:
    """How long the server waits on PostgreSQL, so that a slow or stuck database gets an
    answer (503) instead of holding requests (issue #16). None: PostgreSQL's own (no limit).

    Set per connection of the server's pools only: ``tessera migrate`` has none, and an
    automatic migration lifts them for its own transaction (``schema.upgrade``).
    """

    connect_seconds: int | None = 5
    statement_seconds: float | None = 15.0
    lock_seconds: float | None = 5.0

    def connect_args(
        self, url_options: str | tuple[str, ...] | None = None
    ) -> dict[str, str | int]:
        """psycopg's arguments; ``url_options``: the URL's own ``options`` (a search path, say),
        kept, since connection arguments replace the URL's parameters of the same name."""
        args: dict[str, str | int] = {}
        if self.connect_seconds is not None:
            args["connect_timeout"] = self.connect_seconds
        if isinstance(url_options, tuple):
            url_options = " ".join(url_options)
        options = [url_options] if url_options else []
        if self.statement_seconds is not None:
            options.append(f"-c statement_timeout={round(self.statement_seconds * 1000)}")
        if self.lock_seconds is not None:
            options.append(f"-c lock_timeout={round(self.lock_seconds * 1000)}")
        if options:
            args["options"] = " ".join(options)
        return args


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


def _postgresql_engine(
    url: str,
    size: int,
    *,
    pre_ping: bool,
    wait_seconds: float,
    timeouts: PostgresTimeouts | None = None,
) -> Engine:
    # No overflow: a connection beyond ``size`` would break the budget, and overflow ones are
    # closed whenever the pool has enough idle ones, so an uneven load reconnects (ADR 0015).
    connect_args: dict[str, str | int] = {**_application_name(url)}
    if timeouts is not None:
        connect_args.update(timeouts.connect_args(make_url(url).query.get("options")))
    return create_engine(
        url,
        pool_size=size,
        max_overflow=0,
        pool_timeout=wait_seconds,
        pool_pre_ping=pre_ping,
        connect_args=connect_args,
        hide_parameters=True,
    )


def _application_name(url: str) -> dict[str, str]:
    """Name this process's connections in ``pg_stat_activity``, unless the URL names them."""
    if "application_name" in make_url(url).query:
        return {}
    return {"application_name": f"tessera-{os.getpid()}"}


def open_database(
    url: str, budget: ConnectionBudget, timeouts: PostgresTimeouts | None = None
) -> "Database":
    """The database at ``url``; on PostgreSQL, never more than ``budget.total`` connections,
    each with ``timeouts`` (PostgreSQL's defaults when None)."""
    url = normalize_url(url)
    if is_sqlite(url):
        return Database(make_engine(url))
    engine = _postgresql_engine(
        url, budget.main, pre_ping=True, wait_seconds=budget.wait_seconds, timeouts=timeouts
    )
    hot = None
    if budget.hot:
        hot = _postgresql_engine(
            url, budget.hot, pre_ping=False, wait_seconds=budget.wait_seconds, timeouts=timeouts
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
        self._outage = _Outage()

    @property
    def unreachable_since(self) -> float | None:
        """When (``time.monotonic()``) the database stopped answering; None while it answers."""
        return self._outage.since

    def _answers(self) -> "AbstractContextManager[None]":
        return _unavailable_when_unreachable(self._outage)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._answers(), self._readers() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits when the block ends normally, before anything is returned."""
        with self._answers(), self._writers.begin() as session:
            yield session

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A bare connection for short Core reads, checked by a pre-ping when taken."""
        with self._answers(), self._autocommit.connect() as connection:
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
        with self._answers():
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
        driver_error = self._hot.dialect.loaded_dbapi.Error
        try:
            raw = self._hot.raw_connection()
        except driver_error as error:
            # As ``engine.connect()`` would raise it: wrapped, so callers see one kind of error.
            raise DBAPIError.instance(None, None, error, driver_error) from error
        return Connection(self._autocommit, connection=raw)

    def _on_main_dialect_ready(self, *_: object) -> None:
        self._dialect_ready = True

    def pool_use(self) -> dict[str, tuple[int, int]]:
        """Each pool's connections checked out and the most it holds: ``main``, and ``hot``
        when the credential check has its own (SQLite in memory has no such pool: none)."""
        use = {}
        for name, engine in (("main", self.engine), ("hot", self._hot)):
            pool = engine.pool if engine is not None else None
            if isinstance(pool, QueuePool):
                use[name] = (pool.checkedout(), pool.size())
        return use

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


#: SQLite's ``OperationalError`` covers bugs too ("no such column", syntax): only these
#: messages mean the file cannot be used now (locked past the busy timeout, disk full or
#: failing, read-only, gone).
_SQLITE_UNAVAILABLE = ("locked", "disk", "full", "readonly", "read-only", "unable to open")


def _means_unreachable(error: DBAPIError) -> bool:
    """Whether a driver error says the database cannot serve now (not that a statement is wrong)."""
    if error.connection_invalidated or isinstance(error, InterfaceError):
        return True
    if not isinstance(error, OperationalError):
        return False
    if error.orig is not None and type(error.orig).__module__.startswith("sqlite3"):
        message = str(error.orig).lower()
        return any(sign in message for sign in _SQLITE_UNAVAILABLE)
    # PostgreSQL: refused, terminated, too many connections, statement or lock timeout,
    # disk full, read-only standby: psycopg raises all of them as OperationalError.
    return True


class _Outage:
    """One warning when the database stops answering and one when it answers again, not one
    per request (issue #16)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.since: float | None = None

    def failed(self, error: DBAPIError) -> None:
        with self._lock:
            first, self.since = self.since is None, self.since or time.monotonic()
        if first:
            cause = str(error.orig).strip().splitlines()[0][:200] if error.orig else ""
            log.warning(
                "the database does not answer (%s: %s): requests that need it get 503 with "
                "Retry-After until it does",
                type(error.orig or error).__name__,
                cause,
            )

    def answered(self) -> None:
        if self.since is None:
            return
        with self._lock:
            since, self.since = self.since, None
        if since is not None:
            log.warning("the database answers again, after %.0f s", time.monotonic() - since)


@contextmanager
def _unavailable_when_unreachable(outage: _Outage) -> Iterator[None]:
    """Turn "no connection came free in time" and "the database cannot serve now" into
    ``Unavailable`` (503 with ``Retry-After`` on the web); note when it answers again."""
    try:
        yield
    except PoolTimeout as error:
        log.warning(
            "no database connection came free in time: the caller is told to try again"
            " (this process's connection budget is too small for its load, or the database slow)"
        )
        raise Unavailable() from error
    except DBAPIError as error:
        if not _means_unreachable(error):
            raise
        outage.failed(error)
        raise DatabaseUnavailable() from error
    else:
        outage.answered()
