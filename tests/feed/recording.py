"""A change listener that remembers what it was told: the feed's observable behaviour."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tessera.core.changes import ChangeKind, CredentialChange
from tessera.services.change_feed import ChangeFeed


class RecordingListener:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changes: list[CredentialChange] = []

    def apply(self, change: CredentialChange) -> None:
        with self._lock:
            self._changes.append(change)

    @property
    def changes(self) -> list[CredentialChange]:
        with self._lock:
            return list(self._changes)

    def saw(self, kind: ChangeKind, subject_id: int) -> bool:
        return CredentialChange(kind, subject_id) in self.changes

    def saw_everything(self) -> bool:
        return any(change.kind is ChangeKind.EVERYTHING for change in self.changes)

    def clear(self) -> None:
        with self._lock:
            self._changes.clear()


@contextmanager
def listening(feed: ChangeFeed) -> Iterator[RecordingListener]:
    listener = RecordingListener()
    feed.subscribe(listener)
    try:
        yield listener
    finally:
        feed.unsubscribe(listener)
