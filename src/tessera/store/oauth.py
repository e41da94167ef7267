"""OAuth grants, authorization codes and refresh tokens. Codes and tokens by keyed digest."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    Column,
    Row,
    Select,
    Table,
    and_,
    bindparam,
    distinct,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from tessera.core.changes import ChangeKind
from tessera.core.oauth_clients import public_client_id
from tessera.core.oauth_grants import AuthorizationCode, ConnectedApp, Grant, RefreshToken
from tessera.core.people import Person
from tessera.core.sign_in_methods import SignInMethod, sign_in_method
from tessera.store.changes import record_change, record_changes
from tessera.store.mapping import person_from_row
from tessera.store.oauth_clients import ClientWithSecret, client_columns, client_from_columns
from tessera.store.tables import (
    ApiTokenRow,
    Base,
    OAuthClientRow,
    OAuthCodeRow,
    OAuthGrantRow,
    OAuthRefreshTokenRow,
    PersonRow,
)

# The token endpoint's statements: Core on these tables, built once with bound parameters, so
# that a grant pays neither the unit of work nor building (and cache-keying) its statements.
_CODES = Base.metadata.tables[OAuthCodeRow.__tablename__]
_GRANTS = Base.metadata.tables[OAuthGrantRow.__tablename__]
_REFRESH_TOKENS = Base.metadata.tables[OAuthRefreshTokenRow.__tablename__]
_PEOPLE = Base.metadata.tables[PersonRow.__tablename__]

Item = TypeVar("Item", AuthorizationCode, RefreshToken)


_CLIENTS = Base.metadata.tables[OAuthClientRow.__tablename__]


@dataclass(frozen=True, slots=True)
class WithParties(Generic[Item]):
    """A code or refresh token with the person and the client of its grant, read with it."""

    item: Item
    person: Person
    client: ClientWithSecret


def _with_parties(table: Table, digest_column: Column[bytes]) -> Select[Any]:
    """A code (or refresh token) by digest with its grant, person and client; the row locked.

    The row's own columns come as ``own_*``, the grant's as ``grant_*``, the client's as
    ``client_*`` and the person's under their own names (for ``person_from_row``). One
    statement instead of four: the token endpoint needs all of them for every grant.
    """
    return (
        select(
            *(column.label(f"own_{column.name}") for column in table.c),
            *(column.label(f"grant_{column.name}") for column in _GRANTS.c),
            *client_columns("client_"),
            *_PEOPLE.c,
        )
        .join(_GRANTS, _GRANTS.c.id == table.c.grant_id)
        .join(_PEOPLE, _PEOPLE.c.id == _GRANTS.c.person_id)
        .join(_CLIENTS, _CLIENTS.c.id == _GRANTS.c.client_id)
        .where(digest_column.in_(bindparam("digests", expanding=True)))
        .with_for_update(of=table)
    )


_FIND_CODE = _with_parties(_CODES, _CODES.c.code_digest)
_FIND_REFRESH_TOKEN = _with_parties(_REFRESH_TOKENS, _REFRESH_TOKENS.c.token_digest)
_SPEND_CODE = (
    update(_CODES)
    .where(_CODES.c.id == bindparam("code_id"), _CODES.c.used_at.is_(None))
    .values(used_at=bindparam("now"))
)
_ADD_REFRESH_TOKEN = insert(_REFRESH_TOKENS)
_ROTATE_REFRESH_TOKEN = (
    update(_REFRESH_TOKENS)
    .where(_REFRESH_TOKENS.c.id == bindparam("token_id"), _REFRESH_TOKENS.c.rotated_at.is_(None))
    .values(rotated_at=bindparam("now"))
)
_REVOKE_REFRESH_TOKEN = (
    update(_REFRESH_TOKENS)
    .where(_REFRESH_TOKENS.c.id == bindparam("token_id"), _REFRESH_TOKENS.c.revoked_at.is_(None))
    .values(revoked_at=bindparam("now"))
)


def _grant(row: OAuthGrantRow) -> Grant:
    return Grant(
        id=row.id,
        client_id=row.client_id,
        person_id=row.person_id,
        scope=row.scope,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        auth_time=row.auth_time,
        resources=_resources(row.resources),
        sign_in_method=sign_in_method(row.sign_in_method),
    )


def add_grant(
    session: Session,
    *,
    client_id: int,
    person_id: int,
    scope: str,
    now: datetime,
    auth_time: datetime | None = None,
    resources: tuple[str, ...] | None = None,
    signed_in_by: SignInMethod | None = None,
) -> Grant:
    row = OAuthGrantRow(
        client_id=client_id,
        person_id=person_id,
        scope=scope,
        created_at=now,
        auth_time=auth_time,
        resources=None if resources is None else list(resources),
        sign_in_method=None if signed_in_by is None else signed_in_by.value,
    )
    session.add(row)
    session.flush()
    return _grant(row)


def add_code(
    session: Session,
    *,
    code_digest: bytes,
    grant: Grant,
    redirect_uri: str,
    code_challenge: str | None,
    code_challenge_method: str | None,
    now: datetime,
    expires_at: datetime,
    nonce: str | None = None,
) -> None:
    session.add(
        OAuthCodeRow(
            nonce=nonce,
            code_digest=code_digest,
            grant_id=grant.id,
            redirect_uri=redirect_uri,
            code_challenge=code_challenge,
            code_challenge_method=code_challenge_method,
            created_at=now,
            expires_at=expires_at,
        )
    )
    session.flush()


def _grant_of(row: Row[Any]) -> Grant:
    return Grant(
        id=row.grant_id,
        client_id=row.grant_client_id,
        person_id=row.grant_person_id,
        scope=row.grant_scope,
        created_at=row.grant_created_at,
        revoked_at=row.grant_revoked_at,
        auth_time=row.grant_auth_time,
        resources=_resources(row.grant_resources),
        sign_in_method=sign_in_method(row.grant_sign_in_method),
    )


def _resources(stored: list[str] | None) -> tuple[str, ...] | None:
    return None if stored is None else tuple(stored)


def find_code(
    session: Session, code_digests: Sequence[bytes]
) -> WithParties[AuthorizationCode] | None:
    """The code with one of these digests, used or not (a used one reveals a replay), locked."""
    row = session.connection().execute(_FIND_CODE, {"digests": list(code_digests)}).first()
    if row is None:
        return None
    code = AuthorizationCode(
        id=row.own_id,
        grant=_grant_of(row),
        redirect_uri=row.own_redirect_uri,
        code_challenge=row.own_code_challenge,
        code_challenge_method=row.own_code_challenge_method,
        expires_at=row.own_expires_at,
        used_at=row.own_used_at,
        nonce=row.own_nonce,
    )
    return WithParties(code, person_from_row(row), client_from_columns(row, "client_"))


def scope_of_token_grant(session: Session, token_id: int) -> str | None:
    """The scope of the grant an OAuth-issued API token descends from (None: no grant)."""
    return session.scalar(
        select(OAuthGrantRow.scope)
        .join(ApiTokenRow, ApiTokenRow.grant_id == OAuthGrantRow.id)
        .where(ApiTokenRow.id == token_id)
    )


def nonce_used(session: Session, *, client_id: int, nonce: str) -> bool:
    """Whether a code of this client already carried this OpenID Connect nonce."""
    found = session.scalar(
        select(OAuthCodeRow.id)
        .join(OAuthGrantRow, OAuthGrantRow.id == OAuthCodeRow.grant_id)
        .where(OAuthCodeRow.nonce == nonce, OAuthGrantRow.client_id == client_id)
        .limit(1)
    )
    return found is not None


def mark_code_used(session: Session, code_id: int, *, now: datetime) -> bool:
    """Spend a code; False when it was already spent (a concurrent exchange won)."""
    result = session.connection().execute(_SPEND_CODE, {"code_id": code_id, "now": now})
    return result.rowcount == 1


def add_refresh_token(
    session: Session,
    *,
    token_digest: bytes,
    grant: Grant,
    access_token_id: int,
    now: datetime,
    expires_at: datetime,
) -> None:
    # Core, not the ORM: nothing reads the row back in this transaction.
    session.connection().execute(
        _ADD_REFRESH_TOKEN,
        {
            "token_digest": token_digest,
            "grant_id": grant.id,
            "access_token_id": access_token_id,
            "created_at": now,
            "expires_at": expires_at,
        },
    )


def _refresh_token_of(row: Row[Any]) -> RefreshToken:
    return RefreshToken(
        id=row.own_id,
        grant=_grant_of(row),
        access_token_id=row.own_access_token_id,
        created_at=row.own_created_at,
        expires_at=row.own_expires_at,
        rotated_at=row.own_rotated_at,
        revoked_at=row.own_revoked_at,
    )


def find_refresh_token(session: Session, token_digests: Sequence[bytes]) -> RefreshToken | None:
    found = find_refresh_token_with_parties(session, token_digests)
    return None if found is None else found.item


def find_refresh_token_with_parties(
    session: Session, token_digests: Sequence[bytes]
) -> WithParties[RefreshToken] | None:
    """The refresh token of one of these digests, locked, with its grant's person and client."""
    row = (
        session.connection().execute(_FIND_REFRESH_TOKEN, {"digests": list(token_digests)}).first()
    )
    if row is None:
        return None
    return WithParties(
        _refresh_token_of(row), person_from_row(row), client_from_columns(row, "client_")
    )


