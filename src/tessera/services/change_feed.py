"""Tell every process's listeners (the credential cache) which credentials changed.

Two paths, both needed:

* **Here, at once.** Services record each change in their own write transaction
  (``tessera.store.changes.record_change``); the moment it commits, ``Database`` hands the
  changes to this feed, which applies them to the local listeners before the service returns.
* **Everywhere else, within a poll.** The same rows sit in ``credential_changes``; every process
  reads the rows above its cursor every ``poll_seconds`` (one primary-key range read) and
  applies them. A process also sees its own rows again: harmless, and it closes the race of a
  request that read a credential just before the change committed and cached it just after.

Whenever the feed cannot vouch that nothing was missed — on start, after being unable to read for
longer than ``resync_after``, or facing more unexplained holes in the ids than it can track — it
publishes ``EVERYTHING``. Rows are kept far longer than ``resync_after`` (an hour by default), so
a row can only be pruned unread by a process that already resynchronised for its silence.
See docs/adr/0011-change-feed-polled-table.md for the choice and its numbers.
"""

import asyncio
import logging
import threading
import time
from collections.abc import Callable

import anyio
import anyio.to_thread

from tessera.core.changes import ChangeKind, ChangeListener, CredentialChange
from tessera.store import changes as stored
from tessera.store.database import Database

log = logging.getLogger(__name__)

EVERYTHING = CredentialChange(ChangeKind.EVERYTHING)
#: Rows read per query; a longer backlog is read in several queries within one poll.
POLL_BATCH = 1000
#: On PostgreSQL, ids are handed out before commit: a lower id can commit after a higher one
#: was read. The feed keeps asking for such holes this long before deciding the transaction
#: rolled back (our write transactions last milliseconds).
HOLE_WAIT_SECONDS = 30.0
#: How many of the ids handed out just before start may still be in flight.
START_HOLES = 100
#: More holes than this at once is no longer a race between a few writers: resynchronise.
MAX_HOLES = 1000


class ChangeFeed:
    def __init__(
        self,
        database: Database,
        *,
        poll_seconds: float = 0.25,
        resync_after: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._database = database
        self.poll_seconds = poll_seconds
        self._resync_after = resync_after
        self._monotonic = monotonic
        self._listeners: list[ChangeListener] = []
        #: The highest id read; None until the first poll (``start``).
        self._cursor: int | None = None
        #: Ids below the cursor not seen yet, with the time after which they are given up.
        self._holes: dict[int, float] = {}
        self._last_read = 0.0
        #: When (``monotonic``) a poll last succeeded, or the feed was made: its lag's start.
        self.read_at = monotonic()
        self._failing = False
        # One poll at a time, even when several event loops share this feed (tests do).
        self._poll_lock = threading.Lock()
        database.on_changes_committed(self.publish)

    def lag(self) -> float:
        """Seconds since a poll last succeeded (or since the feed was made, before the first)."""
        return self._monotonic() - self.read_at

    def subscribe(self, listener: ChangeListener) -> None:
        """Add a listener; a new list, so that a publish under way is not disturbed."""
        self._listeners = [*self._listeners, listener]

    def unsubscribe(self, listener: ChangeListener) -> None:
        self._listeners = [known for known in self._listeners if known is not listener]

    def publish(self, changes: list[CredentialChange]) -> None:
        """Apply changes to every local listener. Never raises: it runs inside a commit."""
        for change in changes:
            for listener in self._listeners:
                try:
                    listener.apply(change)
                except Exception:
                    log.exception("a change listener failed; forgetting everything instead")
                    _apply_everything(listener)

    def start(self) -> None:
        """Read from the newest row on, and tell listeners to forget whatever they hold.

        Ids handed out but not (yet) seen committed may belong to transactions still in flight
        (PostgreSQL): the last few are watched as holes; older ones were pruned long ago.
        """
        with self._database.connect() as connection:
            committed, issued = stored.newest_ids(connection)
        watched_from = max(committed, issued - START_HOLES)
        now = self._monotonic()
        self._cursor = issued
        self._holes = dict.fromkeys(range(watched_from + 1, issued + 1), now + HOLE_WAIT_SECONDS)
        self._last_read = now
        self.publish([EVERYTHING])

    def poll(self) -> int:
        """Read and apply the rows committed since the last poll; how many were applied.

        Raises whatever the database raises; the next poll tries again (``run`` logs it).
        """
        with self._poll_lock:
            applied = self._poll()
            self.read_at = self._monotonic()
            return applied

    def _poll(self) -> int:
        cursor = self._cursor
        if cursor is None:
            self.start()
            return 1
        now = self._monotonic()
        resync = now - self._last_read > self._resync_after
        applied = 0
        with self._database.connect() as connection:
            while True:
                rows = stored.changes_after(
                    connection, cursor, also=sorted(self._holes), limit=POLL_BATCH
                )
                cursor, missed = self._advance(cursor, [i for i, _ in rows], now)
                self._cursor = cursor
                resync |= missed
                if not resync:
                    self.publish([change for _, change in rows])
                    applied += len(rows)
                if len(rows) < POLL_BATCH:
                    break
        self._last_read = self._monotonic()
        self._holes = {i: until for i, until in self._holes.items() if until > now}
        if resync:
            log.info("the change feed may have missed changes: every cached credential dropped")
            self.publish([EVERYTHING])
            return applied + 1
        return applied

    def _advance(self, cursor: int, ids: list[int], now: float) -> tuple[int, bool]:
        """The cursor past ``ids``, and whether rows may have been missed for good."""
        missed = False
        for row_id in ids:
            if self._holes.pop(row_id, None) is not None:
                continue
            if row_id > cursor + 1:
                skipped = range(cursor + 1, row_id)
                if len(skipped) + len(self._holes) > MAX_HOLES:
                    missed = True
                else:
                    self._holes.update((i, now + HOLE_WAIT_SECONDS) for i in skipped)
            cursor = max(cursor, row_id)
        return cursor, missed

    async def run(self) -> None:
        """Poll forever (the app's lifespan starts it as a task and cancels it)."""
        # A limiter of its own: the poll never queues behind requests for a worker thread.
        limiter = anyio.CapacityLimiter(1)
        while True:
            await self._poll_logged(limiter)
            await asyncio.sleep(self.poll_seconds)

    async def _poll_logged(self, limiter: anyio.CapacityLimiter) -> None:
        try:
            await anyio.to_thread.run_sync(self.poll, limiter=limiter)
        except Exception:
            # Once per outage, not four times a second; the resync covers what it missed.
            if not self._failing:
                log.exception("cannot read the credential change feed; retrying")
            self._failing = True
        else:
            if self._failing:
                log.warning("the credential change feed is readable again")
            self._failing = False


def _apply_everything(listener: ChangeListener) -> None:
    try:
        listener.apply(EVERYTHING)
    except Exception:
        log.exception("a change listener failed to forget everything")
