"""Worker threads by purpose: a slow dependency holds only its own purpose's threads (ADR 0038).

Blocking work (a database read, a Redis call) runs in AnyIO's worker threads. With one shared
limit, sign-ins stuck on a Redis that never answers took every thread, and the admin API and
the pages then waited too (issue #16 §1). Each purpose here has its own bound instead: the
per-request credential reads, the sign-in steps, and everything else (AnyIO's default limit,
``TESSERA_THREAD_POOL_SIZE``) cannot take each other's threads.
"""

import asyncio
import weakref
from collections.abc import Callable
from typing import TypeVar, TypeVarTuple

import anyio
import anyio.to_thread

_T = TypeVar("_T")
_Args = TypeVarTuple("_Args")


class ThreadCapacity:
    """At most ``threads`` calls of this purpose in worker threads at once; the rest wait."""

    def __init__(self, purpose: str, threads: int) -> None:
        if threads < 1:
            raise ValueError(f"{purpose}: at least one thread")
        self.purpose = purpose
        self.threads = threads
        # AnyIO's limiter belongs to one event loop; a test may drive the services from several.
        self._limiters: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, anyio.CapacityLimiter
        ] = weakref.WeakKeyDictionary()

    async def run(self, call: Callable[[*_Args], _T], *args: *_Args) -> _T:
        return await anyio.to_thread.run_sync(call, *args, limiter=self._limiter())

    def in_use(self) -> int:
        """Threads of this purpose busy now, over every event loop (for the metrics)."""
        return sum(int(limiter.borrowed_tokens) for limiter in list(self._limiters.values()))

    def _limiter(self) -> anyio.CapacityLimiter:
        loop = asyncio.get_running_loop()
        limiter = self._limiters.get(loop)
        if limiter is None:
            limiter = self._limiters[loop] = anyio.CapacityLimiter(self.threads)
        return limiter
