"""A soak: ``tessera serve`` under a steady mixed load for ten minutes, watched minute by minute.

Issue #16 §4: valid and invalid credentials, creations and revocations for ten minutes, with no
error, and the server's memory (RSS) and p99 latency flat. This runs one ``tessera serve`` (one
worker, CPU 1) on a throwaway SQLite file, or on ``--database-url``, with ``--pool`` agents and
keys seeded in bulk, and sends from CPU 0, at ``--rate`` requests a second, in turn:

- ``GET /api/v2/me`` with a seeded key (70 %): 200;
- the same with a wrong code, or an id nobody has (15 %): 401;
- ``POST /api/v2/api_keys`` by an admin's key (7.5 %): 201, then the new key on ``/me``: 200;
- ``DELETE /api/v2/api_keys/{id}`` of a key made here (7.5 %): 200, then that key on ``/me``:
  401 (revocation felt on the next request).

As many keys are revoked as made, so the live keys stay about ``--pool``: a steady state, as
in a server that has run for a while (the audit trail still grows by every change).

Any other answer, or a failed connection, is an error. Each minute prints the requests, errors,
p50/p99 latency (client side: the load generator's own delays are in it), the server's own mean
time per request (from its metrics: without the load generator), the server's RSS with its
anonymous part (the heap: where a leak shows) apart from mapped files, and the entries of its
bounded caches; the last line is a JSON summary. Run from the
repository's root:

    .venv/bin/python bench/soak.py [--seconds 600] [--rate 200] [--pool 2000]
        [--database-url URL] [--no-writes] [--setting TESSERA_NAME=VALUE]
"""

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

# Run as ``python bench/soak.py``: Python puts bench/ first on the path, so its siblings import.
from bulk import seed_agents_with_keys
from guard_http import SERVER_CPU, free_port, wait_for
from tessera.bootstrap import build_runtime
from tessera.services.api_keys import NewApiKey
from tessera.services.people import NewPerson
from tessera.settings import Settings

BIN = Path(sys.executable).parent

SECRET = "soak-secret-key-" + "s" * 32
RANDOM = secrets.SystemRandom()
#: Concurrent clients sharing the rate.
WORKERS = 20


@dataclass
class Minute:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class Load:
    keys: list[str]
    admin: str
    agent_id: int
    #: Keys made during the soak, not yet revoked: (id, key string).
    made: list[tuple[int, str]] = field(default_factory=list)
    #: Creations and revocations too (else their 15 % are valid checks: reads only).
    writes: bool = True


def seed(database_url: str, pool: int) -> Load:
    settings = Settings(database_url=database_url, secret_key=SECRET, auto_migrate=True)
    people, keys = seed_agents_with_keys(settings, pool, "soak")
    runtime = build_runtime(settings)
    try:
        admin = runtime.services.people.add(
            NewPerson(email="admin@soak.test", name="Admin", is_agent=True, is_admin=True)
        )
        admin_key = runtime.services.api_keys.create(NewApiKey(note="soak", person_id=admin.id))
    finally:
        runtime.database.dispose()
    return Load(keys=keys, admin=admin_key.key_string, agent_id=people[0])


def memory_mib(pid: int) -> dict[str, float]:
    """The server's resident memory, and what it is made of: anonymous memory (the heap, where a
    leak would show) apart from mapped files and shared memory (libraries paged in on first use,
    SQLite's WAL index), which grow for other reasons."""
    fields = {"VmRSS": "rss_mib", "RssAnon": "anon_mib", "RssFile": "file_mib"}
    fields |= {"RssShmem": "shmem_mib"}
    found: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in fields:
            found[fields[name]] = round(int(rest.split()[0]) / 1024, 1)
    return found


async def one_request(api: httpx.AsyncClient, load: Load, minute: Minute) -> None:
    draw = RANDOM.random()
    started = time.perf_counter()
    try:
        problem = await _exercise(api, load, draw)
    except httpx.HTTPError as error:
        problem = f"{type(error).__name__}: {error}"
    minute.latencies.append(time.perf_counter() - started)
    if problem:
        minute.errors.append(problem)


