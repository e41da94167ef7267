"""How fast a credential change reaches another process, and what polling costs the database.

A writer (this process) records changes the way the services do — one per write transaction —
while a reader in a separate process runs the real ``ChangeFeed.run()`` poll loop and notes
when each change reaches its listener. Changes are spaced at random so that they land at every
phase of the poll period. Then it times an idle poll (nothing new) with a full change table.
Run on demand, never by the tests:

    .venv/bin/python bench/change_feed.py                      # SQLite file
    .venv/bin/python bench/change_feed.py --database-url postgresql://postgres@127.0.0.1/test

PostgreSQL runs in a schema of its own, dropped at the end. Results: docs/adr/0011.
"""

import argparse
import asyncio
import multiprocessing
import secrets
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from multiprocessing.queues import Queue
from typing import Any

from sqlalchemy import create_engine, insert
from sqlalchemy.engine import make_url

from tessera.core.changes import ChangeKind, CredentialChange
from tessera.services.change_feed import ChangeFeed
from tessera.store import schema
from tessera.store.changes import record_change
from tessera.store.database import Database, make_engine, normalize_url
from tessera.store.tables import CredentialChangeRow


@contextmanager
def scratch_database(url: str | None) -> Iterator[str]:
    """A throwaway SQLite file, or a throwaway schema on the PostgreSQL server named."""
    if url is None:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/feed.db"
        return
    server = normalize_url(url)
    name = f"tessera_feed_bench_{secrets.token_hex(4)}"
    admin = create_engine(server)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{name}"')
    try:
        scoped = make_url(server).update_query_dict({"options": f"-csearch_path={name}"})
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')
        admin.dispose()


class _Arrivals:
    """The reader's listener: when each change arrived (wall clock, shared by both processes)."""

    def __init__(self, queue: "Queue[tuple[int, float]]") -> None:
        self._queue = queue

    def apply(self, change: CredentialChange) -> None:
        if change.kind is ChangeKind.API_KEY:
            self._queue.put((change.subject_id, time.time()))


def _reader(url: str, poll_seconds: float, queue: "Queue[tuple[int, float]]") -> None:
    database = Database(make_engine(url))
    feed = ChangeFeed(database, poll_seconds=poll_seconds)
    feed.subscribe(_Arrivals(queue))
    feed.start()
    queue.put((0, time.time()))  # ready
    with suppress(KeyboardInterrupt):
        asyncio.run(feed.run())


def propagation(url: str, count: int, poll_seconds: float) -> list[float]:
    """Milliseconds from commit in this process to arrival in the reader, per change."""
    context = multiprocessing.get_context("spawn")
    queue: Queue[tuple[int, float]] = context.Queue()
    reader = context.Process(target=_reader, args=(url, poll_seconds, queue), daemon=True)
    reader.start()
    queue.get(timeout=120)
    database = Database(make_engine(url))
    committed: dict[int, float] = {}
    for subject in range(1, count + 1):
        time.sleep(secrets.randbelow(300) / 1000)
        with database.write() as session:
            record_change(session, ChangeKind.API_KEY, subject, now=datetime.now(UTC))
        committed[subject] = time.time()
    arrived: dict[int, float] = {}
    while len(arrived) < count:
        subject, at = queue.get(timeout=30)
        arrived.setdefault(subject, at)
    reader.terminate()
    reader.join()
    database.dispose()
    return [(arrived[s] - committed[s]) * 1000 for s in committed]


def idle_poll_cost(url: str, rows: int, polls: int) -> float:
    """Microseconds per poll that finds nothing new, with ``rows`` rows in the table."""
    database = Database(make_engine(url))
    now = datetime.now(UTC)
    with database.write() as session:
        session.execute(
            insert(CredentialChangeRow),
            [{"kind": "api_token", "subject_id": i, "created_at": now} for i in range(rows)],
        )
    feed = ChangeFeed(database)
    feed.start()
    feed.poll()
    started = time.perf_counter()
    for _ in range(polls):
        feed.poll()
    elapsed = time.perf_counter() - started
    database.dispose()
    return elapsed / polls * 1e6


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None, help="PostgreSQL server; default SQLite")
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--poll-seconds", type=float, default=0.25)
    parser.add_argument("--table-rows", type=int, default=100_000)
    args = parser.parse_args()
    with scratch_database(args.database_url) as url:
        engine = make_engine(url)
        schema.upgrade(engine)
        engine.dispose()
        latencies = propagation(url, args.changes, args.poll_seconds)
        poll_us = idle_poll_cost(url, args.table_rows, 2000)
    backend = "postgresql" if args.database_url else "sqlite"
    report: dict[str, Any] = {
        "backend": backend,
        "changes": args.changes,
        "poll_seconds": args.poll_seconds,
        "p50_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(_quantile(latencies, 0.99), 1),
        "max_ms": round(max(latencies), 1),
        "idle_poll_us": round(poll_us, 1),
        "table_rows": args.table_rows,
    }
    print(report)


if __name__ == "__main__":
    main()
