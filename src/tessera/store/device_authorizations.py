"""Device authorizations (RFC 8628), found by the keyed digests of their codes."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, exists, select, update
from sqlalchemy.orm import Session

from tessera.core.device_codes import (
    DeviceAuthorization,
    DeviceListing,
    DeviceState,
    PersonsDevice,
)
from tessera.core.oauth_clients import OAuthClient
from tessera.core.oauth_grants import Grant
from tessera.core.sign_in_methods import sign_in_method
from tessera.store.oauth_clients import client_columns, client_from_columns
from tessera.store.tables import (
    ApiTokenRow,
    OAuthClientRow,
    OAuthDeviceAuthorizationRow,
    OAuthGrantRow,
    OAuthRefreshTokenRow,
)

_ROW = OAuthDeviceAuthorizationRow


@dataclass(frozen=True, slots=True)
class WithClient:
    """A device authorization and the client that asked for it, read in one statement."""

    device: DeviceAuthorization
    client: OAuthClient


def _device(row: OAuthDeviceAuthorizationRow) -> DeviceAuthorization:
    return DeviceAuthorization(
        id=row.id,
        client_id=row.client_id,
        scope=row.scope,
        state=DeviceState(row.state),
        created_at=row.created_at,
        expires_at=row.expires_at,
        interval_seconds=row.interval_seconds,
        last_polled_at=row.last_polled_at,
        person_id=row.person_id,
        decided_at=row.decided_at,
        grant_id=row.grant_id,
        used_at=row.used_at,
        resources=None if row.resources is None else tuple(row.resources),
    )


def user_code_in_use(session: Session, user_code_digests: Sequence[bytes]) -> bool:
    return bool(
        session.scalar(select(exists().where(_ROW.user_code_digest.in_(user_code_digests))))
    )


def add(
    session: Session,
    *,
    device_code_digest: bytes,
    user_code_digest: bytes,
    client_id: int,
    scope: str,
    now: datetime,
    expires_at: datetime,
    interval_seconds: int,
    resources: tuple[str, ...] | None = None,
) -> DeviceAuthorization:
    row = _ROW(
        resources=None if resources is None else list(resources),
        device_code_digest=device_code_digest,
        user_code_digest=user_code_digest,
        client_id=client_id,
        scope=scope,
        state=DeviceState.PENDING.value,
        created_at=now,
        expires_at=expires_at,
        interval_seconds=interval_seconds,
    )
    session.add(row)
    session.flush()
    return _device(row)


def find_by_device_code(
    session: Session, device_code_digests: Sequence[bytes]
) -> DeviceAuthorization | None:
    """The device polling with this code, its row locked until the poll's answer is written."""
    row = session.scalars(
        select(_ROW).where(_ROW.device_code_digest.in_(device_code_digests)).with_for_update()
    ).first()
    return None if row is None else _device(row)


def find_undecided_by_user_code(
    session: Session, user_code_digests: Sequence[bytes]
) -> WithClient | None:
    """The device a person's typed code names, with its client; None once it was decided
    (the digest is cleared then). Expired ones are found too: the caller says so."""
    row = session.execute(
        select(_ROW, *client_columns("client_"))
        .join(OAuthClientRow, OAuthClientRow.id == _ROW.client_id)
        .where(_ROW.user_code_digest.in_(user_code_digests))
    ).first()
    if row is None:
        return None
    return WithClient(_device(row[0]), client_from_columns(row, "client_").client)


def record_poll(session: Session, device_id: int, *, now: datetime, interval_seconds: int) -> None:
    session.execute(
        update(_ROW)
        .where(_ROW.id == device_id)
        .values(last_polled_at=now, interval_seconds=interval_seconds)
    )


