"""The guard's decision and ``/me`` over HTTP under load, next to a bare app, in one run.

Issue #13 §4 asks, with 10,000 distinct credentials and 50 connections, for the forward-auth
decision and ``GET /api/v2/me`` to reach 90 % of a bare Starlette app's requests per second on
the same server stack, p99 within 1.5 times its p99; and, through nginx, for guarded requests
to reach 90 % of the same nginx whose ``auth_request`` goes to a bare app answering 200 at
once. This measures exactly those pairs, each case a wrk run, the cases alternating round by
round so that the machine's drift falls on all of them alike:

| case | server | request |
|---|---|---|
| ``bare me`` | bare Starlette (``apps/bare_guard.py``) on uvicorn | ``GET /api/v2/me`` |
| ``tessera me`` | ``tessera serve`` | ``GET /api/v2/me``, ``key …`` of 10,000 in turn |
| ``bare door`` | bare Starlette | ``/authz/forward-auth`` as Traefik asks |
| ``tessera door`` | ``tessera serve`` | the same, the keys in turn, checked against a route |
| ``nginx bare`` | nginx (``examples/guard/nginx.conf``) asking the bare app | ``GET /tickets`` |
| ``nginx tessera`` | the same nginx asking ``tessera serve`` | ``GET /tickets``, the keys in turn |

Every server (nginx too) runs on CPU 1 and wrk on CPU 0 (``taskset``, as ``bench/run.sh``).
Both servers are uvicorn with uvloop and httptools (or both granian, ``--server granian``: its
ASGI interface, uvloop, one worker), one process, no access log (``tessera
serve``'s access log is on by default: ``--access-log`` measures Tessera with it); the API behind
nginx is the bare app in both nginx cases. Tessera runs on a throwaway SQLite file whose
credentials are seeded in bulk (``bulk.py``); a warm-up pass over every key fills its cache.
Needs ``wrk`` and, for the nginx cases, ``/usr/sbin/nginx``. Run from the repository's root:

    .venv/bin/python bench/guard_http.py [--pool 10000] [--seconds 10] [--rounds 3]
        [--server uvicorn|granian] [--no-nginx] [--only CASE,…] [--setting NAME=VALUE]
"""

import argparse
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

#: Servers (and nginx) on one core, wrk on the other, as bench/run.sh does: less noise.
SERVER_CPU, WRK_CPU = ["taskset", "-c", "1"], ["taskset", "-c", "0"]
BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(BENCH))

from bulk import seed_agents_with_keys  # noqa: E402
from tessera.settings import Settings  # noqa: E402

ROUTES = '[[route]]\nmethod = "GET"\npath = "/tickets"\ntags = ["tickets.tickets.list"]\n'
FORWARDED = ["X-Forwarded-Method: GET", "X-Forwarded-Uri: /tickets", "X-Forwarded-Proto: http"]
SECRET = "bench-secret-key-" + "g" * 32
_RESULT = re.compile(r"^RESULT (\{.*\})$", re.MULTILINE)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def seed(database_url: str, pool: int, keys_file: Path) -> None:
    settings = Settings(database_url=database_url, secret_key=SECRET, auto_migrate=True)
    _, keys = seed_agents_with_keys(settings, pool, "guard")
    secrets.SystemRandom().shuffle(keys)
    keys_file.write_text("\n".join(keys) + "\n")


@contextmanager
def process(command: list[str], log: Path, environment: dict[str, str]) -> Iterator[None]:
    with log.open("wb") as output:
        # Our own programs and arguments: no untrusted input.
        child = subprocess.Popen(  # noqa: S603
            [*SERVER_CPU, *command], stdout=output, stderr=subprocess.STDOUT, env=environment
        )
    try:
        yield
    finally:
        child.terminate()
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def wait_for(url: str, log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=30)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer: {log.read_text(errors='replace')[-2000:]}")


def bare_server(folder: Path, port: int, server: str) -> tuple[list[str], Path]:
    log = folder / f"bare-{port}.log"
    if server == "granian":
        return [*_granian(port), "--working-dir", str(BENCH / "apps"), "bare_guard:app"], log
    command = [
        str(BIN / "uvicorn"),
        "--app-dir",
        str(BENCH / "apps"),
        "bare_guard:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--no-proxy-headers",
        "--log-level",
        "warning",
    ]
    return command, log


