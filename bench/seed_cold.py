"""Seed a cold-path database: many live API tokens, written in bulk, kept between runs.

Run by ``ours_seed_cold`` in ``lib/ours.sh`` with the project's interpreter, after the database
has been migrated, with the same ``TESSERA_*`` environment (above all the secret key) as the
server:

    ../.venv/bin/python seed_cold.py OUT_DIR --tokens 1000000

Argon2 plays no part: tokens are stored as keyed HMAC digests (``CodeHasher``), so a token is a
code from ``new_code`` and one digest. People (one per ``--tokens-per-person`` tokens) go in
by multi-row INSERTs, tokens by PostgreSQL's ``COPY`` (``bulk.py``). Writes
``OUT_DIR/tokens.txt`` (``ID:CODE`` a line, shuffled), then ``OUT_DIR/READY`` naming the
database and the count, which ``ours_seed_cold`` checks before seeding again. The database must
be empty: ids are given here, from 1.
"""

import argparse
import os
import secrets
import sys
import time
from pathlib import Path

from sqlalchemy import func, select, text

from bulk import add_agents, add_tokens, advance_sequences
from tessera.core.credentials import CodeHasher
from tessera.store.database import make_engine
from tessera.store.tables import ApiTokenRow


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
    people = max(1, arguments.tokens // arguments.tokens_per_person)
    try:
        with engine.connect() as connection:
            if connection.scalar(select(func.count()).select_from(ApiTokenRow)):
                sys.exit("seed_cold: the database already holds tokens; reset it first")
        emails = [f"cold-{n}@example.test" for n in range(1, people + 1)]
        person_ids = add_agents(engine, emails, first_id=1)
        credentials = add_tokens(engine, hasher, person_ids, arguments.tokens, first_id=1)
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
    database = url.split("?", 1)[0].rsplit("/", 1)[-1]
    (out / "READY").write_text(f"{database} {arguments.tokens}\n")
    print(
        f"seed_cold: {arguments.tokens:,} tokens for {people:,} agents in"
        f" {time.monotonic() - started:.0f} s -> {tokens}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
