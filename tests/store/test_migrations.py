"""The migrations are the schema: they build it, match the models, and undo cleanly."""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from tessera.store import schema
from tessera.store.database import make_engine
from tessera.store.tables import Base
from tests.conftest import fresh_database


@pytest.fixture
def empty_engine(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    with fresh_database(backend, tmp_path_factory.mktemp("migrations")) as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


def test_upgrade_matches_the_models_and_downgrade_undoes_it(empty_engine: Engine) -> None:
    schema.upgrade(empty_engine)

    assert schema.is_current(empty_engine)
    with empty_engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []

    schema.downgrade(empty_engine, "base")

    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}
    schema.upgrade(empty_engine)
    assert schema.is_current(empty_engine)


def test_upgrade_twice_changes_nothing(empty_engine: Engine) -> None:
    schema.upgrade(empty_engine)
    tables = set(inspect(empty_engine).get_table_names())

    schema.upgrade(empty_engine)

    assert set(inspect(empty_engine).get_table_names()) == tables
    assert schema.current_revision(empty_engine) == schema.head_revision(empty_engine)


def test_the_head_read_from_the_files_is_alembics() -> None:
    config = Config()
    config.set_main_option("script_location", str(Path(schema.__file__).parent / "migrations"))
    config.set_main_option("path_separator", "os")

    assert schema.head_revision() == ScriptDirectory.from_config(config).get_current_head()


def test_a_database_never_migrated_is_at_no_revision(empty_engine: Engine) -> None:
    assert schema.current_revision(empty_engine) is None
    assert not schema.is_current(empty_engine)


def test_a_database_at_two_revisions_is_refused(empty_engine: Engine) -> None:
    schema.upgrade(empty_engine)
    with empty_engine.begin() as connection:
        connection.execute(text("INSERT INTO alembic_version (version_num) VALUES ('0001')"))

    with pytest.raises(RuntimeError, match="several revisions"):
        schema.current_revision(empty_engine)


def test_upgrading_a_current_database_does_not_load_alembic(
    empty_engine: Engine, tmp_path: Path
) -> None:
    # A worker starting on a migrated database checks it without importing Alembic (about
    # 13 MiB, ADR 0016); only a fresh process can tell.
    schema.upgrade(empty_engine)
    url = empty_engine.url.render_as_string(hide_password=False)
    probe = (
        "import sys\n"
        "from tessera.store import schema\n"
        "from tessera.store.database import make_engine\n"
        f"engine = make_engine({url!r})\n"
        "schema.upgrade(engine)\n"
        "print(schema.is_current(engine), 'alembic' in sys.modules)\n"
        "engine.dispose()\n"
    )
    result = subprocess.run(  # noqa: S603 — our own interpreter, our own probe
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=tmp_path
    )

    assert result.stdout.split() == ["True", "False"]


def test_the_id_token_algorithm_column_keeps_every_client_and_grant(empty_engine: Engine) -> None:
    # Added in place (ALTER TABLE … ADD COLUMN with a default), never by rebuilding oauth_clients:
    # on SQLite a rebuild drops the table, and the drop would cascade into every grant.
    schema.upgrade(empty_engine, "0009")
    now = "2026-12-01 00:00:00+00:00"
    with empty_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO people (id, primary_email, name, first_name, last_name, display_name,"
                " emails, is_agent, is_admin, is_disabled, timezone, language_id, created_at,"
                " updated_at) VALUES (1, 'p@example.test', 'P', 'P', '', 'P', '[]', true, false,"
                " false, 'UTC', 1, :now, :now)"
            ),
            {"now": now},
        )
        connection.execute(
            text(
                "INSERT INTO oauth_clients (id, random_id, name, context, redirect_uris,"
                " allowed_grant_type, is_enabled, is_public, created_at, updated_at) VALUES"
                " (1, 'r', 'App', 'agent', '[]', 'authorization_code', true, true, :now, :now)"
            ),
            {"now": now},
        )
        connection.execute(
            text(
                "INSERT INTO oauth_grants (id, client_id, person_id, scope, created_at)"
                " VALUES (1, 1, 1, 'session', :now)"
            ),
            {"now": now},
        )

    schema.upgrade(empty_engine)

    with empty_engine.connect() as connection:
        algorithms = connection.execute(
            text("SELECT id_token_signed_response_alg FROM oauth_clients")
        ).all()
        grants = connection.execute(text("SELECT count(*) FROM oauth_grants")).scalar()
    assert [row[0] for row in algorithms] == ["RS256"]
    assert grants == 1
