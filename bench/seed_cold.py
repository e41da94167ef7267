"""Seed a cold-path database: many live API tokens, written in bulk, kept between runs.

Run by ``ours_seed_cold`` in ``lib/ours.sh`` with the project's interpreter, after the database
has been migrated, with the same ``TESSERA_*`` environment (above all the secret key) as the
server:

    ../.venv/bin/python seed_cold.py OUT_DIR --tokens 1000000

Argon2 plays no part: tokens are stored as keyed HMAC digests (``CodeHasher``), so a token is a
code from ``new_code`` and one digest. People (one per ``--tokens-per-person`` tokens) go in
with one multi-row INSERT per batch, tokens with PostgreSQL's ``COPY`` (executemany elsewhere),
through the store's own tables. Writes ``OUT_DIR/tokens.txt`` (``ID:CODE`` a line, shuffled),
then ``OUT_DIR/READY`` naming the database and the count, which ``ours_seed_cold`` checks
before seeding again. The database must be empty: ids are given here, from 1.
"""

import argparse
import os
import secrets
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select, text

from tessera.core.credentials import CodeHasher, format_credential, new_code
from tessera.core.principals import TokenSource
from tessera.services.api_tokens import CLIENT_SCOPE
from tessera.store.database import make_engine
from tessera.store.tables import ApiTokenRow, PersonEmailRow, PersonRow

BATCH = 20_000
TOKEN_COLUMNS = ("id", "code_digest", "person_id", "scope", "source", "created_at")


def people_rows(count: int, now: datetime) -> Iterator[dict[str, Any]]:
    for n in range(1, count + 1):
        email = f"cold-{n}@example.test"
        yield {
            "id": n,
            "primary_email": email,
            "emails": [email],
            "name": f"Cold Agent {n}",
            "first_name": "Cold",
            "last_name": f"Agent {n}",
            "display_name": f"Cold Agent {n}",
            "is_agent": True,
            "is_admin": False,
            "is_disabled": False,
            "password_hash": None,
            "identity_provider": None,
            "timezone": "UTC",
            "language_id": 1,
            "phone": None,
            "created_at": now,
            "updated_at": now,
        }


def batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def seed_people(engine: Engine, count: int, now: datetime) -> None:
    with engine.begin() as connection:
        for batch in batches(people_rows(count, now)):
            connection.execute(insert(PersonRow), batch)
            connection.execute(
                insert(PersonEmailRow),
                [{"id": r["id"], "person_id": r["id"], "email": r["primary_email"]} for r in batch],
            )


def token_rows(
    count: int, people: int, hasher: CodeHasher, now: datetime, out: list[str]
) -> Iterator[tuple[Any, ...]]:
    for token_id in range(1, count + 1):
        code = new_code()
        out.append(format_credential(token_id, code))
        person_id = (token_id - 1) % people + 1
        yield (
            token_id,
            hasher.digest(code),
            person_id,
            CLIENT_SCOPE,
            TokenSource.DEVICE_SETUP.value,
            now,
        )


def seed_tokens(engine: Engine, rows: Iterator[tuple[Any, ...]]) -> None:
    if engine.dialect.name != "postgresql":
        with engine.begin() as connection:
            for batch in batches(dict(zip(TOKEN_COLUMNS, row, strict=True)) for row in rows):
                connection.execute(insert(ApiTokenRow), batch)
        return
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        statement = f"COPY api_tokens ({', '.join(TOKEN_COLUMNS)}) FROM STDIN"
        with cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
        raw.commit()
    finally:
        raw.close()


def advance_sequences(engine: Engine) -> None:
    """Ids were given here: the next one the server makes must come after them."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as connection:
        for table in (PersonRow, PersonEmailRow, ApiTokenRow):
            largest = connection.scalar(select(func.coalesce(func.max(table.id), 1)))
            connection.execute(
                select(func.setval(func.pg_get_serial_sequence(table.__tablename__, "id"), largest))
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--tokens", type=int, default=1_000_000)
    parser.add_argument("--tokens-per-person", type=int, default=100)
    arguments = parser.parse_args()
    out: Path = arguments.out_dir
    out.mkdir(parents=True, exist_ok=True)
    (out / "READY").unlink(missing_ok=True)

    url = os.environ["TESSERA_DATABASE_URL"]
    hasher = CodeHasher(os.environ["TESSERA_SECRET_KEY"].encode())
    engine = make_engine(url, pool_size=1)
    started = time.monotonic()
    now = datetime.now(UTC)
    people = max(1, arguments.tokens // arguments.tokens_per_person)
    try:
        with engine.connect() as connection:
            if connection.scalar(select(func.count()).select_from(ApiTokenRow)):
                sys.exit("seed_cold: the database already holds tokens; reset it first")
        seed_people(engine, people, now)
        credentials: list[str] = []
        seed_tokens(engine, token_rows(arguments.tokens, people, hasher, now, credentials))
        advance_sequences(engine)
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                connection.execute(text("ANALYZE"))  # plans for the new sizes, not empty tables
    finally:
        engine.dispose()

    secrets.SystemRandom().shuffle(credentials)
    tokens = out / "tokens.txt"
    tokens.write_text("\n".join(credentials) + "\n")
    tokens.chmod(0o600)
    (out / "READY").write_text(f"{url.rsplit('/', 1)[-1]} {arguments.tokens}\n")
    print(
        f"seed_cold: {arguments.tokens:,} tokens for {people:,} agents in"
        f" {time.monotonic() - started:.0f} s -> {tokens}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
