"""The migrations are the schema: they build it, match the models, and undo cleanly."""

import os
import secrets
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect
from sqlalchemy.engine import make_url

from tessera.store import schema
from tessera.store.database import make_engine, normalize_url
from tessera.store.tables import Base
from tests.conftest import POSTGRES_URL_VARIABLE


@pytest.fixture
def empty_engine(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('migrations')}/m.db")
        yield engine
        engine.dispose()
        return
    base = normalize_url(os.environ[POSTGRES_URL_VARIABLE])
    name = f"tessera_migrations_{secrets.token_hex(6)}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{name}"')
    engine = make_engine(
        make_url(base)
        .update_query_dict({"options": f"-csearch_path={name}"})
        .render_as_string(hide_password=False)
    )
    yield engine
    engine.dispose()
    with admin.begin() as connection:
        connection.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')
    admin.dispose()


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
