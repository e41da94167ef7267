"""Dynamic client registration (RFC 7591/7592): the rows behind it, and initial access tokens.

The registration endpoints (``oauth.registration``) run in the OAuth step's one transaction and
call the session-level functions here; admins make and revoke initial access tokens through
``ClientRegistrationService`` (CLI, console). Every registration, change and deletion is audited.
"""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from tessera.core.audit import AuditKind
from tessera.core.changes import ChangeKind
from tessera.core.client_registration import (
    InitialAccessToken,
    Registration,
    RegistrationMode,
)
from tessera.core.clock import Clock
from tessera.core.credential_codes import (
    CLIENT_SECRET_CODE,
    INITIAL_ACCESS_TOKEN_CODE,
    REGISTRATION_TOKEN_CODE,
)
from tessera.core.credentials import CodeHasher
from tessera.core.errors import REQUIRED, FieldError, FieldErrors, InvalidInput, NotFound
from tessera.core.ids import PersonId
from tessera.core.oauth_clients import ClientContext, ClientOrigin, OAuthClient, new_random_id
from tessera.services.audit import record
from tessera.services.throttle import Throttle, ThrottleRule
from tessera.store import initial_access_tokens as stored_tokens
from tessera.store import oauth_clients as stored
from tessera.store.changes import record_change
from tessera.store.database import Database

MAX_NOTE = 200
#: How long an initial access token may live at most.
MAX_TOKEN_LIFETIME = timedelta(days=365)


@dataclass(frozen=True, slots=True)
class RegisteredClient:
    """A client just registered, with what exists only in this value: shown once."""

    client: OAuthClient
    #: None for public clients.
    secret: str | None
    registration_token: str


@dataclass(frozen=True, slots=True)
class IssuedInitialAccessToken:
    token: InitialAccessToken
    #: The token itself: shown once, never stored.
    value: str


# -- in the registration endpoint's transaction ------------------------------------------------


def usable_initial_token(
    session: Session, hasher: CodeHasher, value: str, clock: Clock
) -> InitialAccessToken | None:
    """The initial access token ``value`` names if it may register a client now."""
    found = stored_tokens.find_token(session, hasher.digests(value))
    return found if found is not None and found.is_usable(clock.now()) else None


def register_client(
    session: Session,
    hasher: CodeHasher,
    clock: Clock,
    registration: Registration,
    *,
    initial_token: InitialAccessToken | None,
) -> RegisteredClient | None:
    """Store a new client; None when a single-use initial token was spent meanwhile."""
    now = clock.now()
    if initial_token is not None and not stored_tokens.spend_token(
        session, initial_token.id, now=now, single_use=initial_token.single_use
    ):
        return None
    no_secret = registration.is_public or registration.private_key_jwt
    secret = None if no_secret else CLIENT_SECRET_CODE.new()
    registration_token = REGISTRATION_TOKEN_CODE.new()
    client = stored.add_client(
        session,
        random_id=new_random_id(),
        name=registration.name,
        context=ClientContext.AGENT,
        redirect_uris=registration.redirect_uris,
        allowed_grant_type=registration.grant_type,
        is_enabled=True,
        is_public=registration.is_public,
        secret_digest=None if secret is None else hasher.digest(secret),
        now=now,
        origin=ClientOrigin.REGISTERED,
        metadata=registration.metadata,
        registration_token_digest=hasher.digest(registration_token),
        private_key_jwt=registration.private_key_jwt,
        jwks_uri=registration.jwks_uri,
        jwks=registration.jwks,
    )
    record(
        session,
        AuditKind.OAUTH_CLIENT_REGISTERED,
        clock,
        detail={
            "oauth_client_id": client.id,
            "public": client.is_public,
            "initial_access_token_id": None if initial_token is None else initial_token.id,
        },
    )
    return RegisteredClient(client, secret, registration_token)


def registration_token_matches(
    session: Session, hasher: CodeHasher, client: OAuthClient, value: str
) -> bool:
    """Whether ``value`` is the registration access token of this registered client."""
    digest = stored.registration_token_digest(session, client.id)
    if client.origin is not ClientOrigin.REGISTERED or digest is None:
        hasher.digest(value)  # the same work as a check
        return False
    return hasher.matches(value, digest)


