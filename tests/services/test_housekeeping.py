"""Housekeeping deletes what has ended past its grace period, keeps the rest, in bounded batches."""

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, inspect, select
from sqlalchemy.pool import QueuePool

from tessera.app import create_app
from tessera.bootstrap import Runtime
from tessera.core.people import Person
from tessera.services.housekeeping import Housekeeping, PrunePolicy
from tessera.store.tables import (
    ApiKeyRow,
    ApiTokenRow,
    Base,
    CredentialChangeRow,
    DeviceSetupCodeRow,
    MagicLinkRow,
    OAuthCodeRow,
    OAuthGrantRow,
    OAuthRefreshTokenRow,
    SetupCodeRow,
    WebSessionRow,
)
from tests.clock import ManualClock
from tests.conftest import extra_runtime
from tests.factories import make_oauth_client, make_person
from tests.live import serving

DAY = timedelta(days=1)


class Rows:
    """Rows written straight into the tables, with whatever times a case needs."""

    def __init__(self, runtime: Runtime, person: Person, now: datetime) -> None:
        self._runtime = runtime
        self.person = person
        self.now = now
        self._digests = 0

    def add(self, row: Base) -> int:
        with self._runtime.database.write() as session:
            session.add(row)
            session.flush()
            identity = inspect(row).identity
        assert identity is not None
        return int(identity[0])

    def digest(self) -> bytes:
        self._digests += 1
        return self._digests.to_bytes(32, "big")

    def token(
        self,
        *,
        created: timedelta = -DAY,
        used: timedelta | None = None,
        revoked: timedelta | None = None,
        expires: timedelta | None = None,
        grant_id: int | None = None,
    ) -> int:
        return self.add(
            ApiTokenRow(
                code_digest=self.digest(),
                person_id=self.person.id,
                scope="client",
                source="exchange",
                created_at=self.now + created,
                last_used_at=None if used is None else self.now + used,
                revoked_at=None if revoked is None else self.now + revoked,
                expires_at=None if expires is None else self.now + expires,
                grant_id=grant_id,
            )
        )

    def key(self, *, revoked: timedelta | None = None) -> int:
        return self.add(
            ApiKeyRow(
                code_digest=self.digest(),
                person_id=self.person.id,
                note="housekeeping",
                is_superuser=False,
                admin_api=False,
                tags="*",
                created_at=self.now - 500 * DAY,
                revoked_at=None if revoked is None else self.now + revoked,
            )
        )

    def grant(self, client_id: int, *, created: timedelta, revoked: timedelta | None) -> int:
        return self.add(
            OAuthGrantRow(
                client_id=client_id,
                person_id=self.person.id,
                scope="",
                created_at=self.now + created,
                revoked_at=None if revoked is None else self.now + revoked,
            )
        )

    def code(self, grant_id: int, *, expires: timedelta) -> int:
        return self.add(
            OAuthCodeRow(
                code_digest=self.digest(),
                grant_id=grant_id,
                redirect_uri="https://app.example.test/callback",
                created_at=self.now + expires - timedelta(minutes=1),
                expires_at=self.now + expires,
            )
        )

    def refresh_token(self, grant_id: int, *, expires: timedelta) -> int:
        return self.add(
            OAuthRefreshTokenRow(
                token_digest=self.digest(),
                grant_id=grant_id,
                created_at=self.now + expires - 14 * DAY,
                expires_at=self.now + expires,
            )
        )

    def web_session(self, *, expires: timedelta) -> int:
        return self.add(
            WebSessionRow(
                token_digest=self.digest(),
                person_id=self.person.id,
                created_at=self.now + expires - DAY,
                expires_at=self.now + expires,
            )
        )

    def setup_code(self, *, expires: timedelta) -> int:
        return self.add(
            SetupCodeRow(
                code_digest=self.digest(),
                created_at=self.now + expires - DAY,
                expires_at=self.now + expires,
            )
        )

    def device_code(self, *, expires: timedelta) -> int:
        return self.add(
            DeviceSetupCodeRow(
                code_digest=self.digest(),
                person_id=self.person.id,
                created_at=self.now + expires - timedelta(minutes=10),
                expires_at=self.now + expires,
            )
        )

    def magic_link(self, *, expires: timedelta, used: timedelta | None = None) -> int:
        return self.add(
            MagicLinkRow(
                code_digest=self.digest(),
                person_id=self.person.id,
                target="/login",
                created_at=self.now + expires - timedelta(minutes=15),
                expires_at=self.now + expires,
                used_at=None if used is None else self.now + used,
            )
        )

    def change(self, *, created: timedelta) -> int:
        return self.add(
            CredentialChangeRow(kind="api_key", subject_id=1, created_at=self.now + created)
        )

    def ids(self, table: type[Base]) -> set[int]:
        id_column = table.__table__.c.id
        with self._runtime.database.read() as session:
            return set(session.scalars(select(id_column)))