def mark_refresh_token_rotated(session: Session, token_id: int, *, now: datetime) -> None:
    session.connection().execute(_ROTATE_REFRESH_TOKEN, {"token_id": token_id, "now": now})


def revoke_refresh_token(session: Session, token_id: int, *, now: datetime) -> None:
    session.connection().execute(_REVOKE_REFRESH_TOKEN, {"token_id": token_id, "now": now})


def revoke_grant(session: Session, grant_id: int, *, now: datetime) -> None:
    """Revoke a consent and everything issued under it: access and refresh tokens.

    Every caller (disconnecting an app, OAuth revocation, a replayed code or refresh token)
    comes through here, so the change feed hears of each access token it ends.
    """
    session.execute(
        update(OAuthGrantRow)
        .where(OAuthGrantRow.id == grant_id, OAuthGrantRow.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    ended = session.scalars(
        update(ApiTokenRow)
        .where(ApiTokenRow.grant_id == grant_id, ApiTokenRow.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(ApiTokenRow.id)
    )
    record_changes(session, ChangeKind.API_TOKEN, list(ended), now=now)
    session.execute(
        update(OAuthRefreshTokenRow)
        .where(OAuthRefreshTokenRow.grant_id == grant_id, OAuthRefreshTokenRow.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def end_live_refresh_tokens(session: Session, grant_id: int, *, now: datetime) -> int:
    """Revoke the grant's refresh tokens still in use, and the access tokens issued with them;
    how many refresh tokens. Used when a rotated-away token is retried within the grace: its
    successor goes, so that one chain lives on, never two."""
    live = session.execute(
        select(OAuthRefreshTokenRow.id, OAuthRefreshTokenRow.access_token_id).where(
            OAuthRefreshTokenRow.grant_id == grant_id,
            OAuthRefreshTokenRow.rotated_at.is_(None),
            OAuthRefreshTokenRow.revoked_at.is_(None),
        )
    ).all()
    for token_id, access_token_id in live:
        revoke_refresh_token(session, token_id, now=now)
        if access_token_id is not None:
            revoke_api_token_of_grant(session, access_token_id, now=now)
    return len(live)


def latest_rotation(session: Session, grant_id: int) -> datetime | None:
    """When the newest rotation under this grant happened (identifies the one predecessor)."""
    return session.scalar(
        select(func.max(OAuthRefreshTokenRow.rotated_at)).where(
            OAuthRefreshTokenRow.grant_id == grant_id
        )
    )


def revoke_api_token_of_grant(session: Session, token_id: int, *, now: datetime) -> None:
    session.execute(
        update(ApiTokenRow)
        .where(ApiTokenRow.id == token_id, ApiTokenRow.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    record_change(session, ChangeKind.API_TOKEN, token_id, now=now)


def _live_grant() -> Any:
    """A grant not revoked that still has a token or refresh token not revoked."""
    live_token = exists().where(
        ApiTokenRow.grant_id == OAuthGrantRow.id, ApiTokenRow.revoked_at.is_(None)
    )
    live_refresh = exists().where(
        OAuthRefreshTokenRow.grant_id == OAuthGrantRow.id,
        OAuthRefreshTokenRow.revoked_at.is_(None),
    )
    return and_(OAuthGrantRow.revoked_at.is_(None), or_(live_token, live_refresh))


def _live_grants(person_id: int) -> Any:
    return and_(OAuthGrantRow.person_id == person_id, _live_grant())


def connected_people(session: Session) -> dict[int, int]:
    """Per client row id: how many people have it connected (a live grant)."""
    rows = session.execute(
        select(OAuthGrantRow.client_id, func.count(distinct(OAuthGrantRow.person_id)))
        .where(_live_grant())
        .group_by(OAuthGrantRow.client_id)
    )
    return {int(client_id): int(people) for client_id, people in rows}


def connected_apps(session: Session, person_id: int) -> list[ConnectedApp]:
    rows = session.execute(
        select(
            OAuthClientRow.id,
            OAuthClientRow.random_id,
            OAuthClientRow.name,
            OAuthClientRow.document_url,
            func.min(OAuthGrantRow.created_at),
        )
        .join(OAuthGrantRow, OAuthGrantRow.client_id == OAuthClientRow.id)
        .where(_live_grants(person_id))
        .group_by(
            OAuthClientRow.id,
            OAuthClientRow.random_id,
            OAuthClientRow.name,
            OAuthClientRow.document_url,
        )
        .order_by(OAuthClientRow.name)
    )
    return [
        ConnectedApp(
            client_id=public_client_id(row_id, random_id, document_url),
            name=name,
            connected_at=connected,
        )
        for row_id, random_id, name, document_url, connected in rows
    ]


def disconnect_app(session: Session, person_id: int, client_row_id: int, *, now: datetime) -> int:
    """Revoke every grant (and token) of this person for this app; return how many grants."""
    grant_ids = list(
        session.scalars(
            select(OAuthGrantRow.id).where(
                OAuthGrantRow.person_id == person_id,
                OAuthGrantRow.client_id == client_row_id,
                OAuthGrantRow.revoked_at.is_(None),
            )
        )
    )
    for grant_id in grant_ids:
        revoke_grant(session, grant_id, now=now)
    return len(grant_ids)


def live_grant_consents(
    session: Session, *, person_id: int, client_row_id: int
) -> list[tuple[str, tuple[str, ...]]]:
    """Scope and resources of the person's live grants to this app (what they agreed to and
    kept); no resources: Tessera's own API."""
    rows = session.execute(
        select(OAuthGrantRow.scope, OAuthGrantRow.resources).where(
            _live_grants(person_id), OAuthGrantRow.client_id == client_row_id
        )
    )
    return [(scope, tuple(resources or ())) for scope, resources in rows]
