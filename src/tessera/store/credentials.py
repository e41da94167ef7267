"""The data half of the per-request check: one SELECT by primary key, person joined."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from tessera.core.ids import ApiKeyId, ApiTokenId, PersonId
from tessera.core.people import Person
from tessera.core.principals import ApiKeyRecord, ApiTokenRecord
from tessera.store.mapping import api_key_from_row, api_token_from_row, person_from_row
from tessera.store.rows import row_by_id
from tessera.store.tables import ApiKeyRow, ApiTokenRow, PersonRow


def find_api_key(session: Session, key_id: ApiKeyId) -> ApiKeyRecord | None:
    row = session.execute(
        select(ApiKeyRow, PersonRow)
        .outerjoin(PersonRow, PersonRow.id == ApiKeyRow.person_id)
        .where(ApiKeyRow.id == key_id)
    ).first()
    return None if row is None else api_key_from_row(row[0], row[1])


def find_api_token(session: Session, token_id: ApiTokenId) -> ApiTokenRecord | None:
    row = session.execute(
        select(ApiTokenRow, PersonRow)
        .join(PersonRow, PersonRow.id == ApiTokenRow.person_id)
        .where(ApiTokenRow.id == token_id)
    ).first()
    return None if row is None else api_token_from_row(row[0], row[1])


def find_person(session: Session, person_id: PersonId) -> Person | None:
    row = row_by_id(session, PersonRow, person_id)
    return None if row is None else person_from_row(row)
