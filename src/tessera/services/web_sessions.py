"""Signing in on Tessera's own pages (login for OAuth consent): sessions behind a cookie."""

import hmac
from dataclasses import dataclass, replace
from datetime import timedelta

import anyio.to_thread

from tessera.core.account import OpenSession
from tessera.core.audit import AuditKind
from tessera.core.clock import Clock
from tessera.core.credentials import CodeHasher, new_code
from tessera.core.ids import PersonId
from tessera.core.people import Person
from tessera.services.audit import record
from tessera.services.password_login import PasswordLogin
from tessera.store import web_sessions as stored
from tessera.store.database import Database

#: The cookie value's length: like an API code, far beyond guessing.
SESSION_CODE_LENGTH = 40


@dataclass(frozen=True, slots=True)
class SignedIn:
    person: Person
    #: The cookie value; only its digest is stored.
    cookie: str


class WebSessionService:
    def __init__(
        self,
        database: Database,
        hasher: CodeHasher,
        clock: Clock,
        login: PasswordLogin,
        *,
        lifetime: timedelta,
    ) -> None:
        self._database = database
        self._hasher = hasher
        self._clock = clock
        self._login = login
        self.lifetime = lifetime

    async def sign_in(
        self,
        email: str,
        password: str,
        client_address: str | None,
        user_agent: str | None = None,
    ) -> SignedIn:
        """Check the password (throttled, no enumeration) and open a session.

        The address and user agent are kept with the session so that its person can tell
        their browsers apart (and spot one that is not theirs).

        Raises:
            RateLimited, BadCredentials: as the password exchange.
        """
        person = await self._login.check(email, password, client_address, lambda _: True)
        return await anyio.to_thread.run_sync(self._open, person, client_address, user_agent)

    def _open(self, person: Person, client_address: str | None, user_agent: str | None) -> SignedIn:
        cookie = new_code(SESSION_CODE_LENGTH)
        now = self._clock.now()
        with self._database.write() as session:
            stored.add_web_session(
                session,
                token_digest=self._hasher.digest(cookie),
                person_id=person.id,
                now=now,
                expires_at=now + self.lifetime,
                client_address=client_address,
                user_agent=user_agent,
            )
        return SignedIn(person, cookie)

    def person_of(self, cookie: str | None) -> Person | None:
        """Who holds this session cookie, if it is live and its person is not disabled."""
        if not cookie or len(cookie) > 2 * SESSION_CODE_LENGTH:
            return None
        with self._database.read() as session:
            person = stored.find_web_session_person(
                session, self._hasher.digest(cookie), now=self._clock.now()
            )
        return None if person is None or person.is_disabled else person

    def sign_out(self, cookie: str | None) -> None:
        if not cookie or len(cookie) > 2 * SESSION_CODE_LENGTH:
            return
        with self._database.write() as session:
            stored.end_web_session(session, self._hasher.digest(cookie), now=self._clock.now())

    def digest_of(self, cookie: str | None) -> bytes | None:
        """The stored form of a cookie (to keep one session while ending the others)."""
        if not cookie or len(cookie) > 2 * SESSION_CODE_LENGTH:
            return None
        return self._hasher.digest(cookie)

    def open_sessions(self, person_id: int, current_cookie: str | None = None) -> list[OpenSession]:
        """The person's live sessions, newest first; the one of ``current_cookie`` marked."""
        current = self.digest_of(current_cookie)
        with self._database.read() as session:
            rows = stored.list_live_sessions(session, PersonId(person_id), now=self._clock.now())
        return [
            replace(open_session, is_current=_same(current, digest))
            for digest, open_session in rows
        ]

    def sign_out_everywhere(self, person_id: int, client_address: str | None = None) -> int:
        """End every session of the person, this browser's too; how many ended."""
        with self._database.write() as session:
            ended = stored.end_sessions_of(session, PersonId(person_id), now=self._clock.now())
            record(
                session,
                AuditKind.SIGNED_OUT_EVERYWHERE,
                self._clock,
                actor=PersonId(person_id),
                subject=PersonId(person_id),
                client_address=client_address,
                detail={"sessions_ended": ended},
            )
        return ended


def _same(current: bytes | None, digest: bytes) -> bool:
    return current is not None and hmac.compare_digest(current, digest)
