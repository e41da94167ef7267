"""OAuth clients: registered, changed, given new secrets and removed by admins (spec §7.2).

The OAuth endpoints use ``find_by_client_id`` and ``check_secret``; a client's secret exists
only in the ``IssuedOAuthClient`` that creation or rotation returns, and as a keyed digest.
"""

import builtins
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from tessera.core.audit import AuditKind, DetailValue
from tessera.core.changes import ChangeKind
from tessera.core.client_documents import is_document_client_id
from tessera.core.client_keys import ClientAuthMethod, check_client_keys
from tessera.core.clock import Clock
from tessera.core.credential_codes import CLIENT_SECRET_CODE
from tessera.core.credentials import CodeHasher
from tessera.core.errors import (
    INVALID,
    REQUIRED,
    FieldError,
    FieldErrors,
    InvalidInput,
    NotFound,
)
from tessera.core.ids import PersonId
from tessera.core.oauth_clients import (
    TOO_FEW_REDIRECT_URIS,
    AccessTokenFormat,
    ClientContext,
    GrantType,
    OAuthClient,
    check_allowed_scopes,
    check_redirect_uris,
    new_random_id,
    parse_client_id,
)
from tessera.core.oauth_scopes import SESSION_SCOPE
from tessera.core.paging import Page, PageRequest
from tessera.core.signing_keys import DEFAULT_ALGORITHM, SigningAlgorithm
from tessera.services.audit import record
from tessera.store import oauth as stored_grants
from tessera.store import oauth_clients as stored
from tessera.store.changes import record_change
from tessera.store.database import Database

_MAX_NAME = 200
#: The field (and column) of the algorithm that signs a client's ID tokens.
SIGNATURE_FIELD = "id_token_signed_response_alg"
AUTH_METHOD_FIELD = "token_endpoint_auth_method"
#: The field (and column) of the form of a client's access tokens (ADR 0051).
TOKEN_FORMAT_FIELD = "access_token_format"  # noqa: S105 (a field name)
PUBLIC_CLIENT_HAS_NO_SECRET = FieldError(
    "public_client", "A public client has no secret: it proves itself with PKCE."
)
KEY_CLIENT_HAS_NO_SECRET = FieldError(
    "private_key_jwt",
    "A private_key_jwt client has no secret: it signs with its key. Change its "
    "token_endpoint_auth_method to client_secret_basic first.",
)
PUBLIC_CLIENT_METHOD = FieldError(
    "invalid", "A public client authenticates with none: it has no secret and no key."
)
CONFIDENTIAL_CLIENT_METHOD = FieldError(
    "invalid",
    "A confidential client authenticates with client_secret_basic, client_secret_post or "
    "private_key_jwt; a client without either is public (is_public).",
)
IS_PUBLIC_IS_FIXED = FieldError(
    "immutable", "This value cannot be changed; register a new client instead."
)


@dataclass(frozen=True, slots=True)
class NewOAuthClient:
    name: str
    redirect_uris: Sequence[str]
    # Plain text is accepted (forms, the CLI) and checked like the rest: an unknown value is a
    # field problem, not a crash.
    context: ClientContext | str = ClientContext.AGENT
    #: Decision 11.11: no new client gets the implicit grant by default.
    allowed_grant_type: GrantType | str = GrantType.AUTHORIZATION_CODE
    #: A public client (mobile, single-page app) gets no secret and must use PKCE.
    is_public: bool = False
    is_enabled: bool = True
    #: What signs its ID tokens (OpenID Connect Registration §2): RS256 unless it asks for ES256.
    id_token_signed_response_alg: SigningAlgorithm | str = DEFAULT_ALGORITHM
    #: Where the app may send people after signing them out (OpenID Connect logout).
    post_logout_redirect_uris: Sequence[str] = ()
    #: The API scopes it may be granted (ADR 0042): ``session`` (all of the person's rights,
    #: the default) and endpoint tag patterns such as ``tickets.*`` or ``-*.delete``.
    allowed_scopes: str = SESSION_SCOPE
    #: How it authenticates (RFC 7591): None follows ``is_public`` (``none``, or a secret);
    #: ``private_key_jwt`` gets no secret and needs ``jwks_uri`` or ``jwks`` (ADR 0052).
    token_endpoint_auth_method: ClientAuthMethod | str | None = None
    jwks_uri: str | None = None
    jwks: Mapping[str, Any] | None = None
    #: Deskpro's ``ID:CODE`` unless the operator opts the app into RFC 9068 JWTs (ADR 0051).
    access_token_format: AccessTokenFormat | str = AccessTokenFormat.OPAQUE


