"""API tokens: issued by password exchange and device setup, listed and revoked.

The password exchange is the one ``async`` use case: it waits on an argon2 hash, which runs in
worker threads bounded by their own limiter, so a storm of logins never takes the threads that
API requests need, nor stalls the event loop (shared/spec E3, decision 11.12).
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

import anyio
import anyio.to_thread
from sqlalchemy.orm import Session

from tessera.core.account import DeviceSetup, DeviceSetupState, DeviceSetupStatus
from tessera.core.audit import AuditKind, CredentialKind, DetailValue
from tessera.core.changes import ChangeKind
from tessera.core.clock import Clock
from tessera.core.credential_codes import API_TOKEN_CODE
from tessera.core.credentials import CodeHasher, format_credential, new_code
from tessera.core.errors import BadCredentials, Forbidden, NotFound
from tessera.core.ids import ApiTokenId, PersonId
from tessera.core.oauth_scopes import CLIENT_SCOPE
from tessera.core.paging import Page, PageRequest
from tessera.core.people import Person
from tessera.core.principals import TokenLifetime, TokenSource
from tessera.core.records import ApiTokenInfo
from tessera.services.audit import record
from tessera.services.password_login import PasswordLogin
from tessera.services.throttle import Throttle, ThrottleRule
from tessera.store import api_tokens as stored
from tessera.store import people as stored_people
from tessera.store.changes import record_change
from tessera.store.database import Database

log = logging.getLogger(__name__)

#: Deskpro: device-setup codes live ten minutes (shared/spec §8.1, decision 11.13).
DEVICE_SETUP_LIFETIME = timedelta(minutes=10)
#: Longer than any device-setup code Tessera issues (25 characters) or ever will.
LONGEST_SETUP_CODE = 64


@dataclass(frozen=True, slots=True)
class TokenPolicy:
    exchange_enabled: bool
    #: Let non-agent people (helpdesk users) obtain tokens; Deskpro's default is agents only.
    allow_users: bool
    lifetime: TokenLifetime
    device_setup_per_address: ThrottleRule


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A new token with its full secret: shown once, never stored."""

    token: ApiTokenInfo
    code: str

    @property
    def token_string(self) -> str:
        return format_credential(self.token.id, self.code)


