"""Throttled sign-ins are counted, not listed: one audit event per account, address, window.

A storm of refused attempts must not grow the trail by a row each. The count is settled by
the database (an upsert), so processes racing on one window leave one row and every count.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tessera.bootstrap import Runtime
from tessera.core.audit import AuditFilters, AuditKind
from tessera.core.paging import PageRequest
from tessera.services.audit import count_repeat
from tessera.services.container import Services
from tests.clock import ManualClock
from tests.factories import (
    key_header,
    make_key,
    make_person,
    make_token,
    new_password,
    token_header,
)

#: The per-e-mail limit of the test settings (the default): 5 a minute.
ALLOWED = 5


def _attempts(api: httpx.Client, email: str, times: int) -> list[int]:
    wrong = new_password()
    return [
        api.post("/api/v2/api_tokens", json={"email": email, "password": wrong}).status_code
        for _ in range(times)
    ]


def _throttled(services: Services) -> list[Any]:
    filters = AuditFilters(kind=AuditKind.LOGIN_THROTTLED.value)
    return services.audit.list(filters, PageRequest(1, 100)).items


def test_a_storm_of_refused_attempts_is_one_event_with_a_count(
    api: httpx.Client, services: Services
) -> None:
    agent = make_person(services, password=new_password())

    answers = _attempts(api, agent.primary_email, ALLOWED + 40)

    assert answers == [401] * ALLOWED + [429] * 40
    (event,) = _throttled(services)
    assert event.subject_person_id == agent.id
    assert event.actor_person_id is None
    assert event.client_address == "127.0.0.1"
    assert event.detail["attempts"] == 40
    assert isinstance(event.detail["last_attempt_at"], str)
    # The wrong passwords before the limit are each a failed sign-in, as before.
    failed = services.audit.list(AuditFilters(kind="login.failed"), PageRequest(1, 100))
    assert failed.total == ALLOWED


def test_unknown_addresses_are_counted_in_one_event_that_names_nobody(
    api: httpx.Client, services: Services
) -> None:
    _attempts(api, "nobody@example.test", ALLOWED + 3)
    _attempts(api, "nobody-else@example.test", ALLOWED + 4)

    (event,) = _throttled(services)
    assert event.subject_person_id is None
    assert event.detail["attempts"] == 7
    assert "nobody" not in str(event)


def test_a_new_window_starts_a_new_event(
    api: httpx.Client, services: Services, clock: ManualClock
) -> None:
    agent = make_person(services, password=new_password())
    _attempts(api, agent.primary_email, ALLOWED + 2)
    # The throttle's own window is real time: still refused, but counted in the next window.
    clock.advance(timedelta(minutes=15))
    _attempts(api, agent.primary_email, 3)

    counts = sorted(event.detail["attempts"] for event in _throttled(services))
    assert counts == [2, 3]


def test_the_person_sees_refused_attempts_on_their_sign_ins(
    api: httpx.Client, services: Services
) -> None:
    agent = make_person(services, password=new_password())
    _attempts(api, agent.primary_email, ALLOWED + 9)

    answer = api.get("/api/v2/me/sign_ins", headers=token_header(make_token(services, agent)))

    assert answer.status_code == 200, answer.text
    listed = answer.json()["data"]
    throttled = [item for item in listed if item["outcome"] == "throttled"]
    assert [(t["attempts"], t["client_address"]) for t in throttled] == [(9, "127.0.0.1")]
    assert throttled[0]["date_last"] >= throttled[0]["date_created"]
    failed = [item for item in listed if item["outcome"] == "failed"]
    assert len(failed) == ALLOWED
    assert all(item["attempts"] == 1 for item in failed)


def test_admins_read_the_count_in_the_events_detail(api: httpx.Client, services: Services) -> None:
    admin = key_header(make_key(services, make_person(services, admin=True)))
    agent = make_person(services, password=new_password())
    _attempts(api, agent.primary_email, ALLOWED + 2)

    listed = api.get("/api/v2/audit_events", params={"kind": "login.throttled"}, headers=admin)

    (event,) = listed.json()["data"]
    assert event["detail"]["attempts"] == 2
    assert set(event["detail"]) == {"attempts", "last_attempt_at"}


@pytest.mark.parametrize("workers", [8])
def test_racing_processes_leave_one_event_and_lose_no_count(
    runtime: Runtime, services: Services, clock: ManualClock, workers: int
) -> None:
    """Each thread has its own connection, as each worker process has: the database decides."""
    agent = make_person(services)
    each = 25
    start = threading.Barrier(workers)

    def storm() -> None:
        start.wait()
        for _ in range(each):
            with runtime.database.write() as session:
                count_repeat(
                    session,
                    AuditKind.LOGIN_THROTTLED,
                    clock,
                    subject=agent.id,
                    client_address="203.0.113.7",
                )

    with ThreadPoolExecutor(workers) as pool:
        for running in [pool.submit(storm) for _ in range(workers)]:
            running.result()

    (event,) = _throttled(services)
    assert event.detail["attempts"] == workers * each