@dataclass(frozen=True, slots=True)
class OAuthClientChanges:
    """None leaves a value as it is."""

    name: str | None = None
    #: Replaces the whole list.
    redirect_uris: Sequence[str] | None = None
    context: ClientContext | str | None = None
    allowed_grant_type: GrantType | str | None = None
    is_enabled: bool | None = None
    #: Deskpro clients send the whole object back; the same value is fine, another is refused.
    is_public: bool | None = None
    id_token_signed_response_alg: SigningAlgorithm | str | None = None
    #: Replaces the whole list (empty: none).
    post_logout_redirect_uris: Sequence[str] | None = None
    #: Narrowing it narrows each connection at its next refresh; tokens issued keep theirs.
    allowed_scopes: str | None = None
    #: ``private_key_jwt`` drops the client's secret; back to a secret method, the client has
    #: none until an admin rotates one (confidential clients only; public ones stay ``none``).
    token_endpoint_auth_method: ClientAuthMethod | str | None = None
    #: Either replaces the client's keys (the other is cleared); ``""``/``{}`` are not keys.
    jwks_uri: str | None = None
    jwks: Mapping[str, Any] | None = None
    #: Counts from the next token issued; tokens already issued keep their form and work on.
    access_token_format: AccessTokenFormat | str | None = None


@dataclass(frozen=True, slots=True)
class IssuedOAuthClient:
    """A client with its secret, which exists only in this value: shown once, never stored."""

    client: OAuthClient
    #: None for public clients.
    secret: str | None


