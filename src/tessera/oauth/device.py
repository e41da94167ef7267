"""The device's side of the device authorization grant (RFC 8628), on Authlib's classes.

Authlib 1.9 gives the endpoint and the grant their shape (names, registration, client
authentication, the token response); what it leaves open or gets wrong is closed here
(ADR 0040):

- the device authorization endpoint does not check that the client may use the grant: here a
  client must be allowed ``device_code``, or the answer is ``unauthorized_client``;
- an unknown device code is ``invalid_request`` in Authlib, ``invalid_grant`` here (RFC 6749
  §5.2), and so is a code issued to another client;
- Authlib never marks a device code used: here its one use is a conditional update, so of
  two polls racing after approval exactly one gets tokens;
- ``slow_down`` is left to the application: here each poll is written to the device's row,
  and one that comes sooner than its interval adds five seconds to it, in every process.

The person's side (typing the code, approving) is ``services.device_authorizations``.
"""

from typing import Any, ClassVar

from authlib.consts import default_json_headers
from authlib.oauth2.rfc6749.errors import (
    AccessDeniedError,
    InvalidGrantError,
    InvalidRequestError,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc8628 import (
    DEVICE_CODE_GRANT_TYPE,
    AuthorizationPendingError,
    DeviceCredentialMixin,
    ExpiredTokenError,
    SlowDownError,
)
from authlib.oauth2.rfc8628 import DeviceAuthorizationEndpoint as _DeviceAuthorizationEndpoint
from authlib.oauth2.rfc8628 import DeviceCodeGrant as _DeviceCodeGrant

from tessera.core.device_codes import (
    POLL_INTERVAL,
    DeviceAuthorization,
    DeviceState,
    new_device_code,
    new_user_code,
    shown_user_code,
)
from tessera.core.ids import PersonId
from tessera.core.oauth_grants import Grant
from tessera.core.oauth_scopes import granted_scope
from tessera.core.people import Person
from tessera.oauth.grants import TOKEN_AUTH_METHODS, may_authorize
from tessera.oauth.models import ClientModel
from tessera.oauth.resources import device_resources, token_audience
from tessera.oauth.storage import StorageHost
from tessera.store import device_authorizations as stored
from tessera.store.people import get_person

#: RFC 8628 §3.5: each slow_down adds this to the device's interval.
SLOW_DOWN_STEP = POLL_INTERVAL


class DeviceCredential(DeviceCredentialMixin):
    """A device authorization as Authlib's grant sees it, with the grant once approved."""

    def __init__(self, device: DeviceAuthorization) -> None:
        self.device = device
        #: The person's consent, set when the device collects its tokens.
        self.grant: Grant | None = None

    def get_scope(self) -> str:
        return granted_scope(self.device.scope)


class DeviceAuthorizationEndpoint(_DeviceAuthorizationEndpoint):
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = TOKEN_AUTH_METHODS
    server: StorageHost

    def create_endpoint_response(self, request: Any) -> tuple[int, dict[str, Any], list[Any]]:
        # Ours rather than Authlib's: it must refuse clients not allowed the grant, keep the
        # scope the client may have rather than what it asked for, and store digests.
        client: ClientModel = self.authenticate_client(request)
        if not client.check_grant_type(DEVICE_CODE_GRANT_TYPE):
            raise UnauthorizedClientError("This client may not use the device grant.")
        storage = self.server.storage
        config, hasher, now = (
            storage.context.config,
            storage.context.hasher,
            storage.context.clock.now(),
        )
        resources = device_resources(self.server, request, client)
        device_code, user_code = self.generate_device_code(), self.generate_user_code()
        stored.add(
            storage.session,
            resources=resources,
            device_code_digest=hasher.digest(device_code),
            user_code_digest=hasher.digest(user_code),
            client_id=client.client.id,
            scope=client.get_allowed_scope(request.payload.scope),
            now=now,
            expires_at=now + config.device_code_lifetime,
            interval_seconds=int(POLL_INTERVAL.total_seconds()),
        )
        verification_uri = self.get_verification_uri()
        shown = shown_user_code(user_code)
        body = {
            "device_code": device_code,
            "user_code": shown,
            "verification_uri": verification_uri,
            # RFC 8628 §3.3.1: for a QR code or a link; the page still asks for confirmation.
            "verification_uri_complete": f"{verification_uri}?user_code={shown}",
            "expires_in": int(config.device_code_lifetime.total_seconds()),
            "interval": int(POLL_INTERVAL.total_seconds()),
        }
        return 200, body, default_json_headers

    def generate_device_code(self) -> str:
        return new_device_code()

    def generate_user_code(self) -> str:
        """A code no other device holds now (one in 2.5e10 would: a second draw is enough)."""
        storage = self.server.storage
        while True:
            code = new_user_code()
            if not stored.user_code_in_use(storage.session, storage.context.hasher.digests(code)):
                return code

    def get_verification_uri(self) -> str:
        return self.server.storage.context.config.device_verification_uri


class DeviceCodeGrant(_DeviceCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = TOKEN_AUTH_METHODS
    server: StorageHost

    def validate_token_request(self) -> None:
        # Authlib's steps, with invalid_grant for a code that is unknown or not this client's.
        device_code = self.request.payload.data.get("device_code")
        if not device_code:
            raise InvalidRequestError("The device_code parameter is missing.")
        client: ClientModel = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError("This client may not use the device grant.")
        credential = self.query_device_credential(device_code)
        if credential is None or credential.device.client_id != client.client.id:
            raise InvalidGrantError("The device code is not valid.")
        self.request.client = client
        self.request.credential = credential
        self.request.user = self.validate_device_credential(credential)
        grant = credential.grant
        self.request.audience = token_audience(
            self.server, self.request, None if grant is None else grant.resources
        )

    def query_device_credential(self, device_code: str) -> DeviceCredential | None:
        storage = self.server.storage
        found = stored.find_by_device_code(
            storage.session, storage.context.hasher.digests(device_code)
        )
        return None if found is None else DeviceCredential(found)

    def validate_device_credential(self, credential: DeviceCredential) -> Person:
        device = credential.device
        if device.used_at is not None:
            raise InvalidGrantError("The device code was used already.")
        if device.is_expired(self.server.storage.context.clock.now()):
            raise ExpiredTokenError("The device code expired: start again.")
        if device.state is DeviceState.DENIED:
            raise AccessDeniedError("The person denied the request.")
        if device.state is DeviceState.PENDING:
            if self.should_slow_down(credential):
                raise SlowDownError("Polled too soon: wait longer between requests.")
            raise AuthorizationPendingError("The person has not answered yet.")
        return self._collect(credential)

    def should_slow_down(self, credential: DeviceCredential) -> bool:
        """Note this poll; a poll sooner than the interval lengthens it (RFC 8628 §3.5)."""
        storage = self.server.storage
        device, now = credential.device, storage.context.clock.now()
        too_soon = device.polled_too_soon(now)
        interval = device.interval_seconds + (
            int(SLOW_DOWN_STEP.total_seconds()) if too_soon else 0
        )
        stored.record_poll(storage.session, device.id, now=now, interval_seconds=interval)
        return too_soon

    def _collect(self, credential: DeviceCredential) -> Person:
        """The approved device's one use: its grant and person, or invalid_grant."""
        storage = self.server.storage
        session, device = storage.session, credential.device
        grant = None if device.grant_id is None else stored.get_grant(session, device.grant_id)
        person = None if grant is None else get_person(session, PersonId(grant.person_id))
        if grant is None or grant.revoked_at is not None or person is None:
            raise InvalidGrantError("The approval was withdrawn.")
        if not may_authorize(person, self.request.client):
            raise InvalidGrantError("The person may not use this app.")
        if not stored.mark_used(session, device.id, now=storage.context.clock.now()):
            raise InvalidGrantError("The device code was used already.")
        credential.grant = grant
        return person
