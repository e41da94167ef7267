"""The migrations are the schema: they build it, match the models, and undo cleanly."""

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

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