class OAuthClientService:
    def __init__(
        self,
        database: Database,
        hasher: CodeHasher,
        clock: Clock,
        *,
        allow_insecure_redirects: bool = False,
    ) -> None:
        self._database = database
        self._hasher = hasher
        self._clock = clock
        self._allow_insecure_redirects = allow_insecure_redirects

    @property
    def allows_insecure_redirects(self) -> bool:
        """The operator's switch: plain http redirect URIs to other hosts may be registered
        and used (decision 17); pages and commands warn about clients that have them."""
        return self._allow_insecure_redirects

    def create(self, new: NewOAuthClient, *, actor: PersonId | None = None) -> IssuedOAuthClient:
        problems = FieldErrors()
        name = check_name(problems, new.name)
        grant = _check_choice(problems, "allowed_grant_type", GrantType, new.allowed_grant_type)
        uris = check_redirect_uris(
            problems,
            new.redirect_uris,
            allow_insecure_http=self._allow_insecure_redirects,
            # A device client never takes a redirect (RFC 8628): none needed.
            required=grant is None or grant.redirects,
        )
        logout_uris = self._check_post_logout_uris(problems, new.post_logout_redirect_uris)
        context = _check_choice(problems, "context", ClientContext, new.context)
        alg = _check_choice(
            problems, SIGNATURE_FIELD, SigningAlgorithm, new.id_token_signed_response_alg
        )
        allowed_scopes = check_allowed_scopes(problems, new.allowed_scopes)
        method = check_auth_method(problems, new.token_endpoint_auth_method, new.is_public)
        jwks_uri, jwks = (
            (None, None)
            if method is None  # already a problem: the keys cannot be judged without it
            else check_client_keys(problems, method, new.jwks_uri, new.jwks)
        )
        token_format = _check_choice(
            problems, TOKEN_FORMAT_FIELD, AccessTokenFormat, new.access_token_format
        )
        if (
            problems
            or uris is None
            or logout_uris is None
            or context is None
            or grant is None
            or alg is None
            or allowed_scopes is None
            or method is None
            or token_format is None
        ):
            raise InvalidInput(problems)
        key_jwt = method is ClientAuthMethod.PRIVATE_KEY_JWT
        secret = None if new.is_public or key_jwt else CLIENT_SECRET_CODE.new()
        with self._database.write() as session:
            client = stored.add_client(
                session,
                random_id=new_random_id(),
                name=name,
                context=context,
                redirect_uris=uris,
                allowed_grant_type=grant,
                is_enabled=new.is_enabled,
                is_public=new.is_public,
                secret_digest=None if secret is None else self._hasher.digest(secret),
                now=self._clock.now(),
                id_token_signed_response_alg=alg,
                post_logout_redirect_uris=logout_uris,
                allowed_scopes=allowed_scopes,
                private_key_jwt=key_jwt,
                jwks_uri=jwks_uri,
                jwks=jwks,
                access_token_format=token_format,
            )
            # How it proves itself and what its tokens look like, never its secret or keys.
            how: dict[str, DetailValue] = {
                TOKEN_FORMAT_FIELD: client.access_token_format.value,
                "token_endpoint_auth_method": client.token_endpoint_auth_method.value,
            }
            self._record(session, AuditKind.OAUTH_CLIENT_CREATED, client, actor, how)
        return IssuedOAuthClient(client, secret)

    def _check_post_logout_uris(
        self, problems: FieldErrors, uris: Sequence[str]
    ) -> list[str] | None:
        return check_redirect_uris(
            problems,
            uris,
            allow_insecure_http=self._allow_insecure_redirects,
            field="post_logout_redirect_uris",
            required=False,
        )

    def get(self, id: int) -> OAuthClient:
        with self._database.read() as session:
            client = stored.get_client(session, id)
        if client is None:
            raise NotFound()
        return client

    def list(self, page: PageRequest) -> Page[OAuthClient]:
        with self._database.read() as session:
            items = stored.list_clients(session, offset=page.offset, limit=page.per_page)
            total = stored.count_clients(session)
        return Page(items, total, page)

    def list_all(self, limit: int = 1000) -> builtins.list[OAuthClient]:
        """The first ``limit`` clients by id: Deskpro's list endpoint is not paginated."""
        with self._database.read() as session:
            return stored.list_clients(session, offset=0, limit=limit)

    def count(self) -> int:
        with self._database.read() as session:
            return stored.count_clients(session)

    def connected_people(self) -> dict[int, int]:
        """Per client id: how many people have the app connected (live tokens); absent is 0."""
        with self._database.read() as session:
            return stored_grants.connected_people(session)

    def change(
        self, id: int, changes: OAuthClientChanges, *, actor: PersonId | None = None
    ) -> OAuthClient:
        problems = FieldErrors()
        columns: dict[str, object] = {}
        if changes.name is not None:
            columns["name"] = check_name(problems, changes.name)
        if changes.redirect_uris is not None:
            # Whether none is allowed depends on the grant, known below: checked there.
            columns["redirect_uris"] = check_redirect_uris(
                problems,
                changes.redirect_uris,
                allow_insecure_http=self._allow_insecure_redirects,
                required=False,
            )
        if changes.post_logout_redirect_uris is not None:
            columns["post_logout_redirect_uris"] = self._check_post_logout_uris(
                problems, changes.post_logout_redirect_uris
            )
        if changes.context is not None:
            context = _check_choice(problems, "context", ClientContext, changes.context)
            columns["context"] = None if context is None else context.value
        if changes.allowed_grant_type is not None:
            grant = _check_choice(
                problems, "allowed_grant_type", GrantType, changes.allowed_grant_type
            )
            columns["allowed_grant_type"] = None if grant is None else grant.value
        if changes.is_enabled is not None:
            columns["is_enabled"] = changes.is_enabled
        if changes.id_token_signed_response_alg is not None:
            alg = _check_choice(
                problems, SIGNATURE_FIELD, SigningAlgorithm, changes.id_token_signed_response_alg
            )
            columns[SIGNATURE_FIELD] = None if alg is None else alg.value
        if changes.allowed_scopes is not None:
            columns["allowed_scopes"] = check_allowed_scopes(problems, changes.allowed_scopes)
        if changes.access_token_format is not None:
            token_format = _check_choice(
                problems, TOKEN_FORMAT_FIELD, AccessTokenFormat, changes.access_token_format
            )
            columns[TOKEN_FORMAT_FIELD] = None if token_format is None else token_format.value
        if problems:
            raise InvalidInput(problems)
        with self._database.write() as session:
            current = stored.get_client(session, id)
            if current is None:
                raise NotFound()
            if changes.is_public is not None and changes.is_public != current.is_public:
                problems.add(("is_public",), IS_PUBLIC_IS_FIXED)
                raise InvalidInput(problems)
            grant = GrantType(str(columns.get("allowed_grant_type", current.allowed_grant_type)))
            uris = columns.get("redirect_uris", current.redirect_uris)
            if grant.redirects and not uris:
                problems.add(("redirect_uris",), TOO_FEW_REDIRECT_URIS)
                raise InvalidInput(problems)
            columns.update(_key_columns(problems, current, changes))
            if problems:
                raise InvalidInput(problems)
            changed = sorted(columns)
            if columns.get("token_endpoint_auth_method") == ClientAuthMethod.PRIVATE_KEY_JWT:
                columns["secret_digest"] = None  # a key now proves the client: no secret
            client = stored.update_client(session, id, now=self._clock.now(), **columns)
            if client is not None:
                # Disabling (or re-contexting) an app changes what its tokens may do.
                record_change(session, ChangeKind.OAUTH_CLIENT, id, now=self._clock.now())
                fields: dict[str, DetailValue] = {"fields": changed}
                self._record(session, AuditKind.OAUTH_CLIENT_CHANGED, client, actor, fields)
        if client is None:  # gone since it was read: as if never there
            raise NotFound()
        return client

    def rotate_secret(self, id: int, *, actor: PersonId | None = None) -> IssuedOAuthClient:
        """Give a confidential client a new secret; the old one stops working at once."""
        secret = CLIENT_SECRET_CODE.new()
        with self._database.write() as session:
            current = stored.get_client(session, id)
            if current is None:
                raise NotFound()
            if current.is_public or current.private_key_jwt:
                problems = FieldErrors()
                problems.add(
                    (),
                    PUBLIC_CLIENT_HAS_NO_SECRET if current.is_public else KEY_CLIENT_HAS_NO_SECRET,
                )
                raise InvalidInput(problems)
            client = stored.update_client(
                session, id, now=self._clock.now(), secret_digest=self._hasher.digest(secret)
            )
            if client is not None:
                self._record(session, AuditKind.OAUTH_CLIENT_SECRET_ROTATED, client, actor)
        if client is None:  # gone since it was read: as if never there
            raise NotFound()
        return IssuedOAuthClient(client, secret)

    def delete(self, id: int, *, actor: PersonId | None = None) -> OAuthClient:
        """Remove the client with every grant, code and token issued through it."""
        with self._database.write() as session:
            client = stored.delete_client(session, id)
            if client is not None:
                # Its grants and tokens go with it (cascade): forgetting the app covers them.
                record_change(session, ChangeKind.OAUTH_CLIENT, id, now=self._clock.now())
                self._record(session, AuditKind.OAUTH_CLIENT_DELETED, client, actor)
        if client is None:
            raise NotFound()
        return client

    def _record(
        self,
        session: Session,
        kind: AuditKind,
        client: OAuthClient,
        actor: PersonId | None,
        detail: dict[str, DetailValue] | None = None,
    ) -> None:
        """An admin's change to a client, in its transaction, named as the other client events
        name it (its row id) and by its name."""
        about: dict[str, DetailValue] = {"oauth_client_id": client.id, "name": client.name}
        record(session, kind, self._clock, actor=actor, detail=about | (detail or {}))

    def find_by_client_id(self, client_id: str) -> OAuthClient | None:
        """The client this OAuth ``client_id`` names, enabled or not (the caller checks)."""
        with self._database.read() as session:
            found = client_by_client_id(session, client_id)
        return None if found is None else found.client

    def check_secret(self, client: OAuthClient, secret: str) -> bool:
        """Whether ``secret`` is the client's current one (read now, so a rotation counts)."""
        if client.is_public:
            return False
        with self._database.read() as session:
            digest = stored.secret_digest(session, client.id)
        return secret_matches(self._hasher, digest, secret)