@pytest.fixture
def rows(runtime: Runtime, services: object, clock: ManualClock) -> Rows:
    return Rows(runtime, make_person(runtime.services), clock.now())


def test_rows_ended_past_the_grace_period_go_and_the_rest_stay(
    runtime: Runtime, rows: Rows
) -> None:
    # Defaults: seven days of grace, tokens expire after 90 idle days, keys kept 365 days.
    client = make_oauth_client(runtime.services).client
    revoked_grant = rows.grant(client.id, created=-30 * DAY, revoked=-8 * DAY)
    live_grant = rows.grant(client.id, created=-30 * DAY, revoked=None)
    dead_grant = rows.grant(client.id, created=-30 * DAY, revoked=None)
    tokens_gone = {
        rows.token(revoked=-8 * DAY),
        rows.token(expires=-8 * DAY),
        rows.token(created=-100 * DAY, used=-98 * DAY),
        rows.token(revoked=-9 * DAY, grant_id=revoked_grant),
    }
    tokens_kept = {
        rows.token(revoked=-6 * DAY),
        rows.token(expires=-6 * DAY),
        rows.token(created=-100 * DAY, used=-95 * DAY),
        rows.token(),
        rows.token(expires=DAY, grant_id=live_grant),
    }
    keys_gone = {rows.key(revoked=-400 * DAY)}
    keys_kept = {rows.key(revoked=-30 * DAY), rows.key()}
    # Expired codes and refresh tokens go; so does the grant left with nothing under it.
    rows.code(live_grant, expires=-8 * DAY)
    rows.code(dead_grant, expires=-8 * DAY)
    codes_kept = {rows.code(live_grant, expires=-6 * DAY)}
    rows.refresh_token(live_grant, expires=-8 * DAY)
    refresh_kept = {rows.refresh_token(live_grant, expires=6 * DAY)}
    sessions = rows.web_session(expires=-8 * DAY), rows.web_session(expires=DAY)
    setup = rows.setup_code(expires=-8 * DAY), rows.setup_code(expires=-6 * DAY)
    device = rows.device_code(expires=-8 * DAY), rows.device_code(expires=DAY)
    # A used link stays until it would have expired, like a device-setup code.
    links = (
        rows.magic_link(expires=-8 * DAY, used=-8 * DAY),
        rows.magic_link(expires=-6 * DAY),
        rows.magic_link(expires=DAY, used=-DAY),
    )
    changes = rows.change(created=-timedelta(hours=2)), rows.change(created=-timedelta(minutes=9))

    deleted = runtime.housekeeping.run_round()

    assert rows.ids(ApiTokenRow) >= tokens_kept
    assert not rows.ids(ApiTokenRow) & tokens_gone
    assert rows.ids(ApiKeyRow) >= keys_kept
    assert not rows.ids(ApiKeyRow) & keys_gone
    assert rows.ids(OAuthCodeRow) == codes_kept
    assert rows.ids(OAuthRefreshTokenRow) == refresh_kept
    assert rows.ids(OAuthGrantRow) == {live_grant}
    assert rows.ids(WebSessionRow) == {sessions[1]}
    assert rows.ids(SetupCodeRow) == {setup[1]}
    assert rows.ids(DeviceSetupCodeRow) == {device[1]}
    assert rows.ids(MagicLinkRow) == {links[1], links[2]}
    assert rows.ids(CredentialChangeRow) == {changes[1]}
    assert deleted["api_tokens"] == len(tokens_gone)
    assert deleted["oauth_grants"] == 2
    assert runtime.housekeeping.run_round() == dict.fromkeys(deleted, 0)


