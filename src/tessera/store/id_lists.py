"""A list of ids as one bound parameter: the same statement text whatever its length.

``column IN (?, ?, …)`` is a different statement for every count of ids. Each text is parsed
and planned anew, and kept: psycopg prepares a statement run five times, and Python's
``sqlite3`` keeps the last 128 statements of each connection prepared. A list whose length
varies (a batch of the credential cache's loaders, a prune's batch) thus filled every pooled
SQLite connection with statements run once or twice. Its memory grew for most of an hour
before the caches were full, which is why the soak's memory was not flat (issue #16).

One parameter keeps one statement: a PostgreSQL array compared with ``= ANY``, and on SQLite a
JSON array read back by ``json_each`` (built into SQLite since 3.38, and enabled in the builds
Python ships before that), which SQLite plans as one primary-key search per id.
"""

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, String, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import BindParameter, SQLCoreOperations


def id_parameter(
    name: str | None, dialect: str, ids: Iterable[int] | None = None
) -> BindParameter[Any]:
    """A parameter holding many ids: named ``name`` to be bound at execution with
    ``id_list_value``, or anonymous (``name`` None) holding ``ids`` now."""
    value = None if ids is None else id_list_value(ids, dialect)
    if dialect == "postgresql":
        return bindparam(name, value, type_=ARRAY(BigInteger()))
    return bindparam(name, value, type_=String())


def id_list_value(ids: Iterable[int], dialect: str) -> list[int] | str:
    """What an ``id_parameter`` is bound to: an array, or the array's JSON text."""
    as_list = [int(each) for each in ids]
    return as_list if dialect == "postgresql" else json.dumps(as_list)


def among(
    column: SQLCoreOperations[int], parameter: BindParameter[Any], dialect: str
) -> ColumnElement[bool]:
    """``column`` is one of the ids ``parameter`` (an ``id_parameter``) holds."""
    if dialect == "postgresql":
        return column == any_(parameter)
    listed = func.json_each(parameter).table_valued("value")
    return column.in_(select(listed.c.value))


def among_ids(
    column: SQLCoreOperations[int], ids: Iterable[int], dialect: str
) -> ColumnElement[bool]:
    """``column`` is one of ``ids``, bound now: for statements built where they are run."""
    return among(column, id_parameter(None, dialect, ids), dialect)