def tessera_server(port: int, server: str) -> list[str]:
    if server == "granian":
        # The factory ``tessera serve`` gives uvicorn: settings from the environment.
        return [*_granian(port), "--factory", "tessera.app:serve_app"]
    return [str(BIN / "tessera"), "serve", "--host", "127.0.0.1", "--port", str(port)]


def _granian(port: int) -> list[str]:
    """granian (Rust HTTP, ASGI to Python) as uvicorn is run: one worker, uvloop, no log."""
    return [
        str(BIN / "granian"),
        "--interface",
        "asgi",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--no-ws",
        "--no-access-log",
        "--log-level",
        "warning",
    ]


def nginx_server(folder: Path, listen: str, guard: str, api: str) -> list[str]:
    """nginx with the shipped configuration, one worker (the machine has two cores)."""
    names = {"LISTEN": listen, "TESSERA": guard, "API": api}
    server = re.sub(
        r"\$\{(LISTEN|TESSERA|API)\}",
        lambda m: names[m.group(1)],
        (ROOT / "examples" / "guard" / "nginx.conf").read_text(),
    )
    place = folder / f"nginx-{listen.rsplit(':', 1)[1]}"
    place.mkdir()
    (place / "api.conf").write_text(server)
    (place / "nginx.conf").write_text(
        f"""
daemon off;
worker_processes 1;
pid {place}/nginx.pid;
error_log stderr error;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {place}/body;
    proxy_temp_path {place}/proxy;
    fastcgi_temp_path {place}/fastcgi;
    uwsgi_temp_path {place}/uwsgi;
    scgi_temp_path {place}/scgi;
    include {place}/api.conf;
}}
"""
    )
    return ["/usr/sbin/nginx", "-p", str(place), "-e", "stderr", "-c", str(place / "nginx.conf")]


