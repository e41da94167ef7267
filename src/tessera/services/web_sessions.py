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
from tessera.core.sessions import SessionLimits
from tessera.core.sign_in_methods import SignInMethod
from tessera.services.audit import record
from tessera.services.password_login import PasswordLogin
from tessera.store import web_sessions as stored
from tessera.store.database import Database

#: A live session as the pages see it: its person, and since when they are signed in.
SignedInSession = stored.LiveSession

#: The cookie value's length: like an API code, far beyond guessing.
SESSION_CODE_LENGTH = 40


@dataclass(frozen=True, slots=True)
class SignedIn:
    person: Person
    #: The cookie value; only its digest is stored.
    cookie: str
    #: A device token for this browser and account (``PasswordLogin.device_token``).
    device: str


class WebSessionService:
    def __init__(
        self,
        database: Database,
        hasher: CodeHasher,
        clock: Clock,
        login: PasswordLogin,
        limits: SessionLimits,
    ) -> None:
        self._database = database
        self._hasher = hasher
        self._clock = clock
        self._login = login
        self.limits = limits

    @property
    def lifetime(self) -> timedelta:
        """The absolute lifetime: also the cookie's ``Max-Age``."""
        return self.limits.lifetime

    async def sign_in(
        self,
        email: str,
        password: str,
        client_address: str | None,
        user_agent: str | None = None,
        *,
        device: str | None = None,
    ) -> SignedIn:
        """Check the password (throttled, no enumeration) and open a session.

        The address and user agent are kept with the session so that its person can tell
        their browsers apart (and spot one that is not theirs). ``device``: the device token
        the browser holds; a new one comes back for it to keep (ADR 0034).

        Raises:
            RateLimited, BadCredentials: as the password exchange.
        """
        person = await self._login.check(
            email, password, client_address, lambda _: True, device=device
        )
        cookie = await anyio.to_thread.run_sync(
            self._open, person, client_address, user_agent, SignInMethod.PASSWORD
        )
        return SignedIn(person, cookie, self._login.device_token(email))

    def open_session(
        self,
        person: Person,
        client_address: str | None,
        user_agent: str | None = None,
        *,
        method: SignInMethod,
    ) -> SignedIn:
        """A session for a person who proved who they are another way (``method``: a magic
        link, an identity provider): the same session, cookie and device token as a password
        sign-in gives. Blocking: call it off the event loop."""
        cookie = self._open(person, client_address, user_agent, method)
        return SignedIn(person, cookie, self._login.device_token(person.primary_email))

    def _open(
        self,
        person: Person,
        client_address: str | None,
        user_agent: str | None,
        method: SignInMethod,
    ) -> str:
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
                signed_in_by=method,
            )
        return cookie

    def person_of(self, cookie: str | None) -> Person | None:
        """Who holds this session cookie, if it is live and its person is not disabled.

        A page view: it keeps the session from going idle. The stored last request is written
        only when it is ``touch_every`` old, so most views read and write nothing more.
        """
        live = self.session_of(cookie)
        return None if live is None else live.person

    def session_of(self, cookie: str | None) -> stored.LiveSession | None:
        """The live session of this cookie (its person not disabled), its last request noted."""
        digests = self.digests_of(cookie)
        if not digests:
            return None
        now = self._clock.now()
        with self._database.read() as session:
            live = stored.find_live_session(
                session, digests, now=now, idle_since=self.limits.idle_since(now)
            )
        if live is None or live.person.is_disabled:
            return None
        stale = now - self.limits.touch_every
        if live.last_seen_at <= stale:
            with self._database.write() as session:
                stored.touch_web_session(session, live.id, now=now, before=stale)
        return live

    def sign_out(self, cookie: str | None) -> None:
        if not cookie or len(cookie) > 2 * SESSION_CODE_LENGTH:
            return
        with self._database.write() as session:
            stored.end_web_session(session, self._hasher.digests(cookie), now=self._clock.now())

    def sign_out_for_app(
        self,
        cookie: str | None,
        person_id: int,
        *,
        oauth_client_id: str | None,
        confirmed: bool,
        client_address: str | None = None,
    ) -> None:
        """End this browser's session because an app asked (OpenID Connect logout), audited.

        ``confirmed``: the person said yes on the confirmation page (else the app's ID token
        named them, which needs no question).
        """
        digests = self.digests_of(cookie)
        if not digests:
            return
        with self._database.write() as session:
            stored.end_web_session(session, digests, now=self._clock.now())
            record(
                session,
                AuditKind.SIGNED_OUT_BY_APP,
                self._clock,
                actor=PersonId(person_id),
                subject=PersonId(person_id),
                client_address=client_address,
                detail={"oauth_client_id": oauth_client_id, "confirmed": confirmed},
            )

    def digests_of(self, cookie: str | None) -> tuple[bytes, ...]:
        """The forms a cookie may be stored in (to keep one session while ending the others)."""
        if not cookie or len(cookie) > 2 * SESSION_CODE_LENGTH:
            return ()
        return self._hasher.digests(cookie)

    def open_sessions(self, person_id: int, current_cookie: str | None = None) -> list[OpenSession]:
        """The person's live sessions, newest first; the one of ``current_cookie`` marked."""
        current = self.digests_of(current_cookie)
        now = self._clock.now()
        with self._database.read() as session:
            rows = stored.list_live_sessions(
                session, PersonId(person_id), now=now, idle_since=self.limits.idle_since(now)
            )
        return [
            replace(
                open_session,
                is_current=_same(current, digest),
                ends_at=self.limits.ends_at(open_session.expires_at, open_session.last_seen_at),
            )
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


def _same(current: tuple[bytes, ...], digest: bytes) -> bool:
    return any(hmac.compare_digest(form, digest) for form in current)
