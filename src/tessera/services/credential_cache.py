"""The in-process cache of verified credentials in front of the per-request SELECT (ADR 0010).

What it holds: API keys and tokens whose code has matched the stored digest and that were not
revoked when read, exactly as the database returned them (digest, person snapshot, flags, tags,
lifetime data, OAuth app), and person snapshots read for superuser keys acting as an agent.
Never a refusal: an id the database does not know, a wrong code or a revoked row leaves this
cache as it was, so a flood of invented ids cannot push a single good entry out. Refusals are
remembered apart, in a bounded set of their own (``services.refusal_cache``, ADR 0024).

Freshness by generations (ADR 0028): entries live in two generations, each a plain dictionary
that starts at a moment and takes what is read from then on. When the current generation is
half a TTL old it becomes the previous one, and the previous one is dropped whole. An entry is
therefore served for at most ``ttl`` after the read that produced it (a read started before
the current generation goes into the previous one, or nowhere), even if a change message is
lost, and no entry carries an expiry of its own. So that busy credentials do not all pay a read
on the request path, a hit in the previous generation marks the entry due, and a background
refresher (``Authenticator.refresh_due``) reads the due entries in bulk and puts those the
database still confirms into the current one. Changes (``core.changes``) drop entries at once:
one key or token, everything of a person, every token of an OAuth app, or everything.

A read that started before a change must not store what it read after the change was applied
(it may be the state the change replaced): ``ticket()`` is taken before the read, and a put
with a ticket older than the last change is ignored.

Bound: at most ``size`` entries. When full, the oldest entries of the previous generation go
first, a sixty-fourth of the size at a time (one scan of the dictionary's front per batch, not
per entry); with the previous generation empty, the current one turns early. A credential in
use is renewed into the current generation every half TTL, so this is least-recently-used
order at the grain of half a TTL, without moving an entry on every hit.

One lock guards everything; each operation is a few dictionary steps, so the lock is held for
about a microsecond and may be taken on the event loop.

Memory (``bench/cache_memory.py``, ADRs 0016 and 0028): an entry is its record in one plain
dictionary, named by one integer. Entries of the same person share one person snapshot; within
a snapshot, equal strings are one object (a display name equal to the name, a primary e-mail
equal to the first address); the strings many rows repeat (time zones, tag patterns, OAuth
client ids) are interned.
"""

import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from enum import IntEnum
from itertools import islice

from tessera.core.changes import ChangeKind, CredentialChange
from tessera.core.oauth_clients import parse_client_id
from tessera.core.people import Person
from tessera.core.principals import ApiKeyRecord, ApiTokenRecord

DEFAULT_SIZE = 100_000
DEFAULT_TTL = timedelta(seconds=10)
#: When full, this fraction of the size is evicted at once (see the module's text).
_EVICTION_BATCH_DIVISOR = 64
#: While held, whether the hold still applies is asked again this often.
_HOLD_RECHECK_SECONDS = 1.0
#: A lookup whose time is this far before the current generation's start means the clock was
#: stepped back (not a thread that read the time a moment before another turned).
_CLOCK_STEP_SECONDS = 1.0


class Slot(IntEnum):
    """What an entry is; with the id it names the entry."""

    API_KEY = 0
    API_TOKEN = 1
    PERSON = 2


_SLOTS = len(Slot)
_Value = ApiKeyRecord | ApiTokenRecord | Person
#: Subject (a person id, an OAuth app id) → the names of the entries that hold it.
_Index = dict[int, int | list[int]]


def _name(slot: int, subject_id: int) -> int:
    # One int instead of a (slot, id) tuple: a third of the bytes of an entry's name.
    return subject_id * _SLOTS + slot


# Plain ints for the hit path's arithmetic (an IntEnum operand costs a slower dispatch).
_KEY, _TOKEN, _PERSON = int(Slot.API_KEY), int(Slot.API_TOKEN), int(Slot.PERSON)


class _Generation:
    """The entries read from ``start`` (POSIX seconds) on, with their person and app indexes."""

    __slots__ = ("by_client", "by_person", "entries", "start")

    def __init__(self, start: float) -> None:
        self.start = start
        #: Name → the record as read, oldest first.
        self.entries: dict[int, _Value] = {}
        self.by_person: _Index = {}
        self.by_client: _Index = {}

    def add(self, name: int, value: _Value) -> None:
        self.entries[name] = value
        person = _person_of(value)
        if person is not None:
            _index(self.by_person, person.id, name)
        client_id = _client_of(value)
        if client_id is not None:
            _index(self.by_client, client_id, name)

    def remove(self, name: int) -> bool:
        value = self.entries.pop(name, None)
        if value is None:
            return False
        person = _person_of(value)
        if person is not None:
            _unindex(self.by_person, person.id, name)
        client_id = _client_of(value)
        if client_id is not None:
            _unindex(self.by_client, client_id, name)
        return True

    def oldest(self, count: int) -> list[int]:
        return list(islice(self.entries, count))