def client_by_client_id(
    session: Session, client_id: str, *, known: stored.ClientWithSecret | None = None
) -> stored.ClientWithSecret | None:
    """The client an OAuth ``client_id`` names, with its secret's digest, in ``session``.

    The token endpoint reads it in the grant's own transaction, so the secret checked is the one
    current in that transaction (a rotation counts at once; no cache). ``known``: the client
    already read in this transaction (with the code or refresh token), used if it is this one.
    """
    if is_document_client_id(client_id):
        # A metadata-document client: its URL is its client_id (kept by client_documents).
        if known is not None and known.client.document_url == client_id:
            return known
        return stored.client_with_secret_by_document(session, client_id)
    parsed = parse_client_id(client_id)
    if parsed is None:
        return None
    row_id, random_id = parsed
    if known is not None and known.client.id == row_id:
        found: stored.ClientWithSecret | None = known
    else:
        found = stored.client_with_secret(session, row_id)
    # Constant time: the random part is what makes a client_id hard to guess.
    if found is None or not hmac.compare_digest(
        found.client.random_id.encode(), random_id.encode()
    ):
        return None
    return found


def secret_matches(hasher: CodeHasher, digest: bytes | None, secret: str) -> bool:
    """Whether ``secret`` has this keyed digest; None (a public client) matches nothing."""
    if digest is None:
        hasher.digest(secret)  # the same work as a check: both answers take the same time
        return False
    return hasher.matches(secret, digest)


