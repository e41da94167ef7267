"""A person's own account: changing their password, and the sign-ins they can review."""

from datetime import datetime

import anyio.to_thread

from tessera.core.account import SIGN_IN_KINDS, OwnToken, SignInAttempt
from tessera.core.audit import AuditKind, DetailValue
from tessera.core.clock import Clock
from tessera.core.errors import REQUIRED, FieldError, FieldErrors, InvalidInput
from tessera.core.ids import PersonId
from tessera.core.paging import Page, PageRequest
from tessera.core.passwords import password_problem
from tessera.core.people import Person
from tessera.services.api_tokens import ApiTokenService
from tessera.services.audit import record
from tessera.services.password_login import PasswordLogin
from tessera.services.web_sessions import WebSessionService
from tessera.store import audit as stored_audit
from tessera.store import people as stored_people
from tessera.store import web_sessions as stored_sessions
from tessera.store.database import Database

WRONG_PASSWORD = FieldError("wrong_password", "This is not your current password.")
#: How many recent sign-in attempts a person is shown.
RECENT_SIGN_INS = 20


class AccountService:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        login: PasswordLogin,
        sessions: WebSessionService,
        tokens: ApiTokenService,
    ) -> None:
        self._database = database
        self._clock = clock
        self._login = login
        self._sessions = sessions
        self._tokens = tokens

    def tokens(self, person_id: int, page: PageRequest) -> Page[OwnToken]:
        """The person's live tokens, newest first, each with its app and when it ends."""
        listing = self._tokens.list(page, person_id=person_id)
        lifetime = self._tokens.policy.lifetime
        items = [
            OwnToken(
                token=token,
                app_name=token.app.name if token.app is not None else None,
                expires_at=lifetime.expiry(token.created_at, token.last_used_at, token.expires_at),
            )
            for token in listing.items
        ]
        return Page(items, listing.total, page)

    async def change_password(
        self,
        person: Person,
        current_password: str,
        new_password: str,
        *,
        client_address: str | None,
        keep_cookie: str | None = None,
    ) -> int:
        """Replace the person's password, knowing the current one; the sessions ended.

        Every session ends but the one of ``keep_cookie`` (the browser that made the change
        stays signed in): whoever else knew the old password is out.

        Raises:
            InvalidInput: the current password is wrong (``current_password``), or the new one
                is not acceptable (``new_password``); both are reported at once.
            RateLimited: too many wrong guesses for this person or from this address.
        """
        problems = FieldErrors()
        problem = password_problem(new_password)
        if not new_password:
            problems.add(("new_password",), REQUIRED)
        elif problem is not None:
            problems.add(("new_password",), FieldError("invalid_password", problem))
        if not current_password:
            problems.add(("current_password",), REQUIRED)
        elif not await self._login.confirm(person, current_password, client_address):
            problems.add(("current_password",), WRONG_PASSWORD)
        if problems:
            raise InvalidInput(problems)
        new_hash = await self._login.hash_new(new_password)
        keep = self._sessions.digests_of(keep_cookie)
        return await anyio.to_thread.run_sync(
            self._store_password, person.id, new_hash, keep, client_address
        )

    def _store_password(
        self,
        person_id: PersonId,
        new_hash: str,
        keep: tuple[bytes, ...],
        client_address: str | None,
    ) -> int:
        now = self._clock.now()
        with self._database.write() as session:
            stored_people.update_person(session, person_id, now=now, password_hash=new_hash)
            ended = stored_sessions.end_sessions_of(session, person_id, now=now, keep=keep)
            record(
                session,
                AuditKind.PASSWORD_CHANGED,
                self._clock,
                actor=person_id,
                subject=person_id,
                client_address=client_address,
                detail={"sessions_ended": ended},
            )
        return ended

    def sign_ins(self, person_id: int, limit: int = RECENT_SIGN_INS) -> list[SignInAttempt]:
        """The newest password checks for this person, succeeded or failed, with addresses.

        Attempts on an unknown e-mail name nobody, so they are not here. Throttled attempts
        on this person's e-mail are, one entry per address and window with their count.
        """
        with self._database.read() as session:
            events = stored_audit.list_events_about(
                session, PersonId(person_id), SIGN_IN_KINDS.keys(), limit=limit
            )
        return [
            SignInAttempt(
                occurred_at=event.occurred_at,
                outcome=SIGN_IN_KINDS[event.kind],
                client_address=event.client_address,
                attempts=_attempts(event.detail.get("attempts")),
                last_at=_moment(event.detail.get("last_attempt_at")),
            )
            for event in events
        ]


def _attempts(value: DetailValue) -> int:
    return value if isinstance(value, int) and value > 0 else 1


def _moment(value: DetailValue) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None
