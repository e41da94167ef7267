"""Rows to core values: the one place that knows both shapes."""

from typing import Any

from sqlalchemy import Row

from tessera.core.ids import PersonId
from tessera.core.people import Person
from tessera.store.tables import PersonRow


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
        updated_at=row.updated_at,
    )