class CredentialCache:
    """A bounded cache of verified credentials; a ``ChangeListener``. ``size`` 0 disables it."""

    def __init__(
        self,
        size: int = DEFAULT_SIZE,
        ttl: timedelta = DEFAULT_TTL,
        *,
        hold: Callable[[], bool] | None = None,
    ) -> None:
        """``hold``: while it says so (the database is down, within the operator's grace),
        nothing lapses: entries are served past their TTL (ADR 0031)."""
        if size < 0:
            raise ValueError("the cache size cannot be negative")
        self.size = size
        self.ttl = ttl
        self.enabled = size > 0 and ttl > timedelta()
        self._ttl_seconds = ttl.total_seconds()
        #: How long a generation stays current.
        self._turn_after = self._ttl_seconds / 2
        self._eviction_batch = max(1, size // _EVICTION_BATCH_DIVISOR)
        self._due: set[int] = set()
        self._lock = threading.Lock()
        # Both start long expired: the first use turns them.
        self._current = _Generation(0.0)
        self._previous = _Generation(0.0)
        #: The first moment at which a generation must turn or the previous one lapses.
        self._next_turn = 0.0
        self._changes_seen = 0
        self._hold = hold
        #: Lookups answered and not (plain counts under the lock: read by the metrics sampler).
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._current.entries) + len(self._previous.entries)

    # -- reading -------------------------------------------------------------------------------

    def api_key(self, key_id: int, now: datetime) -> ApiKeyRecord | None:
        value = self._fresh(_name(_KEY, key_id), now)
        return value if isinstance(value, ApiKeyRecord) else None

    def api_token(self, token_id: int, now: datetime) -> ApiTokenRecord | None:
        value = self._fresh(_name(_TOKEN, token_id), now)
        return value if isinstance(value, ApiTokenRecord) else None

    def person(self, person_id: int, now: datetime) -> Person | None:
        value = self._fresh(_name(_PERSON, person_id), now)
        return value if isinstance(value, Person) else None

    def _fresh(self, name: int, now: datetime) -> _Value | None:
        if not self.enabled:
            return None
        moment = now.timestamp()
        with self._lock:
            if moment >= self._next_turn or moment < self._current.start - _CLOCK_STEP_SECONDS:
                self._turn(moment)
            value = self._current.entries.get(name)
            if value is None:
                value = self._previous.entries.get(name)
                if value is not None:
                    self._due.add(name)  # in the second half of its life: read it again soon
            if value is None:
                self.misses += 1
            else:
                self.hits += 1
            return value

    # -- generations ---------------------------------------------------------------------------

    def _turn(self, moment: float) -> None:
        """Bring the generations up to ``moment``: turn, or let the previous one lapse."""
        if self._hold is not None and self._hold():
            self._next_turn = moment + _HOLD_RECHECK_SECONDS
            return
        current = self._current
        # A clock stepped back (NTP, a resumed VM) makes every start lie in the future: nothing
        # could be stored until it caught up. What is held has an unknown age: start afresh.
        stepped_back = moment < current.start - _CLOCK_STEP_SECONDS
        if stepped_back or moment >= current.start + self._ttl_seconds:
            self._current, self._previous = _Generation(moment), _Generation(moment)
        elif moment >= current.start + self._turn_after:
            self._current, self._previous = _Generation(moment), current
        else:  # the previous generation's TTL is over; the current one goes on
            self._previous = _Generation(current.start)
        self._next_turn = min(
            self._current.start + self._turn_after, self._previous.start + self._ttl_seconds
        )

    def _generation_for(self, read_at: float) -> "_Generation | None":
        """Where a record read at ``read_at`` may go without outliving its TTL."""
        if read_at >= self._next_turn:
            self._turn(read_at)
        if read_at >= self._current.start:
            return self._current
        if read_at >= self._previous.start and self._previous.start + self._ttl_seconds > read_at:
            return self._previous
        return None  # read too long ago: serving it would outlive its TTL

    # -- refreshing ahead ----------------------------------------------------------------------

    def take_due(self) -> dict[Slot, list[int]]:
        """The ids of entries used in the second half of their life, by kind; forgets them.

        The refresher reads them again in bulk so that a credential in use never expires on
        the request path (ADR 0010); entries nobody uses simply run out.
        """
        with self._lock:
            due, self._due = self._due, set()
            alive = [name for name in due if self._held(name) is not None]
        by_slot: dict[Slot, list[int]] = {slot: [] for slot in Slot}
        for name in alive:
            by_slot[Slot(name % _SLOTS)].append(name // _SLOTS)
        return by_slot

    def digest_of(self, slot: Slot, subject_id: int) -> bytes | None:
        """The code digest an entry holds now (None: no such entry, or a person)."""
        with self._lock:
            value = self._held(_name(slot, subject_id))
        if value is None or isinstance(value, Person):
            return None
        return value.code_digest

    def _held(self, name: int) -> _Value | None:
        value = self._current.entries.get(name)
        return value if value is not None else self._previous.entries.get(name)

    # -- filling -------------------------------------------------------------------------------

    def ticket(self) -> int:
        """Take before reading the database; hand to the put that stores what was read."""
        return self._changes_seen

    def put_api_key(self, key: ApiKeyRecord, *, ticket: int, read_at: datetime) -> None:
        with self._lock:
            if self._admits(ticket):
                person = self._shared(key.person) if key.person is not None else None
                key = replace(key, person=person, tags=sys.intern(key.tags))
                self._store(_name(_KEY, key.id), key, read_at)

    def put_api_token(self, token: ApiTokenRecord, *, ticket: int, read_at: datetime) -> None:
        with self._lock:
            if self._admits(ticket):
                client = token.oauth_client_id
                token = replace(
                    token,
                    person=self._shared(token.person),
                    oauth_client_id=sys.intern(client) if client is not None else None,
                )
                self._store(_name(_TOKEN, token.id), token, read_at)

    def put_person(self, person: Person, *, ticket: int, read_at: datetime) -> None:
        with self._lock:
            if self._admits(ticket):
                self._store(_name(_PERSON, person.id), self._shared(person), read_at)

    def discard(self, slot: Slot, subject_id: int) -> None:
        """Forget one entry: the database says it no longer verifies (revoked, deleted)."""
        if not self.enabled:
            return
        with self._lock:
            self._remove(_name(slot, subject_id))

    def _admits(self, ticket: int) -> bool:
        # Disabled, or a change was applied while this was read: what was read may predate it.
        return self.enabled and ticket == self._changes_seen

    def _shared(self, person: Person) -> Person:
        """An equal snapshot some entry already holds, else this one with interned strings."""
        for generation in (self._current, self._previous):
            names = generation.by_person.get(person.id)
            for name in (names,) if isinstance(names, int) else names or ():
                held = _person_of(generation.entries[name])
                if held == person:
                    return held
        # Equal strings of one row are separate objects as read; keep one of each.
        emails = person.emails
        if emails and emails[0] == person.primary_email:
            emails = (person.primary_email, *emails[1:])
        return replace(
            person,
            display_name=person.name if person.display_name == person.name else person.display_name,
            emails=emails,
            timezone=sys.intern(person.timezone),
        )

    def _store(self, name: int, value: _Value, read_at: datetime) -> None:
        self._remove(name)
        generation = self._generation_for(read_at.timestamp())
        if generation is None:
            return
        if len(self) >= self.size:
            self._make_room()
            generation = self._generation_for(read_at.timestamp())
            if generation is None:
                return
        generation.add(name, value)

    def _make_room(self) -> None:
        """Evict the oldest entries, a batch at a time (previous generation first)."""
        if not self._previous.entries:
            # All in the current generation: it turns early, keeping its own start (and TTL).
            self._previous, self._current = self._current, _Generation(self._current.start)
        previous = self._previous
        for name in previous.oldest(self._eviction_batch):
            previous.remove(name)

    def _remove(self, name: int) -> None:
        if not self._current.remove(name):
            self._previous.remove(name)

    # -- invalidation --------------------------------------------------------------------------

    def apply(self, change: CredentialChange) -> None:
        """Forget what the change makes stale (``core.changes.ChangeListener``)."""
        with self._lock:
            self._changes_seen += 1
            kind, subject = change.kind, change.subject_id
            if kind is ChangeKind.API_KEY:
                self._remove(_name(_KEY, subject))
            elif kind is ChangeKind.API_TOKEN:
                self._remove(_name(_TOKEN, subject))
            elif kind is ChangeKind.PERSON or kind is ChangeKind.OAUTH_CLIENT:
                for generation in (self._current, self._previous):
                    index = (
                        generation.by_person if kind is ChangeKind.PERSON else generation.by_client
                    )
                    names = index.get(subject)
                    for name in [names] if isinstance(names, int) else list(names or ()):
                        generation.remove(name)
            else:
                self._current = _Generation(self._current.start)
                self._previous = _Generation(self._previous.start)
                self._due.clear()


def _person_of(value: _Value) -> Person | None:
    if isinstance(value, Person):
        return value
    return value.person


def _client_of(value: _Value) -> int | None:
    if isinstance(value, ApiTokenRecord) and value.oauth_client_id is not None:
        parsed = parse_client_id(value.oauth_client_id)
        return parsed[0] if parsed is not None else None
    return None


def _index(index: _Index, subject: int, name: int) -> None:
    # Most people hold one credential: a bare name; a list (a fifth of a set's bytes) from
    # the second on. Lists stay short: one person's credentials, one app's tokens.
    held = index.get(subject)
    if held is None:
        index[subject] = name
    elif isinstance(held, int):
        if held != name:
            index[subject] = [held, name]
    elif name not in held:
        held.append(name)


def _unindex(index: _Index, subject: int, name: int) -> None:
    held = index.get(subject)
    if held == name:
        del index[subject]
    elif isinstance(held, list) and name in held:
        held.remove(name)
        if len(held) == 1:
            index[subject] = held[0]
