"""E-mail and password, checked the careful way: for the token exchange and the login page.

Every attempt is counted (per client address, then per e-mail digest) before anything is looked
up; an unknown e-mail, a wrong password and a person who may not sign in this way all cost one
argon2 verification and end in the same ``BadCredentials``, so neither answer nor timing tells
them apart. argon2 runs on the hashing pool's own low-priority threads, so a storm of logins
never takes the threads or the CPU that API requests need (ADR 0005, ADR 0012).

The owner is not locked out by a stranger's guesses (ADR 0034): a source that signed in to an
account before — a browser holding that account's device token, or an address that succeeded
for it in the last ``TRUSTED_DAYS`` — counts its attempts in a budget of its own for that
account, so a flood from elsewhere that exhausts the account's shared budget leaves it alone.
"""

import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from tessera.core.audit import AuditKind
from tessera.core.clock import Clock
from tessera.core.credentials import CodeHasher
from tessera.core.errors import BadCredentials, RateLimited
from tessera.core.ids import PersonId
from tessera.core.passwords import PasswordHasher
from tessera.core.people import Person, normalize_email
from tessera.services.audit import count_repeat, record
from tessera.services.password_hashing import HashingPool
from tessera.services.thread_capacity import ThreadCapacity
from tessera.services.throttle import Throttle, ThrottleRule
from tessera.store import people as stored_people
from tessera.store.database import Database

log = logging.getLogger(__name__)

#: How long a source that signed in stays trusted for its account (OWASP's device cookies).
TRUSTED_DAYS = 30
_TRUSTED_SECONDS = TRUSTED_DAYS * 86400


@dataclass(frozen=True, slots=True)
class LoginLimits:
    per_email: ThrottleRule
    per_address: ThrottleRule


