"""Signing in on Tessera's own pages (login for OAuth consent): sessions behind a cookie."""

from dataclasses import dataclass
from datetime import timedelta

import anyio.to_thread

from tessera.core.clock import Clock
from tessera.core.credentials import CodeHasher, new_code
from tessera.core.people import Person
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

    async def sign_in(self, email: str, password: str, client_address: str | None) -> SignedIn:
        """Check the password (throttled, no enumeration) and open a session.

        Raises:
            RateLimited, BadCredentials: as the password exchange.
        """
        person = await self._login.check(email, password, client_address, lambda _: True)
        return await anyio.to_thread.run_sync(self._open, person)

    def _open(self, person: Person) -> SignedIn:
        cookie = new_code(SESSION_CODE_LENGTH)
        now = self._clock.now()
        with self._database.write() as session:
            stored.add_web_session(
                session,
                token_digest=self._hasher.digest(cookie),
                person_id=person.id,
                now=now,
                expires_at=now + self.lifetime,
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
