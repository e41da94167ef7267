"""Remember when and from where each credential was last used, without a write per request.

``record`` runs on the request path: a dictionary assignment under a lock. ``flush`` runs in
the background (``tessera.app`` lifespan) and writes everything seen since the last flush in one
transaction, one statement per table.

Last use is kept to the minute (``GRANULARITY``): a use less than a minute after the stored
one is not written again. Without that, every credential in steady use cost one UPDATE per
flush period — 10,000 busy tokens meant 2,000 row writes a second and a 150 ms burst of
Python work every five seconds beside the requests (docs/benchmarks.md).
"""

import logging
import threading
from datetime import datetime, timedelta

from tessera.core.credentials import CredentialKind
from tessera.store.database import Database
from tessera.store.usage import LastUse, write_last_used

log = logging.getLogger(__name__)

#: Uses closer than this to the stored last use are not written (idle lifetimes are far longer).
GRANULARITY = timedelta(minutes=1)


class UsageRecorder:
    def __init__(self, database: Database) -> None:
        self._database = database
        self._lock = threading.Lock()
        self._pending: dict[tuple[CredentialKind, int], LastUse] = {}

    def record(
        self,
        kind: CredentialKind,
        credential_id: int,
        at: datetime,
        address: str | None,
        stored: datetime | None = None,
    ) -> None:
        """Note a use at ``at``; ``stored`` is the last use the caller's record holds."""
        if stored is not None and at - stored < GRANULARITY:
            return
        with self._lock:
            self._pending[(kind, credential_id)] = LastUse(credential_id, at, address)

    def flush(self) -> int:
        """Write what is pending; return how many credentials were updated."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return 0
        keys = [use for (kind, _), use in pending.items() if kind is CredentialKind.API_KEY]
        tokens = [use for (kind, _), use in pending.items() if kind is CredentialKind.API_TOKEN]
        try:
            with self._database.write() as session:
                write_last_used(session, keys=keys, tokens=tokens)
        except Exception:
            # Put them back (newer uses recorded meanwhile win) and try again next time.
            with self._lock:
                for slot, use in pending.items():
                    self._pending.setdefault(slot, use)
            raise
        return len(pending)
