"""Registered protected resources (RFC 8707 audiences), looked up by URI at every grant."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tessera.core.resources import ProtectedResource
from tessera.store.rows import row_by_id
from tessera.store.tables import ProtectedResourceRow


def _resource(row: ProtectedResourceRow) -> ProtectedResource:
    return ProtectedResource(
        id=row.id,
        uri=row.uri,
        name=row.name,
        client_ids=None if row.client_ids is None else tuple(row.client_ids),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def add_resource(
    session: Session,
    *,
    uri: str,
    name: str,
    client_ids: Sequence[int] | None,
    now: datetime,
) -> ProtectedResource:
    row = ProtectedResourceRow(
        uri=uri,
        name=name,
        client_ids=None if client_ids is None else list(client_ids),
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return _resource(row)


def get_resource(session: Session, resource_id: int) -> ProtectedResource | None:
    row = row_by_id(session, ProtectedResourceRow, resource_id)
    return None if row is None else _resource(row)


def find_by_uri(session: Session, uri: str) -> ProtectedResource | None:
    row = session.scalars(select(ProtectedResourceRow).where(ProtectedResourceRow.uri == uri))
    found = row.first()
    return None if found is None else _resource(found)


def find_by_uris(session: Session, uris: Sequence[str]) -> dict[str, ProtectedResource]:
    """The registered resources among ``uris`` (one statement for a whole request)."""
    if not uris:
        return {}
    rows = session.scalars(
        select(ProtectedResourceRow).where(ProtectedResourceRow.uri.in_(list(uris)))
    )
    return {row.uri: _resource(row) for row in rows}


def list_resources(session: Session) -> list[ProtectedResource]:
    rows = session.scalars(select(ProtectedResourceRow).order_by(ProtectedResourceRow.uri))
    return [_resource(row) for row in rows]


def update_resource(
    session: Session,
    resource_id: int,
    *,
    name: str | None,
    client_ids: Sequence[int] | None,
    change_clients: bool,
    now: datetime,
) -> ProtectedResource | None:
    row = row_by_id(session, ProtectedResourceRow, resource_id, for_update=True)
    if row is None:
        return None
    if name is not None:
        row.name = name
    if change_clients:
        row.client_ids = None if client_ids is None else list(client_ids)
    row.updated_at = now
    session.flush()
    return _resource(row)


def delete_resource(session: Session, resource_id: int) -> ProtectedResource | None:
    row = row_by_id(session, ProtectedResourceRow, resource_id, for_update=True)
    if row is None:
        return None
    found = _resource(row)
    session.execute(delete(ProtectedResourceRow).where(ProtectedResourceRow.id == resource_id))
    return found
