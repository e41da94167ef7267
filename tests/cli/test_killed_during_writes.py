"""SIGKILL in the middle of writes loses nothing acknowledged (issue #16 §4).

A real ``tessera serve`` takes key creations from several clients at once and is killed with
SIGKILL while they are under way, twice. After each restart every key whose creation was
answered 201 exists and authenticates: an acknowledgement means the row was committed.
"""

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx

from tests.cli.conftest import Cli, cli_environment
from tests.conftest import SECRET_KEY, fresh_database
from tests.secrets_seen import remember
from tests.served import clean_environment, start, wait_until_serving

WRITERS = 4


def test_nothing_acknowledged_is_lost_to_sigkill(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as database:
        cli = Cli(cli_environment(database))
        assert cli("migrate").exit_code == 0
        ada = cli.json("people", "add", "ada@example.com", "--name", "Ada", "--admin")
        admin = cli.json("keys", "create", "--note", "n", "--agent", "ada@example.com")
        remember(admin["key_string"])
        environment = clean_environment(
            TESSERA_DATABASE_URL=database, TESSERA_SECRET_KEY=SECRET_KEY
        )
        acknowledged: list[str] = []
        for round_number in range(2):
            log = tmp_path / f"serve-{round_number}.log"
            process = start(["--port", "0"], environment=environment, log=log)
            url = wait_until_serving(process, log)
            made, failures = _create_keys_until_killed(url, admin["key_string"], ada["id"], process)
            assert process.wait(timeout=30) == -signal.SIGKILL
            assert failures == []
            assert made, log.read_text()  # the writers did get answers before the kill
            acknowledged += made

        log = tmp_path / "serve-after.log"
        process = start(["--port", "0"], environment=environment, log=log)
        try:
            url = wait_until_serving(process, log)
            with httpx.Client(base_url=url, timeout=60) as api:
                lost = [
                    key
                    for key in acknowledged
                    if api.get("/api/v2/me", headers={"Authorization": f"key {key}"}).status_code
                    != 200
                ]
        finally:
            process.terminate()
            process.wait(timeout=30)

    assert lost == [], f"{len(lost)} of {len(acknowledged)} acknowledged keys were lost"


def _create_keys_until_killed(
    url: str, admin_key: str, agent_id: int, process: "subprocess.Popen[bytes]"
) -> tuple[list[str], list[str]]:
    """Keys created by ``WRITERS`` clients at once until the server is killed under them, and
    any answer that was neither a creation nor a lost connection."""
    made: list[str] = []
    failures: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def write() -> None:
        body = {"note": "under fire", "person_id": agent_id}
        with httpx.Client(base_url=url, timeout=30) as api:
            while not stop.is_set():
                try:
                    answer = api.post(
                        "/api/v2/api_keys", json=body, headers={"Authorization": f"key {admin_key}"}
                    )
                except httpx.TransportError:
                    return  # the server is gone: whatever it had not answered is not ours
                with lock:
                    if answer.status_code != 201:
                        failures.append(f"{answer.status_code} {answer.text[:300]}")
                        return
                    made.append(answer.json()["data"]["key_string"])
                    remember(made[-1])

    writers = [threading.Thread(target=write) for _ in range(WRITERS)]
    for writer in writers:
        writer.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(made) < 40:  # well into the writes
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    stop.set()
    for writer in writers:
        writer.join(timeout=60)
    return made, failures
