"""Who is calling? The per-request credential check (shared/spec §3, decisions 11.2–11.4).

The hot path: parse (``core.credentials``), the verified credential from the in-process cache
(``services.credential_cache``, ADR 0010) or else one SELECT by primary key with the person
joined (``store.credentials``), a keyed digest compared in constant time either way, and no
database write — last use is handed to ``UsageRecorder``. A code that claims Tessera's format
but fails its checksum is refused before the read (ADR 0037). Every failure is a typed error,
never a 500.
"""

import hmac
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple

from sqlalchemy import Connection

from tessera.core.clock import Clock
from tessera.core.credential_codes import is_forged
from tessera.core.credentials import (
    CodeHasher,
    CredentialKind,
    PresentedCredential,
    PresentedJwt,
    parse_authorization,
    parse_credential,
)
from tessera.core.errors import (
    InvalidApiKey,
    InvalidApiToken,
    InvalidSessionId,
    Unauthorized,
)
from tessera.core.ids import ApiKeyId, ApiTokenId, PersonId
from tessera.core.people import Person
from tessera.core.principals import (
    ApiKeyRecord,
    ApiTokenRecord,
    AuthMethod,
    Principal,
    TokenLifetime,
)
from tessera.core.sessions import SessionLimits
from tessera.core.tags import TagPolicy
from tessera.services.credential_cache import CredentialCache, Slot
from tessera.services.credential_loader import CoalescingLoader
from tessera.services.jwt_access_tokens import JwtAccessTokens
from tessera.services.refusal_cache import RefusalCache
from tessera.services.thread_capacity import ThreadCapacity
from tessera.services.usage import UsageRecorder
from tessera.store import credentials as stored
from tessera.store import web_sessions as stored_sessions
from tessera.store.database import Database

_AGENT_ID_DIGITS = 18
#: Ids per SELECT of the background refresh: well under every database's parameter limit.
_REFRESH_BATCH = 500