def _housekeeping(
    runtime: Runtime, clock: ManualClock, *, batch_size: int, sleep: Callable[[float], None]
) -> Housekeeping:
    """The runtime's housekeeping with the default retention, small batches, and ``sleep``
    for its pauses (0.5 s each)."""
    return Housekeeping(
        runtime.database,
        clock,
        runtime.services.api_tokens.policy.lifetime,
        PrunePolicy(
            grace=7 * DAY,
            revoked_key_retention=365 * DAY,
            change_retention=timedelta(hours=1),
            batch_size=batch_size,
            pause_seconds=0.5,
        ),
        runtime.services.audit,
        sleep=sleep,
    )


def test_each_delete_takes_at_most_one_batch_and_a_round_at_most_its_batches(
    runtime: Runtime, rows: Rows, clock: ManualClock
) -> None:
    pauses: list[float] = []
    housekeeping = _housekeeping(runtime, clock, batch_size=10, sleep=pauses.append)
    ended = {rows.token(revoked=-8 * DAY) for _ in range(25)}

    first = housekeeping.run_round(max_batches=2)["api_tokens"]
    left_after_first = len(rows.ids(ApiTokenRow) & ended)
    pauses_in_first = pauses.count(0.5)
    second = housekeeping.run_round(max_batches=2)["api_tokens"]

    assert first == 20
    assert left_after_first == 5
    assert pauses_in_first >= 1
    assert second == 5
    assert not rows.ids(ApiTokenRow) & ended


def test_a_batch_of_tokens_takes_its_rows_from_each_rule_in_turn_never_more_than_its_size(
    runtime: Runtime, rows: Rows, clock: ManualClock
) -> None:
    housekeeping = _housekeeping(runtime, clock, batch_size=4, sleep=lambda _seconds: None)
    revoked = {rows.token(revoked=-8 * DAY) for _ in range(3)}
    expired = {rows.token(expires=-8 * DAY) for _ in range(3)}
    idle = {rows.token(created=-100 * DAY, used=-98 * DAY) for _ in range(3)}
    kept = {rows.token(created=-100 * DAY, used=-95 * DAY), rows.token()}

    first = housekeeping.run_round(max_batches=1)["api_tokens"]
    left = rows.ids(ApiTokenRow) & (revoked | expired | idle)
    rest = housekeeping.run_round()["api_tokens"]

    assert first == 4
    assert len(left) == 5
    assert not left & revoked  # the rules in turn: all revoked ones, then one expired
    assert rest == 5
    assert rows.ids(ApiTokenRow) == kept


def test_the_server_prunes_in_the_background(database_url: str, clock: ManualClock) -> None:
    with extra_runtime(database_url, prune_every_seconds=0.2) as runtime:
        rows = Rows(runtime, make_person(runtime.services), clock.now())
        ended = rows.token(revoked=-8 * DAY)
        live = rows.token()
        with serving(create_app(runtime=runtime)):
            gone = _wait_until(lambda: ended not in rows.ids(ApiTokenRow))

        assert gone
        assert live in rows.ids(ApiTokenRow)


