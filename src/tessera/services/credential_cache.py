"""The in-process cache of verified credentials in front of the per-request SELECT (ADR 0010).

What it holds: API keys and tokens whose code has matched the stored digest and that were not
revoked when read, exactly as the database returned them (digest, person snapshot, flags, tags,
lifetime data, OAuth app), and person snapshots read for superuser keys acting as an agent.
Never a refusal: an id the database does not know, a wrong code or a revoked row leaves this
cache as it was, so a flood of invented ids cannot push a single good entry out. Refusals are
remembered apart, in a bounded set of their own (``services.refusal_cache``, ADR 0024).

Every entry is fresh for ``ttl`` after the read that produced it; after that the next request
reads the database again. That bound holds even if a change message is lost. So that busy
credentials do not all pay that read on the request path, a hit in the second half of an
entry's life marks it due, and a background refresher (``Authenticator.refresh_due``) reads
the due entries in bulk and renews those the database still confirms. Changes
(``core.changes``) drop entries at once: one key or token, everything of a person, every
token of an OAuth app, or everything.

A read that started before a change must not store what it read after the change was applied
(it may be the state the change replaced): ``ticket()`` is taken before the read, and a put
with a ticket older than the last change is ignored.

One lock guards everything; each operation is a few dictionary steps, so the lock is held for
about a microsecond and may be taken on the event loop.

Memory (``bench/cache_memory.py``, ADR 0016): an entry is its record in one ordered dictionary
and its expiry (a float) in a plain one, both named by one integer; no tuple pairs them, so an
entry adds two objects the garbage collector walks (record and person), not three. Entries of
the same person share one person snapshot; within a snapshot, equal strings are one object
(a display name equal to the name, a primary e-mail equal to the first address); the strings
many rows repeat (time zones, tag patterns, OAuth client ids) are interned.
"""

import sys
import threading
from collections import OrderedDict
from dataclasses import replace
from datetime import datetime, timedelta
from enum import IntEnum

from tessera.core.changes import ChangeKind, CredentialChange
from tessera.core.oauth_clients import parse_client_id
from tessera.core.people import Person
from tessera.core.principals import ApiKeyRecord, ApiTokenRecord

DEFAULT_SIZE = 100_000
DEFAULT_TTL = timedelta(seconds=10)


class Slot(IntEnum):
    """What an entry is; with the id it names the entry."""

    API_KEY = 0
    API_TOKEN = 1
    PERSON = 2


_SLOTS = len(Slot)
_Value = ApiKeyRecord | ApiTokenRecord | Person


def _name(slot: int, subject_id: int) -> int:
    # One int instead of a (slot, id) tuple: a third of the bytes of an entry's name.
    return subject_id * _SLOTS + slot


# Plain ints for the hit path's arithmetic (an IntEnum operand costs a slower dispatch).
_KEY, _TOKEN, _PERSON = int(Slot.API_KEY), int(Slot.API_TOKEN), int(Slot.PERSON)


