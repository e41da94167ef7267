"""Rows to core values: the one place that knows both shapes."""

from typing import Any

from sqlalchemy import Row

from tessera.core.ids import ApiKeyId, ApiTokenId, PersonId
from tessera.core.people import Person
from tessera.core.principals import ApiKeyRecord, ApiTokenRecord, TokenSource
from tessera.store.tables import ApiKeyRow, ApiTokenRow, PersonRow


def person_from_row(row: PersonRow | Row[Any]) -> Person:
    """From an ORM row, or a Core row that selected the person's columns by their names."""
    return Person(
        id=PersonId(row.id),
        name=row.name,
        first_name=row.first_name,
        last_name=row.last_name,
        display_name=row.display_name,
        primary_email=row.primary_email,
        emails=tuple(row.emails),
        is_agent=row.is_agent,
        is_admin=row.is_admin,
        is_disabled=row.is_disabled,
        timezone=row.timezone,
        language_id=row.language_id,
        phone=row.phone,
        identity_provider=row.identity_provider,
        has_password=row.password_hash is not None,
        created_at=row.created_at,
    )


def api_key_from_row(row: ApiKeyRow, person: PersonRow | None) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=ApiKeyId(row.id),
        code_digest=row.code_digest,
        person=person_from_row(person) if person is not None else None,
        is_superuser=row.is_superuser,
        admin_api=row.admin_api,
        tags=row.tags,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


def api_token_from_row(row: ApiTokenRow, person: PersonRow) -> ApiTokenRecord:
    return ApiTokenRecord(
        id=ApiTokenId(row.id),
        code_digest=row.code_digest,
        person=person_from_row(person),
        source=TokenSource(row.source),
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )
