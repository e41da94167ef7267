"""OAuth grants, authorization codes and refresh tokens. Codes and tokens by keyed digest."""

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import and_, distinct, exists, func, or_, select, update
from sqlalchemy.orm import Session

from tessera.core.changes import ChangeKind
from tessera.core.oauth_grants import AuthorizationCode, ConnectedApp, Grant, RefreshToken
from tessera.store.changes import record_change, record_changes
from tessera.store.tables import (
    ApiTokenRow,
    OAuthClientRow,
    OAuthCodeRow,
    OAuthGrantRow,
    OAuthRefreshTokenRow,
)


def _grant(row: OAuthGrantRow) -> Grant:
    return Grant(
        id=row.id,
        client_id=row.client_id,
        person_id=row.person_id,
        scope=row.scope,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def add_grant(
    session: Session, *, client_id: int, person_id: int, scope: str, now: datetime
) -> Grant:
    row = OAuthGrantRow(client_id=client_id, person_id=person_id, scope=scope, created_at=now)
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
) -> None:
    session.add(
        OAuthCodeRow(
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


def find_code(session: Session, code_digest: bytes) -> AuthorizationCode | None:
    """The code with this digest, used or not (a used one reveals a replay)."""
    found = session.execute(
        select(OAuthCodeRow, OAuthGrantRow)
        .join(OAuthGrantRow, OAuthGrantRow.id == OAuthCodeRow.grant_id)
        .where(OAuthCodeRow.code_digest == code_digest)
        .with_for_update(of=OAuthCodeRow)
    ).first()
    if found is None:
        return None
    code, grant = found
    return AuthorizationCode(
        id=code.id,
        grant=_grant(grant),
        redirect_uri=code.redirect_uri,
        code_challenge=code.code_challenge,
        code_challenge_method=code.code_challenge_method,
        expires_at=code.expires_at,
        used_at=code.used_at,
    )


def mark_code_used(session: Session, code_id: int, *, now: datetime) -> bool:
    """Spend a code; False when it was already spent (a concurrent exchange won)."""
    result = session.connection().execute(
        update(OAuthCodeRow)
        .where(OAuthCodeRow.id == code_id, OAuthCodeRow.used_at.is_(None))
        .values(used_at=now)
    )
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
    session.add(
        OAuthRefreshTokenRow(
            token_digest=token_digest,
            grant_id=grant.id,
            access_token_id=access_token_id,
            created_at=now,
            expires_at=expires_at,
        )
    )
    session.flush()


def find_refresh_token(session: Session, token_digest: bytes) -> RefreshToken | None:
    found = session.execute(
        select(OAuthRefreshTokenRow, OAuthGrantRow)
        .join(OAuthGrantRow, OAuthGrantRow.id == OAuthRefreshTokenRow.grant_id)
        .where(OAuthRefreshTokenRow.token_digest == token_digest)
        .with_for_update(of=OAuthRefreshTokenRow)
    ).first()
    if found is None:
        return None
    token, grant = found
    return RefreshToken(
        id=token.id,
        grant=_grant(grant),
        access_token_id=token.access_token_id,
        created_at=token.created_at,
        expires_at=token.expires_at,
        rotated_at=token.rotated_at,
        revoked_at=token.revoked_at,
    )


def mark_refresh_token_rotated(session: Session, token_id: int, *, now: datetime) -> None:
    session.execute(
        update(OAuthRefreshTokenRow)
        .where(OAuthRefreshTokenRow.id == token_id, OAuthRefreshTokenRow.rotated_at.is_(None))
        .values(rotated_at=now)
    )


def revoke_refresh_token(session: Session, token_id: int, *, now: datetime) -> None:
    session.execute(
        update(OAuthRefreshTokenRow)
        .where(OAuthRefreshTokenRow.id == token_id, OAuthRefreshTokenRow.revoked_at.is_(None))
        .values(revoked_at=now)
    )


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
            func.min(OAuthGrantRow.created_at),
        )
        .join(OAuthGrantRow, OAuthGrantRow.client_id == OAuthClientRow.id)
        .where(_live_grants(person_id))
        .group_by(OAuthClientRow.id, OAuthClientRow.random_id, OAuthClientRow.name)
        .order_by(OAuthClientRow.name)
    )
    return [
        ConnectedApp(client_id=f"{row_id}_{random_id}", name=name, connected_at=connected)
        for row_id, random_id, name, connected in rows
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


def app_names_by_grant(session: Session, grant_ids: Collection[int]) -> dict[int, str]:
    """The app each of these grants was given to, by grant id (for lists of tokens)."""
    if not grant_ids:
        return {}
    rows = session.execute(
        select(OAuthGrantRow.id, OAuthClientRow.name)
        .join(OAuthClientRow, OAuthClientRow.id == OAuthGrantRow.client_id)
        .where(OAuthGrantRow.id.in_(grant_ids))
    )
    return {row[0]: row[1] for row in rows}
