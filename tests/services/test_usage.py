from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from tessera.core.credentials import CredentialKind
from tessera.services.usage import UsageRecorder
from tessera.store import schema
from tessera.store.database import Database, make_engine


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