class CredentialCache:
    """A bounded LRU of verified credentials; a ``ChangeListener``. ``size`` 0 disables it."""

    def __init__(self, size: int = DEFAULT_SIZE, ttl: timedelta = DEFAULT_TTL) -> None:
        if size < 0:
            raise ValueError("the cache size cannot be negative")
        self.size = size
        self.ttl = ttl
        self.enabled = size > 0 and ttl > timedelta()
        self._ttl_seconds = ttl.total_seconds()
        #: A hit this close to the end of an entry's life asks for it to be read again.
        self._refresh_after = self._ttl_seconds / 2
        self._due: set[int] = set()
        self._lock = threading.Lock()
        #: Name → the record as read, least recently used first.
        self._entries: OrderedDict[int, _Value] = OrderedDict()
        #: Name → the time (POSIX seconds) until which its record may be served.
        self._until: dict[int, float] = {}
        #: Person id → the names of the entries that hold that person (one name, or a list).
        self._by_person: dict[int, int | list[int]] = {}
        self._by_client: dict[int, int | list[int]] = {}
        self._changes_seen = 0

    def __len__(self) -> int:
        return len(self._entries)

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
        with self._lock:
            value = self._entries.get(name)
            if value is None:
                return None
            until = self._until[name]
            moment = now.timestamp()
            if moment >= until:
                # Left in place: the read that follows replaces it, or drops it if revoked.
                return None
            if moment >= until - self._refresh_after:
                self._due.add(name)
            self._entries.move_to_end(name)
            return value

    # -- refreshing ahead ----------------------------------------------------------------------

    def take_due(self) -> dict[Slot, list[int]]:
        """The ids of entries used in the second half of their life, by kind; forgets them.

        The refresher reads them again in bulk so that a credential in use never expires on
        the request path (ADR 0010); entries nobody uses simply run out.
        """
        with self._lock:
            due, self._due = self._due, set()
            alive = [name for name in due if name in self._entries]
        by_slot: dict[Slot, list[int]] = {slot: [] for slot in Slot}
        for name in alive:
            by_slot[Slot(name % _SLOTS)].append(name // _SLOTS)
        return by_slot

    def digest_of(self, slot: Slot, subject_id: int) -> bytes | None:
        """The code digest an entry holds now (None: no such entry, or a person)."""
        with self._lock:
            value = self._entries.get(_name(slot, subject_id))
        if value is None or isinstance(value, Person):
            return None
        return value.code_digest

    # -- filling -------------------------------------------------------------------------------

    def ticket(self) -> int:
        """Take before reading the database; hand to the put that stores what was read."""
        return self._changes_seen

    def put_api_key(self, key: ApiKeyRecord, *, ticket: int, read_at: datetime) -> None:
        name = _name(Slot.API_KEY, key.id)
        with self._lock:
            if self._admits(ticket):
                person = self._shared(key.person) if key.person is not None else None
                key = replace(key, person=person, tags=sys.intern(key.tags))
                self._store(name, key, read_at)

    def put_api_token(self, token: ApiTokenRecord, *, ticket: int, read_at: datetime) -> None:
        name = _name(Slot.API_TOKEN, token.id)
        with self._lock:
            if self._admits(ticket):
                client = token.oauth_client_id
                token = replace(
                    token,
                    person=self._shared(token.person),
                    oauth_client_id=sys.intern(client) if client is not None else None,
                )
                self._store(name, token, read_at)

    def put_person(self, person: Person, *, ticket: int, read_at: datetime) -> None:
        with self._lock:
            if self._admits(ticket):
                self._store(_name(Slot.PERSON, person.id), self._shared(person), read_at)

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
        names = self._by_person.get(person.id)
        for name in (names,) if isinstance(names, int) else names or ():
            held = _person_of(self._entries[name])
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
        self._entries[name] = value
        self._until[name] = read_at.timestamp() + self._ttl_seconds
        person = _person_of(value)
        if person is not None:
            _index(self._by_person, person.id, name)
        client_id = _client_of(value)
        if client_id is not None:
            _index(self._by_client, client_id, name)
        while len(self._entries) > self.size:
            self._remove(next(iter(self._entries)))

    def _remove(self, name: int) -> None:
        value = self._entries.pop(name, None)
        if value is None:
            return
        del self._until[name]
        person = _person_of(value)
        if person is not None:
            _unindex(self._by_person, person.id, name)
        client_id = _client_of(value)
        if client_id is not None:
            _unindex(self._by_client, client_id, name)

    # -- invalidation --------------------------------------------------------------------------

    def apply(self, change: CredentialChange) -> None:
        """Forget what the change makes stale (``core.changes.ChangeListener``)."""
        with self._lock:
            self._changes_seen += 1
            kind, subject = change.kind, change.subject_id
            if kind is ChangeKind.API_KEY:
                self._remove(_name(Slot.API_KEY, subject))
            elif kind is ChangeKind.API_TOKEN:
                self._remove(_name(Slot.API_TOKEN, subject))
            elif kind is ChangeKind.PERSON:
                self._remove_all(self._by_person.get(subject))
            elif kind is ChangeKind.OAUTH_CLIENT:
                self._remove_all(self._by_client.get(subject))
            else:
                self._entries.clear()
                self._until.clear()
                self._by_person.clear()
                self._by_client.clear()
                self._due.clear()

    def _remove_all(self, names: int | list[int] | None) -> None:
        for name in [names] if isinstance(names, int) else list(names or ()):
            self._remove(name)


def _person_of(value: _Value) -> Person | None:
    if isinstance(value, Person):
        return value
    return value.person


def _client_of(value: _Value) -> int | None:
    if isinstance(value, ApiTokenRecord) and value.oauth_client_id is not None:
        parsed = parse_client_id(value.oauth_client_id)
        return parsed[0] if parsed is not None else None
    return None


def _index(index: dict[int, int | list[int]], subject: int, name: int) -> None:
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


def _unindex(index: dict[int, int | list[int]], subject: int, name: int) -> None:
    held = index.get(subject)
    if held == name:
        del index[subject]
    elif isinstance(held, list) and name in held:
        held.remove(name)
        if len(held) == 1:
            index[subject] = held[0]
