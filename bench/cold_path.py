"""Micro-benchmark of the cold credential check: every token presented is one never seen.

In process, no HTTP, on PostgreSQL with a large pool of live tokens (issue #5, target 2). The
pool lives in a schema of its own that is kept between runs (``--schema``; ``--drop`` removes
it): its background rows are written by PostgreSQL itself (``generate_series``, a few seconds
for a million), and each run adds the tokens it presents with known codes through ``bench/bulk.py``
and deletes them at the end. Prints microseconds of this process's CPU per check (the server's
share; PostgreSQL's own work is another process) and the wall-clock rate, for:

- ``verify``: ``Authenticator.verify`` called in a loop on one thread;
- ``threadpool``: ``verify`` through ``run_in_threadpool`` by ``--concurrency`` tasks at once,
  as the web layer called it before ADR 0014;
- ``async``: ``Authenticator.verify_async`` by ``--concurrency`` tasks at once, as
  ``web.deps.authorize`` calls it on a miss (ADR 0014);
- ``asgi``: ``GET /api/v2/me`` through the whole ASGI app (``bench/asgi_overhead.py``'s hand-made
  messages, no sockets) by ``--concurrency`` tasks at once.

    .venv/bin/python bench/cold_path.py --database-url postgresql://postgres@127.0.0.1/test
"""

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from starlette.concurrency import run_in_threadpool

sys.path.insert(0, str(Path(__file__).parent))

from asgi_overhead import call, scope_for
from bulk import add_tokens
from tessera.app import create_app
from tessera.bootstrap import Runtime, build_runtime
from tessera.core.credentials import CodeHasher
from tessera.core.passwords import PasswordHasher
from tessera.services.authenticate import PresentedRequest
from tessera.settings import Settings
from tessera.store.database import normalize_url

SECRET = "bench-secret-key-" + "c" * 32
PEOPLE = 10_000


def schema_url(base: str, schema: str) -> str:
    return (
        make_url(base)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )


def prepare(base: str, schema: str, tokens: int) -> None:
    """Create and fill the schema unless a previous run left it filled."""
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    admin.dispose()
    runtime = runtime_for(schema_url(base, schema), cache=False)
    engine = runtime.database.engine
    try:
        with engine.begin() as connection:
            held = connection.scalar(text("SELECT count(*) FROM api_tokens"))
            if held and held >= tokens:
                return
            started = time.monotonic()
            connection.execute(text("TRUNCATE api_tokens, people CASCADE"))
            # Agents with the columns the check reads; tokens with digests no code matches.
            connection.execute(
                text(
                    "INSERT INTO people (id, primary_email, emails, name, first_name, last_name,"
                    " display_name, is_agent, is_admin, is_disabled, timezone, language_id,"
                    " created_at, updated_at)"
                    " SELECT g, 'cold-' || g || '@example.test',"
                    " json_build_array('cold-' || g || '@example.test'), 'Cold ' || g, 'Cold',"
                    " g::text, 'Cold ' || g, true, false, false, 'UTC', 1, now(), now()"
                    " FROM generate_series(1, :people) g"
                ),
                {"people": PEOPLE},
            )
            connection.execute(
                text(
                    "INSERT INTO api_tokens (id, code_digest, person_id, scope, source,"
                    " created_at) SELECT g, sha256(g::text::bytea), 1 + g % :people, 'client',"
                    " 'device_setup', now() FROM generate_series(1, :tokens) g"
                ),
                {"people": PEOPLE, "tokens": tokens},
            )
            connection.execute(text("ANALYZE people"))
            connection.execute(text("ANALYZE api_tokens"))
        print(f"seeded {tokens:,} tokens in {time.monotonic() - started:.1f} s", file=sys.stderr)
    finally:
        runtime.database.dispose()


def runtime_for(url: str, *, cache: bool) -> Runtime:
    settings = {
        "database_url": url,
        "secret_key": SECRET,
        "auto_migrate": True,
        "credential_cache_seconds": 300,
    }
    if not cache:
        settings["credential_cache_size"] = 0
    return build_runtime(
        Settings.model_validate(settings),
        passwords=PasswordHasher(time_cost=1, memory_cost_kib=1024),
    )


#: Credential reads sent to the database, counted by ``count_reads``.
READS = [0]


