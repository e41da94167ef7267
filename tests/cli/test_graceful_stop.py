"""SIGTERM stops ``tessera serve`` gracefully (issue #16 §3): it stops accepting, answers what
is under way, writes the last-use times it held, and exits."""

import json
import signal
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests.cli.conftest import Cli, cli_environment
from tests.conftest import SECRET_KEY
from tests.live import read_all
from tests.secrets_seen import remember
from tests.served import clean_environment, start, wait_until_serving


def test_sigterm_drains_what_is_under_way_and_flushes_last_use(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path}/tessera.db"
    cli = Cli(cli_environment(database))
    assert cli("migrate").exit_code == 0
    cli("people", "add", "ada@example.com", "--name", "Ada", "--admin")
    key = cli.json("keys", "create", "--note", "n", "--agent", "ada@example.com")["key_string"]
    remember(key)
    environment = clean_environment(
        TESSERA_DATABASE_URL=database,
        TESSERA_SECRET_KEY=SECRET_KEY,
        TESSERA_USAGE_FLUSH_SECONDS="3600",  # nothing written until the server stops
    )
    log = tmp_path / "out"
    process = start(["--port", "0"], environment=environment, log=log)
    url = wait_until_serving(process, log)
    address = urlsplit(url)
    assert httpx.get(f"{url}/api/v2/me", headers={"Authorization": f"key {key}"}).is_success

    body = json.dumps({"email": "new@example.com", "name": "New Person"}).encode()
    with socket.create_connection((address.hostname, address.port), timeout=30) as under_way:
        under_way.sendall(
            b"POST /api/v2/people HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Authorization: key " + key.encode() + b"\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body[:10]
        )
        time.sleep(0.3)
        process.terminate()  # SIGTERM while that request waits for the rest of its body
        refused = _refused_within(address.hostname or "", address.port or 0, seconds=10)
        under_way.sendall(body[10:])
        answer = read_all(under_way)
    exit_code = process.wait(timeout=30)
    shown = cli.json("keys", "show", key.split(":")[0])

    assert refused, "the server kept accepting connections after SIGTERM"
    assert answer.startswith(b"HTTP/1.1 201 "), answer[:300]
    # uvicorn ends by raising the signal it caught again, once everything is done, so that the
    # exit status says what stopped it: -SIGTERM here, not a crash.
    assert exit_code in (0, -signal.SIGTERM), log.read_text()
    assert shown["date_last_used"] is not None  # held in memory, written on the way out


def _refused_within(host: str, port: int, *, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=1).close()
        except OSError:
            return True
        time.sleep(0.05)
    return False
