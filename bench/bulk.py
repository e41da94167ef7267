"""Bulk writes for the seeding scripts: many people, API tokens and API keys in seconds.

Through the store's own tables, with the keyed digests the server computes (``CodeHasher``), so
what lands in the database is what the services would have written, minus the audit events and
one transaction per row that make the services take about 15 ms per agent. Ids are given here:
call ``advance_sequences`` before anything else adds rows.
"""

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select

from tessera.bootstrap import build_runtime
from tessera.core.credentials import CodeHasher, format_credential, new_code
from tessera.core.oauth_scopes import CLIENT_SCOPE
from tessera.core.principals import TokenSource
from tessera.secret_key_file import secret_keys
from tessera.settings import Settings
from tessera.store.tables import ApiKeyRow, ApiTokenRow, PersonEmailRow, PersonRow

BATCH = 20_000
TOKEN_COLUMNS = ("id", "code_digest", "person_id", "scope", "source", "created_at")


def batches(rows: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def add_agents(
    engine: Engine, emails: list[str], *, first_id: int, password_hash: str | None = None
) -> list[int]:
    """One agent per e-mail, ids from ``first_id`` on; returns the ids."""
    now = datetime.now(UTC)
    ids = list(range(first_id, first_id + len(emails)))

    def rows() -> Iterator[dict[str, Any]]:
        for person_id, email in zip(ids, emails, strict=True):
            yield {
                "id": person_id,
                "primary_email": email,
                "emails": [email],
                "name": f"Bench Agent {person_id}",
                "first_name": "Bench",
                "last_name": f"Agent {person_id}",
                "display_name": f"Bench Agent {person_id}",
                "is_agent": True,
                "is_admin": False,
                "is_disabled": False,
                "password_hash": password_hash,
                "identity_provider": None,
                "timezone": "UTC",
                "language_id": 1,
                "phone": None,
                "created_at": now,
                "updated_at": now,
            }

    with engine.begin() as connection:
        for batch in batches(rows()):
            connection.execute(insert(PersonRow), batch)
            connection.execute(
                insert(PersonEmailRow),
                [{"id": r["id"], "person_id": r["id"], "email": r["primary_email"]} for r in batch],
            )
    return ids


def add_tokens(
    engine: Engine, hasher: CodeHasher, person_ids: list[int], count: int, *, first_id: int
) -> list[str]:
    """``count`` live API tokens (device-setup source), spread over the people in turn.

    Returns their ``ID:CODE`` strings. PostgreSQL gets them by ``COPY``, others by executemany.
    """
    now = datetime.now(UTC)
    source = TokenSource.DEVICE_SETUP.value
    credentials: list[str] = []

    def rows() -> Iterator[tuple[Any, ...]]:
        for n in range(count):
            token_id = first_id + n
            code = new_code()
            credentials.append(format_credential(token_id, code))
            person_id = person_ids[n % len(person_ids)]
            yield (token_id, hasher.digest(code), person_id, CLIENT_SCOPE, source, now)

    if engine.dialect.name != "postgresql":
        with engine.begin() as connection:
            for batch in batches(dict(zip(TOKEN_COLUMNS, row, strict=True)) for row in rows()):
                connection.execute(insert(ApiTokenRow), batch)
        return credentials
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        statement = f"COPY api_tokens ({', '.join(TOKEN_COLUMNS)}) FROM STDIN"
        with cursor.copy(statement) as copy:
            for row in rows():
                copy.write_row(row)
        raw.commit()
    finally:
        raw.close()
    return credentials


def add_keys(
    engine: Engine, hasher: CodeHasher, person_ids: list[int], *, first_id: int
) -> list[str]:
    """One normal API key (all tags) bound to each person; returns their ``ID:CODE`` strings."""
    now = datetime.now(UTC)
    credentials: list[str] = []
    rows = []
    for n, person_id in enumerate(person_ids):
        key_id = first_id + n
        code = new_code()
        credentials.append(format_credential(key_id, code))
        rows.append(
            {
                "id": key_id,
                "code_digest": hasher.digest(code),
                "person_id": person_id,
                "note": "bench",
                "is_superuser": False,
                "admin_api": False,
                "tags": "*",
                "created_at": now,
            }
        )
    with engine.begin() as connection:
        for batch in batches(rows):
            connection.execute(insert(ApiKeyRow), batch)
    return credentials


def advance_sequences(engine: Engine) -> None:
    """Ids were given here: the next one the server makes must come after them (PostgreSQL)."""
    if engine.dialect.name != "postgresql":
        return  # SQLite's AUTOINCREMENT follows the largest id by itself
    with engine.begin() as connection:
        for table in (PersonRow, PersonEmailRow, ApiTokenRow, ApiKeyRow):
            largest = connection.scalar(select(func.coalesce(func.max(table.id), 1)))
            sequence = func.pg_get_serial_sequence(table.__tablename__, "id")
            connection.execute(select(func.setval(sequence, largest)))


def seed_agents_with_keys(settings: Settings, pool: int, name: str) -> tuple[list[int], list[str]]:
    """``pool`` agents (``name-N@bench.test``), one key each, in a migrated database: their ids
    and key strings; the sequences moved past them, so the services can add more."""
    runtime = build_runtime(settings)
    try:
        engine = runtime.database.engine
        people = add_agents(engine, [f"{name}-{n}@bench.test" for n in range(pool)], first_id=1)
        keys = add_keys(engine, CodeHasher(secret_keys(settings)), people, first_id=1)
        advance_sequences(engine)
    finally:
        runtime.database.dispose()
    return people, keys
