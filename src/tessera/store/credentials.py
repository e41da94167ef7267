"""The data half of the per-request check: one SELECT by primary key, person joined.

Plain Core statements on a connection, built once at import: the ORM's identity map and unit
of work buy nothing for a read that maps straight to frozen values, and cost most of the time
of a check (bench/hot_path.py).
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, select

from tessera.core.ids import ApiKeyId, ApiTokenId, PersonId
from tessera.core.oauth_clients import public_client_id
from tessera.core.people import Person
from tessera.core.principals import ApiKeyRecord, ApiTokenRecord, TokenSource
from tessera.store.id_lists import among, id_list_value, id_parameter
from tessera.store.mapping import person_from_row
from tessera.store.tables import ApiKeyRow, ApiTokenRow, OAuthClientRow, OAuthGrantRow, PersonRow

_PERSON = PersonRow.__table__
_KEY = ApiKeyRow.__table__
_TOKEN = ApiTokenRow.__table__
_GRANT = OAuthGrantRow.__table__
_CLIENT = OAuthClientRow.__table__
# The person's columns keep their names; the credential's are prefixed.
_PERSON_COLUMNS = list(_PERSON.c)

_KEY_SELECT = select(
    _KEY.c.id.label("key_id"),
    _KEY.c.code_digest.label("key_code_digest"),
    _KEY.c.person_id.label("key_person_id"),
    _KEY.c.is_superuser.label("key_is_superuser"),
    _KEY.c.admin_api.label("key_admin_api"),
    _KEY.c.tags.label("key_tags"),
    _KEY.c.revoked_at.label("key_revoked_at"),
    _KEY.c.last_used_at.label("key_last_used_at"),
    *_PERSON_COLUMNS,
).select_from(_KEY.outerjoin(_PERSON, _PERSON.c.id == _KEY.c.person_id))
_FIND_KEY = _KEY_SELECT.where(_KEY.c.id == bindparam("credential_id"))

_TOKEN_SELECT = select(
    _TOKEN.c.id.label("token_id"),
    _TOKEN.c.code_digest.label("token_code_digest"),
    _TOKEN.c.source.label("token_source"),
    _TOKEN.c.scope.label("token_scope"),
    _TOKEN.c.created_at.label("token_created_at"),
    _TOKEN.c.last_used_at.label("token_last_used_at"),
    _TOKEN.c.expires_at.label("token_expires_at"),
    _TOKEN.c.revoked_at.label("token_revoked_at"),
    _TOKEN.c.audience.label("token_audience"),
    _CLIENT.c.id.label("client_id"),
    _CLIENT.c.random_id.label("client_random_id"),
    _CLIENT.c.document_url.label("client_document_url"),
    _CLIENT.c.is_enabled.label("client_is_enabled"),
    _CLIENT.c.context.label("client_context"),
    *_PERSON_COLUMNS,
).select_from(
    _TOKEN.join(_PERSON, _PERSON.c.id == _TOKEN.c.person_id)
    .outerjoin(_GRANT, _GRANT.c.id == _TOKEN.c.grant_id)
    .outerjoin(_CLIENT, _CLIENT.c.id == _GRANT.c.client_id)
)
_FIND_TOKEN = _TOKEN_SELECT.where(_TOKEN.c.id == bindparam("credential_id"))

_FIND_PERSON = select(*_PERSON_COLUMNS).where(_PERSON.c.id == bindparam("person_id"))

_DIALECTS = ("postgresql", "sqlite")
# The loaders and the cache's refresher read many at once (ADR 0010), a batch of any size: one
# statement per dialect whatever the count of ids (store/id_lists.py).
_FIND_KEYS = {
    name: _KEY_SELECT.where(among(_KEY.c.id, id_parameter("ids", name), name)) for name in _DIALECTS
}
_FIND_TOKENS = {
    name: _TOKEN_SELECT.where(among(_TOKEN.c.id, id_parameter("ids", name), name))
    for name in _DIALECTS
}
_FIND_PEOPLE = {
    name: select(*_PERSON_COLUMNS).where(among(_PERSON.c.id, id_parameter("ids", name), name))
    for name in _DIALECTS
}


def _many(statements: dict[str, Any], connection: Connection, ids: Sequence[int]) -> Any:
    """The rows of the ids, by the statement made for the connection's dialect."""
    dialect = connection.dialect.name
    return connection.execute(statements[dialect], {"ids": id_list_value(ids, dialect)})


def find_api_key(connection: Connection, key_id: ApiKeyId) -> ApiKeyRecord | None:
    row = connection.execute(_FIND_KEY, {"credential_id": key_id}).first()
    return None if row is None else _key(row)


def find_api_keys(connection: Connection, key_ids: Sequence[int]) -> list[ApiKeyRecord]:
    """The keys of these ids that exist, in no particular order."""
    return [_key(row) for row in _many(_FIND_KEYS, connection, key_ids)]


def _key(row: Any) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=ApiKeyId(row.key_id),
        code_digest=row.key_code_digest,
        person=_person(row) if row.key_person_id is not None else None,
        is_superuser=row.key_is_superuser,
        admin_api=row.key_admin_api,
        tags=row.key_tags,
        revoked_at=row.key_revoked_at,
        last_used_at=row.key_last_used_at,
    )


def find_api_token(connection: Connection, token_id: ApiTokenId) -> ApiTokenRecord | None:
    row = connection.execute(_FIND_TOKEN, {"credential_id": token_id}).first()
    return None if row is None else _token(row)


def find_api_tokens(connection: Connection, token_ids: Sequence[int]) -> list[ApiTokenRecord]:
    """The tokens of these ids that exist, in no particular order."""
    return [_token(row) for row in _many(_FIND_TOKENS, connection, token_ids)]


def _token(row: Any) -> ApiTokenRecord:
    return ApiTokenRecord(
        id=ApiTokenId(row.token_id),
        code_digest=row.token_code_digest,
        person=_person(row),
        source=TokenSource(row.token_source),
        created_at=row.token_created_at,
        last_used_at=row.token_last_used_at,
        expires_at=row.token_expires_at,
        revoked_at=row.token_revoked_at,
        oauth_client_id=(
            public_client_id(row.client_id, row.client_random_id, row.client_document_url)
            if row.client_id is not None
            else None
        ),
        oauth_client_enabled=row.client_is_enabled is not False,
        oauth_requires_agent=row.client_context == "agent",
        audience=tuple(row.token_audience) if row.token_audience is not None else None,
        scope=row.token_scope,
    )


def find_person(connection: Connection, person_id: PersonId) -> Person | None:
    row = connection.execute(_FIND_PERSON, {"person_id": person_id}).first()
    return None if row is None else _person(row)


def find_people(connection: Connection, person_ids: Sequence[int]) -> list[Person]:
    """The people of these ids that exist, in no particular order."""
    return [_person(row) for row in _many(_FIND_PEOPLE, connection, person_ids)]


def _person(row: Any) -> Person:
    # A Core row holding the person's columns under their own names (see _PERSON_COLUMNS).
    return person_from_row(row)
