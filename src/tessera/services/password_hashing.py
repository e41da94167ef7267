"""Where argon2 runs: a few threads of its own, at a lower priority, with a bounded queue.

A login storm must not starve the API (issue #5, ADR 0012). Bounding the number of concurrent
hashes (ADR 0005) keeps logins from taking the ordinary thread pool, but each hashing thread
still competes for the CPU with the event loop on equal terms: two busy hashing threads on one
core leave the loop a third of it. So the hashing threads lower their own scheduling priority
(a per-thread ``nice`` on Linux): they take the CPU the API leaves idle and yield it when API
requests arrive. Logins beyond the threads wait in a queue of bounded length; past that they are
refused at once with ``RateLimited`` (429 with ``Retry-After``) instead of piling up.
"""

import asyncio
import functools
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from tessera.core.errors import RateLimited

log = logging.getLogger(__name__)

T = TypeVar("T")

#: What a client refused by a full queue is told to wait: one hash takes tens of milliseconds.
RETRY_AFTER_SECONDS = 1


def lower_thread_priority(nice: int) -> None:
    """Lower the calling thread's CPU priority by ``nice`` steps (Linux: per thread).

    Elsewhere ``setpriority`` would change the whole process, API included, so it is skipped.
    """
    if nice <= 0 or sys.platform != "linux":
        return
    thread = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, thread, os.getpriority(os.PRIO_PROCESS, thread) + nice)
    except OSError as error:  # a sandbox may forbid it; hashing still works, just not politely
        log.warning("could not lower the priority of a password-hashing thread: %s", error)


class HashingPool:
    """Runs password hashing off the event loop, ``threads`` at a time, ``queue`` more waiting.

    Admission is counted on the event loop only (one thread), so the counter needs no lock.
    """

    def __init__(
        self,
        *,
        threads: int,
        queue: int,
        nice: int,
        on_hashed: Callable[[float], None] | None = None,
    ) -> None:
        """``on_hashed``: told how many seconds each piece of work took (the metrics)."""
        self._executor = ThreadPoolExecutor(
            max_workers=threads,
            thread_name_prefix="tessera-password-hash",
            initializer=lower_thread_priority,
            initargs=(nice,),
        )
        self.threads = threads
        self.capacity = threads + queue
        self.admitted = 0
        #: Sign-ins refused because the queue was full.
        self.refused = 0
        self._on_hashed = on_hashed

    @property
    def waiting(self) -> int:
        """Sign-ins admitted that wait for a hashing thread."""
        return max(0, self.admitted - self.threads)

    async def run(self, work: Callable[..., T], *args: object) -> T:
        """``work(*args)`` on a hashing thread.

        Raises:
            RateLimited: every hashing thread is busy and the queue is full.
        """
        if self.admitted >= self.capacity:
            log.warning("password hashing queue full: refusing a sign-in attempt")
            self.refused += 1
            raise RateLimited(RETRY_AFTER_SECONDS)
        self.admitted += 1
        if self._on_hashed is not None:
            work = functools.partial(_timed, self._on_hashed, work)
        try:
            # Cancelled while still queued (the client went away), the work never starts.
            return await asyncio.wrap_future(self._executor.submit(work, *args))
        finally:
            self.admitted -= 1

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _timed(on_hashed: Callable[[float], None], work: Callable[..., T], *args: object) -> T:
    """``work(*args)``, telling ``on_hashed`` how long it took (on the hashing thread)."""
    started = time.perf_counter()
    try:
        return work(*args)
    finally:
        on_hashed(time.perf_counter() - started)
