"""Credentials the database refused, remembered a short while: a refusal without a read.

The credential cache holds only what verified, so a client that repeats a bad credential — an
id that does not exist, a wrong code, a revoked key or token — cost a database read each time,
and a flood of them reached the database at the flood's rate. This remembers each such refusal
as (kind, id, keyed digest of the code presented), so the next identical request is refused
from memory (ADR 0024).

Why it can never refuse a credential that works:

- **The code is part of the name.** A credential created after a refusal has a new random
  code (119 bits) that nobody could have presented before: its digest names no refusal, even
  for an id that was refused while it did not exist. A regenerated key likewise.
- **Changes drop it.** Every change of a key or token (``core.changes``) forgets the refusals of
  that id, and ``EVERYTHING`` forgets all, as for the credential cache; a read that began before
  a change does not store its refusal after it (``ticket``). Nothing turns a refused credential
  back into a working one today; whatever does in future records a change, as revocation does.
- **It expires.** Each refusal is kept at most ``ttl`` (the credential cache's TTL, the
  revocation promise), even if a change message were lost.

Bounded: at most ``size`` refusals, the oldest dropped first. A flood of *different* bad
credentials still reads the database (as it would without this), and cannot grow the memory.
"""

import threading
from collections import OrderedDict
from datetime import datetime, timedelta

from tessera.core.changes import ChangeKind, CredentialChange
from tessera.services.credential_cache import Slot

DEFAULT_SIZE = 10_000
DEFAULT_TTL = timedelta(seconds=10)
_SLOTS = len(Slot)
#: Bits of the code's digest kept in a refusal's name: a keyed HMAC, so no caller can aim for
#: a collision, and a chance one is 2**-64 per pair.
_DIGEST_BITS = 64
#: Refusals held for one key or token at most; more are codes guessed at, not repeated.
_PER_SUBJECT = 16


def _subject(slot: Slot, subject_id: int) -> int:
    return subject_id * _SLOTS + slot


class RefusalCache:
    """A bounded, expiring set of refused (kind, id, code digest); a ``ChangeListener``."""

    def __init__(self, size: int = DEFAULT_SIZE, ttl: timedelta = DEFAULT_TTL) -> None:
        if size < 0:
            raise ValueError("the refusal cache size cannot be negative")
        self.size = size
        self.enabled = size > 0 and ttl > timedelta()
        self._ttl_seconds = ttl.total_seconds()
        self._lock = threading.Lock()
        #: Refusal name → until when (POSIX seconds); oldest first.
        self._until: OrderedDict[int, float] = OrderedDict()
        #: Subject (kind and id) → the names of its refusals (one name, or a list).
        self._by_subject: dict[int, int | list[int]] = {}
        self._changes_seen = 0
        #: Refusals answered from memory (hits) and by the database (misses), for the metrics.
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._until)

    def holds(self, slot: Slot, subject_id: int) -> bool:
        """Whether any refusal of this key or token is held: asked before digesting a code."""
        return _subject(slot, subject_id) in self._by_subject

    def refuses(self, slot: Slot, subject_id: int, digest: bytes, now: datetime) -> bool:
        """Whether this credential (its code's digest) was refused within the TTL."""
        name = _name(_subject(slot, subject_id), digest)
        with self._lock:
            until = self._until.get(name)
            if until is None:
                return False
            # Not past its TTL, and not more than a TTL ahead either (a clock stepped back).
            if 0 < until - now.timestamp() <= self._ttl_seconds:
                self.hits += 1
                return True
            self._remove(name)
            return False

    def ticket(self) -> int:
        """Take before reading the database; hand to ``remember`` with what the read refused."""
        return self._changes_seen

    def remember(
        self, slot: Slot, subject_id: int, digest: bytes, *, ticket: int, read_at: datetime
    ) -> None:
        if not self.enabled:
            return
        subject = _subject(slot, subject_id)
        name = _name(subject, digest)
        with self._lock:
            self.misses += 1
            if ticket != self._changes_seen:
                return  # a change was applied meanwhile: what was read may predate it
            if name not in self._until:
                self._index(subject, name)
            self._until[name] = read_at.timestamp() + self._ttl_seconds
            self._until.move_to_end(name)
            while len(self._until) > self.size:
                self._remove(next(iter(self._until)))

    def apply(self, change: CredentialChange) -> None:
        """Forget the refusals a change may have made wrong (``core.changes.ChangeListener``)."""
        with self._lock:
            self._changes_seen += 1
            if change.kind is ChangeKind.API_KEY:
                self._forget(_subject(Slot.API_KEY, change.subject_id))
            elif change.kind is ChangeKind.API_TOKEN:
                self._forget(_subject(Slot.API_TOKEN, change.subject_id))
            elif change.kind is ChangeKind.EVERYTHING:
                self._until.clear()
                self._by_subject.clear()
            # A person or an OAuth app changing cannot make a refused code right.

    def _index(self, subject: int, name: int) -> None:
        held = self._by_subject.get(subject)
        if held is None:
            self._by_subject[subject] = name
        elif isinstance(held, int):
            self._by_subject[subject] = [held, name]
        else:
            if len(held) >= _PER_SUBJECT:
                # Many codes tried on one id: its oldest refusal makes room (the lists stay
                # short, so removing from them stays cheap).
                self._until.pop(held.pop(0), None)
            held.append(name)

    def _forget(self, subject: int) -> None:
        names = self._by_subject.pop(subject, None)
        for name in [names] if isinstance(names, int) else names or ():
            self._until.pop(name, None)

    def _remove(self, name: int) -> None:
        self._until.pop(name, None)
        subject = name >> _DIGEST_BITS
        held = self._by_subject.get(subject)
        if held == name:
            del self._by_subject[subject]
        elif isinstance(held, list) and name in held:
            held.remove(name)
            if len(held) == 1:
                self._by_subject[subject] = held[0]


def _name(subject: int, digest: bytes) -> int:
    # One int, not a (subject, digest) tuple: a third of the memory per refusal.
    return (subject << _DIGEST_BITS) | int.from_bytes(digest[: _DIGEST_BITS // 8], "big")
