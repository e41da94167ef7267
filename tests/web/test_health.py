"""``/healthz`` and ``/readyz`` (issue #16 §3): cheap, open, honest about what is down."""

import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tessera.app import create_app
from tessera.bootstrap import build_runtime
from tessera.logs import ProbeFilter
from tessera.services.health import Check, ReadinessProbe, schema_check
from tessera.store.database import make_engine
from tessera.store.schema import downgrade, upgrade
from tests.conftest import served, settings_for_tests
from tests.live import serving


def test_alive_needs_nothing_and_is_not_cached(api: httpx.Client) -> None:
    alive = api.get("/healthz")

    assert (alive.status_code, alive.json()) == (200, {"status": "alive"})
    assert alive.headers["Cache-Control"] == "no-store"
    assert api.head("/healthz").status_code == 200


def test_ready_when_the_database_answers_and_its_schema_is_current(
    api: httpx.Client, backend: str
) -> None:
    ready = api.get("/readyz")

    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "schema"}  # no Redis configured here
    assert body["checks"]["database"] == {
        "ok": True,
        "detail": f"{backend} answers",
        "required": True,
    }
    assert body["checks"]["schema"]["ok"] is True
    assert ready.headers["Cache-Control"] == "no-store"
    assert api.head("/readyz").status_code == 200


def test_a_schema_behind_the_code_is_not_ready(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/behind.db")
    try:
        upgrade(engine)
        check = schema_check(engine)
        assert check.run()[0] is True
        downgrade(engine, "-1")

        ok, detail = check.run()

        assert ok is False
        assert "this version needs" in detail
    finally:
        engine.dispose()


def test_a_round_is_reused_for_a_moment_and_a_failing_check_is_not_ready() -> None:
    rounds: list[float] = []

    def flaky() -> tuple[bool, str]:
        rounds.append(time.monotonic())
        raise ConnectionRefusedError("refused")

    probe = ReadinessProbe([Check("flaky", flaky)], reuse_for=60)
    optional = ReadinessProbe([Check("flaky", flaky, required=False)], reuse_for=60)

    first, second = probe.readiness(), probe.readiness()

    assert first is second
    assert len(rounds) == 1
    assert first.ready is False
    assert first.checks[0].detail == "failed (ConnectionRefusedError)"
    assert optional.readiness().ready is True


def test_ready_with_redis_when_it_answers(database_url: str, redis_url: str) -> None:
    with served(database_url, redis_url=redis_url) as (_, api):
        ready = api.get("/readyz")

    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["redis"] == {"ok": True, "detail": "answers", "required": False}


@contextmanager
def silent_server() -> Iterator[str]:
    """A TCP server that accepts connections and never answers (a hung Redis)."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()


def test_a_redis_that_never_answers_is_reported_and_the_node_stays_ready(database_url: str) -> None:
    with silent_server() as hung_redis:
        # Not ``served``: its clean-up resets the rate limits, in the Redis that never answers.
        runtime = build_runtime(
            settings_for_tests(database_url, redis_url=hung_redis, redis_timeout_seconds=0.3)
        )
        try:
            with serving(create_app(runtime=runtime)) as url:
                started = time.monotonic()
                answer = httpx.get(f"{url}/readyz", timeout=30)
                waited = time.monotonic() - started
        finally:
            runtime.database.dispose()

    # Rate limits fall back to each process (ADR 0030): reported, not a reason to stop serving.
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "ready"
    assert body["checks"]["redis"] == {
        "ok": False,
        "detail": "does not answer; each process counts attempts itself meanwhile",
        "required": False,
    }
    assert waited < 2.0  # the probe's own bound; the Redis timeout is shorter still


@pytest.mark.parametrize(
    ("path", "status", "kept"),
    [("/readyz", 200, False), ("/healthz", 200, False), ("/readyz", 503, True), ("/me", 200, True)],
)
def test_successful_probes_leave_no_access_line(path: str, status: int, kept: bool) -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", path, "1.1", status),
        None,
    )

    assert ProbeFilter().filter(record) is kept
