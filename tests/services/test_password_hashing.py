"""The hashing pool: argon2 off the event loop, at a lower priority, with a bounded queue."""

import asyncio
import os
import sys
import threading

import pytest

from tessera.core.errors import RateLimited
from tessera.services.password_hashing import HashingPool


def own_priority() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.mark.skipif(sys.platform != "linux", reason="per-thread priority is a Linux feature")
def test_hashing_threads_run_at_a_lower_priority_and_leave_the_caller_alone() -> None:
    pool = HashingPool(threads=1, queue=0, nice=5)
    before = own_priority()
    try:
        inside = asyncio.run(pool.run(own_priority))
    finally:
        pool.close()

    assert inside == min(before + 5, 19)
    assert own_priority() == before


def test_nice_zero_keeps_the_priority() -> None:
    pool = HashingPool(threads=1, queue=0, nice=0)
    try:
        inside = asyncio.run(pool.run(own_priority))
    finally:
        pool.close()

    assert inside == own_priority()


def test_a_full_queue_refuses_at_once_and_frees_up_afterwards() -> None:
    # One thread, one place in the queue: the third sign-in at a time is refused, not queued.
    pool = HashingPool(threads=1, queue=1, nice=0)
    release = threading.Event()
    started = threading.Event()

    def blocked_hash(answer: str) -> str:
        started.set()
        release.wait(timeout=60)
        return answer

    async def storm() -> tuple[list[str], int | None, str]:
        first = asyncio.create_task(pool.run(blocked_hash, "first"))
        second = asyncio.create_task(pool.run(blocked_hash, "second"))
        while not started.is_set():
            await asyncio.sleep(0.001)
        refused_after: int | None = None
        try:
            await pool.run(blocked_hash, "third")
        except RateLimited as error:
            refused_after = error.retry_after_seconds
        release.set()
        done = [await first, await second]
        later = await pool.run(blocked_hash, "later")
        return done, refused_after, later

    try:
        done, refused_after, later = asyncio.run(storm())
    finally:
        release.set()
        pool.close()

    assert done == ["first", "second"]
    assert refused_after == 1
    assert later == "later"
    assert pool.admitted == 0


def test_a_failing_hash_gives_its_place_back() -> None:
    pool = HashingPool(threads=1, queue=0, nice=0)

    def broken() -> None:
        raise ValueError("corrupt")

    async def twice() -> str:
        with pytest.raises(ValueError, match="corrupt"):
            await pool.run(broken)
        return await pool.run(str, "still served")

    try:
        assert asyncio.run(twice()) == "still served"
    finally:
        pool.close()
    assert pool.admitted == 0
