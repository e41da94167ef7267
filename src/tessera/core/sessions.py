"""How long a signed-in browser stays signed in: an absolute lifetime and an idle timeout."""

from dataclasses import dataclass
from datetime import datetime, timedelta

#: The most a session's last request may be out of date: the idle clock is written at most
#: this often (ADR 0020), so a session ends between ``idle - touch_every`` and ``idle`` after
#: the last request.
LONGEST_TOUCH = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class SessionLimits:
    #: From sign-in, whatever happens: the absolute lifetime (``TESSERA_SESSION_HOURS``).
    lifetime: timedelta
    #: Without a request for this long, the session ends (``TESSERA_SESSION_IDLE_MINUTES``).
    idle: timedelta

    @property
    def touch_every(self) -> timedelta:
        """How stale the stored last request may grow before a request writes it again."""
        return min(LONGEST_TOUCH, self.idle / 5)

    def idle_since(self, now: datetime) -> datetime:
        """A session whose last request is no later than this has ended."""
        return now - self.idle

    def ends_at(self, expires_at: datetime, last_seen_at: datetime) -> datetime:
        """When a session ends if no request comes: idle or at its absolute end, sooner first."""
        return min(expires_at, last_seen_at + self.idle)
