"""A bounded, in-process cache of Tessera's answers (ADR 0026).

An answer is served from here no longer than Tessera allowed (``Cache-Control: max-age``,
which Tessera keeps within its revocation promise; ``no-store`` or no max-age: not kept), and
is dropped sooner by the revocation stream: an allowed answer goes when its credential
(``key:12``), its person or its OAuth app changes; every answer goes on ``everything``, on a
reconnect of the stream, and when the stream has been silent too long (``drop_all``). A refusal
names no credential, so only ``drop_all`` and its own max-age end it.

With a grace period, an allowed answer is also kept that long after it was verified, apart
from the fresh ones: it is served only while Tessera cannot be reached (``graced``), never
after a revocation event named it, and never past the grace period. ``drop_all`` keeps these
(the stream drops out in the very outages grace is for); revocation events still remove them.

One lock; every operation is a few dictionary steps.
"""

import threading
from collections import OrderedDict
from dataclasses import dataclass

from tessera.guard.answers import Identity, Refusal

Answer = Identity | Refusal


@dataclass(slots=True)
class _Entry:
    answer: Answer
    #: Monotonic time until which the answer may be served as is.
    fresh_until: float
    #: Monotonic time until which an allowed answer may stand in during an outage.
    grace_until: float
    #: The ``drop_all`` generation it was stored in; older generations are stale.
    generation: int


class AnswerCache:
    def __init__(self, size: int, *, grace_seconds: float = 0.0) -> None:
        self._size = size
        self.grace_seconds = grace_seconds
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()
        #: Keys of allowed answers by what a revocation names: "key:12", "person:7", "client:3".
        self._by_subject: dict[str, set[bytes]] = {}
        self._generation = 0
        #: Counts every drop: an answer asked for before one is not stored (``ticket``).
        self._drops = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: bytes, now: float) -> Answer | None:
        """A fresh answer for the key, or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.generation == self._generation and now < entry.fresh_until:
                self._entries.move_to_end(key)
                return entry.answer
            if now >= entry.grace_until or isinstance(entry.answer, Refusal):
                self._remove(key)
            return None

    def graced(self, key: bytes, now: float) -> Identity | None:
        """An allowed answer still within its grace period (Tessera cannot be reached)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or not isinstance(entry.answer, Identity):
                return None
            if now >= entry.grace_until:
                self._remove(key)
                return None
            return entry.answer

    def ticket(self) -> int:
        """Taken before asking Tessera: an answer asked for before a drop is not stored."""
        return self._drops

    def put(self, key: bytes, answer: Answer, max_age: float, now: float, ticket: int) -> None:
        if self._size <= 0 or (
            max_age <= 0 and (self.grace_seconds <= 0 or isinstance(answer, Refusal))
        ):
            return
        grace = self.grace_seconds if isinstance(answer, Identity) else 0.0
        with self._lock:
            entry = _Entry(answer, now + max_age, now + max(max_age, grace), self._generation)
            if ticket != self._drops:
                return  # a drop happened while Tessera was being asked: the answer may be stale
            if key in self._entries:
                self._remove(key)
            self._entries[key] = entry
            if isinstance(answer, Identity):
                for subject in _subjects(answer):
                    self._by_subject.setdefault(subject, set()).add(key)
            while len(self._entries) > self._size:
                self._remove(next(iter(self._entries)))

    def drop(self, subject: str) -> int:
        """Forget every answer about ``subject`` (``key:12``, ``token:3``, ``person:7``,
        ``client:3``); how many were dropped."""
        with self._lock:
            self._drops += 1
            keys = self._by_subject.pop(subject, set())
            for key in keys:
                self._remove(key)
            return len(keys)

    def drop_all(self) -> None:
        """Nothing held may be served fresh any more (answers within grace stay for outages)."""
        with self._lock:
            self._generation += 1
            self._drops += 1
            if self.grace_seconds <= 0:
                self._entries.clear()
                self._by_subject.clear()

    def _remove(self, key: bytes) -> None:
        entry = self._entries.pop(key, None)
        if entry is None or not isinstance(entry.answer, Identity):
            return
        for subject in _subjects(entry.answer):
            keys = self._by_subject.get(subject)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_subject[subject]


def _subjects(identity: Identity) -> list[str]:
    subjects = [identity.credential, f"person:{identity.person_id}"]
    if identity.client_id is not None:
        subjects.append(f"client:{identity.client_id.partition('_')[0]}")
    return subjects
