"""Whether this process can serve: what ``/readyz`` reports (issue #16 §3).

Alive (``/healthz``) needs no check at all: a process that answers is alive. Ready means the
dependencies every request may need answer now: the database (one trivial statement), its
schema at the revision this code was built for, and Redis when rate limits are shared through
it. A probe must stay cheap however often it is asked and must not become a way to load the
database: one round of checks runs at a time, and a round is reused for ``reuse_for`` seconds.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, text

from tessera.store.schema import current_revision, head_revision

#: A check's answer: whether it passed, and a short description that holds no secret.
Outcome = tuple[bool, str]


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    run: Callable[[], Outcome]
    #: False: reported, but the process serves without it (it has a fallback).
    required: bool = True


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    required: bool = True


@dataclass(frozen=True, slots=True)
class Readiness:
    checks: tuple[CheckResult, ...]
    #: When the round ran (``time.monotonic()``).
    checked_at: float

    @property
    def ready(self) -> bool:
        return all(check.ok or not check.required for check in self.checks)


class ReadinessProbe:
    """Runs the checks, one round at a time, and reuses a round for ``reuse_for`` seconds."""

    def __init__(self, checks: list[Check], *, reuse_for: float = 1.0) -> None:
        self._checks = checks
        self._reuse_for = reuse_for
        self._lock = threading.Lock()
        self._last: Readiness | None = None

    def readiness(self) -> Readiness:
        """Blocking (run it in a worker thread): a new round, or the last one if recent."""
        with self._lock:  # callers arriving during a round wait for it and get its result
            last = self._last
            if last is not None and time.monotonic() - last.checked_at < self._reuse_for:
                return last
            results = tuple(_result(check) for check in self._checks)
            self._last = Readiness(results, time.monotonic())
            return self._last


def _result(check: Check) -> CheckResult:
    try:
        ok, detail = check.run()
    # A dependency failing in any way (driver, network, protocol) means "not ready", never 500.
    except Exception as error:  # noqa: BLE001
        ok, detail = False, f"failed ({type(error).__name__})"
    return CheckResult(check.name, ok, detail, check.required)


def database_check(engine: Engine) -> Check:
    def run() -> Outcome:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True, f"{engine.dialect.name} answers"

    return Check("database", run)


def schema_check(engine: Engine) -> Check:
    expected = head_revision()  # the migration files do not change under a running process

    def run() -> Outcome:
        found = current_revision(engine)
        if found != expected:
            return False, f"at {found or 'no revision'}; this version needs {expected}"
        return True, f"at {expected}"

    return Check("schema", run)


def redis_check(ping: Callable[[], bool]) -> Check:
    """``ping``: the rate-limit storage's own check (``limits``' ``Storage.check``).

    Not required: without Redis each process counts attempts itself (ADR 0030), so a node
    stays ready; the check says so.
    """

    def run() -> Outcome:
        if ping():
            return True, "answers"
        return False, "does not answer; each process counts attempts itself meanwhile"

    return Check("redis", run, required=False)
