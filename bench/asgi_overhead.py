"""Per-request cost of the ASGI application alone, in process: no sockets, no server, no wrk.

Calls ``GET /api/v2/me`` on Tessera's app (``create_app``) and on the bare Starlette baseline
(``bench/apps/bare_starlette.py``) with hand-made ASGI messages, and prints microseconds per
request for each, so that what our own code adds shows without the noise of the HTTP server,
the load generator and the other processes on the machine. Run on demand:

    .venv/bin/python bench/asgi_overhead.py [--pool 1000] [--requests 20000]

Tessera runs on a throwaway SQLite file with ``--pool`` agents each holding a token and a key;
the first round over the pool fills the credential cache, the measured rounds hit it.
"""

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tessera.app import create_app
from tessera.bootstrap import build_runtime
from tessera.core.passwords import PasswordHasher
from tessera.services.api_keys import NewApiKey
from tessera.services.people import NewPerson
from tessera.settings import Settings

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def scope_for(authorization: str | None) -> dict[str, Any]:
    headers = [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"wrk")]
    if authorization is not None:
        headers.append((b"authorization", authorization.encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/api/v2/me",
        "raw_path": b"/api/v2/me",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def call(app: ASGIApp, scope: dict[str, Any]) -> int:
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(dict(scope), receive, send)
    return status


async def per_request(app: ASGIApp, scopes: list[dict[str, Any]], total: int) -> float:
    """Microseconds per request over ``total`` requests cycling through ``scopes``."""
    started = time.process_time()
    for index in range(total):
        status = await call(app, scopes[index % len(scopes)])
        if status != 200:
            raise SystemExit(f"unexpected status {status}")
    return (time.process_time() - started) / total * 1e6


def seed(settings: Settings, pool: int) -> tuple[list[str], list[str]]:
    runtime = build_runtime(settings, passwords=PasswordHasher(time_cost=1, memory_cost_kib=1024))
    services = runtime.services
    tokens, keys = [], []
    for number in range(pool):
        agent = services.people.add(
            NewPerson(email=f"agent{number}@bench.test", name=f"Agent {number}", is_agent=True)
        )
        code = services.api_tokens.create_device_setup_code(agent)
        tokens.append(services.api_tokens.redeem_device_setup_code(code, None).token_string)
        keys.append(
            services.api_keys.create(NewApiKey(note="bench", person_id=agent.id)).key_string
        )
    runtime.database.dispose()
    return tokens, keys


async def measure(arguments: argparse.Namespace, folder: str) -> None:
    settings = Settings(
        database_url=f"sqlite:///{folder}/bench.db",
        secret_key="bench-secret-key-" + "b" * 32,
        auto_migrate=True,
        device_setup_rate_per_address="1000000/minute",
        credential_cache_seconds=300,
    )
    tokens, keys = seed(settings, arguments.pool)
    sys.path.insert(0, str(Path(__file__).parent / "apps"))
    from bare_starlette import app as bare  # type: ignore[import-not-found]

    ours = create_app(settings)
    cases: list[tuple[str, ASGIApp, list[dict[str, Any]]]] = [
        ("bare starlette", bare, [scope_for(None)]),
        ("tessera token", ours, [scope_for(f"token {t}") for t in tokens]),
        ("tessera key", ours, [scope_for(f"key {k}") for k in keys]),
    ]
    async with ours.router.lifespan_context(ours):
        for _, app, scopes in cases:
            await per_request(app, scopes, len(scopes))  # warm: fills the cache
        for name, app, scopes in cases:
            figures = [
                await per_request(app, scopes, arguments.requests) for _ in range(arguments.rounds)
            ]
            print(
                f"{name:15} {statistics.median(figures):7.1f} µs per request"
                f" (min {min(figures):.1f}, max {max(figures):.1f}; {arguments.rounds} rounds)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(measure(arguments, folder))


if __name__ == "__main__":
    main()
