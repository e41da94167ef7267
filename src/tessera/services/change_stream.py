"""Credential changes handed to the subscribers of ``GET /authz/changes``, one queue each.

``ChangeStream`` listens to the change feed like the credential cache does: every change
committed here, and every change another process committed (the feed's poll), reaches
``apply``, on whatever thread made it. Each subscriber (one open stream, on the event loop)
gets the change in a queue of its own and is woken on its loop.

A queue is bounded. A subscriber that falls ``queue_size`` changes behind is not buffered
for without end: it is told ``everything`` (it cannot know what it missed) and its stream
ends, so that it reconnects and starts over. ``close`` ends every stream: the server does it
when it stops, so that open streams never hold a shutdown up.
"""

import asyncio
import contextlib
import threading
import weakref
from collections import deque

from tessera.core.changes import ChangeKind, CredentialChange
from tessera.core.oauth_clients import parse_client_id
from tessera.core.principals import Principal

EVERYTHING = CredentialChange(ChangeKind.EVERYTHING)
#: Changes a subscriber may fall behind by before it is told ``everything`` and let go.
DEFAULT_QUEUE_SIZE = 1000


class Subscription:
    """One subscriber's queue; ``offer`` from any thread, ``next`` on the subscriber's loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, queue_size: int) -> None:
        #: The event loop of the server that serves this stream.
        self.loop = loop
        self._queue_size = queue_size
        self._pending: deque[CredentialChange] = deque()
        self._lock = threading.Lock()
        self._woken = asyncio.Event()
        #: A wake-up is on its way to the loop: one call_soon_threadsafe per batch, not change.
        self._wake_scheduled = False
        self._overflowed = False
        self._closed = False

    def offer(self, change: CredentialChange) -> None:
        with self._lock:
            if self._closed or self._overflowed:
                return
            if len(self._pending) >= self._queue_size:
                self._overflowed = True
                self._pending.clear()
            else:
                self._pending.append(change)
            self._wake_locked()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._wake_locked()

    def _wake_locked(self) -> None:
        if self._wake_scheduled:
            return
        self._wake_scheduled = True
        # A closed loop raises RuntimeError: nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self._woken.set)

    async def next(self) -> tuple[list[CredentialChange], bool]:
        """The changes queued so far (waiting for one), and whether the stream must end.

        Ending: the subscriber fell too far behind (its last change is ``everything``) or the
        server is stopping.
        """
        await self._woken.wait()
        with self._lock:
            self._woken.clear()
            self._wake_scheduled = False
            if self._overflowed:
                return [EVERYTHING], True
            changes = list(self._pending)
            self._pending.clear()
            return changes, self._closed


class ChangeStream:
    """The change listener that fans changes out to every open stream of this process."""

    def __init__(
        self, *, keep_alive_seconds: float = 10.0, queue_size: int = DEFAULT_QUEUE_SIZE
    ) -> None:
        #: A stream with nothing to say sends a keep-alive line this often.
        self.keep_alive_seconds = keep_alive_seconds
        self._queue_size = queue_size
        self._subscriptions: list[Subscription] = []
        self._lock = threading.Lock()
        #: The loops of servers that are stopping (weakly: a finished loop is forgotten).
        self._stopping: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()

    def apply(self, change: CredentialChange) -> None:
        for subscription in self._subscriptions:
            subscription.offer(change)

    def subscribe(self) -> Subscription:
        """A new subscription woken on the running event loop; ``unsubscribe`` it when done."""
        loop = asyncio.get_running_loop()
        subscription = Subscription(loop, self._queue_size)
        with self._lock:
            if loop in self._stopping:
                subscription.close()
            # A new list, so that an apply under way on another thread is not disturbed.
            self._subscriptions = [*self._subscriptions, subscription]
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscriptions = [s for s in self._subscriptions if s is not subscription]

    @property
    def subscribers(self) -> int:
        return len(self._subscriptions)

    def close(self, loop: asyncio.AbstractEventLoop) -> None:
        """End the streams served on ``loop``, and any opened there from now on: that server
        is stopping. A server on another loop sharing these services (tests run several)
        keeps its streams."""
        with self._lock:
            self._stopping.add(loop)
            ending = [s for s in self._subscriptions if s.loop is loop]
        for subscription in ending:
            subscription.close()


def touches(change: CredentialChange, principal: Principal) -> bool:
    """Whether the change may have turned this caller's own credential into a refused one."""
    match change.kind:
        case ChangeKind.API_KEY:
            return change.subject_id == principal.api_key_id
        case ChangeKind.API_TOKEN:
            return change.subject_id == principal.api_token_id
        case ChangeKind.PERSON:
            return change.subject_id == principal.person.id
        case ChangeKind.OAUTH_CLIENT:
            client = parse_client_id(principal.oauth_client_id or "")
            return client is not None and client[0] == change.subject_id
        case _:
            return True
