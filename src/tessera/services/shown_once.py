"""Secrets shown once after a POST: kept sealed for the browser's next GET, then gone.

A page that makes a secret (a new API key, an app's secret, a device-setup code) answers its
POST with a redirect, and the GET it leads to shows the secret; a reload of that GET shows
that it was shown, never the secret again, and never makes a second one. In between, the
secret waits in the database (every worker and node can serve the GET), sealed under a key
derived from the browser's session cookie, which the server does not keep (ADR 0020).
"""

from datetime import timedelta

from tessera.core.clock import Clock
from tessera.core.credentials import CodeHasher
from tessera.core.sealing import new_salt, seal, unseal
from tessera.store import shown_once as stored
from tessera.store import web_sessions as stored_sessions
from tessera.store.database import Database

#: Long enough for the redirect to be followed on a slow link; short, as it holds a secret.
WAITS_FOR = timedelta(minutes=5)


class ShownOnceService:
    def __init__(self, database: Database, hasher: CodeHasher, clock: Clock) -> None:
        self._database = database
        self._hasher = hasher
        self._clock = clock

    def keep(self, cookie: str | None, subject: str, values: dict[str, str]) -> bool:
        """Seal ``values`` for this browser's next look at ``subject``; False without a session.

        A newer secret for the same subject replaces one not yet shown.
        """
        if not cookie:
            return False
        now = self._clock.now()
        salt = new_salt()
        sealed = seal(cookie, salt, subject, values)
        with self._database.write() as session:
            session_id = stored_sessions.session_id_of(session, self._hasher.digests(cookie))
            if session_id is None:
                return False
            stored.put(
                session,
                session_id=session_id,
                subject=subject,
                salt=salt,
                sealed=sealed,
                now=now,
                expires_at=now + WAITS_FOR,
            )
        return True

    def take(self, cookie: str | None, subject: str) -> dict[str, str] | None:
        """What waits for this browser about ``subject``, removed as it is read; else None."""
        if not cookie:
            return None
        with self._database.write() as session:
            found = stored.take(
                session,
                token_digests=self._hasher.digests(cookie),
                subject=subject,
                now=self._clock.now(),
            )
        if found is None:
            return None
        return unseal(cookie, found.salt, subject, found.sealed)
