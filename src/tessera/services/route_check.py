"""Why the guard would allow or refuse a request: ``tessera routes check`` (ADR 0024).

The same steps, in the same order, as a forward-auth door: the route table gives the request's
tags (or refuses it), the credential must be live (as the per-request check decides from the
stored record: revoked, expired, its person or app disabled), and an API key's patterns must
allow every tag. What the check cannot know without a request — the code, ``Origin`` — is left
out: this explains the rules, it does not authenticate.
"""

from dataclasses import dataclass

from tessera.core.clock import Clock
from tessera.core.errors import (
    Forbidden,
    InvalidApiKey,
    InvalidApiToken,
    TesseraError,
)
from tessera.core.ids import ApiKeyId, ApiTokenId
from tessera.core.principals import TokenLifetime
from tessera.core.route_paths import AmbiguousPath
from tessera.core.routes import Route, RouteTable
from tessera.core.tags import TagPolicy, TagVerdict
from tessera.store import credentials as stored
from tessera.store.database import Database


@dataclass(frozen=True, slots=True)
class CredentialState:
    #: ``key:12`` or ``token:34``.
    name: str
    #: Who it acts as (a superuser key: its default agent; None if it has none).
    person_id: int | None
    #: Why the per-request check refuses it, whatever the request; None if it is live.
    refused_because: str | None
    #: A key's tag patterns, or an OAuth token's scope's (other tokens: None, no limit).
    patterns: TagPolicy | None
    is_superuser: bool = False


@dataclass(frozen=True, slots=True)
class RouteExplanation:
    method: str
    path: str
    default: str
    route: Route | None
    #: The tags the request needs; None when the table refuses it whoever asks.
    tags: tuple[str, ...] | None
    #: Why the table refuses it (no route, an ambiguous path), if it does.
    path_refusal: str | None
    credential: CredentialState | None
    verdicts: tuple[TagVerdict, ...]
    #: The error a door would answer with, None if it would allow (or needs a credential).
    refusal: TesseraError | None

    @property
    def allowed(self) -> bool:
        return self.refusal is None


class RouteChecker:
    def __init__(self, database: Database, clock: Clock, lifetime: TokenLifetime) -> None:
        self._database = database
        self._clock = clock
        self._lifetime = lifetime

    def explain(
        self,
        table: RouteTable,
        method: str,
        path: str,
        *,
        key_id: int | None = None,
        token_id: int | None = None,
    ) -> RouteExplanation:
        method = method.upper()
        route, tags, path_refusal = _tags(table, method, path)
        credential = None
        if key_id is not None:
            credential = self._key(key_id)
        elif token_id is not None:
            credential = self._token(token_id)
        verdicts: tuple[TagVerdict, ...] = ()
        if credential is not None and credential.patterns is not None and tags is not None:
            verdicts = tuple(credential.patterns.explain(tag) for tag in tags)
        refusal: TesseraError | None = None
        if tags is None:
            refusal = Forbidden()
        elif credential is not None and credential.refused_because is not None:
            refusal = InvalidApiKey() if credential.name.startswith("key") else InvalidApiToken()
        elif not all(verdict.allowed for verdict in verdicts):
            refusal = Forbidden()
        return RouteExplanation(
            method, path, table.default, route, tags, path_refusal, credential, verdicts, refusal
        )

    def _key(self, key_id: int) -> CredentialState:
        key = self._database.hot_read(
            lambda connection: stored.find_api_key(connection, ApiKeyId(key_id))
        )
        name = f"key:{key_id}"
        if key is None:
            return CredentialState(name, None, "no key has this id", None)
        person = key.person
        reason = None
        if key.revoked_at is not None:
            reason = "the key is revoked"
        elif key.is_superuser:
            pass  # it may act as any active agent a request names (X-DeskPRO-Agent-ID)
        elif person is None:
            reason = "the key has no agent"
        elif not person.is_active_agent:
            reason = f"its agent {person.id} is disabled or not an agent"
        patterns = _patterns(key.tags)
        person_id = person.id if person is not None else None
        return CredentialState(name, person_id, reason, patterns, key.is_superuser)

    def _token(self, token_id: int) -> CredentialState:
        token = self._database.hot_read(
            lambda connection: stored.find_api_token(connection, ApiTokenId(token_id))
        )
        name = f"token:{token_id}"
        if token is None:
            return CredentialState(name, None, "no token has this id", None)
        reason = None
        if token.revoked_at is not None:
            reason = "the token is revoked"
        elif not token.is_live(self._clock.now(), self._lifetime):
            reason = "the token has expired"
        elif not token.serves():
            reason = "its person is disabled, or its OAuth app disabled or not for them"
        # An OAuth token's scope limits it as tags limit a key (ADR 0042); others: no limit.
        return CredentialState(name, token.person.id, reason, token.tag_limit())


def _tags(
    table: RouteTable, method: str, path: str
) -> tuple[Route | None, tuple[str, ...] | None, str | None]:
    try:
        route = table.match(method, path)
    except AmbiguousPath:
        return None, None, "the path could name different endpoints to different servers"
    if route is not None:
        return route, route.tags, None
    if table.default == "authenticated":
        return None, (), None
    return None, None, "no route names it, and the table's default refuses"


def _patterns(text: str) -> TagPolicy:
    # As the per-request check reads stored patterns: an unreadable list allows nothing.
    try:
        return TagPolicy.parse(text)
    except ValueError:
        return TagPolicy((), ())
