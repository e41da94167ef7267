"""The in-process cache of verified credentials in front of the per-request SELECT (ADR 0010).

What it holds: API keys and tokens whose code has matched the stored digest and that were not
revoked when read, exactly as the database returned them (digest, person snapshot, flags, tags,
lifetime data, OAuth app), and person snapshots read for superuser keys acting as an agent.
Never a refusal: an id the database does not know, a wrong code or a revoked row leaves the
cache as it was, so a flood of invented ids costs database reads (as without a cache) but
cannot push a single good entry out.

Every entry is fresh for ``ttl`` after the read that produced it; after that the next request
reads the database again. That bound holds even if a change message is lost. Changes
(``core.changes``) drop entries at once: one key or token, everything of a person, every
token of an OAuth app, or everything.

A read that started before a change must not store what it read after the change was applied
(it may be the state the change replaced): ``ticket()`` is taken before the read, and a put
with a ticket older than the last change is ignored.

One lock guards everything; each operation is a few dictionary steps, so the lock is held for
about a microsecond and may be taken on the event loop.
"""

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from tessera.core.changes import ChangeKind, CredentialChange
from tessera.core.oauth_clients import parse_client_id
from tessera.core.people import Person
from tessera.core.principals import ApiKeyRecord, ApiTokenRecord

DEFAULT_SIZE = 100_000
DEFAULT_TTL = timedelta(seconds=10)


class Slot(StrEnum):
    """What an entry is; with the id it names the entry."""

    API_KEY = "api_key"
    API_TOKEN = "api_token"  # noqa: S105 (a kind of entry, not a secret)
    PERSON = "person"


_Name = tuple[Slot, int]
_Value = ApiKeyRecord | ApiTokenRecord | Person


@dataclass(slots=True)
class _Entry:
    value: _Value
    fresh_until: datetime
    #: The person whose change makes the entry stale (None: a superuser key with no agent).
    person_id: int | None
    #: The OAuth app whose change makes the entry stale (tokens issued by OAuth only).
    client_id: int | None


class CredentialCache:
    """A bounded LRU of verified credentials; a ``ChangeListener``. ``size`` 0 disables it."""

    def __init__(self, size: int = DEFAULT_SIZE, ttl: timedelta = DEFAULT_TTL) -> None:
        if size < 0:
            raise ValueError("the cache size cannot be negative")
        self.size = size
        self.ttl = ttl
        self.enabled = size > 0 and ttl > timedelta()
        self._lock = threading.Lock()
        self._entries: OrderedDict[_Name, _Entry] = OrderedDict()
        self._by_person: dict[int, set[_Name]] = {}
        self._by_client: dict[int, set[_Name]] = {}
        self._changes_seen = 0

    def __len__(self) -> int:
        return len(self._entries)

    # -- reading -------------------------------------------------------------------------------

    def api_key(self, key_id: int, now: datetime) -> ApiKeyRecord | None:
        value = self._fresh((Slot.API_KEY, key_id), now)
        return value if isinstance(value, ApiKeyRecord) else None

    def api_token(self, token_id: int, now: datetime) -> ApiTokenRecord | None:
        value = self._fresh((Slot.API_TOKEN, token_id), now)
        return value if isinstance(value, ApiTokenRecord) else None

    def person(self, person_id: int, now: datetime) -> Person | None:
        value = self._fresh((Slot.PERSON, person_id), now)
        return value if isinstance(value, Person) else None

    def _fresh(self, name: _Name, now: datetime) -> _Value | None:
        if not self.enabled:
            return None
        with self._lock:
            entry = self._entries.get(name)
            if entry is None:
                return None
            if now >= entry.fresh_until:
                # Left in place: the read that follows replaces it, or drops it if revoked.
                return None
            self._entries.move_to_end(name)
            return entry.value

    # -- filling -------------------------------------------------------------------------------

    def ticket(self) -> int:
        """Take before reading the database; hand to the put that stores what was read."""
        return self._changes_seen

    def put_api_key(self, key: ApiKeyRecord, *, ticket: int, read_at: datetime) -> None:
        person_id = key.person.id if key.person is not None else None
        self._put((Slot.API_KEY, key.id), key, ticket, read_at, person_id, None)

    def put_api_token(self, token: ApiTokenRecord, *, ticket: int, read_at: datetime) -> None:
        client = parse_client_id(token.oauth_client_id) if token.oauth_client_id else None
        client_id = client[0] if client is not None else None
        self._put((Slot.API_TOKEN, token.id), token, ticket, read_at, token.person.id, client_id)

    def put_person(self, person: Person, *, ticket: int, read_at: datetime) -> None:
        self._put((Slot.PERSON, person.id), person, ticket, read_at, person.id, None)

    def discard(self, slot: Slot, subject_id: int) -> None:
        """Forget one entry: the database says it no longer verifies (revoked, deleted)."""
        if not self.enabled:
            return
        with self._lock:
            self._remove((slot, subject_id))

    def _put(
        self,
        name: _Name,
        value: _Value,
        ticket: int,
        read_at: datetime,
        person_id: int | None,
        client_id: int | None,
    ) -> None:
        if not self.enabled:
            return
        with self._lock:
            if ticket != self._changes_seen:
                # A change was applied while this was read: what was read may predate it.
                return
            self._remove(name)
            self._entries[name] = _Entry(value, read_at + self.ttl, person_id, client_id)
            if person_id is not None:
                self._by_person.setdefault(person_id, set()).add(name)
            if client_id is not None:
                self._by_client.setdefault(client_id, set()).add(name)
            while len(self._entries) > self.size:
                self._remove(next(iter(self._entries)))

    def _remove(self, name: _Name) -> None:
        entry = self._entries.pop(name, None)
        if entry is None:
            return
        if entry.person_id is not None:
            _unindex(self._by_person, entry.person_id, name)
        if entry.client_id is not None:
            _unindex(self._by_client, entry.client_id, name)

    # -- invalidation --------------------------------------------------------------------------

    def apply(self, change: CredentialChange) -> None:
        """Forget what the change makes stale (``core.changes.ChangeListener``)."""
        with self._lock:
            self._changes_seen += 1
            kind, subject = change.kind, change.subject_id
            if kind is ChangeKind.API_KEY:
                self._remove((Slot.API_KEY, subject))
            elif kind is ChangeKind.API_TOKEN:
                self._remove((Slot.API_TOKEN, subject))
            elif kind is ChangeKind.PERSON:
                for name in list(self._by_person.get(subject, ())):
                    self._remove(name)
            elif kind is ChangeKind.OAUTH_CLIENT:
                for name in list(self._by_client.get(subject, ())):
                    self._remove(name)
            else:
                self._entries.clear()
                self._by_person.clear()
                self._by_client.clear()


def _unindex(index: dict[int, set[_Name]], subject: int, name: _Name) -> None:
    names = index.get(subject)
    if names is not None:
        names.discard(name)
        if not names:
            del index[subject]
