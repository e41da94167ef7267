"""The person's side of the device grant (RFC 8628): look up a typed code, approve or deny it,
and list the devices they answered.

The device's side (the device authorization endpoint and polling the token endpoint) is the
OAuth adapter's (``tessera.oauth.device``). Every code a person types counts against two
limits, per person and per address, right or wrong: a guesser cannot tell a hit from a miss
before the limit stops them (ADR 0040).
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from tessera.core.audit import AuditKind
from tessera.core.clock import Clock
from tessera.core.credentials import CodeHasher
from tessera.core.device_codes import PersonsDevice, normal_user_code, shown_user_code
from tessera.core.errors import NotFound
from tessera.core.ids import PersonId
from tessera.core.oauth_clients import person_may_authorize
from tessera.core.people import Person
from tessera.core.sign_in_methods import SignInMethod
from tessera.services.audit import record
from tessera.services.throttle import Throttle, ThrottleRule
from tessera.store import device_authorizations as stored
from tessera.store import oauth as stored_grants
from tessera.store.database import Database

#: How many of their devices a person's account page lists.
LISTED_DEVICES = 50


@dataclass(frozen=True, slots=True)
class GuessLimits:
    per_person: ThrottleRule
    per_address: ThrottleRule
    #: Devices' requests for codes (``/oauth/device_authorization``) per client address: each
    #: stores a row until it expires, so a flood must not be free.
    requests_per_address: ThrottleRule | None = None


@dataclass(frozen=True, slots=True)
class DeviceRequest:
    """A device waiting for this person's answer: what the confirmation page shows."""

    client_name: str
    client_id: str
    #: As people read it (``BCDF-GHJK``).
    user_code: str
    expires_at: datetime
    #: What the device will be granted (already narrowed to the app's allowed scopes).
    scope: str = ""


class CodeRefusal(StrEnum):
    """Why a typed code leads to no confirmation page."""

    #: Not a code, no such code, or one already answered: indistinguishable on purpose.
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    #: The app is disabled, or only agents may connect it.
    NOT_ALLOWED = "not_allowed"


class DeviceAuthorizationService:
    def __init__(
        self,
        database: Database,
        hasher: CodeHasher,
        clock: Clock,
        throttle: Throttle,
        limits: GuessLimits,
    ) -> None:
        self._database = database
        self._hasher = hasher
        self._clock = clock
        self._throttle = throttle
        self._limits = limits

    def look_up(
        self, person: Person, typed: str, client_address: str | None
    ) -> DeviceRequest | CodeRefusal:
        """The device a typed code names, for the confirmation page.

        Raises:
            RateLimited: this person or address typed too many codes lately.
        """
        self._count_guess(person, client_address)
        code = normal_user_code(typed)
        if code is None:
            return CodeRefusal.UNKNOWN
        with self._database.read() as session:
            found = stored.find_undecided_by_user_code(session, self._hasher.digests(code))
        return self._judge(found, person, code)

    def decide(
        self,
        person: Person,
        typed: str,
        client_address: str | None,
        *,
        allow: bool,
        signed_in_at: datetime | None = None,
        signed_in_by: SignInMethod | None = None,
    ) -> DeviceRequest | CodeRefusal:
        """Approve (a grant for the device's tokens) or deny; once per code.

        ``signed_in_at``, ``signed_in_by``: when and how the person signed in on the browser
        that approves, the ``auth_time``, ``acr`` and ``amr`` of the grant's tokens.

        Raises:
            RateLimited: this person or address typed too many codes lately.
        """
        self._count_guess(person, client_address)
        code = normal_user_code(typed)
        if code is None:
            return CodeRefusal.UNKNOWN
        now = self._clock.now()
        with self._database.write() as session:
            found = stored.find_undecided_by_user_code(session, self._hasher.digests(code))
            judged = self._judge(found, person, code)
            if found is None or isinstance(judged, CodeRefusal):
                return judged
            device, client = found.device, found.client
            if not stored.decide(session, device.id, approved=allow, person_id=person.id, now=now):
                return CodeRefusal.UNKNOWN  # answered in another tab meanwhile
            if allow:
                grant = stored_grants.add_grant(
                    session,
                    client_id=client.id,
                    person_id=person.id,
                    scope=device.scope,
                    now=now,
                    resources=device.resources,
                    auth_time=signed_in_at,
                    signed_in_by=signed_in_by,
                )
                stored.attach_grant(session, device.id, grant.id)
            record(
                session,
                AuditKind.OAUTH_DEVICE_APPROVED if allow else AuditKind.OAUTH_DEVICE_DENIED,
                self._clock,
                actor=person.id,
                subject=person.id,
                client_address=client_address,
                detail={
                    "oauth_client_id": client.client_id,
                    "device_authorization_id": device.id,
                },
            )
        return judged

    def devices_of(self, person_id: PersonId) -> list[PersonsDevice]:
        with self._database.read() as session:
            return stored.devices_of(
                session, person_id, now=self._clock.now(), limit=LISTED_DEVICES
            )

    def disconnect(self, person_id: PersonId, device_id: int) -> None:
        """End the tokens of one device this person approved (its grant), at once.

        Raises:
            NotFound: the person approved no such device.
        """
        with self._database.write() as session:
            grant_id = stored.grant_of_persons_device(session, person_id, device_id)
            if grant_id is None:
                raise NotFound()
            stored_grants.revoke_grant(session, grant_id, now=self._clock.now())

    def count_request(self, client_address: str | None) -> None:
        """One device's request for codes from ``client_address``.

        Raises:
            RateLimited: this address asked for codes too often.
        """
        if self._limits.requests_per_address is not None:
            self._throttle.hit(self._limits.requests_per_address, client_address or "unknown")

    def _count_guess(self, person: Person, client_address: str | None) -> None:
        self._throttle.hit(self._limits.per_address, client_address or "unknown")
        self._throttle.hit(self._limits.per_person, str(person.id))

    def _judge(
        self, found: stored.WithClient | None, person: Person, code: str
    ) -> DeviceRequest | CodeRefusal:
        if found is None:
            return CodeRefusal.UNKNOWN
        device, client = found.device, found.client
        if device.is_expired(self._clock.now()):
            return CodeRefusal.EXPIRED
        if not client.is_enabled or not person_may_authorize(person, client):
            return CodeRefusal.NOT_ALLOWED
        return DeviceRequest(
            client_name=client.name,
            client_id=client.client_id,
            user_code=shown_user_code(code),
            expires_at=device.expires_at,
            scope=device.scope,
        )
