"""Real Tessera nodes: ``tessera serve`` processes on loopback ports, against a shared database."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import SECRET_KEY

#: A bound for a loaded CI machine, not a speed target: the feed promises well under a second.
PROPAGATION_BOUND_SECONDS = 3.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_for_http(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    # Generous: on a loaded two-core machine, importing the app alone can take seconds.
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the node exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            httpx.get(f"{url}/api/v2/me", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"the node did not start: {log.read_text(errors='replace')[-2000:]}")


@contextmanager
def nodes(database_url: str, folder: Path, *, workers: Sequence[int]) -> Iterator[list[str]]:
    """Nodes with these worker counts, ``tessera serve`` each, started side by side; their URLs."""
    started: list[tuple[subprocess.Popen[bytes], str, Path]] = []
    try:
        for count in workers:
            started.append(_start(database_url, folder, count))
        for process, url, log in started:
            _wait_for_http(url, process, log)
        yield [url for _, url, _ in started]
    finally:
        for process, _, _ in started:
            process.terminate()
        for process, _, _ in started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def own_node(database_url: str, folder: Path) -> Iterator[tuple[str, Path]]:
    """One ``tessera serve`` whose public URL is its own address (links it prints work); its
    URL and the file its output goes to."""
    process, url, log = _start(database_url, folder, 1, public_is_own=True)
    try:
        _wait_for_http(url, process, log)
        yield url, log
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _start(
    database_url: str, folder: Path, workers: int, *, public_is_own: bool = False
) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = _free_port()
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("TESSERA_")
    }
    environment.update(
        TESSERA_DATABASE_URL=database_url,
        TESSERA_SECRET_KEY=SECRET_KEY,
        TESSERA_AUTO_MIGRATE="true",
        TESSERA_PUBLIC_URL=f"http://127.0.0.1:{port}" if public_is_own else "http://helpdesk.test",
        TESSERA_LOG_LEVEL="warning",
    )
    tessera = Path(sys.executable).parent / "tessera"
    log = folder / f"node-{port}.log"
    with log.open("wb") as output:
        # Our own entry point, with arguments built here: no untrusted input.
        process = subprocess.Popen(  # noqa: S603
            [str(tessera), "serve", "--port", str(port), "--workers", str(workers)],
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    return process, f"http://127.0.0.1:{port}", log


def refused_within(bound: float, request: Callable[[], httpx.Response]) -> bool:
    """Ask until refused (401) or the bound passes; whether it was refused in time."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if request().status_code == 401:
            return True
        time.sleep(0.02)
    return False