class _ServerLog(logging.Handler):
    """uvicorn's own lines as they come: when the lifespan's shutdown begins, when it ends."""

    def __init__(self) -> None:
        super().__init__()
        self.shutdown_began = threading.Event()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        self.lines.append(message)
        if message.startswith("Waiting for application shutdown"):
            self.shutdown_began.set()


@contextmanager
def _server_log() -> Iterator[_ServerLog]:
    handler = _ServerLog()
    logger = logging.getLogger("uvicorn.error")
    # uvicorn says "Shutting down" at the info level, which a serving process may hold back.
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@contextmanager
def _first_prune_held_until(
    release: threading.Event, engine: Engine
) -> Iterator[tuple[threading.Event, list[str]]]:
    """Hold the first DELETE of a round until ``release``; note every commit after it."""
    seen: list[str] = []
    held = threading.Event()

    def before(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        if statement.lstrip().startswith("DELETE") and not held.is_set():
            held.set()
            assert release.wait(60), "the server never began to stop"

    def committed(conn: Any) -> None:
        if held.is_set():
            seen.append("round commit")

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "commit", committed)
    try:
        yield held, seen
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "commit", committed)


def test_a_stopping_server_lets_a_round_in_progress_finish_first(
    database_url: str, clock: ManualClock
) -> None:
    """No background work outlives the server's lifespan, nor holds a connection after it."""
    with extra_runtime(database_url, prune_every_seconds=0.05, prune_batch_size=10) as runtime:
        rows = Rows(runtime, make_person(runtime.services), clock.now())
        # Three batches with pauses between them: the round goes on well after it is let go.
        ended = {rows.token(revoked=-8 * DAY) for _ in range(30)}
        with _server_log() as server_log:
            engine = runtime.database.engine
            with _first_prune_held_until(server_log.shutdown_began, engine) as (held, seen):
                with serving(create_app(runtime=runtime)):
                    assert held.wait(60), "no round began"
                seen.append("server stopped")
            pool = engine.pool
            assert isinstance(pool, QueuePool)
            checked_out = pool.checkedout()

        assert seen[-1] == "server stopped", seen
        assert seen.count("round commit") >= 3
        assert checked_out == 0
        assert not rows.ids(ApiTokenRow) & ended


def _wait_until(condition: Callable[[], bool]) -> bool:
    """Poll for a state, up to a generous bound: correctness, not speed, is asserted."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_round_reads_each_table_by_its_time_index_not_whole(database_url: str) -> None:
    """Each batch's rows are found by an index (migrations 0020 and 0021): a scan of a whole
    table per batch, inside a write transaction, held SQLite's one writer for longer as tables
    grew. Every rule of the API tokens runs here (an absolute lifetime is off by default)."""
    if not database_url.startswith("sqlite"):
        pytest.skip("the plans are SQLite's; PostgreSQL's planner decides by its statistics")
    statements: list[tuple[str, Any]] = []

    def seen(_c: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "DELETE")):
            statements.append((statement, parameters))

    with extra_runtime(database_url, token_max_age_days=365) as runtime:
        event.listen(runtime.database.engine, "before_cursor_execute", seen)
        try:
            runtime.housekeeping.run_round()
        finally:
            event.remove(runtime.database.engine, "before_cursor_execute", seen)

        scanned = set()
        with runtime.database.engine.connect() as connection:
            for statement, parameters in statements:
                plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
                steps = [str(step[3]) for step in plan]
                scanned |= {step.split()[1] for step in steps if step.startswith("SCAN")}
    # Setup codes are a handful of rows (one per first run), and have no index on their times.
    assert scanned <= {"setup_codes"}
    token_rules = [
        each for each, _ in statements if each.startswith("SELECT api_tokens.id \nFROM api_tokens")
    ]
    # Revoked, expired, idle (used, never used), too old: each on its own index.
    assert len(token_rules) == 5
    assert len(statements) >= 19  # every pruner ran
