"""A clock tests can move forward: the one fake we allow, at the true outer edge (time)."""

import threading
from datetime import UTC, datetime, timedelta


class ManualClock:
    """Real time plus an offset that a test can advance; reset between tests."""

    def __init__(self) -> None:
        self._offset = timedelta()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._offset += delta

    def reset(self) -> None:
        with self._lock:
            self._offset = timedelta()
