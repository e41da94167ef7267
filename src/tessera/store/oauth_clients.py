"""OAuth clients: registered by admins; their secrets are stored as keyed digests only."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Label, Row, bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tessera.core.oauth_clients import (
    AccessTokenFormat,
    ClientContext,
    ClientOrigin,
    GrantType,
    OAuthClient,
)
from tessera.core.signing_keys import DEFAULT_ALGORITHM, SigningAlgorithm
from tessera.store.rows import MAX_ID, row_by_id
from tessera.store.tables import Base, OAuthClientRow

_CLIENTS = Base.metadata.tables[OAuthClientRow.__tablename__]
#: Built once: the token endpoint runs it for every grant.
_CLIENT_BY_ID = select(_CLIENTS).where(_CLIENTS.c.id == bindparam("client_id"))
_CLIENT_BY_DOCUMENT = select(_CLIENTS).where(_CLIENTS.c.document_url == bindparam("url"))


@dataclass(frozen=True, slots=True)
class ClientWithSecret:
    """A client and the digest of its current secret (None: a public client)."""

    client: OAuthClient
    secret_digest: bytes | None


def _client(row: OAuthClientRow | Row[Any]) -> OAuthClient:
    return _client_from(lambda name: getattr(row, name))


def _client_from(column: Callable[[str], Any]) -> OAuthClient:
    return OAuthClient(
        id=column("id"),
        random_id=column("random_id"),
        name=column("name"),
        context=ClientContext(column("context")),
        redirect_uris=tuple(column("redirect_uris")),
        post_logout_redirect_uris=tuple(column("post_logout_redirect_uris") or ()),
        allowed_grant_type=GrantType(column("allowed_grant_type")),
        is_enabled=column("is_enabled"),
        is_public=column("is_public"),
        has_secret=column("secret_digest") is not None,
        created_at=column("created_at"),
        updated_at=column("updated_at"),
        id_token_signed_response_alg=SigningAlgorithm(column("id_token_signed_response_alg")),
        origin=ClientOrigin(column("origin")),
        document_url=column("document_url"),
        document_expires_at=column("document_expires_at"),
        metadata=column("client_metadata") or {},
        allowed_scopes=column("allowed_scopes"),
        private_key_jwt=column("token_endpoint_auth_method") == "private_key_jwt",
        jwks_uri=column("jwks_uri"),
        jwks=column("jwks"),
        access_token_format=AccessTokenFormat(column("access_token_format")),
    )


def client_columns(prefix: str) -> list[Label[Any]]:
    """The client's columns labelled ``prefix + name``: for a query that joins the client."""
    return [column.label(f"{prefix}{column.name}") for column in _CLIENTS.c]


def client_from_columns(row: Row[Any], prefix: str) -> ClientWithSecret:
    """The client that ``client_columns(prefix)`` selected into ``row``."""
    values = row._mapping
    client = _client_from(lambda name: values[f"{prefix}{name}"])
    return ClientWithSecret(client, values[f"{prefix}secret_digest"])


def add_client(
    session: Session,
    *,
    random_id: str,
    name: str,
    context: ClientContext,
    redirect_uris: Sequence[str],
    allowed_grant_type: GrantType,
    is_enabled: bool,
    is_public: bool,
    secret_digest: bytes | None,
    now: datetime,
    id_token_signed_response_alg: SigningAlgorithm = DEFAULT_ALGORITHM,
    origin: ClientOrigin = ClientOrigin.CONSOLE,
    metadata: Mapping[str, Any] | None = None,
    registration_token_digest: bytes | None = None,
    post_logout_redirect_uris: Sequence[str] = (),
    allowed_scopes: str = "session",
    private_key_jwt: bool = False,
    jwks_uri: str | None = None,
    jwks: Mapping[str, Any] | None = None,
    access_token_format: AccessTokenFormat = AccessTokenFormat.OPAQUE,
) -> OAuthClient:
    row = OAuthClientRow(
        random_id=random_id,
        name=name,
        context=context.value,
        redirect_uris=list(redirect_uris),
        post_logout_redirect_uris=list(post_logout_redirect_uris),
        allowed_grant_type=allowed_grant_type.value,
        is_enabled=is_enabled,
        is_public=is_public,
        secret_digest=secret_digest,
        created_at=now,
        updated_at=now,
        id_token_signed_response_alg=id_token_signed_response_alg.value,
        origin=origin.value,
        client_metadata=None if metadata is None else dict(metadata),
        registration_token_digest=registration_token_digest,
        allowed_scopes=allowed_scopes,
        token_endpoint_auth_method="private_key_jwt" if private_key_jwt else None,
        jwks_uri=jwks_uri,
        jwks=None if jwks is None else dict(jwks),
        access_token_format=access_token_format.value,
    )
    session.add(row)
    session.flush()
    return _client(row)


def get_client(session: Session, client_id: int) -> OAuthClient | None:
    row = row_by_id(session, OAuthClientRow, client_id)
    return None if row is None else _client(row)


def client_with_secret(session: Session, client_id: int) -> ClientWithSecret | None:
    """The client and its secret's digest in one Core read (the token endpoint's lookup)."""
    if not 1 <= client_id <= MAX_ID:
        return None
    row = session.connection().execute(_CLIENT_BY_ID, {"client_id": client_id}).first()
    return None if row is None else ClientWithSecret(_client(row), row.secret_digest)


