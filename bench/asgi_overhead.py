"""Per-request cost of the ASGI application alone, in process: no sockets, no server, no wrk.

Calls ``GET /api/v2/me`` on Tessera's app (``create_app``) and on the bare Starlette baseline
(``bench/apps/bare_starlette.py``) with hand-made ASGI messages, and prints microseconds per
request for each, so that what our own code adds shows without the noise of the HTTP server,
the load generator and the other processes on the machine. The guard's doors too: Traefik's
question to ``/authz/forward-auth`` (from a trusted proxy) and Envoy's to ``/authz/ext-authz``,
allowed; and one refused credential asked again and again (the refusal cache's case). Run on
demand:

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


#: The example helpdesk's list route, as the forward-auth cases ask about it.
ROUTES = '[[route]]\nmethod = "GET"\npath = "/tickets"\ntags = ["tickets.tickets.list"]\n'
FORWARDED = ((b"x-forwarded-method", b"GET"), (b"x-forwarded-uri", b"/tickets?page=2"))


def scope_for(
    authorization: str | None,
    path: str = "/api/v2/me",
    extra: tuple[tuple[bytes, bytes], ...] = (),
) -> dict[str, Any]:
    headers = [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"wrk"), *extra]
    if authorization is not None:
        headers.append((b"authorization", authorization.encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
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


async def per_request(
    app: ASGIApp, scopes: list[dict[str, Any]], total: int, expected: int = 200
) -> float:
    """Microseconds per request over ``total`` requests cycling through ``scopes``."""
    started = time.process_time()
    for index in range(total):
        status = await call(app, scopes[index % len(scopes)])
        if status != expected:
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
    (Path(folder) / "routes.toml").write_text(ROUTES)
    # The guard's doors on an app of their own: /me is measured as it was, with no proxy.
    guard = {"trusted_proxies": "127.0.0.1", "routes_file": Path(folder) / "routes.toml"}
    tokens, keys = seed(settings, arguments.pool)
    sys.path.insert(0, str(Path(__file__).parent / "apps"))
    from bare_starlette import app as bare  # type: ignore[import-not-found]

    ours = create_app(settings)
    guarded = create_app(settings.model_copy(update=guard))
    # What a refusal cost before refusals were remembered: a database read each time.
    forgetful = create_app(settings.model_copy(update={**guard, "refusal_cache_size": 0}))
    forward_auth = "/authz/forward-auth"
    refused = f"token {tokens[0].split(':')[0]}:{'2' * 25}"
    cases: list[tuple[str, ASGIApp, list[dict[str, Any]], int]] = [
        ("bare starlette", bare, [scope_for(None)], 200),
        ("tessera token", ours, [scope_for(f"token {t}") for t in tokens], 200),
        ("tessera key", ours, [scope_for(f"key {k}") for k in keys], 200),
        (
            "forward-auth token",
            guarded,
            [scope_for(f"token {t}", forward_auth, FORWARDED) for t in tokens],
            200,
        ),
        (
            "ext-authz key",
            guarded,
            [scope_for(f"key {k}", "/authz/ext-authz/tickets") for k in keys],
            200,
        ),
        ("refused token", guarded, [scope_for(refused, forward_auth, FORWARDED)], 401),
        ("refused, no cache", forgetful, [scope_for(refused, forward_auth, FORWARDED)], 401),
    ]
    async with (
        ours.router.lifespan_context(ours),
        guarded.router.lifespan_context(guarded),
        forgetful.router.lifespan_context(forgetful),
    ):
        for _, app, scopes, expected in cases:
            await per_request(app, scopes, len(scopes), expected)  # warm: fills the caches
        for name, app, scopes, expected in cases:
            figures = [
                await per_request(app, scopes, arguments.requests, expected)
                for _ in range(arguments.rounds)
            ]
            print(
                f"{name:18} {statistics.median(figures):7.1f} µs per request"
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