def decide(
    session: Session,
    device_id: int,
    *,
    approved: bool,
    person_id: int,
    now: datetime,
) -> bool:
    """Record the person's answer, once: False when another answer came first."""
    state = DeviceState.APPROVED if approved else DeviceState.DENIED
    result = session.connection().execute(
        update(_ROW)
        .where(
            _ROW.id == device_id,
            _ROW.state == DeviceState.PENDING.value,
            _ROW.user_code_digest.is_not(None),
        )
        .values(
            state=state.value,
            person_id=person_id,
            decided_at=now,
            user_code_digest=None,
        )
    )
    return result.rowcount == 1


def attach_grant(session: Session, device_id: int, grant_id: int) -> None:
    session.connection().execute(update(_ROW).where(_ROW.id == device_id).values(grant_id=grant_id))


def mark_used(session: Session, device_id: int, *, now: datetime) -> bool:
    """The device code's one use: False when it was used already (a concurrent poll won)."""
    result = session.connection().execute(
        update(_ROW)
        .where(
            _ROW.id == device_id,
            _ROW.state == DeviceState.APPROVED.value,
            _ROW.used_at.is_(None),
        )
        .values(used_at=now)
    )
    return result.rowcount == 1


def get_grant(session: Session, grant_id: int) -> Grant | None:
    row = session.get(OAuthGrantRow, grant_id)
    if row is None:
        return None
    return Grant(
        id=row.id,
        client_id=row.client_id,
        person_id=row.person_id,
        scope=row.scope,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        auth_time=row.auth_time,
        resources=None if row.resources is None else tuple(row.resources),
        sign_in_method=sign_in_method(row.sign_in_method),
    )


def _grant_is_live() -> Any:
    live_token = exists().where(
        ApiTokenRow.grant_id == OAuthGrantRow.id, ApiTokenRow.revoked_at.is_(None)
    )
    live_refresh = exists().where(
        OAuthRefreshTokenRow.grant_id == OAuthGrantRow.id,
        OAuthRefreshTokenRow.revoked_at.is_(None),
    )
    return and_(OAuthGrantRow.revoked_at.is_(None), live_token | live_refresh)


def devices_of(
    session: Session, person_id: int, *, now: datetime, limit: int
) -> list[PersonsDevice]:
    """The devices this person approved or denied, newest first."""
    rows = session.execute(
        select(
            _ROW.id,
            _ROW.state,
            _ROW.decided_at,
            _ROW.expires_at,
            _ROW.used_at,
            OAuthClientRow.id,
            OAuthClientRow.random_id,
            OAuthClientRow.name,
            OAuthGrantRow.revoked_at,
            _grant_is_live().label("live"),
        )
        .join(OAuthClientRow, OAuthClientRow.id == _ROW.client_id)
        .outerjoin(OAuthGrantRow, OAuthGrantRow.id == _ROW.grant_id)
        .where(_ROW.person_id == person_id, _ROW.decided_at.is_not(None))
        .order_by(_ROW.decided_at.desc(), _ROW.id.desc())
        .limit(limit)
    )
    return [_listed(row, now) for row in rows]


def _listed(row: Row[Any], now: datetime) -> PersonsDevice:
    values: tuple[Any, ...] = tuple(row)
    device_id, state, decided_at, expires_at, used_at, client_row, random_id, name = values[:8]
    grant_revoked_at, live = values[8:]
    if state == DeviceState.DENIED.value:
        status = DeviceListing.DENIED
    elif grant_revoked_at is not None:
        status = DeviceListing.ENDED
    elif used_at is not None:
        status = DeviceListing.CONNECTED if live else DeviceListing.ENDED
    else:
        status = DeviceListing.EXPIRED if expires_at <= now else DeviceListing.WAITING
    return PersonsDevice(
        id=device_id,
        client_name=name,
        client_id=f"{client_row}_{random_id}",
        decided_at=decided_at,
        status=status,
    )


def grant_of_persons_device(session: Session, person_id: int, device_id: int) -> int | None:
    """The grant of a device this person approved, if it has one still."""
    return session.scalar(
        select(_ROW.grant_id).where(_ROW.id == device_id, _ROW.person_id == person_id)
    )