def check_auth_method(
    problems: FieldErrors, value: ClientAuthMethod | str | None, is_public: bool
) -> ClientAuthMethod | None:
    """The method a client of this kind may have (``client_secret_post`` is kept as
    ``client_secret_basic``: a secret client may use either); None with a problem."""
    if value is None:
        return ClientAuthMethod.NONE if is_public else ClientAuthMethod.CLIENT_SECRET_BASIC
    method = _check_choice(problems, AUTH_METHOD_FIELD, ClientAuthMethod, value)
    if method is None:
        return None
    if is_public != (method is ClientAuthMethod.NONE):
        problems.add(
            (AUTH_METHOD_FIELD,),
            PUBLIC_CLIENT_METHOD if is_public else CONFIDENTIAL_CLIENT_METHOD,
        )
        return None
    if method is ClientAuthMethod.CLIENT_SECRET_POST:
        return ClientAuthMethod.CLIENT_SECRET_BASIC
    return method


def _key_columns(
    problems: FieldErrors, current: OAuthClient, changes: OAuthClientChanges
) -> dict[str, object]:
    """The columns a change of method or keys sets: none when neither changes."""
    given_keys = changes.jwks_uri is not None or changes.jwks is not None
    if changes.token_endpoint_auth_method is None and not given_keys:
        return {}
    method = check_auth_method(
        problems,
        changes.token_endpoint_auth_method or current.token_endpoint_auth_method,
        current.is_public,
    )
    if method is None:
        return {}
    if given_keys:
        jwks_uri, jwks = changes.jwks_uri, changes.jwks
    elif method is ClientAuthMethod.PRIVATE_KEY_JWT:
        jwks_uri, jwks = current.jwks_uri, current.jwks
    else:
        jwks_uri, jwks = None, None
    checked_uri, checked_jwks = check_client_keys(problems, method, jwks_uri, jwks)
    if problems:
        return {}
    key_jwt = method is ClientAuthMethod.PRIVATE_KEY_JWT
    columns: dict[str, object] = {}
    # Only what differs: a form that sends the method and keys unchanged changes nothing.
    if checked_uri != current.jwks_uri:
        columns["jwks_uri"] = checked_uri
    if checked_jwks != (None if current.jwks is None else dict(current.jwks)):
        columns["jwks"] = checked_jwks
    if key_jwt != current.private_key_jwt:
        columns["token_endpoint_auth_method"] = (
            ClientAuthMethod.PRIVATE_KEY_JWT.value if key_jwt else None
        )
    return columns


def check_name(problems: FieldErrors, name: str) -> str:
    name = name.strip()
    if not name:
        problems.add(("name",), REQUIRED)
    elif len(name) > _MAX_NAME:
        problems.add(
            ("name",), FieldError("too_long", f"This value is too long ({_MAX_NAME} at most).")
        )
    return name


Choice = TypeVar(
    "Choice", ClientContext, GrantType, SigningAlgorithm, ClientAuthMethod, AccessTokenFormat
)


def _check_choice(
    problems: FieldErrors, name: str, choices: type[Choice], value: str
) -> Choice | None:
    """The enum member named by ``value``; callers outside the web layer may pass plain text."""
    try:
        return choices(value)
    except ValueError:
        problems.add((name,), INVALID)
        return None
