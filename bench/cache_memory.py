"""Resident memory of one server process with the credential cache full (ADR 0010).

Builds the whole application as a worker does (``create_app``, on a throwaway SQLite file),
then fills its credential cache with ``--credentials`` entries, half API tokens and half API
keys, shaped as the store returns them (fresh strings and datetimes per row, 32-byte
digests), ``--per-person`` of them for each person (1, the default, is the worst case: no
person snapshot is shared). Prints the worker's RSS before and after, and the cost per entry.
Run on demand:

    .venv/bin/python bench/cache_memory.py [--credentials 100000] [--per-person 1]
"""

import argparse
import gc
import os
import secrets
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tessera.app import create_app
from tessera.core.ids import ApiKeyId, ApiTokenId, PersonId
from tessera.core.people import Person
from tessera.core.principals import ApiKeyRecord, ApiTokenRecord, TokenSource
from tessera.services.credential_cache import CredentialCache
from tessera.settings import Settings


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def person(number: int, created: datetime) -> Person:
    # Built from new strings, as rows are: no interning shared between entries.
    first, last = f"Agent{number:06d}", f"Surname{number:06d}"
    email = f"agent.{number:06d}@support.example.com"
    return Person(
        id=PersonId(number),
        name=f"{first} {last}",
        first_name=first,
        last_name=last,
        display_name=f"{first} {last}",
        primary_email=email,
        emails=(email,),
        is_agent=True,
        is_admin=False,
        is_disabled=False,
        timezone="".join(["Europe/", "London"]),
        language_id=1,
        phone=None,
        identity_provider=None,
        has_password=True,
        created_at=created + timedelta(seconds=number),
    )


def fill(cache: CredentialCache, count: int, per_person: int) -> None:
    now = datetime.now(UTC)
    ticket = cache.ticket()
    for number in range(1, count + 1):
        owner = person((number - 1) // per_person + 1, now)  # a new snapshot per row, as read
        if number % 2:
            token = ApiTokenRecord(
                id=ApiTokenId(number),
                code_digest=secrets.token_bytes(32),
                person=owner,
                source=TokenSource.OAUTH,
                created_at=now + timedelta(seconds=number),
                last_used_at=now + timedelta(seconds=number + 1),
                expires_at=now + timedelta(hours=1, seconds=number),
                revoked_at=None,
                oauth_client_id=f"{number % 50 + 1}_{'abcdefghijklmnopqrstuvwxyz012345'}",
            )
            cache.put_api_token(token, ticket=ticket, read_at=now)
        else:
            key = ApiKeyRecord(
                id=ApiKeyId(number),
                code_digest=secrets.token_bytes(32),
                person=owner,
                is_superuser=False,
                admin_api=False,
                tags="".join(["tickets.*, ", "-*.delete"]),
                revoked_at=None,
            )
            cache.put_api_key(key, ticket=ticket, read_at=now)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--credentials", type=int, default=100_000)
    parser.add_argument("--per-person", type=int, default=1)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            database_url=f"sqlite:///{folder}/bench.db",
            secret_key="bench-secret-key-" + "b" * 32,
            auto_migrate=True,
            credential_cache_size=arguments.credentials,
        )
        app = create_app(settings)
        cache: CredentialCache = app.state.runtime.services.credential_cache
        gc.collect()
        before = rss_mib()
        fill(cache, arguments.credentials, arguments.per_person)
        gc.collect()
        after = rss_mib()
        print(
            f"pid {os.getpid()}: RSS {before:.1f} MiB with the app built and the cache empty,"
            f" {after:.1f} MiB with {len(cache):,} credentials of"
            f" {arguments.credentials // arguments.per_person:,} people cached"
            f" ({(after - before) * 1024 * 1024 / max(len(cache), 1):,.0f} bytes each)"
        )


if __name__ == "__main__":
    main()
