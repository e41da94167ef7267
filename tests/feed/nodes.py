"""Real Tessera nodes: ``tessera serve`` processes on loopback ports, against a shared database."""

import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import SECRET_KEY
from tests.served import clean_environment, start, stop, wait_until_serving

#: A bound for a loaded CI machine, not a speed target: the feed promises well under a second.
PROPAGATION_BOUND_SECONDS = 3.0


@contextmanager
def nodes(database_url: str, folder: Path, *, workers: Sequence[int]) -> Iterator[list[str]]:
    """Nodes with these worker counts, ``tessera serve`` each, started side by side; their URLs."""
    started: list[tuple[subprocess.Popen[bytes], Path]] = []
    try:
        for index, count in enumerate(workers):
            started.append(_start(database_url, folder, count, name=f"node-{index}"))
        yield [wait_until_serving(process, log) for process, log in started]
    finally:
        for process, _ in started:
            stop(process)


@contextmanager
def own_node(database_url: str, folder: Path) -> Iterator[tuple[str, Path]]:
    """One ``tessera serve`` with no public URL set, so that the links it prints and serves name
    its own address; its URL and the file its output goes to."""
    process, log = _start(database_url, folder, 1, name="own-node")
    try:
        yield wait_until_serving(process, log), log
    finally:
        stop(process)


def _start(
    database_url: str, folder: Path, workers: int, *, name: str
) -> tuple[subprocess.Popen[bytes], Path]:
    environment = clean_environment(
        TESSERA_DATABASE_URL=database_url,
        TESSERA_SECRET_KEY=SECRET_KEY,
        TESSERA_AUTO_MIGRATE="true",
        TESSERA_LOG_LEVEL="warning",
    )
    log = folder / f"{name}.log"
    arguments = ["--port", "0", "--workers", str(workers)]
    return start(arguments, environment=environment, log=log), log


def refused_within(bound: float, request: Callable[[], httpx.Response]) -> bool:
    """Ask until refused (401) or the bound passes; whether it was refused in time."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if request().status_code == 401:
            return True
        time.sleep(0.02)
    return False
