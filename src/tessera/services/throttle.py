"""Attempt limits for open endpoints (password exchange, device setup, console sign-in).

Counted with ``limits``: in memory by default, shared through Redis when configured, so that
every worker and node counts the same attempts. A rule such as ``"10/minute;50/hour"`` applies
to each key alone.

When the shared store fails (refused, timed out, any error), attempts are counted in this
process instead, with one warning per outage, and the store is asked again after
``retry_after_seconds`` (ADR 0030): the limits stay, each process counting its own, rather than
every sign-in failing while Redis is down.
"""

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from tessera.core.errors import RateLimited

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ThrottleRule:
    name: str
    limits: tuple[RateLimitItem, ...]

    @classmethod
    def parse(cls, name: str, text: str) -> "ThrottleRule":
        """Raises ValueError for text that ``limits`` cannot read."""
        return cls(name, tuple(parse_many(text)))


class Throttle:
    def __init__(
        self,
        storage_url: str | None = None,
        *,
        timeout_seconds: float = 0.5,
        retry_after_seconds: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``timeout_seconds``: how long a shared store may take to connect or to answer.

        Without it a store that accepts connections and never answers holds every request that
        counts an attempt for as long as the operating system keeps the connection (issue #16).
        """
        self._local = MovingWindowRateLimiter(MemoryStorage())
        self._shared: MovingWindowRateLimiter | None = None
        self._shared_storage: Storage | None = None
        if storage_url:
            storage = storage_from_string(
                storage_url,
                wrap_exceptions=True,
                socket_timeout=timeout_seconds,
                socket_connect_timeout=timeout_seconds,
            )
            if not isinstance(storage, Storage):  # an async storage URL (async+redis://…)
                raise ValueError(f"not a synchronous rate-limit storage: {type(storage).__name__}")
            self._shared_storage = storage
            self._shared = MovingWindowRateLimiter(storage)
        #: Whether attempts are meant to be counted in a store shared with other processes.
        self.shared = self._shared is not None
        self._retry_after = retry_after_seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        #: While the shared store is failing: when to ask it again (else None).
        self._retry_at: float | None = None
        #: How many times the shared store started failing (an outage is counted once).
        self.outages = 0
        #: Attempts refused, by rule name (for the metrics).
        self.refusals: dict[str, int] = {}

    @property
    def falling_back(self) -> bool:
        """Whether attempts are being counted in this process because the shared store failed."""
        return self._retry_at is not None

    def hit(self, rule: ThrottleRule, key: str) -> None:
        """Count one attempt under ``key``.

        Raises:
            RateLimited: a limit of the rule is exhausted; says when to come back.
        """
        shared = self._shared
        if shared is not None and self._asks_shared():
            try:
                self._count(shared, rule, key)
            except StorageError as error:
                self._shared_failed(error)
            else:
                self._shared_answered()
                return
        self._count(self._local, rule, key)

    def _count(self, limiter: MovingWindowRateLimiter, rule: ThrottleRule, key: str) -> None:
        for item in rule.limits:
            if not limiter.hit(item, rule.name, key):
                with self._lock:
                    self.refusals[rule.name] = self.refusals.get(rule.name, 0) + 1
                stats = limiter.get_window_stats(item, rule.name, key)
                raise RateLimited(math.ceil(stats.reset_time - time.time()))

    def _asks_shared(self) -> bool:
        retry_at = self._retry_at
        return retry_at is None or self._monotonic() >= retry_at

    def _shared_failed(self, error: StorageError) -> None:
        with self._lock:
            first = self._retry_at is None
            self._retry_at = self._monotonic() + self._retry_after
            if first:
                self.outages += 1
        if first:
            cause = type(error.storage_error).__name__
            log.warning(
                "the rate-limit store (Redis) does not answer (%s): attempts are counted in this "
                "process until it does; asking it again every %.0f s",
                cause,
                self._retry_after,
            )

    def _shared_answered(self) -> None:
        if self._retry_at is None:
            return
        with self._lock:
            recovered, self._retry_at = self._retry_at is not None, None
        if recovered:
            log.warning("the rate-limit store (Redis) answers again: attempts are shared again")

    def remember(self, key: str, seconds: int) -> None:
        """Note ``key`` for ``seconds`` (a source that signed in: ``services.password_login``),
        in the shared store when there is one, so that every process knows it."""
        shared = self._shared_storage
        if shared is not None and self._asks_shared():
            try:
                shared.incr(key, seconds)
            except StorageError as error:
                self._shared_failed(error)
            else:
                return
        self._local.storage.incr(key, seconds)

    def remembers(self, key: str) -> bool:
        shared = self._shared_storage
        if shared is not None and self._asks_shared():
            try:
                return shared.get(key) > 0 or self._local.storage.get(key) > 0
            except StorageError as error:
                self._shared_failed(error)
        return self._local.storage.get(key) > 0

    def store_answers(self) -> bool:
        """Whether the shared store answers now (a ping; true when there is none)."""
        storage = self._shared_storage
        return storage is None or bool(storage.check())

    def reset(self) -> None:
        self._local.storage.reset()
        if self._shared_storage is not None:
            self._shared_storage.reset()
