"""CPU and SQL round trips of one OAuth grant (``POST /oauth/token``), in process.

Seeds a confidential client and one grant per code (and per refresh token) with
``seed_consumables.py``'s ``grant_bodies``, then posts each body once through ``create_app``
with hand-made ASGI messages, and prints µs of this process's CPU, wall µs and SQL statements
per grant for each grant type. No sockets, no load generator. Run on demand (PostgreSQL gets a
schema of its own, dropped at the end):

    .venv/bin/python bench/oauth_grants.py [--database-url postgresql://postgres@127.0.0.1/test]
        [--grants 2000] [--concurrency 1]
"""

import argparse
import asyncio
import secrets
import tempfile
import time
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import Pool

from seed_consumables import grant_bodies
from tessera.app import create_app
from tessera.bootstrap import build_runtime
from tessera.core.passwords import PasswordHasher
from tessera.settings import Settings
from tessera.store.database import normalize_url

#: What crosses to the database per grant: statements, and BEGIN, COMMIT or ROLLBACK, pings.
counts = {"statements": 0, "transactions": 0, "checkouts": 0, "connects": 0}


def _counter(name: str) -> Any:
    def count(*_: Any) -> None:
        counts[name] += 1

    return count


def _round_trips() -> int:
    # Each transaction costs its BEGIN and its COMMIT (or ROLLBACK) besides its statements;
    # each pool checkout a pre-ping.
    return counts["statements"] + 2 * counts["transactions"] + counts["checkouts"]


def seed(settings: Settings, count: int) -> tuple[list[bytes], list[bytes]]:
    """What ``seed_consumables.py`` seeds for a run, as request bodies in memory."""
    runtime = build_runtime(settings, passwords=PasswordHasher(time_cost=1, memory_cost_kib=1024))
    try:
        codes, refreshes = grant_bodies(runtime, count, secrets.token_hex(4))
    finally:
        runtime.database.dispose()
    return [body.encode() for body in codes], [body.encode() for body in refreshes]


def scope_for(body: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/oauth/token",
        "raw_path": b"/oauth/token",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def post(app: Any, body: bytes) -> int:
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope_for(body), receive, send)
    return status


async def run(app: Any, name: str, bodies: list[bytes], warm: int, concurrency: int) -> None:
    for body in bodies[:warm]:
        if await post(app, body) != 200:
            raise SystemExit(f"{name}: warm-up grant failed")
    measured = bodies[warm:]
    before = dict(counts)
    trips = _round_trips()
    cpu, wall = time.process_time(), time.perf_counter()

    async def worker(share: list[bytes]) -> None:
        for body in share:
            if (status := await post(app, body)) != 200:
                raise SystemExit(f"{name}: status {status}")

    # Concurrent grants go through the app's own thread pool and database pool, as a server's
    # would (in process: no sockets, no load generator).
    await asyncio.gather(*(worker(measured[i::concurrency]) for i in range(concurrency)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    n = len(measured)
    per = {key: (counts[key] - before[key]) / n for key in counts}
    print(
        f"{name:8} {cpu / n * 1e6:6.0f} µs CPU, {wall / n * 1e6:6.0f} µs wall per grant;"
        f" {(_round_trips() - trips) / n:5.2f} round trips ({per['statements']:.2f} statements,"
        f" {per['transactions']:.2f} transactions, {per['checkouts']:.2f} checkouts;"
        f" {n} grants, {concurrency} at a time, {n / wall:.0f}/s,"
        f" {counts['connects'] - before['connects']} new connections)"
    )


async def measure(settings: Settings, grants: int, warm: int, concurrency: int) -> None:
    code_bodies, refresh_bodies = seed(settings, grants + warm)
    event.listen(Engine, "before_cursor_execute", _counter("statements"))
    event.listen(Engine, "commit", _counter("transactions"))
    event.listen(Engine, "rollback", _counter("transactions"))
    event.listen(Pool, "checkout", _counter("checkouts"))
    event.listen(Pool, "connect", _counter("connects"))
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        await run(app, "code", code_bodies, warm, concurrency)
        await run(app, "refresh", refresh_bodies, warm, concurrency)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--grants", type=int, default=2000)
    parser.add_argument("--warm", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=1)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = arguments.database_url or f"sqlite:///{folder}/bench.db"
        schema = None
        if not url.startswith("sqlite"):
            schema = f"bench_oauth_{secrets.token_hex(4)}"
            admin = create_engine(normalize_url(url), isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
            url = (
                make_url(normalize_url(url))
                .update_query_dict({"options": f"-csearch_path={schema}"})
                .render_as_string(hide_password=False)
            )
        settings = Settings(
            database_url=url,
            secret_key="bench-secret-key-" + "b" * 32,
            auto_migrate=True,
        )
        try:
            asyncio.run(measure(settings, arguments.grants, arguments.warm, arguments.concurrency))
        finally:
            if schema is not None:
                with admin.connect() as connection:
                    connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