def secret_digest(session: Session, client_id: int) -> bytes | None:
    """The stored digest of the client's secret; None for public (or vanished) clients."""
    row = row_by_id(session, OAuthClientRow, client_id)
    return None if row is None else row.secret_digest


def list_clients(session: Session, *, offset: int, limit: int) -> list[OAuthClient]:
    rows = session.scalars(
        select(OAuthClientRow).order_by(OAuthClientRow.id).offset(offset).limit(limit)
    )
    return [_client(row) for row in rows]


def count_clients(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(OAuthClientRow)) or 0


def update_client(
    session: Session, client_id: int, *, now: datetime, **changes: object
) -> OAuthClient | None:
    """Set these columns (values as stored: strings for enums, lists for URIs)."""
    row = row_by_id(session, OAuthClientRow, client_id, for_update=True)
    if row is None:
        return None
    for column, value in changes.items():
        setattr(row, column, value)
    row.updated_at = now
    session.flush()
    return _client(row)


def delete_client(session: Session, client_id: int) -> OAuthClient | None:
    """Remove a client; its grants, codes and tokens go with it (ON DELETE CASCADE)."""
    row = row_by_id(session, OAuthClientRow, client_id, for_update=True)
    if row is None:
        return None
    client = _client(row)
    session.delete(row)
    session.flush()
    return client


# -- metadata-document clients (ADR 0044) ---------------------------------------------------


def client_with_secret_by_document(session: Session, url: str) -> ClientWithSecret | None:
    """The metadata-document client whose ``client_id`` is ``url`` (it has no secret)."""
    row = session.connection().execute(_CLIENT_BY_DOCUMENT, {"url": url}).first()
    return None if row is None else ClientWithSecret(_client(row), row.secret_digest)


@dataclass(frozen=True, slots=True)
class SavedDocumentClient:
    client: OAuthClient
    #: First seen now.
    created: bool
    #: Its name, redirect URIs or metadata differ from what was kept before.
    changed: bool


def save_document_client(
    session: Session,
    *,
    url: str,
    random_id: str,
    name: str,
    redirect_uris: Sequence[str],
    metadata: Mapping[str, Any],
    expires_at: datetime,
    now: datetime,
    private_key_jwt: bool = False,
    jwks_uri: str | None = None,
    jwks: Mapping[str, Any] | None = None,
) -> SavedDocumentClient:
    """Keep what a fetched document says, under its URL: a new client the first time, public
    or (``private_key_jwt``) confidential without a secret.

    Whether an admin disabled the client is the admin's, not the document's: left as it is.
    Two processes fetching the same new document at once: the second one's insert fails on the
    unique URL and it updates the row the first made instead.
    """
    method = "private_key_jwt" if private_key_jwt else None
    keys = None if jwks is None else dict(jwks)
    select_row = select(OAuthClientRow).where(OAuthClientRow.document_url == url)
    row = session.scalars(select_row.with_for_update()).first()
    if row is None:
        try:
            with session.begin_nested():
                row = OAuthClientRow(
                    random_id=random_id,
                    name=name,
                    context=ClientContext.AGENT.value,
                    redirect_uris=list(redirect_uris),
                    allowed_grant_type=GrantType.AUTHORIZATION_CODE.value,
                    is_enabled=True,
                    is_public=not private_key_jwt,
                    secret_digest=None,
                    token_endpoint_auth_method=method,
                    jwks_uri=jwks_uri,
                    jwks=keys,
                    created_at=now,
                    updated_at=now,
                    origin=ClientOrigin.DOCUMENT.value,
                    document_url=url,
                    document_expires_at=expires_at,
                    client_metadata=dict(metadata),
                )
                session.add(row)
                session.flush()
            return SavedDocumentClient(_client(row), created=True, changed=False)
        except IntegrityError:
            row = session.scalars(select_row.with_for_update()).one()
    changed = (
        row.name != name
        or list(row.redirect_uris) != list(redirect_uris)
        or (row.client_metadata or {}) != dict(metadata)
        or row.token_endpoint_auth_method != method
        or row.jwks_uri != jwks_uri
        or row.jwks != keys
    )
    if changed:
        row.name = name
        row.redirect_uris = list(redirect_uris)
        row.client_metadata = dict(metadata)
        row.is_public = not private_key_jwt
        row.token_endpoint_auth_method = method
        row.jwks_uri = jwks_uri
        row.jwks = keys
        row.updated_at = now
    row.document_expires_at = expires_at
    session.flush()
    return SavedDocumentClient(_client(row), created=False, changed=changed)


# -- dynamically registered clients (ADR 0045) ----------------------------------------------


def registration_token_digest(session: Session, client_id: int) -> bytes | None:
    """The digest of a registered client's registration access token (None: it has none)."""
    row = row_by_id(session, OAuthClientRow, client_id)
    return None if row is None else row.registration_token_digest


def drop_registration_token(session: Session, digests: Sequence[bytes]) -> OAuthClient | None:
    """Forget the registration access token with one of these digests (reported leaked): the
    client it belonged to, or None when no client has it."""
    row = session.scalars(
        select(OAuthClientRow)
        .where(OAuthClientRow.registration_token_digest.in_(list(digests)))
        .with_for_update()
    ).first()
    if row is None:
        return None
    row.registration_token_digest = None
    session.flush()
    return _client(row)
