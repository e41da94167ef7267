"""Real ``tessera serve`` processes: started with ``--port 0``, found by what they print.

The first line ``tessera serve`` prints names the address it bound; tests read it from the
process's output file, so no test guesses a free port.
"""

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.secrets_seen import remember_log

TESSERA = Path(sys.executable).parent / "tessera"
_LISTENING = re.compile(rb"listening on (http://\S+)")
#: Generous: on a loaded two-core machine, importing the app alone can take seconds.
START_SECONDS = 180


@dataclass(frozen=True, slots=True)
class Served:
    url: str
    #: Everything the process printed, stdout and stderr together.
    log: Path
    process: "subprocess.Popen[bytes]"

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def clean_environment(**settings: str) -> dict[str, str]:
    """This process's environment without any ``TESSERA_*`` variable, plus ``settings``."""
    environment = {k: v for k, v in os.environ.items() if not k.upper().startswith("TESSERA_")}
    environment.update(settings)
    return environment


def start(
    arguments: Sequence[str], *, environment: Mapping[str, str], log: Path, cwd: Path | None = None
) -> "subprocess.Popen[bytes]":
    with log.open("wb") as output:
        # Our own entry point, with arguments built by the tests: no untrusted input.
        return subprocess.Popen(  # noqa: S603
            [str(TESSERA), "serve", *arguments],
            env=dict(environment),
            cwd=cwd,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def wait_until_serving(process: "subprocess.Popen[bytes]", log: Path) -> str:
    """The URL the process printed, once it answers HTTP there."""
    deadline = time.monotonic() + START_SECONDS
    url: str | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"tessera serve exited: {log.read_text(errors='replace')[-3000:]}")
        if url is None:
            printed = _LISTENING.search(log.read_bytes())
            url = printed.group(1).decode() if printed else None
        if url is not None:
            try:
                # A server still starting has accepted the connection and answers once started;
                # a short read timeout would give up on it (and httpcore then leaks the socket).
                httpx.get(f"{url}/api/v2/helpdesk/discover", timeout=START_SECONDS)
                return url
            except httpx.ConnectError:
                pass
        time.sleep(0.05)
    raise RuntimeError(f"tessera serve did not start: {log.read_text(errors='replace')[-3000:]}")


def stop(process: "subprocess.Popen[bytes]") -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def serving(
    *arguments: str, environment: Mapping[str, str], log: Path, cwd: Path | None = None
) -> Iterator[Served]:
    """``tessera serve --port 0 ARGUMENTS``, until the block ends."""
    process = start(["--port", "0", *arguments], environment=environment, log=log, cwd=cwd)
    try:
        yield Served(wait_until_serving(process, log), log, process)
    finally:
        stop(process)
        remember_log(log)  # what it logged is checked for secrets with the run's own records
