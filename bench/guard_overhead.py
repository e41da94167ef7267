"""What ``tessera.guard``'s cached check adds to each request of an API (target: < 50 µs).

Starts a real ``tessera serve`` (SQLite in a temporary folder, a route table, answers reusable
for 30 s), creates a key for it, then drives two ASGI apps in this process with the same
request again and again, without any HTTP server in between, so that only the apps' own work
is timed: the API bare, and the same API behind ``TesseraMiddleware`` whose cache already
holds the answer. The difference per request is the guard's overhead. Rounds alternate
between the two apps; the median round of each is reported.

    .venv/bin/python bench/guard_overhead.py [--requests 20000] [--rounds 7]
"""

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request

from tessera.bootstrap import build_runtime
from tessera.guard import Guard
from tessera.guard.asgi import TesseraMiddleware
from tessera.services.api_keys import NewApiKey
from tessera.services.people import NewPerson
from tessera.settings import Settings

ROUTES = """
default = "refuse"
[[route]]
method = "GET"
path = "/tickets/{id}"
tags = ["tickets.tickets.get"]
"""
SECRET = "bench-secret-key-" + "b" * 32
App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def helpdesk_like() -> FastAPI:
    """One endpoint of the kind the example API has: a path parameter, a JSON answer."""
    app = FastAPI()

    @app.get("/tickets/{ticket_id}")
    async def ticket(request: Request, ticket_id: int) -> dict[str, Any]:
        who = getattr(request.state, "tessera", None)
        return {"id": ticket_id, "person": who.person_id if who else None}

    return app


def start_tessera(folder: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    database = f"sqlite:///{folder}/tessera.db"
    (folder / "routes.toml").write_text(ROUTES)
    runtime = build_runtime(
        Settings.model_validate(
            {"database_url": database, "secret_key": SECRET, "auto_migrate": True}
        )
    )
    person = runtime.services.people.add(
        NewPerson(email="bench@example.test", name="Bench", is_agent=True, is_admin=False)
    )
    key = runtime.services.api_keys.create(NewApiKey(note="bench", person_id=person.id))
    runtime.database.dispose()
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")},
        "TESSERA_DATABASE_URL": database,
        "TESSERA_SECRET_KEY": SECRET,
        "TESSERA_ROUTES_FILE": str(folder / "routes.toml"),
        "TESSERA_AUTHZ_MAX_AGE_SECONDS": "30",
        "TESSERA_LOG_LEVEL": "warning",
    }
    log = (folder / "tessera.log").open("wb")
    tessera = str(Path(sys.executable).parent / "tessera")
    # Our own entry point with our own arguments.
    process = subprocess.Popen(  # noqa: S603
        [tessera, "serve", "--port", "0"], env=environment, stdout=log, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        text = (folder / "tessera.log").read_text(errors="replace")
        if "listening on " in text:
            url = text.split("listening on ", 1)[1].split()[0]
            # Printed once the socket is bound; the worker answers a little later.
            with contextlib.suppress(httpx.TransportError):
                httpx.get(f"{url}/api/v2/helpdesk/discover", timeout=60)
                return process, url, key.key_string
        time.sleep(0.1)
    process.terminate()
    raise RuntimeError("tessera serve did not start")


async def drive(app: App, requests: int, authorization: bytes) -> float:
    """Seconds per request, for ``requests`` requests one after another."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/tickets/7",
        "raw_path": b"/tickets/7",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"api.example"), (b"authorization", authorization)],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    started = time.perf_counter()
    for _ in range(requests):
        await app(dict(scope), receive, send)
    elapsed = time.perf_counter() - started
    if set(statuses) != {200}:
        raise RuntimeError(f"unexpected statuses: {sorted(set(statuses))}")
    return elapsed / requests


async def measure(url: str, key: str, requests: int, rounds: int) -> dict[str, float]:
    guard = Guard(url)
    bare = helpdesk_like()
    guarded = TesseraMiddleware(helpdesk_like(), guard=guard)
    authorization = f"key {key}".encode()
    await drive(guarded, 10, authorization)  # the one call to Tessera; the rest are hits
    bare_rounds, guarded_rounds = [], []
    for _ in range(rounds):
        bare_rounds.append(await drive(bare, requests, authorization))
        guarded_rounds.append(await drive(guarded, requests, authorization))
    calls = guard.metrics.calls
    await guard.aclose()
    if calls != 1:
        raise RuntimeError(f"the cache missed: {calls} calls to Tessera")
    bare_s, guarded_s = statistics.median(bare_rounds), statistics.median(guarded_rounds)
    return {
        "bare_us": bare_s * 1e6,
        "guarded_us": guarded_s * 1e6,
        "overhead_us": (guarded_s - bare_s) * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        process, url, key = start_tessera(Path(folder))
        try:
            result = asyncio.run(measure(url, key, options.requests, options.rounds))
        finally:
            process.terminate()
            process.wait(timeout=30)
    print(
        f"bare app: {result['bare_us']:.1f} µs/request; guarded, cached: "
        f"{result['guarded_us']:.1f} µs/request; the guard adds {result['overhead_us']:.1f} µs"
    )


if __name__ == "__main__":
    main()
