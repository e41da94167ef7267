"""The coalescing loader on its own: who shares a read, and what each caller gets (ADR 0014).

The read here is a plain function over a dictionary, run in a real worker thread: these tests
are about the batching on the event loop; the database side is in ``test_cold_path.py``.
"""

import asyncio
import threading
from collections.abc import Mapping

import pytest

from tessera.services.credential_loader import CoalescingLoader

STORED = {n: f"value {n}" for n in range(1, 100)}


class Reads:
    """A read over ``STORED`` that records the ids of each call; can be held until released."""

    def __init__(self, *, hold_first: bool = False, fail: bool = False) -> None:
        self.calls: list[list[int]] = []
        self.started = threading.Event()
        self.release = threading.Event()
        if not hold_first:
            self.release.set()
        self.fail = fail

    def __call__(self, ids: list[int]) -> Mapping[int, str]:
        self.calls.append(list(ids))
        self.started.set()
        assert self.release.wait(5)
        if self.fail:
            raise RuntimeError("the database is gone")
        return {n: STORED[n] for n in ids if n in STORED}


async def _started(reads: Reads) -> None:
    # The first read is running in its thread: later loads must wait for the next one.
    while not reads.started.is_set():
        await asyncio.sleep(0.001)


def test_a_lone_miss_is_read_at_once() -> None:
    reads = Reads()
    loader = CoalescingLoader(reads)

    async def scenario() -> tuple[str | None, str | None]:
        return await loader.load(7), await loader.load(1000)

    assert asyncio.run(scenario()) == ("value 7", None)
    assert reads.calls == [[7], [1000]]


def test_misses_arriving_together_share_one_read_and_each_gets_its_own_value() -> None:
    reads = Reads()
    loader = CoalescingLoader(reads)
    wanted = [5, 6, 5, 1000, 9]

    async def scenario() -> list[str | None]:
        return list(await asyncio.gather(*(loader.load(n) for n in wanted)))

    assert asyncio.run(scenario()) == ["value 5", "value 6", "value 5", None, "value 9"]
    assert reads.calls == [[5, 6, 1000, 9]]  # one read, each id once


def test_misses_during_a_read_wait_for_the_next_one_together() -> None:
    reads = Reads(hold_first=True)
    loader = CoalescingLoader(reads)

    async def scenario() -> list[str | None]:
        first = asyncio.ensure_future(loader.load(1))
        await _started(reads)
        later = [asyncio.ensure_future(loader.load(n)) for n in (2, 3, 4)]
        await asyncio.sleep(0.01)
        reads.release.set()
        return [await first, *[await task for task in later]]

    assert asyncio.run(scenario()) == ["value 1", "value 2", "value 3", "value 4"]
    assert reads.calls == [[1], [2, 3, 4]]


def test_a_read_carries_at_most_max_batch_ids() -> None:
    reads = Reads()
    loader = CoalescingLoader(reads, max_batch=2)

    async def scenario() -> list[str | None]:
        return list(await asyncio.gather(*(loader.load(n) for n in (1, 2, 3, 4, 5))))

    assert asyncio.run(scenario()) == [f"value {n}" for n in (1, 2, 3, 4, 5)]
    assert reads.calls == [[1, 2], [3, 4], [5]]
    with pytest.raises(ValueError, match="at least one id"):
        CoalescingLoader(reads, max_batch=0)


def test_a_failed_read_fails_each_of_its_callers_and_the_next_read_runs() -> None:
    reads = Reads(fail=True)
    loader = CoalescingLoader(reads)

    async def scenario() -> list[object]:
        failed = await asyncio.gather(loader.load(1), loader.load(2), return_exceptions=True)
        reads.fail = False
        return [*failed, await loader.load(3)]

    first, second, after = asyncio.run(scenario())
    assert isinstance(first, RuntimeError)
    assert isinstance(second, RuntimeError)
    assert after == "value 3"


def test_a_caller_that_gives_up_spoils_nothing_for_the_others() -> None:
    reads = Reads(hold_first=True)
    loader = CoalescingLoader(reads)

    async def scenario() -> tuple[str | None, str | None]:
        first = asyncio.ensure_future(loader.load(1))
        await _started(reads)
        quitter = asyncio.ensure_future(loader.load(2))
        stayer = asyncio.ensure_future(loader.load(2))
        alone = asyncio.ensure_future(loader.load(3))
        await asyncio.sleep(0)
        quitter.cancel()
        alone.cancel()
        reads.release.set()
        with pytest.raises(asyncio.CancelledError):
            await quitter
        return await first, await stayer

    assert asyncio.run(scenario()) == ("value 1", "value 2")
    assert reads.calls == [[1], [2]]  # 3 was read by nobody: its only caller left


def test_every_caller_gone_means_no_read() -> None:
    reads = Reads(hold_first=True)
    loader = CoalescingLoader(reads)

    async def scenario() -> str | None:
        first = asyncio.ensure_future(loader.load(1))
        await _started(reads)
        gone = asyncio.ensure_future(loader.load(2))
        await asyncio.sleep(0)
        gone.cancel()
        reads.release.set()
        return await first

    assert asyncio.run(scenario()) == "value 1"
    assert reads.calls == [[1]]


def test_one_loader_serves_one_event_loop_after_another() -> None:
    # Test clients, and a server restarted in process, each run a loop of their own.
    reads = Reads()
    loader = CoalescingLoader(reads)
    assert asyncio.run(loader.load(1)) == "value 1"
    assert asyncio.run(loader.load(2)) == "value 2"

    results: list[str | None] = []
    thread = threading.Thread(target=lambda: results.append(asyncio.run(loader.load(3))))
    thread.start()
    thread.join(5)
    assert results == ["value 3"]
