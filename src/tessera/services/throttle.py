"""Attempt limits for open endpoints (password exchange, device setup), with ``limits``.

In memory by default, shared through Redis when configured, so that every worker and node
counts the same attempts. A rule such as ``"10/minute;50/hour"`` applies to each key alone.
"""

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from tessera.core.errors import RateLimited


@dataclass(frozen=True, slots=True)
class ThrottleRule:
    name: str
    limits: tuple[RateLimitItem, ...]

    @classmethod
    def parse(cls, name: str, text: str) -> "ThrottleRule":
        """Raises ValueError for text that ``limits`` cannot read."""
        return cls(name, tuple(parse_many(text)))


class Throttle:
    def __init__(self, storage_url: str | None = None, *, timeout_seconds: float = 0.5) -> None:
        """``timeout_seconds``: how long a shared store may take to connect or to answer.

        Without it a store that accepts connections and never answers holds every request that
        counts an attempt for as long as the operating system keeps the connection (issue #16).
        """
        storage = (
            storage_from_string(
                storage_url,
                socket_timeout=timeout_seconds,
                socket_connect_timeout=timeout_seconds,
            )
            if storage_url
            else MemoryStorage()
        )
        if not isinstance(storage, Storage):  # an async storage URL (async+redis://…)
            raise ValueError(f"not a synchronous rate-limit storage: {type(storage).__name__}")
        self._storage = storage
        self._limiter = MovingWindowRateLimiter(self._storage)
        #: Whether attempts are counted in a store shared with other processes.
        self.shared = storage_url is not None

    def store_answers(self) -> bool:
        """Whether the store answers now (a ping; always true in memory)."""
        return bool(self._storage.check())

    def hit(self, rule: ThrottleRule, key: str) -> None:
        """Count one attempt under ``key``.

        Raises:
            RateLimited: a limit of the rule is exhausted; says when to come back.
        """
        for item in rule.limits:
            if not self._limiter.hit(item, rule.name, key):
                stats = self._limiter.get_window_stats(item, rule.name, key)
                raise RateLimited(math.ceil(stats.reset_time - time.time()))

    def reset(self) -> None:
        self._storage.reset()