def wrk(
    url: str, keys: Path | None, headers: list[str], arguments: argparse.Namespace
) -> dict[str, Any]:
    command = [
        *WRK_CPU,
        shutil.which("wrk") or "wrk",
        "-t",
        "1",
        "-c",
        str(arguments.connections),
        "-d",
        f"{arguments.seconds}s",
        "--latency",
        "-s",
        str(BENCH / "wrk" / "scenario.lua"),
    ]
    for header in headers:
        command += ["-H", header]
    command += [url, "--"]
    command += ["tokens", str(keys), "key"] if keys else ["plain"]
    # wrk and its arguments, built here.
    finished = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603
    found = _RESULT.search(finished.stdout)
    if found is None:
        raise SystemExit(f"wrk printed no result: {finished.stdout}{finished.stderr}")
    result: dict[str, Any] = json.loads(found.group(1))
    if result.get("non2xx", 0) or result.get("errors", 0):
        raise SystemExit(f"{url}: not every answer was 2xx: {result}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--access-log", action="store_true", help="Tessera with its access log")
    parser.add_argument(
        "--server",
        choices=("uvicorn", "granian"),
        default="uvicorn",
        help="the HTTP server of both apps (granian must be installed)",
    )
    parser.add_argument("--no-nginx", action="store_true", help="leave out the nginx cases")
    parser.add_argument("--only", help="comma-separated case names to measure (after warm-up)")
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a TESSERA_* setting for the Tessera server (repeatable)",
    )
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory() as name, ExitStack() as running:
        folder = Path(name)
        keys = folder / "keys.txt"
        database_url = f"sqlite:///{folder}/guard.db"
        seed(database_url, arguments.pool, keys)
        (folder / "routes.toml").write_text(ROUTES)

        environment = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
        bare_port, api_port, tessera_port = free_port(), free_port(), free_port()
        for port in (bare_port, api_port):
            command, log = bare_server(folder, port, arguments.server)
            running.enter_context(process(command, log, environment))
            wait_for(f"http://127.0.0.1:{port}/api/v2/me", log)
        tessera_log = folder / "tessera.log"
        tessera_environment = {
            **environment,
            "TESSERA_DATABASE_URL": database_url,
            "TESSERA_SECRET_KEY": SECRET,
            "TESSERA_TRUSTED_PROXIES": "127.0.0.1",
            "TESSERA_ROUTES_FILE": str(folder / "routes.toml"),
            "TESSERA_ACCESS_LOG": "true" if arguments.access_log else "false",
            **dict(setting.split("=", 1) for setting in arguments.setting),
        }
        running.enter_context(
            process(
                tessera_server(tessera_port, arguments.server), tessera_log, tessera_environment
            )
        )
        wait_for(f"http://127.0.0.1:{tessera_port}/api/v2/helpdesk/discover", tessera_log)

        bare, tessera = f"http://127.0.0.1:{bare_port}", f"http://127.0.0.1:{tessera_port}"
        cases: dict[str, tuple[str, Path | None, list[str]]] = {
            "bare me": (f"{bare}/api/v2/me", None, []),
            "tessera me": (f"{tessera}/api/v2/me", keys, []),
            "bare door": (f"{bare}/authz/forward-auth", None, FORWARDED),
            "tessera door": (f"{tessera}/authz/forward-auth", keys, FORWARDED),
        }
        if not arguments.no_nginx:
            api = f"127.0.0.1:{api_port}"
            for label, guard in (("nginx bare", bare), ("nginx tessera", tessera)):
                listen = f"127.0.0.1:{free_port()}"
                command = nginx_server(folder, listen, guard.removeprefix("http://"), api)
                log = folder / f"{label.replace(' ', '-')}.log"
                running.enter_context(process(command, log, environment))
                wait_for(f"http://{listen}/", log)
                cases[label] = (
                    f"http://{listen}/tickets",
                    keys if "tessera" in label else None,
                    [],
                )

        # Warm-up: every key once through each Tessera case (fills the credential cache).
        warm = argparse.Namespace(**{**vars(arguments), "seconds": max(3, arguments.pool // 4000)})
        for url, pool, headers in cases.values():
            wrk(url, pool, headers, warm)

        if arguments.only:
            cases = {n: c for n, c in cases.items() if n in arguments.only.split(",")}
        results: dict[str, list[dict[str, Any]]] = {name_: [] for name_ in cases}
        order = list(cases)
        for round_ in range(arguments.rounds):
            for name_ in order if round_ % 2 == 0 else reversed(order):
                url, pool, headers = cases[name_]
                results[name_].append(wrk(url, pool, headers, arguments))
        report(results, arguments)


def report(results: dict[str, list[dict[str, Any]]], arguments: argparse.Namespace) -> None:
    def rps(name: str) -> float:
        return float(statistics.median(r["rps"] for r in results[name]))

    def p99(name: str) -> float:
        return float(statistics.median(r["p99_ms"] for r in results[name]))

    print(
        f"{arguments.pool} keys, {arguments.connections} connections, {arguments.seconds} s x"
        f" {arguments.rounds} rounds (medians); Tessera access log"
        f" {'on' if arguments.access_log else 'off'}; server {arguments.server}"
    )
    print(f"{'case':15} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}   rounds (req/s)")
    for name, runs in results.items():
        per_round = ", ".join(f"{r['rps']:.0f}" for r in runs)
        print(
            f"{name:15} {rps(name):9.0f} {statistics.median(r['p50_ms'] for r in runs):8.2f}"
            f" {p99(name):8.2f}   {per_round}"
        )
    for ours, baseline in (
        ("tessera me", "bare me"),
        ("tessera door", "bare door"),
        ("nginx tessera", "nginx bare"),
    ):
        if ours in results and baseline in results:
            # Round by round too: the two ran back to back, so the machine's drift cancels.
            pairs = zip(results[ours], results[baseline], strict=True)
            per_round = ", ".join(f"{o['rps'] / b['rps']:.0%}" for o, b in pairs)
            print(
                f"{ours} / {baseline}: {rps(ours) / rps(baseline):.0%} of the requests per second"
                f" (rounds: {per_round}), p99 {p99(ours) / p99(baseline):.2f}x"
            )


if __name__ == "__main__":
    main()
