"""Counters a guard keeps, for whatever monitoring the application has (read, never reset)."""

import threading
from dataclasses import dataclass, field, fields


@dataclass(slots=True)
class GuardMetrics:
    #: Requests checked (answered from the cache or by Tessera).
    checks: int = 0
    cache_hits: int = 0
    #: Calls made to Tessera's decision endpoint.
    calls: int = 0
    allowed: int = 0
    refused: int = 0
    #: Requests refused because Tessera could not be reached (fail closed).
    unavailable: int = 0
    #: Requests allowed on a verified answer during an outage (grace).
    graced: int = 0
    #: Outages begun: each logged once, however many requests it refuses.
    outages: int = 0
    #: Answers dropped because the revocation stream named their credential, person or app.
    revocations: int = 0
    #: Times the whole cache was dropped (``everything``, reconnect, silence).
    cache_resets: int = 0
    stream_connects: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, name: str, count: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + count)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "_lock"}