def count_reads(runtime: Runtime) -> None:
    """Count the SELECTs of tokens and keys the database receives: how many checks share one."""

    def counted(connection: Any, cursor: Any, statement: str, *rest: Any) -> None:
        if statement.lstrip().startswith("SELECT") and (
            "FROM api_tokens" in statement or "FROM api_keys" in statement
        ):
            READS[0] += 1

    event.listen(runtime.database.engine, "before_cursor_execute", counted)
    READS[0] = 0


def report(case: str, count: int, cpu: float, wall: float) -> None:
    shared = f"{count / max(READS[0], 1):5.1f}"
    READS[0] = 0
    print(
        f"{case:10} {count:6} checks: {cpu / count * 1e6:7.1f} us CPU per check,"
        f" {count / wall:7,.0f} checks/s wall, {shared} checks per read"
    )


def run_verify(runtime: Runtime, requests: list[PresentedRequest]) -> None:
    verify = runtime.services.authenticator.verify
    cpu, wall = time.process_time(), time.perf_counter()
    for request in requests:
        verify(request)
    report("verify", len(requests), time.process_time() - cpu, time.perf_counter() - wall)


def run_concurrent(
    case: str,
    check: Callable[[PresentedRequest], Awaitable[object]],
    requests: list[PresentedRequest],
    concurrency: int,
) -> None:
    async def main() -> None:
        queue = iter(requests)

        async def worker() -> None:
            for request in queue:
                await check(request)

        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        report(case, len(requests), time.process_time() - cpu, time.perf_counter() - wall)

    asyncio.run(main())


def run_asgi(
    case: str, runtime: Runtime, requests: list[PresentedRequest], concurrency: int
) -> None:
    app = create_app(runtime=runtime)
    scopes = [scope_for(r.authorization) for r in requests]

    async def main() -> None:
        async with app.router.lifespan_context(app):
            queue = iter(scopes)

            async def worker() -> None:
                for scope in queue:
                    status = await call(app, scope)
                    if status != 200:
                        raise SystemExit(f"unexpected status {status}")

            cpu, wall = time.process_time(), time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            report(case, len(scopes), time.process_time() - cpu, time.perf_counter() - wall)

    asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--schema", default="tessera_cold_bench")
    parser.add_argument("--tokens", type=int, default=1_000_000)
    parser.add_argument("--checks", type=int, default=4000, help="per case")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--cases", default="verify,threadpool,async")
    parser.add_argument("--drop", action="store_true", help="drop the schema and stop")
    arguments = parser.parse_args()
    base = normalize_url(arguments.database_url)
    if arguments.drop:
        admin = create_engine(base)
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{arguments.schema}" CASCADE')
        admin.dispose()
        return
    prepare(base, arguments.schema, arguments.tokens)
    url = schema_url(base, arguments.schema)
    runtime = runtime_for(url, cache=True)
    engine = runtime.database.engine
    cases = [c for c in arguments.cases.split(",") if c]
    authenticator = runtime.services.authenticator
    first = arguments.tokens + 1
    # Known codes for the presented tokens, on the pool's people, above the background ids.
    presented = add_tokens(
        engine,
        CodeHasher(SECRET.encode()),
        list(range(1, PEOPLE + 1)),
        arguments.checks * (len(cases) + 1),
        first_id=first,
    )
    try:
        requests = [
            PresentedRequest(authorization=f"token {t}", client_address="127.0.0.1")
            for t in presented
        ]
        chunks = [
            requests[n * arguments.checks : (n + 1) * arguments.checks]
            for n in range(len(cases) + 1)
        ]
        # Warm the engine's pool, the statement caches and the code paths on unmeasured tokens.
        for request in chunks[0][:200]:
            authenticator.verify(request)
        count_reads(runtime)
        for case, chunk in zip(cases, chunks[1:], strict=False):
            if case == "verify":
                run_verify(runtime, chunk)
            elif case == "threadpool":
                run_concurrent(
                    case,
                    lambda r: run_in_threadpool(authenticator.verify, r),
                    chunk,
                    arguments.concurrency,
                )
            elif case == "asgi":
                run_asgi(case, runtime, chunk, arguments.concurrency)
            elif case == "async":
                run_concurrent(
                    case,
                    authenticator.verify_async,
                    chunk,
                    arguments.concurrency,
                )
    finally:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM api_tokens WHERE id >= :f"), {"f": first})
        runtime.database.dispose()


if __name__ == "__main__":
    main()
