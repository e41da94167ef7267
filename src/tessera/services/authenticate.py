"""Who is calling? The per-request credential check (shared/spec §3, decisions 11.2–11.4).

The hot path: parse (``core.credentials``), one SELECT by primary key with the person joined
(``store.credentials``), a keyed digest compared in constant time, and no database write —
last use is handed to ``UsageRecorder``. Every failure is a typed error, never a 500.
"""

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import Connection

from tessera.core.clock import Clock
from tessera.core.credentials import (
    CodeHasher,
    CredentialKind,
    PresentedCredential,
    parse_authorization,
    parse_credential,
)
from tessera.core.errors import InvalidApiKey, InvalidApiToken, InvalidSessionId, Unauthorized
from tessera.core.ids import ApiKeyId, ApiTokenId, PersonId
from tessera.core.people import Person
from tessera.core.principals import ApiKeyRecord, AuthMethod, Principal, TokenLifetime
from tessera.core.tags import TagPolicy
from tessera.services.usage import UsageRecorder
from tessera.store import credentials as stored
from tessera.store import web_sessions as stored_sessions
from tessera.store.database import Database

_AGENT_ID_DIGITS = 18


@dataclass(frozen=True, slots=True)
class PresentedRequest:
    """The parts of a request that may carry a credential, as the adapter found them."""

    authorization: str | None = None
    api_key_header: str | None = None
    api_token_header: str | None = None
    agent_id_header: str | None = None
    query_api_key: str | None = None
    query_api_token: str | None = None
    client_address: str | None = None
    #: The login page's session cookie, when the adapter lets it count for this request.
    session_cookie: str | None = None
    #: ``X-DeskPRO-App-ID``: an app id attached to session requests (shared/spec §5).
    app_id_header: str | None = None


class Authenticator:
    def __init__(
        self,
        database: Database,
        hasher: CodeHasher,
        clock: Clock,
        usage: UsageRecorder,
        lifetime: TokenLifetime,
        *,
        allow_query_credentials: bool = False,
    ) -> None:
        self._database = database
        self._hasher = hasher
        self._clock = clock
        self._usage = usage
        self._lifetime = lifetime
        self._allow_query_credentials = allow_query_credentials

    def authenticate(self, request: PresentedRequest) -> Principal:
        """Return the caller, or raise the Deskpro error that says why not.

        The ``Authorization`` header, when present and not blank, alone decides. Otherwise the
        legacy aliases are read in Deskpro's v1 order; query parameters only when the operator
        allowed them (they end up in access logs).
        """
        presented = self._presented(request)
        if presented is None:
            if request.session_cookie:
                return self._as_session(request)
            raise Unauthorized()
        if presented.kind is CredentialKind.EITHER:
            # HTTP Basic: Deskpro's v1 tries the value as a key, then as a token.
            try:
                return self._as_key(presented, request)
            except InvalidApiKey:
                return self._as_token(presented, request)
        if presented.kind is CredentialKind.API_KEY:
            return self._as_key(presented, request)
        return self._as_token(presented, request)

    def _presented(self, request: PresentedRequest) -> PresentedCredential | None:
        if request.authorization and request.authorization.strip():
            return parse_authorization(request.authorization)
        candidates = [
            (CredentialKind.API_KEY, request.api_key_header),
            (CredentialKind.API_TOKEN, request.api_token_header),
        ]
        if self._allow_query_credentials:
            candidates += [
                (CredentialKind.API_KEY, request.query_api_key),
                (CredentialKind.API_TOKEN, request.query_api_token),
            ]
        for kind, value in candidates:
            if value and value.strip():
                return parse_credential(kind, value.strip())
        return None

    def _as_key(self, presented: PresentedCredential, request: PresentedRequest) -> Principal:
        with self._database.connect() as connection:
            key = stored.find_api_key(connection, ApiKeyId(presented.id))
            if key is None or key.revoked_at is not None:
                raise InvalidApiKey()
            if not self._hasher.matches(presented.code, key.code_digest):
                raise InvalidApiKey()
            person = self._acting_agent(connection, key, request.agent_id_header)
        self._usage.record(
            CredentialKind.API_KEY, key.id, self._clock.now(), request.client_address
        )
        return Principal(
            person=person,
            auth_method=AuthMethod.API_KEY,
            api_key_id=key.id,
            key_tags=_tag_policy(key.tags),
            may_admin=key.admin_api if key.is_superuser else person.is_admin,
        )

    def _acting_agent(
        self, connection: Connection, key: ApiKeyRecord, agent_id_header: str | None
    ) -> Person:
        """The agent a key acts as (decision 11.4); a normal key ignores the agent header."""
        person = key.person
        if key.is_superuser and agent_id_header is not None and agent_id_header.strip():
            value = agent_id_header.strip()
            if not (value.isascii() and value.isdigit() and len(value) <= _AGENT_ID_DIGITS):
                raise InvalidApiKey()
            person = stored.find_person(connection, PersonId(int(value)))
        if person is None or not person.is_active_agent:
            raise InvalidApiKey()
        return person

    def _as_token(self, presented: PresentedCredential, request: PresentedRequest) -> Principal:
        with self._database.connect() as connection:
            token = stored.find_api_token(connection, ApiTokenId(presented.id))
        now = self._clock.now()
        if token is None or not token.is_live(now, self._lifetime):
            raise InvalidApiToken()
        if not self._hasher.matches(presented.code, token.code_digest):
            raise InvalidApiToken()
        if not token.serves():
            raise InvalidApiToken()
        self._usage.record(CredentialKind.API_TOKEN, token.id, now, request.client_address)
        return Principal(
            person=token.person,
            auth_method=AuthMethod.API_TOKEN,
            api_token_id=token.id,
            may_admin=token.person.is_admin,
            app_id=token.oauth_client_id,
            oauth_client_id=token.oauth_client_id,
        )

    def _as_session(self, request: PresentedRequest) -> Principal:
        """A signed-in browser: Deskpro's ``agent_session``, for agents and admins only."""
        cookie = request.session_cookie or ""
        with self._database.read() as session:
            person = stored_sessions.find_web_session_person(
                session, self._hasher.digest(cookie), now=self._clock.now()
            )
        if person is None or person.is_disabled:
            # Deskpro's newer behaviour: an unknown session is no credential at all (§10.3).
            raise Unauthorized()
        if not person.is_agent:
            raise InvalidSessionId()
        app_id = (request.app_id_header or "").strip()[:100] or None
        return Principal(
            person=person,
            auth_method=AuthMethod.AGENT_SESSION,
            may_admin=person.is_admin,
            app_id=app_id,
        )


@lru_cache(maxsize=4096)
def _tag_policy(text: str) -> TagPolicy:
    # Stored patterns were validated when saved; an unreadable one allows nothing.
    try:
        return TagPolicy.parse(text)
    except ValueError:
        return TagPolicy((), ())
