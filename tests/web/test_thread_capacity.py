"""A Redis that hangs holds sign-ins only (issue #16 §1, ADR 0038).

Thirty password sign-ins wait on a real Redis behind a link that never answers. Meanwhile the
admin API (the general threads) and ``/api/v2/me`` with a key read from the database (the
credential threads) must answer at once: before threads were bounded by purpose, the stuck
sign-ins held every thread and both waited for the Redis timeout.
"""

import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import served
from tests.factories import key_header, make_key, make_person, unique_email
from tests.faults import FaultyLink, faulty_link

REDIS_TIMEOUT = 5.0
SIGN_INS = 30


@pytest.fixture
def link(redis_url: str) -> Iterator[FaultyLink]:
    target = urlsplit(redis_url)
    with faulty_link(target.hostname or "127.0.0.1", target.port or 6379) as link:
        yield link


def test_sign_ins_stuck_on_redis_leave_the_other_routes_their_threads(
    link: FaultyLink, redis_url: str, database_url: str
) -> None:
    with served(
        database_url,
        redis_url=f"redis://127.0.0.1:{link.port}{urlsplit(redis_url).path}",
        redis_timeout_seconds=REDIS_TIMEOUT,
        thread_pool_size=4,
        sign_in_threads=4,
        credential_cache_size=0,  # every /me reads the database: the credential threads
    ) as (runtime, api):
        admin = make_person(runtime.services, admin=True)
        admin_key = make_key(runtime.services, admin)
        link.mode = "silent"
        answers: list[int] = []
        stuck = [
            threading.Thread(target=_sign_in, args=(str(api.base_url), answers))
            for _ in range(SIGN_INS)
        ]
        for sign_in in stuck:
            sign_in.start()
        time.sleep(0.5)  # the sign-ins are waiting on Redis now

        started = time.monotonic()
        people = api.get("/api/v2/people", headers=key_header(admin_key))
        me = api.get("/api/v2/me", headers=key_header(admin_key))
        waited = time.monotonic() - started
        sign_ins_still_waiting = sum(sign_in.is_alive() for sign_in in stuck)

        for sign_in in stuck:
            sign_in.join(timeout=120)
        link.mode = "forward"

    assert (people.status_code, me.status_code) == (200, 200)
    assert sign_ins_still_waiting > 0  # the test did happen while they were stuck
    assert waited < REDIS_TIMEOUT / 2, f"the other routes waited {waited:.1f} s for threads"
    # The sign-ins themselves got an answer: counted here once Redis timed out (ADR 0030).
    assert answers.count(401) == SIGN_INS


def _sign_in(url: str, answers: list[int]) -> None:
    body = {"email": unique_email(), "password": "not the password"}
    with httpx.Client(base_url=url, timeout=120) as api:
        answers.append(api.post("/api/v2/api_tokens", json=body).status_code)
