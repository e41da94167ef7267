from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from tessera.bootstrap import Runtime
from tessera.core.credentials import CredentialKind
from tessera.services.authenticate import PresentedRequest
from tessera.services.usage import GRANULARITY, UsageRecorder
from tessera.store import schema
from tessera.store.database import Database, make_engine
from tessera.store.tables import ApiKeyRow, ApiTokenRow
from tests.clock import ManualClock
from tests.conftest import extra_runtime
from tests.factories import key_header, make_key, make_person, make_token, token_header


def test_a_failed_flush_keeps_what_it_could_not_write(tmp_path: Path) -> None:
    database = Database(make_engine(f"sqlite:///{tmp_path}/usage.db"))
    recorder = UsageRecorder(database)
    recorder.record(CredentialKind.API_KEY, 1, datetime.now(UTC), "192.0.2.1")
    recorder.record(CredentialKind.API_TOKEN, 1, datetime.now(UTC), "192.0.2.1")
    try:
        with pytest.raises(OperationalError):
            recorder.flush()  # no tables yet: the database is not migrated

        schema.upgrade(database.engine)

        assert recorder.flush() == 2
        assert recorder.flush() == 0
    finally:
        database.dispose()


def test_only_the_latest_use_of_a_credential_is_kept(tmp_path: Path) -> None:
    database = Database(make_engine(f"sqlite:///{tmp_path}/usage.db"))
    schema.upgrade(database.engine)
    recorder = UsageRecorder(database)
    for address in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
        recorder.record(CredentialKind.API_KEY, 7, datetime.now(UTC), address)
    try:
        assert recorder.flush() == 1
    finally:
        database.dispose()


@pytest.fixture
def uncached(database_url: str, clock: ManualClock) -> Iterator[Runtime]:
    """Every check reads the database: what it holds decides whether a use is written."""
    with extra_runtime(database_url, clock=clock, credential_cache_size=0) as runtime:
        yield runtime


def test_a_use_within_a_minute_of_the_stored_one_is_not_written_again(
    uncached: Runtime, clock: ManualClock
) -> None:
    services = uncached.services
    agent = make_person(services)
    headers = [key_header(make_key(services, agent)), token_header(make_token(services, agent))]

    def use_all() -> None:
        for header in headers:
            services.authenticator.authenticate(
                PresentedRequest(authorization=header["Authorization"], client_address="192.0.2.7")
            )

    use_all()
    assert services.usage.flush() == 2  # never used before
    clock.advance(GRANULARITY / 2)
    use_all()
    assert services.usage.flush() == 0  # the stored use is recent enough
    clock.advance(GRANULARITY / 2)
    last_used = clock.now()
    use_all()
    assert services.usage.flush() == 2
    with uncached.database.read() as session:
        stored = [row.last_used_at for row in session.scalars(select(ApiKeyRow))] + [
            row.last_used_at for row in session.scalars(select(ApiTokenRow))
        ]
    assert all(used_at is not None and last_used <= used_at <= clock.now() for used_at in stored)