def replace_registration(
    session: Session, clock: Clock, client: OAuthClient, registration: Registration
) -> OAuthClient | None:
    """RFC 7592 §2.2: the new metadata replaces the old (a secret and the type stay)."""
    now = clock.now()
    updated = stored.update_client(
        session,
        client.id,
        now=now,
        name=registration.name,
        redirect_uris=list(registration.redirect_uris),
        allowed_grant_type=registration.grant_type.value,
        client_metadata=dict(registration.metadata),
        jwks_uri=registration.jwks_uri,
        jwks=None if registration.jwks is None else dict(registration.jwks),
    )
    if updated is not None:
        record(
            session,
            AuditKind.OAUTH_CLIENT_REGISTRATION_UPDATED,
            clock,
            detail={"oauth_client_id": client.id},
        )
        record_change(session, ChangeKind.OAUTH_CLIENT, client.id, now=now)
    return updated


def delete_registration(session: Session, clock: Clock, client: OAuthClient) -> None:
    """RFC 7592 §2.3: the client goes, with every grant and token issued through it."""
    now = clock.now()
    if stored.delete_client(session, client.id) is None:
        return
    record(
        session,
        AuditKind.OAUTH_CLIENT_REGISTRATION_DELETED,
        clock,
        detail={"oauth_client_id": client.id},
    )
    record_change(session, ChangeKind.OAUTH_CLIENT, client.id, now=now)


# -- the operator's and the admins' side -------------------------------------------------------


class ClientRegistrationService:
    def __init__(
        self,
        database: Database,
        hasher: CodeHasher,
        clock: Clock,
        throttle: Throttle,
        *,
        mode: RegistrationMode,
        per_address: ThrottleRule,
    ) -> None:
        self._database = database
        self._hasher = hasher
        self._clock = clock
        self._throttle = throttle
        self.mode = mode
        self._per_address = per_address

    def count_attempt(self, address: str | None) -> None:
        """One request to the registration endpoints from ``address``.

        Raises:
            RateLimited: this address has registered (or tried) too often.
        """
        self._throttle.hit(self._per_address, address or "-")

    def create_initial_token(
        self,
        *,
        note: str,
        lifetime: timedelta,
        single_use: bool,
        created_by: PersonId | None,
    ) -> IssuedInitialAccessToken:
        problems = FieldErrors()
        note = note.strip()
        if not note:
            problems.add(("note",), REQUIRED)
        elif len(note) > MAX_NOTE:
            problems.add(
                ("note",), FieldError("too_long", f"This value is too long ({MAX_NOTE} at most).")
            )
        if not timedelta(minutes=1) <= lifetime <= MAX_TOKEN_LIFETIME:
            problems.add(
                ("lifetime",),
                FieldError("out_of_range", "An initial access token lives 1 minute to 365 days."),
            )
        if problems:
            raise InvalidInput(problems)
        value = INITIAL_ACCESS_TOKEN_CODE.new()
        now = self._clock.now()
        with self._database.write() as session:
            token = stored_tokens.add_token(
                session,
                token_digest=self._hasher.digest(value),
                note=note,
                created_by=created_by,
                now=now,
                expires_at=now + lifetime,
                single_use=single_use,
            )
            record(
                session,
                AuditKind.INITIAL_ACCESS_TOKEN_CREATED,
                self._clock,
                actor=created_by,
                detail={"initial_access_token_id": token.id, "single_use": single_use},
            )
        return IssuedInitialAccessToken(token, value)

    def list_initial_tokens(self) -> list[InitialAccessToken]:
        with self._database.read() as session:
            return stored_tokens.list_tokens(session)

    def revoke_initial_token(self, id: int, *, actor: PersonId | None) -> InitialAccessToken:
        with self._database.write() as session:
            token = stored_tokens.revoke_token(session, id, now=self._clock.now())
            if token is None:
                raise NotFound()
            record(
                session,
                AuditKind.INITIAL_ACCESS_TOKEN_REVOKED,
                self._clock,
                actor=actor,
                detail={"initial_access_token_id": id},
            )
        return token