class ApiTokenService:
    def __init__(
        self,
        database: Database,
        hasher: CodeHasher,
        clock: Clock,
        throttle: Throttle,
        policy: TokenPolicy,
        login: PasswordLogin,
    ) -> None:
        self._database = database
        self._hasher = hasher
        self._clock = clock
        self._throttle = throttle
        self.policy = policy
        self._login = login

    # -- password exchange (E3) ---------------------------------------------------------

    async def exchange_password(
        self, email: str, password: str, client_address: str | None
    ) -> IssuedToken:
        """Trade an e-mail and password for a new token.

        Unknown e-mail, wrong password, and a person who may not use the exchange all get
        ``BadCredentials`` after exactly one argon2 verification, so neither the answer nor its
        timing tells which case it was.

        Raises:
            Forbidden: the operator switched the exchange off.
            RateLimited: too many attempts for this e-mail or from this address.
            BadCredentials: anything else that is not a success.
        """
        if not self.policy.exchange_enabled:
            raise Forbidden()
        person = await self._login.check(email, password, client_address, self._may_hold_token)
        issued = await anyio.to_thread.run_sync(self._issue_now, person.id, client_address)
        log.info("token issued by password exchange", extra={"token_id": issued.token.id})
        return issued

    def _may_hold_token(self, person: Person) -> bool:
        return not person.is_disabled and (person.is_agent or self.policy.allow_users)

    def _issue_now(self, person_id: PersonId, client_address: str | None) -> IssuedToken:
        with self._database.write() as session:
            return self._issue(session, person_id, TokenSource.EXCHANGE, client_address)

    def _issue(
        self,
        session: Session,
        person_id: PersonId,
        source: TokenSource,
        client_address: str | None,
    ) -> IssuedToken:
        code = API_TOKEN_CODE.new()
        token = stored.add_api_token(
            session,
            code_digest=self._hasher.digest(code),
            person_id=person_id,
            scope=CLIENT_SCOPE,
            source=source,
            now=self._clock.now(),
        )
        # The person acted for themselves: by password, or by redeeming a code they were given.
        record(
            session,
            AuditKind.API_TOKEN_ISSUED,
            self._clock,
            actor=person_id,
            subject=person_id,
            credential_kind=CredentialKind.TOKEN,
            credential_id=token.id,
            client_address=client_address,
            detail={"source": source.value},
        )
        return IssuedToken(token, code)

    # -- a signed-in browser (E4) --------------------------------------------------------

    def issue_for_session(self, person: Person, client_address: str | None) -> IssuedToken:
        """A token for the person signed in to a browser, for an app running in its pages.

        Raises:
            Forbidden: the person may not hold tokens (disabled, or not an agent).
        """
        if not self._may_hold_token(person):
            raise Forbidden()
        with self._database.write() as session:
            issued = self._issue(session, person.id, TokenSource.SESSION, client_address)
        log.info("token issued to a signed-in browser", extra={"token_id": issued.token.id})
        return issued

    # -- an identity provider vouched for the person (E9, §8.2) ----------------------------

    def issue_for_user_source(
        self, person: Person, client_address: str | None, *, users_allowed: bool
    ) -> IssuedToken:
        """A client-scope token for an app, after a user source signed the person in.

        ``users_allowed``: the source is offered to users, so a non-agent may hold one.

        Raises:
            BadCredentials: the person may not hold tokens (disabled; a user when not allowed).
        """
        if person.is_disabled or not (person.is_agent or users_allowed or self.policy.allow_users):
            raise BadCredentials()
        with self._database.write() as session:
            issued = self._issue(session, person.id, TokenSource.USER_SOURCE, client_address)
        log.info("token issued through a user source", extra={"token_id": issued.token.id})
        return issued

    # -- device setup (§8.1) ------------------------------------------------------------

    def create_device_setup_code(self, person: Person) -> str:
        """Make a one-time code that turns into a token for ``person`` within ten minutes.

        Raises:
            Forbidden: the person may not hold tokens (disabled, or not an agent).
        """
        return self.start_device_setup(person).code

    def start_device_setup(self, person: Person) -> DeviceSetup:
        """A new one-time code with its id and expiry; the person's earlier codes stop working.

        Raises:
            Forbidden: the person may not hold tokens (disabled, or not an agent).
        """
        if person.is_disabled or not (person.is_agent or self.policy.allow_users):
            raise Forbidden()
        code = new_code()
        now = self._clock.now()
        expires_at = now + DEVICE_SETUP_LIFETIME
        with self._database.write() as session:
            setup_id = stored.add_device_setup_code(
                session,
                code_digest=self._hasher.digest(code),
                person_id=person.id,
                now=now,
                expires_at=expires_at,
            )
        return DeviceSetup(id=setup_id, code=code, expires_at=expires_at)

    def device_setup_status(self, person_id: int, setup_id: int) -> DeviceSetupStatus:
        """Has the code a page showed been used yet? Another person's code reads as gone."""
        with self._database.read() as session:
            found = stored.find_device_setup(session, setup_id, PersonId(person_id))
        if found is None:
            return DeviceSetupStatus(setup_id, DeviceSetupState.GONE, None)
        if found.used_at is not None:
            state = DeviceSetupState.USED
        elif found.expires_at <= self._clock.now():
            state = DeviceSetupState.EXPIRED
        else:
            state = DeviceSetupState.WAITING
        return DeviceSetupStatus(setup_id, state, found.expires_at)

    def redeem_device_setup_code(self, code: str, client_address: str | None) -> IssuedToken:
        """Turn a device-setup code into a token, once.

        Raises:
            RateLimited: too many attempts from this address.
            NotFound: unknown, used or expired code, or a person who may no longer hold tokens.
        """
        self._throttle.hit(self.policy.device_setup_per_address, client_address or "unknown")
        # Only the first characters are hashed: a code longer than any we issue keeps one too
        # many, so its digest matches nothing, and it costs what any unknown code costs (the
        # same hash, the same lookup) whatever its length.
        looked_up = code[: LONGEST_SETUP_CODE + 1]
        with self._database.write() as session:
            person_id = stored.take_device_setup_code(
                session, self._hasher.digests(looked_up), now=self._clock.now()
            )
            person = stored_people.get_person(session, person_id) if person_id else None
            if person is None or person.is_disabled:
                raise NotFound()
            issued = self._issue(session, person.id, TokenSource.DEVICE_SETUP, client_address)
        log.info("token issued by device setup", extra={"token_id": issued.token.id})
        return issued

    # -- listing and revoking -----------------------------------------------------------

    def list(
        self, page: PageRequest, *, person_id: int | None = None, include_revoked: bool = False
    ) -> Page[ApiTokenInfo]:
        """Live tokens (that would authenticate now); ``include_revoked``: every token."""
        live_at = None
        if not include_revoked:
            now, lifetime = self._clock.now(), self.policy.lifetime
            live_at = stored.LiveAt(
                now=now,
                used_since=now - lifetime.idle if lifetime.idle else None,
                created_since=now - lifetime.max_age if lifetime.max_age else None,
            )
        with self._database.read() as session:
            items, total = stored.list_api_tokens(
                session,
                person_id=PersonId(person_id) if person_id is not None else None,
                offset=page.offset,
                limit=page.per_page,
                include_revoked=include_revoked,
                live_at=live_at,
            )
        return Page(items, total, page)

    def revoke(
        self,
        token_id: int,
        *,
        owner: PersonId | None = None,
        actor: PersonId | None = None,
        detail: dict[str, DetailValue] | None = None,
    ) -> ApiTokenInfo:
        """Revoke a token; with ``owner``, only one of theirs (others look like not found).

        ``actor`` defaults to the owner: a person revoking their own token did it themselves.
        ``detail``: why, for the audit trail (a reported leak, say).
        """
        with self._database.write() as session:
            token = stored.get_api_token(session, ApiTokenId(token_id))
            if token is None or (owner is not None and token.person_id != owner):
                raise NotFound()
            revoked = stored.revoke_api_token(session, token.id, now=self._clock.now())
            if revoked is not None:
                record(
                    session,
                    AuditKind.API_TOKEN_REVOKED,
                    self._clock,
                    actor=actor if actor is not None else owner,
                    subject=revoked.person_id,
                    credential_kind=CredentialKind.TOKEN,
                    credential_id=revoked.id,
                    detail=detail,
                )
                record_change(session, ChangeKind.API_TOKEN, revoked.id, now=self._clock.now())
        if revoked is None:  # gone since it was read: as if never there
            raise NotFound()
        return revoked