async def _exercise(api: httpx.AsyncClient, load: Load, draw: float) -> str | None:
    if draw < 0.70:
        return await _expect(api, "GET", "/api/v2/me", RANDOM.choice(load.keys), 200)
    if draw < 0.85:
        key = RANDOM.choice(load.keys)
        if draw < 0.78:
            wrong = key[:-1] + ("2" if key[-1] != "2" else "3")  # a known id, a wrong code
        else:
            wrong = f"{10_000_000 + RANDOM.randrange(1000)}:{key.partition(':')[2]}"
        return await _expect(api, "GET", "/api/v2/me", wrong, 401)
    if not load.writes:
        return await _expect(api, "GET", "/api/v2/me", RANDOM.choice(load.keys), 200)
    if draw < 0.925 or not load.made:
        body = {"note": "soak", "person_id": load.agent_id}
        answer = await api.post("/api/v2/api_keys", json=body, headers=_key(load.admin))
        if answer.status_code != 201:
            return f"create: {answer.status_code} {answer.text[:200]}"
        made = answer.json()["data"]
        problem = await _expect(api, "GET", "/api/v2/me", made["key_string"], 200)
        # Only now may another request revoke it: it was checked as this one's.
        load.made.append((made["id"], made["key_string"]))
        return problem
    key_id, key_string = load.made.pop(RANDOM.randrange(len(load.made)))
    problem = await _expect(api, "DELETE", f"/api/v2/api_keys/{key_id}", load.admin, 200)
    return problem or await _expect(api, "GET", "/api/v2/me", key_string, 401)


async def _expect(
    api: httpx.AsyncClient, method: str, path: str, key: str, status: int
) -> str | None:
    answer = await api.request(method, path, headers=_key(key))
    if answer.status_code != status:
        return f"{method} {path}: {answer.status_code}, expected {status}"
    return None


def _key(key_string: str) -> dict[str, str]:
    return {"Authorization": f"key {key_string}"}


