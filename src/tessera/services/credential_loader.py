"""Concurrent cache misses served by one read: the cold path's batcher (ADR 0014).

When many requests miss the credential cache at the same moment, each paying its own thread
hop, pooled connection and round trip costs most of a cold check. ``CoalescingLoader`` runs on
the event loop: the first miss starts a read of its id in a worker thread; misses that arrive
while that read is in flight wait together, and the next read fetches all of them with one
``SELECT … WHERE id = ANY(…)``. Nothing waits on purpose: an idle server reads a lone miss at
once, and the busier it is the more ids each read carries, so the reads per second stay about
what one connection turns round while the checks per second grow with the load.

Each caller gets the value for its own id (or None) and does its own checks with it; a failed
read fails every caller of that read, as each would have failed alone.
"""

import asyncio
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Generic, TypeVar

from tessera.services.thread_capacity import ThreadCapacity

_V = TypeVar("_V")

#: At most this many ids per read: well under every database's parameter limits.
DEFAULT_MAX_BATCH = 500


class _Round(Generic[_V]):
    """The misses of one event loop: who waits for which id, and whether a read runs."""

    def __init__(self) -> None:
        self.waiting: dict[int, list[asyncio.Future[_V | None]]] = {}
        self.reader: asyncio.Task[None] | None = None
        #: The ids being read now, taken out of ``waiting``.
        self.reading: list[tuple[int, list[asyncio.Future[_V | None]]]] = []


class CoalescingLoader(Generic[_V]):
    """``await loader.load(id)``: the value ``read`` returns for that id, read with others.

    ``read(ids)`` runs in a worker thread (AnyIO's, like ``run_in_threadpool``) and returns the
    values of the ids that exist. State is kept per event loop, so one loader may serve several
    loops (test clients each run their own) without mixing their futures.
    """

    def __init__(
        self,
        read: Callable[[list[int]], Mapping[int, _V]],
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        threads: ThreadCapacity | None = None,
    ) -> None:
        if max_batch < 1:
            raise ValueError("a batch holds at least one id")
        self._read = read
        self._threads = threads or ThreadCapacity("credentials", 16)
        self._max_batch = max_batch
        self._rounds: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Round[_V]] = (
            weakref.WeakKeyDictionary()
        )

    async def load(self, subject_id: int) -> _V | None:
        loop = asyncio.get_running_loop()
        state = self._rounds.get(loop)
        if state is None:
            state = self._rounds[loop] = _Round()
        future: asyncio.Future[_V | None] = loop.create_future()
        state.waiting.setdefault(subject_id, []).append(future)
        if state.reader is None:
            state.reader = loop.create_task(self._read_rounds(state))
        return await future

    async def _read_rounds(self, state: _Round[_V]) -> None:
        """Read what is waiting, again and again, until nothing is; then stop."""
        try:
            while state.waiting:
                batch = state.reading = _take(state.waiting, self._max_batch)
                ids = [subject_id for subject_id, futures in batch if _wanted(futures)]
                if not ids:
                    continue  # every caller of this batch gave up (cancelled): no read
                try:
                    found = await self._threads.run(self._read, ids)
                except Exception as error:  # noqa: BLE001 - handed to every caller of the read
                    for _, futures in batch:
                        _settle(futures, error=error)
                    continue
                for subject_id, futures in batch:
                    _settle(futures, value=found.get(subject_id))
        finally:
            # Cancelled (the loop is closing) or done: nobody is left waiting for a reader.
            for futures in [*state.waiting.values(), *(f for _, f in state.reading)]:
                for future in futures:
                    future.cancel()
            state.waiting.clear()
            state.reading = []
            state.reader = None


def _take(
    waiting: dict[int, list[asyncio.Future[_V | None]]], limit: int
) -> list[tuple[int, list[asyncio.Future[_V | None]]]]:
    """Remove and return up to ``limit`` ids with their waiters, oldest first."""
    batch = []
    for subject_id in list(waiting)[:limit]:
        batch.append((subject_id, waiting.pop(subject_id)))
    return batch


def _wanted(futures: Iterable[asyncio.Future[_V | None]]) -> bool:
    return any(not future.done() for future in futures)


def _settle(
    futures: Iterable[asyncio.Future[_V | None]],
    *,
    value: _V | None = None,
    error: Exception | None = None,
) -> None:
    for future in futures:
        if future.done():
            continue  # its caller was cancelled while the read ran
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)