class PasswordLogin:
    def __init__(
        self,
        database: Database,
        passwords: PasswordHasher,
        hasher: CodeHasher,
        throttle: Throttle,
        limits: LoginLimits,
        clock: Clock,
        *,
        hashing: HashingPool,
        threads: ThreadCapacity | None = None,
    ) -> None:
        self._database = database
        self._passwords = passwords
        self._hasher = hasher
        self._throttle = throttle
        self._limits = limits
        self._clock = clock
        self._hashing = hashing
        #: Threads of their own: a Redis or database that hangs holds sign-ins only.
        self._threads = threads or ThreadCapacity("sign-in", 8)

    async def check(
        self,
        email: str,
        password: str,
        client_address: str | None,
        may_sign_in: Callable[[Person], bool],
        *,
        device: str | None = None,
    ) -> Person:
        """The person these credentials belong to, if ``may_sign_in`` lets them in.

        ``device``: the device token this browser holds (``device_token``), if any.

        Raises:
            RateLimited: too many attempts for this e-mail or from this address, or more
                sign-ins waiting for a hashing thread than the queue holds.
            BadCredentials: anything else that is not a success.
        """
        email = normalize_email(email)
        try:
            await self._threads.run(self._count_attempt, email, client_address, device)
        except RateLimited:
            await self._threads.run(self._count_refused, email, client_address)
            raise
        login = await self._threads.run(self._find, email)
        check = await self._hashing.run(
            self._passwords.verify, login.password_hash if login else None, password
        )
        if login is None or not check.ok or not _signs_in_here(login.person, may_sign_in):
            log.info("password sign-in refused")
            # The person only when one was found; never the e-mail or the password tried.
            subject = login.person.id if login is not None else None
            await self._threads.run(self._record, AuditKind.LOGIN_FAILED, subject, client_address)
            raise BadCredentials()
        if check.needs_rehash:
            new_hash = await self._hashing.run(self._passwords.hash, password)
            await self._threads.run(self._store_hash, login.person, new_hash)
        person = login.person
        await self._threads.run(self._record, AuditKind.LOGIN_SUCCEEDED, person.id, client_address)
        if client_address:
            await self._threads.run(
                self._throttle.remember, self._source_key(email, client_address), _TRUSTED_SECONDS
            )
        return person

    def device_token(self, email: str) -> str:
        """A token that marks this browser as one that signed in to this account (a cookie).

        Random, signed with the server's key for the e-mail's digest: nothing to store, nothing
        that names the account, and useless for any other account.
        """
        nonce = secrets.token_urlsafe(16)
        return f"{nonce}.{self._device_signature(normalize_email(email), nonce)}"

    def _trusted_device(self, email: str, device: str | None) -> str | None:
        """The device token's nonce when it was issued for this e-mail, else None."""
        if not device or len(device) > 200:
            return None
        nonce, _, signature = device.partition(".")
        # Signed under the active key; one signed under a key still kept is still good.
        signed = self._hasher.digests(f"device:{email}:{nonce}")
        good = [hmac.compare_digest(_signature(s).encode(), signature.encode()) for s in signed]
        return nonce if any(good) else None

    def _device_signature(self, email: str, nonce: str) -> str:
        return _signature(self._hasher.digest(f"device:{email}:{nonce}"))

    def _source_key(self, email: str, client_address: str) -> str:
        return "trusted:" + self._hasher.digest(f"{email}|{client_address}").hex()

    async def confirm(self, person: Person, password: str, client_address: str | None) -> bool:
        """Is this the signed-in person's own password (before they change it, say)?

        Counted against the same limits as signing in: a stolen session must not become a
        way to guess the password. A wrong guess is recorded as a failed sign-in.

        Raises:
            RateLimited: too many attempts for this person or from this address.
        """
        try:
            await self._threads.run(
                self._count_attempt, normalize_email(person.primary_email), client_address
            )
        except RateLimited:
            await self._threads.run(self._count_refused, person.primary_email, client_address)
            raise
        login = await self._threads.run(self._find, person.primary_email)
        check = await self._hashing.run(
            self._passwords.verify, login.password_hash if login else None, password
        )
        if login is None or login.person.id != person.id or not check.ok:
            await self._threads.run(self._record, AuditKind.LOGIN_FAILED, person.id, client_address)
            return False
        return True

    async def hash_new(self, password: str) -> str:
        """Hash a new password in the hashing threads (argon2 is slow on purpose)."""
        return await self._hashing.run(self._passwords.hash, password)

    def _count_attempt(
        self, email: str, client_address: str | None, device: str | None = None
    ) -> None:
        # Counted whatever the outcome, so the limit says nothing about whether an account
        # exists. E-mails are keyed by digest: the limiter (maybe Redis) never sees them. The
        # address first: an address over its limit does not spend the account's budget.
        self._throttle.hit(self._limits.per_address, client_address or "unknown")
        account = self._hasher.digest(email).hex()
        nonce = self._trusted_device(email, device)
        if nonce is not None:
            account += ":device:" + nonce  # a browser that signed in here: its own budget
        elif client_address and self._throttle.remembers(self._source_key(email, client_address)):
            account += ":address:" + self._hasher.digest(client_address).hex()
        self._throttle.hit(self._limits.per_email, account)

    def _find(self, email: str) -> stored_people.LoginRecord | None:
        with self._database.read() as session:
            return stored_people.find_login(session, email)

    def _record(
        self, kind: AuditKind, person_id: PersonId | None, client_address: str | None
    ) -> None:
        """A sign-in attempt changes nothing else: its event gets a short transaction of its own.

        Only a success names the person as its actor: a failure may be anyone trying their name.
        """
        actor = person_id if kind is AuditKind.LOGIN_SUCCEEDED else None
        with self._database.write() as session:
            record(
                session,
                kind,
                self._clock,
                actor=actor,
                subject=person_id,
                client_address=client_address,
            )

    def _count_refused(self, email: str, client_address: str | None) -> None:
        """A throttled attempt: one more in the count of its account, address and window.

        Not a row per attempt (a storm would flood the trail), and never the e-mail tried: the
        account is named when the e-mail is one of somebody's, so its person sees the storm on
        their sign-ins page. Nothing of this reaches the answer, which is the same 429 for all.
        """
        with self._database.write() as session:
            login = stored_people.find_login(session, email)
            count_repeat(
                session,
                AuditKind.LOGIN_THROTTLED,
                self._clock,
                subject=login.person.id if login is not None else None,
                client_address=client_address,
            )

    def _store_hash(self, person: Person, new_hash: str) -> None:
        with self._database.write() as session:
            stored_people.update_person(
                session, person.id, now=self._clock.now(), password_hash=new_hash
            )


def _signs_in_here(person: Person, may_sign_in: Callable[[Person], bool]) -> bool:
    # People of an external identity provider sign in there, never with a password here.
    return not person.is_disabled and person.identity_provider is None and may_sign_in(person)


def _signature(digest: bytes) -> str:
    return digest.hex()[:32]