async def soak(
    url: str, load: Load, pid: int, arguments: argparse.Namespace
) -> list[dict[str, float]]:
    """``WORKERS`` clients, each paced to its share of the rate (a closed loop: a slow answer
    delays that client's next request instead of piling up requests the load cannot send)."""
    # Idle connections are dropped here before the server's keep-alive timeout (uvicorn's 5 s)
    # can close them: with both at 5 s, a request sent just as the server closes its connection
    # fails with a ReadError, a race of the two clocks, not an error of the server.
    limits = httpx.Limits(
        max_connections=WORKERS, max_keepalive_connections=WORKERS, keepalive_expiry=2.0
    )
    minutes = [Minute() for _ in range(max(1, arguments.seconds // 60))]
    start = time.monotonic()
    deadline = start + len(minutes) * 60
    report: list[dict[str, float]] = []

    async def client(api: httpx.AsyncClient, offset: float) -> None:
        interval = WORKERS / arguments.rate
        next_at = start + offset * interval
        while (now := time.monotonic()) < deadline:
            if next_at > now:
                await asyncio.sleep(next_at - now)
            next_at = max(next_at + interval, time.monotonic() - interval)  # no bursts after
            index = min(len(minutes) - 1, int((time.monotonic() - start) // 60))
            await one_request(api, load, minutes[index])

    async def reporter() -> None:
        before = await _server_figures(api)
        for index, minute in enumerate(minutes):
            await asyncio.sleep(max(0.0, start + (index + 1) * 60 - time.monotonic()))
            figures = await _server_figures(api)
            summary = _summary(index + 1, minute, memory_mib(pid)) | figures
            report.append(summary | _server_mean_ms(before, figures))
            before = figures
            print(_line(report[-1], minute), flush=True)

    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as api:
        clients = [client(api, n / WORKERS) for n in range(WORKERS)]
        await asyncio.gather(reporter(), *clients)
    return report


async def _server_figures(api: httpx.AsyncClient) -> dict[str, float]:
    """From the server's metrics (open on loopback): its bounded caches' entries (RSS grows
    while they fill, so a flat RSS is only expected once they are full), and the total count
    and seconds of the requests it answered, whose growth gives its own mean time."""
    try:
        answer = await api.get("/metrics")
    except httpx.HTTPError:
        return {}
    found: dict[str, float] = {"served": 0.0, "served_seconds": 0.0}
    for line in answer.text.splitlines():
        name, _, value = line.rpartition(" ")
        if line.startswith("tessera_cache_entries{"):
            cache = line.split('cache="', 1)[1].split('"', 1)[0]
            found[f"{cache}_cached"] = float(value)
        elif name.startswith("tessera_http_request_duration_seconds_count{"):
            found["served"] += float(value)
        elif name.startswith("tessera_http_request_duration_seconds_sum{"):
            found["served_seconds"] += float(value)
    return found


def _server_mean_ms(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """The server's mean time per request over a minute, from arrival to the end of the answer:
    the client's latencies also hold the load generator's own delays, this does not."""
    served = after.get("served", 0.0) - before.get("served", 0.0)
    if served <= 0:
        return {}
    seconds = after["served_seconds"] - before.get("served_seconds", 0.0)
    return {"server_mean_ms": round(seconds / served * 1000, 2)}


def _summary(number: int, minute: Minute, memory: dict[str, float]) -> dict[str, float]:
    ordered = sorted(minute.latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0
    return {
        "minute": number,
        "requests": len(ordered),
        "errors": len(minute.errors),
        "p50_ms": round(statistics.median(ordered) * 1000, 2) if ordered else 0.0,
        "p99_ms": round(p99 * 1000, 2),
    } | memory


def _line(summary: dict[str, float], minute: Minute) -> str:
    first_error = f"  first error: {minute.errors[0]}" if minute.errors else ""
    return (
        f"minute {summary['minute']:>3.0f}: {summary['requests']:>6.0f} requests,"
        f" {summary['errors']:.0f} errors, p50 {summary['p50_ms']:6.2f} ms,"
        f" p99 {summary['p99_ms']:7.2f} ms, server mean {summary.get('server_mean_ms', 0):5.2f} ms,"
        f" RSS {summary['rss_mib']:6.1f} MiB"
        f" (anon {summary.get('anon_mib', 0):.1f}, file {summary.get('file_mib', 0):.1f},"
        f" shmem {summary.get('shmem_mib', 0):.1f})"
        f"{_cached(summary)}{first_error}"
    )


def _cached(summary: dict[str, float]) -> str:
    held = [
        f"{name[: -len('_cached')]} {n:,.0f}"
        for name, n in summary.items()
        if name.endswith("_cached")
    ]
    return f", cached: {', '.join(held)}" if held else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--rate", type=int, default=200, help="requests a second")
    parser.add_argument("--pool", type=int, default=2000, help="seeded agents and keys")
    parser.add_argument("--database-url", help="default: a throwaway SQLite file")
    parser.add_argument(
        "--no-writes", action="store_true", help="only checks: no creations, no revocations"
    )
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a TESSERA_* setting for the server (repeatable)",
    )
    arguments = parser.parse_args()
    os.sched_setaffinity(0, {0})  # the load on CPU 0, the server on CPU 1
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        database_url = arguments.database_url or f"sqlite:///{folder}/soak.db"
        load = seed(database_url, arguments.pool)
        load.writes = not arguments.no_writes
        port = free_port()
        environment = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
        environment |= {
            "TESSERA_DATABASE_URL": database_url,
            "TESSERA_SECRET_KEY": SECRET,
            "TESSERA_ACCESS_LOG": "false",
        }
        environment |= dict(setting.split("=", 1) for setting in arguments.setting)
        log = folder / "server.log"
        command = [str(BIN / "tessera"), "serve", "--host", "127.0.0.1", "--port", str(port)]
        with log.open("wb") as output:
            # Our own program and arguments: no untrusted input.
            server = subprocess.Popen(  # noqa: S603
                [*SERVER_CPU, *command], stdout=output, stderr=subprocess.STDOUT, env=environment
            )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for(f"{url}/healthz", log)
            report = asyncio.run(soak(url, load, server.pid, arguments))
        finally:
            server.terminate()
            server.wait(timeout=30)
        errors = sum(minute["errors"] for minute in report)
        rss = [minute["rss_mib"] for minute in report]
        p99 = [minute["p99_ms"] for minute in report]
        server_mean = [minute.get("server_mean_ms", 0.0) for minute in report]
        print(
            "RESULT "
            + json.dumps(
                {
                    "seconds": arguments.seconds,
                    "rate": arguments.rate,
                    "writes": not arguments.no_writes,
                    "requests": sum(minute["requests"] for minute in report),
                    "errors": errors,
                    "rss_first_last_mib": [rss[0], rss[-1]],
                    "anon_first_last_mib": [report[0]["anon_mib"], report[-1]["anon_mib"]],
                    "p99_min_max_ms": [min(p99), max(p99)],
                    "server_mean_min_max_ms": [min(server_mean), max(server_mean)],
                    "database": "sqlite" if arguments.database_url is None else "given",
                }
            )
        )
        if errors:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