class PresentedRequest(NamedTuple):
    """The parts of a request that may carry a credential, as the adapter found them.

    A named tuple, as ``PresentedCredential``: built for every request, where a frozen
    dataclass's constructor cost a microsecond.
    """

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
    """``authenticate`` = ``try_cached`` (memory only) or else ``verify`` (reads the database).

    An async adapter calls ``try_cached`` on the event loop and, only when it returned None,
    awaits ``verify_async``: the same decision, with the reads of concurrent misses shared
    (ADR 0014). So a cache hit never waits for a thread or for anyone's read.
    """

    def __init__(
        self,
        database: Database,
        hasher: CodeHasher,
        clock: Clock,
        usage: UsageRecorder,
        lifetime: TokenLifetime,
        cache: CredentialCache,
        sessions: SessionLimits,
        *,
        refusals: RefusalCache | None = None,
        allow_query_credentials: bool = False,
        threads: ThreadCapacity | None = None,
        jwt_access_tokens: JwtAccessTokens | None = None,
    ) -> None:
        self._database = database
        self._hasher = hasher
        self._clock = clock
        self._usage = usage
        self._lifetime = lifetime
        self._cache = cache
        #: Credentials the database refused, refused again from memory (ADR 0024).
        self._refusals = refusals if refusals is not None else RefusalCache(size=0)
        self._sessions = sessions
        self._allow_query_credentials = allow_query_credentials
        #: RFC 9068 access tokens (ADR 0051); None: a JWT is refused like any unknown token.
        self._jwts = jwt_access_tokens
        #: Misses arriving together on the event loop share one read (``verify_async``).
        #: Their threads are the check's own: work stuck elsewhere cannot hold them (ADR 0038).
        self._threads = threads or ThreadCapacity("credentials", 16)
        self._token_loader: CoalescingLoader[_TokenRead] = CoalescingLoader(
            self._read_tokens, threads=self._threads
        )
        self._key_loader: CoalescingLoader[_KeyRead] = CoalescingLoader(
            self._read_keys, threads=self._threads
        )

    @property
    def reads_query(self) -> bool:
        """Whether credentials in the query string count (then adapters must read it)."""
        return self._allow_query_credentials

    def authenticate(self, request: PresentedRequest) -> Principal:
        """Return the caller, or raise the Deskpro error that says why not."""
        return self.try_cached(request) or self.verify(request)

    def try_cached(self, request: PresentedRequest) -> Principal | None:
        """Decide from memory alone, or return None when only the database can tell.

        No I/O: safe on the event loop. A refusal is raised only when it needs no stored data
        (a malformed header, no credential at all), when a verified cached credential itself
        refuses (its person disabled, its token expired, a tag it lacks), or when the database
        refused this very credential a moment ago (``RefusalCache``). Any other code that does
        not match the cached digest is left to ``verify``: the key may have been regenerated.
        """
        if not self._cache.enabled and not self._refusals.enabled:
            return None
        try:
            presented = self._presented(request, may_read=False)
        except _KeyNotRead:
            return None  # a JWT signed by a key this process has not read yet: ``verify``
        if presented is None:
            if request.session_cookie:
                return None
            raise Unauthorized()
        principal = None
        if self._cache.enabled:
            principal = self._from_cache(presented, request.agent_id_header, request.client_address)
        if principal is None and self._refusals.enabled:
            self._refuse_if_remembered(presented)
        return principal

    def _refuse_if_remembered(self, presented: PresentedCredential) -> None:
        """Raise what ``verify`` raised for this very credential, if it is remembered."""
        refusals, kind, subject = self._refusals, presented.kind, presented.id
        as_key = kind is not CredentialKind.API_TOKEN and refusals.holds(Slot.API_KEY, subject)
        as_token = kind is not CredentialKind.API_KEY and refusals.holds(Slot.API_TOKEN, subject)
        if not (as_key or as_token):
            return  # the common case: nothing refused for this id, no digest computed
        digest, now = self._hasher.digest(presented.code), self._clock.now()
        key_refused = as_key and refusals.refuses(Slot.API_KEY, subject, digest, now)
        if kind is CredentialKind.API_KEY and key_refused:
            raise InvalidApiKey()
        token_refused = as_token and refusals.refuses(Slot.API_TOKEN, subject, digest, now)
        if kind is CredentialKind.API_TOKEN and token_refused:
            raise InvalidApiToken()
        if key_refused and token_refused:
            raise InvalidApiToken()  # Basic: refused as a key, then as a token (``verify``)

    def _from_cache(
        self,
        presented: PresentedCredential,
        agent_id_header: str | None,
        client_address: str | None,
    ) -> Principal | None:
        now = self._clock.now()
        if presented.kind is CredentialKind.API_TOKEN:
            token = self._cache.api_token(presented.id, now)
            if token is None or not self._hasher.matches(presented.code, token.code_digest):
                return None
            return self._token_principal(token, client_address, now)
        try:
            key = self._cache.api_key(presented.id, now)
            if key is None or not self._hasher.matches(presented.code, key.code_digest):
                return None
            agent_id = _requested_agent(key, agent_id_header)
            person = key.person if agent_id is None else self._cache.person(agent_id, now)
            if agent_id is not None and person is None:
                return None
            return self._key_principal(key, person, client_address, now)
        except InvalidApiKey:
            if presented.kind is CredentialKind.EITHER:
                return None  # Basic goes on to try the value as a token: verify does that.
            raise

    def verify(self, request: PresentedRequest) -> Principal:
        """The full check against the database (one SELECT by primary key); fills the cache.

        The ``Authorization`` header, when present and not blank, alone decides. Otherwise the
        legacy aliases are read in Deskpro's v1 order; query parameters only when the operator
        allowed them (they end up in access logs).
        """
        presented = self._presented(request, may_read=True)
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

    def _presented(
        self, request: PresentedRequest, *, may_read: bool
    ) -> PresentedCredential | None:
        """The credential the request carries; None: none.

        Raises:
            _KeyNotRead: with ``may_read`` False, a JWT whose key only the database knows yet
                (the caller goes on where it may read).
        """
        if request.authorization and request.authorization.strip():
            presented = parse_authorization(request.authorization)
            if isinstance(presented, PresentedJwt):
                return self._from_jwt(presented, may_read=may_read)
            return presented
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

    def _from_jwt(self, presented: PresentedJwt, *, may_read: bool) -> PresentedCredential:
        """A JWT access token as the token row it names (its signature, then the row decides)."""
        if self._jwts is None:
            raise InvalidApiToken()
        found = self._jwts.presented(presented.compact, may_read=may_read)
        if found is None:
            raise _KeyNotRead()
        return found

    def _as_key(self, presented: PresentedCredential, request: PresentedRequest) -> Principal:
        if is_forged(presented.code):
            raise InvalidApiKey()  # a wrong checksum: no read can make it verify
        ticket, now = self._cache.ticket(), self._clock.now()
        refusal_ticket = self._refusals.ticket()
        key_id = ApiKeyId(presented.id)
        found = self._database.hot_read(lambda connection: stored.find_api_key(connection, key_id))
        key = self._read_key(presented, found, (ticket, refusal_ticket), now)
        agent_id = _requested_agent(key, request.agent_id_header)
        person = key.person if agent_id is None else self._read_agent(agent_id, ticket, now)
        return self._key_principal(key, person, request.client_address, now)

    def _read_key(
        self,
        presented: PresentedCredential,
        key: ApiKeyRecord | None,
        tickets: "_Tickets",
        now: datetime,
    ) -> ApiKeyRecord:
        """The key as read, if it verifies (then cached); ``tickets``, ``now``: before the read."""
        hasher = self._hasher
        if key is None or key.revoked_at is not None:
            self._cache.discard(Slot.API_KEY, presented.id)
        if (
            key is None
            or key.revoked_at is not None
            or not hasher.matches(presented.code, key.code_digest)
        ):
            digest = hasher.digest(presented.code)
            self._refusals.remember(
                Slot.API_KEY, presented.id, digest, ticket=tickets[1], read_at=now
            )
            raise InvalidApiKey()
        self._cache.put_api_key(key, ticket=tickets[0], read_at=now)
        return key

    def _read_agent(self, agent_id: PersonId, ticket: int, now: datetime) -> Person | None:
        """The person a superuser key acts as (cached when found)."""
        person = self._database.hot_read(
            lambda connection: stored.find_person(connection, agent_id)
        )
        if person is not None:
            self._cache.put_person(person, ticket=ticket, read_at=now)
        return person

    def _key_principal(
        self, key: ApiKeyRecord, person: Person | None, client_address: str | None, now: datetime
    ) -> Principal:
        if person is None or not _acts_for_agent(person):
            raise InvalidApiKey()
        self._usage.record(CredentialKind.API_KEY, key.id, now, client_address, key.last_used_at)
        return Principal(
            person=person,
            auth_method=AuthMethod.API_KEY,
            api_key_id=key.id,
            key_tags=_tag_policy(key.tags),
            may_admin=key.admin_api if key.is_superuser else person.is_admin,
        )

    def _as_token(self, presented: PresentedCredential, request: PresentedRequest) -> Principal:
        if is_forged(presented.code):
            raise InvalidApiToken()  # a wrong checksum: no read can make it verify
        ticket, now = self._cache.ticket(), self._clock.now()
        refusal_ticket = self._refusals.ticket()
        token_id = ApiTokenId(presented.id)
        token = self._database.hot_read(
            lambda connection: stored.find_api_token(connection, token_id)
        )
        return self._read_token(presented, request, token, (ticket, refusal_ticket), now)

    def _read_token(
        self,
        presented: PresentedCredential,
        request: PresentedRequest,
        token: ApiTokenRecord | None,
        tickets: "_Tickets",
        now: datetime,
    ) -> Principal:
        """Decide on a token as read (``tickets`` and ``now`` taken before the read)."""
        hasher = self._hasher
        if token is None or token.revoked_at is not None:
            self._cache.discard(Slot.API_TOKEN, presented.id)
        if (
            token is None
            or token.revoked_at is not None
            or not hasher.matches(presented.code, token.code_digest)
        ):
            digest = hasher.digest(presented.code)
            self._refusals.remember(
                Slot.API_TOKEN, presented.id, digest, ticket=tickets[1], read_at=now
            )
            raise InvalidApiToken()
        self._cache.put_api_token(token, ticket=tickets[0], read_at=now)
        return self._token_principal(token, request.client_address, now)

    async def verify_async(self, request: PresentedRequest) -> Principal:
        """``verify`` for an async adapter, to await on the event loop instead of a thread.

        Same answers and errors as ``verify``. API keys and tokens are read by coalescing
        loaders: misses that arrive while a read of their kind is in flight share the next one
        (ADR 0014), one thread hop and one round trip for all of them; each still has its own
        digest compared and its own refusals. A superuser key's agent is read in a worker
        thread of its own; no credential or a session cookie runs ``verify`` in one.
        """
        try:
            presented = self._presented(request, may_read=False)
        except _KeyNotRead:
            presented = None  # the key is read in ``verify``, in a worker thread
        if presented is None:
            return await self._threads.run(self.verify, request)
        if presented.kind is CredentialKind.API_TOKEN:
            return await self._as_token_async(presented, request)
        if presented.kind is CredentialKind.API_KEY:
            return await self._as_key_async(presented, request)
        try:  # HTTP Basic: a key, else a token (as ``verify``)
            return await self._as_key_async(presented, request)
        except InvalidApiKey:
            return await self._as_token_async(presented, request)

    async def _as_token_async(
        self, presented: PresentedCredential, request: PresentedRequest
    ) -> Principal:
        if is_forged(presented.code):
            raise InvalidApiToken()
        # Before the read: the loader starts a new one for an id asked for after it began.
        refusal_ticket = self._refusals.ticket()
        read = await self._token_loader.load(presented.id)
        # No such token: refused below, nothing cached, so no cache ticket is needed.
        token, ticket, now = read if read is not None else (None, 0, self._clock.now())
        return self._read_token(presented, request, token, (ticket, refusal_ticket), now)

    async def _as_key_async(
        self, presented: PresentedCredential, request: PresentedRequest
    ) -> Principal:
        if is_forged(presented.code):
            raise InvalidApiKey()
        refusal_ticket = self._refusals.ticket()  # before the read, as for tokens
        read = await self._key_loader.load(presented.id)
        # No such key: refused below, nothing cached, so no cache ticket is needed.
        found, ticket, now = read if read is not None else (None, 0, self._clock.now())
        key = self._read_key(presented, found, (ticket, refusal_ticket), now)
        agent_id = _requested_agent(key, request.agent_id_header)
        person = key.person
        if agent_id is not None:
            person = await self._threads.run(self._read_agent, agent_id, ticket, now)
        return self._key_principal(key, person, request.client_address, now)

    def _read_keys(self, ids: list[int]) -> dict[int, "_KeyRead"]:
        """The key loader's read (a worker thread): the keys of these ids that exist."""
        ticket, now = self._cache.ticket(), self._clock.now()
        keys = self._database.hot_read(lambda connection: stored.find_api_keys(connection, ids))
        return {key.id: (key, ticket, now) for key in keys}

    def _read_tokens(self, ids: list[int]) -> dict[int, "_TokenRead"]:
        """The coalescing loader's read (a worker thread): the tokens of these ids that exist."""
        ticket, now = self._cache.ticket(), self._clock.now()
        tokens = self._database.hot_read(lambda connection: stored.find_api_tokens(connection, ids))
        return {token.id: (token, ticket, now) for token in tokens}

    def _token_principal(
        self, token: ApiTokenRecord, client_address: str | None, now: datetime
    ) -> Principal:
        left = token.time_left(now, self._lifetime)
        if left == 0.0 or not token.serves():
            raise InvalidApiToken()
        self._usage.record(
            CredentialKind.API_TOKEN, token.id, now, client_address, token.last_used_at
        )
        return Principal(
            person=token.person,
            auth_method=AuthMethod.API_TOKEN,
            api_token_id=token.id,
            # An OAuth token's scope limits it exactly as tags limit a key (ADR 0042).
            key_tags=token.tag_limit(),
            may_admin=token.person.is_admin,
            app_id=token.oauth_client_id,
            oauth_client_id=token.oauth_client_id,
            seconds_left=left,
            audience=token.audience,
            token_scope=token.scope,
        )

    def refresh_due(self) -> int:
        """Read again, in bulk, the cached credentials in use whose TTL is running out.

        Run in the background (``tessera.app``), never on the request path: one SELECT per
        kind and batch. An entry the database still confirms (same digest, not revoked) is
        renewed for a full TTL; any other is dropped, and its next request reads it again.
        Returns how many were renewed.
        """
        renewed = 0
        for slot, ids in self._cache.take_due().items():
            for start in range(0, len(ids), _REFRESH_BATCH):
                renewed += self._refresh(slot, ids[start : start + _REFRESH_BATCH])
        return renewed

    def _refresh(self, slot: Slot, ids: list[int]) -> int:
        cache = self._cache
        ticket, now = cache.ticket(), self._clock.now()
        found = self._database.hot_read(lambda connection: _read_many(connection, slot, ids))
        renewed = 0
        for subject_id in ids:
            record = found.get(subject_id)
            if record is None or not self._confirms(slot, subject_id, record):
                cache.discard(slot, subject_id)
                continue
            if isinstance(record, ApiKeyRecord):
                cache.put_api_key(record, ticket=ticket, read_at=now)
            elif isinstance(record, ApiTokenRecord):
                cache.put_api_token(record, ticket=ticket, read_at=now)
            else:
                cache.put_person(record, ticket=ticket, read_at=now)
            renewed += 1
        return renewed

    def _confirms(
        self, slot: Slot, subject_id: int, record: ApiKeyRecord | ApiTokenRecord | Person
    ) -> bool:
        """Whether the row read again confirms the cached entry: not revoked, the same code."""
        if isinstance(record, Person):
            return True
        held = self._cache.digest_of(slot, subject_id)
        return (
            record.revoked_at is None
            and held is not None
            and hmac.compare_digest(held, record.code_digest)
        )

    def _as_session(self, request: PresentedRequest) -> Principal:
        """A signed-in browser: Deskpro's ``agent_session``, for agents and admins only.

        An idle session is refused here as on the pages, but an API call does not keep it
        alive: only page views write its last request, never this path (ADR 0020).
        """
        cookie = request.session_cookie or ""
        now = self._clock.now()
        with self._database.read() as session:
            person = stored_sessions.find_web_session_person(
                session,
                self._hasher.digests(cookie),
                now=now,
                idle_since=self._sessions.idle_since(now),
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


class _KeyNotRead(Exception):
    """A JWT's signing key is not in memory yet, and this caller may not read the database."""


#: A credential as a coalescing loader read it, with the cache ticket and time taken before.
_TokenRead = tuple[ApiTokenRecord, int, datetime]
_KeyRead = tuple[ApiKeyRecord, int, datetime]
#: The credential cache's and the refusal cache's tickets, taken before a read.
_Tickets = tuple[int, int]


def _read_many(
    connection: Connection, slot: Slot, ids: list[int]
) -> dict[int, ApiKeyRecord | ApiTokenRecord | Person]:
    if slot is Slot.API_KEY:
        return {key.id: key for key in stored.find_api_keys(connection, ids)}
    if slot is Slot.API_TOKEN:
        return {token.id: token for token in stored.find_api_tokens(connection, ids)}
    return {person.id: person for person in stored.find_people(connection, ids)}


def _requested_agent(key: ApiKeyRecord, agent_id_header: str | None) -> PersonId | None:
    """The agent a superuser key is asked to act as (decision 11.4); None: its own person.

    A normal key ignores the agent header.
    """
    if not key.is_superuser or agent_id_header is None or not agent_id_header.strip():
        return None
    value = agent_id_header.strip()
    if not (value.isascii() and value.isdigit() and len(value) <= _AGENT_ID_DIGITS):
        raise InvalidApiKey()
    return PersonId(int(value))


def _acts_for_agent(person: Person | None) -> bool:
    return person is not None and person.is_active_agent


@lru_cache(maxsize=4096)
def _tag_policy(text: str) -> TagPolicy:
    # Stored patterns were validated when saved; an unreadable one allows nothing.
    try:
        return TagPolicy.parse(text)
    except ValueError:
        return TagPolicy((), ())
