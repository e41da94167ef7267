"""Many ids as one parameter: the same statement whatever their number (store/id_lists.py).

Each new statement text is prepared and kept by the driver (Python's ``sqlite3`` keeps 128 a
connection), so a batch read whose ``IN`` list grew with its size made the soak's memory climb
for most of an hour (issue #16). These run on SQLite and on PostgreSQL.
"""

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, func, select

from tessera.bootstrap import Runtime
from tessera.core.changes import ChangeKind
from tessera.services.container import Services
from tessera.store import credentials as stored
from tessera.store.changes import changes_after, record_changes
from tessera.store.housekeeping import Cutoffs, prune_credential_changes
from tessera.store.tables import CredentialChangeRow
from tests.conftest import select_statements
from tests.factories import make_key, make_person, make_token

SIZES = range(1, 13)
#: No row has this id: asked for among the others, it is simply not found.
NOBODY = 2**40

Finder = Callable[[Any, Sequence[int]], Sequence[Any]]


def _ids_of(kind: str, services: Services) -> tuple[Finder, list[int]]:
    person = make_person(services)
    if kind == "keys":
        return stored.find_api_keys, [make_key(services, person).key.id for _ in SIZES]
    if kind == "tokens":
        return stored.find_api_tokens, [make_token(services, person).token.id for _ in SIZES]
    return stored.find_people, [make_person(services).id for _ in SIZES]


@pytest.mark.parametrize("kind", ["keys", "tokens", "people"])
def test_a_batch_of_any_size_is_read_by_one_statement(
    kind: str, runtime: Runtime, services: Services
) -> None:
    find, ids = _ids_of(kind, services)
    engine = runtime.database.engine

    found: dict[int, set[int]] = {}
    with select_statements(engine, this_thread=True) as selects, engine.connect() as connection:
        for size in SIZES:
            # A repeated id and an unknown one, as a loader's batch may hold.
            asked = [*ids[:size], ids[0], NOBODY]
            found[size] = {each.id for each in find(connection, asked)}

    assert found == {size: set(ids[:size]) for size in SIZES}
    assert len(selects) == len(SIZES)
    assert len(set(selects)) == 1, "a new statement for each count of ids"


def test_an_empty_batch_finds_nothing(runtime: Runtime, services: Services) -> None:
    make_key(services, make_person(services))
    with runtime.database.engine.connect() as connection:
        assert stored.find_api_keys(connection, []) == []


def test_a_prune_deletes_batches_of_every_size_by_one_statement(
    runtime: Runtime, services: Services
) -> None:
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    with runtime.database.write() as session:
        record_changes(session, ChangeKind.PERSON, list(range(1, 16)), now=long_ago)
    now = datetime.now(UTC)
    cutoffs = Cutoffs(now, None, None, now, now, now)

    deletes: list[str] = []

    def record(conn: object, cursor: object, statement: str, *rest: object) -> None:
        if statement.lstrip().upper().startswith("DELETE"):
            deletes.append(statement)

    deleted = []
    event.listen(runtime.database.engine, "before_cursor_execute", record)
    try:
        for size in (1, 2, 3, 4, 5):
            with runtime.database.write() as session:
                deleted.append(prune_credential_changes(session, cutoffs, limit=size))
    finally:
        event.remove(runtime.database.engine, "before_cursor_execute", record)

    assert deleted == [1, 2, 3, 4, 5]
    assert len(deletes) == 5
    assert len(set(deletes)) == 1, "a new statement for each count of ids"
    with runtime.database.read() as session:
        assert session.scalar(select(func.count()).select_from(CredentialChangeRow)) == 0


def test_the_change_feed_reads_its_holes_by_primary_key_beside_the_rows_above_its_cursor(
    runtime: Runtime, services: Services
) -> None:
    """Ids still in flight are asked beside the range: in one ``OR``, SQLite scanned the table."""
    with runtime.database.write() as session:
        record_changes(session, ChangeKind.PERSON, list(range(1, 11)), now=datetime.now(UTC))
    with runtime.database.read() as session:
        ids = sorted(session.scalars(select(CredentialChangeRow.id)))
    cursor, holes = ids[6], [ids[1], ids[3]]
    sent: list[tuple[str, Any]] = []

    def record(_c: object, _cursor: object, statement: str, parameters: Any, *_: object) -> None:
        sent.append((statement, parameters))

    engine = runtime.database.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        with engine.connect() as connection:
            found = changes_after(connection, cursor, also=holes, limit=4)
            first_of_all = changes_after(connection, cursor, also=holes, limit=2)
    finally:
        event.remove(engine, "before_cursor_execute", record)

    assert [row_id for row_id, _ in found] == [ids[1], ids[3], ids[7], ids[8]]
    assert [row_id for row_id, _ in first_of_all] == [ids[1], ids[3]]
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            for statement, parameters in sent:
                plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
                assert not [step for step in plan if str(step[3]).startswith("SCAN credential")]
