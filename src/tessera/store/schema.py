"""Bring a database to the current schema with Alembic, and tell where it stands.

Alembic is imported only when a migration runs. Importing it (with Mako, Pygments and every
SQLAlchemy dialect its DDL layer loads) adds about 13 MiB to a process, and a server worker
on a current schema needs none of it: whether the schema is current is one SELECT of the
version table and the head read from the migration files' headers (ADR 0016).
"""

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, String, column, inspect, select, table

if TYPE_CHECKING:
    from alembic.config import Config

_MIGRATIONS = Path(__file__).parent / "migrations"
#: Alembic's default version table; ``migrations/env.py`` keeps it.
_VERSION_TABLE = "alembic_version"
#: The header lines Alembic writes into every revision file (``script.py.mako``).
_REVISION = re.compile(r"""^revision(?:: str)? = ["']([^"']+)["']$""", re.MULTILINE)
_DOWN_REVISION = re.compile(
    r"""^down_revision(?:: [^=]+)? = (?:["']([^"']+)["']|None)$""", re.MULTILINE
)


def alembic_config(engine: Engine) -> "Config":
    from alembic.config import Config  # only here: see the module docstring

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(slug)s")
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    if revision == "head" and is_current(engine):
        return  # what a worker starting on a migrated database does: no Alembic loaded
    from alembic import command  # only here: see the module docstring

    config = alembic_config(engine)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # A migration may rewrite a large table: not bound by the server's timeouts
            # (``PostgresTimeouts``), for this transaction only.
            connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
            connection.exec_driver_sql("SET LOCAL lock_timeout = 0")
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    from alembic import command  # only here: see the module docstring

    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None when it was never migrated (or fully undone)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(_VERSION_TABLE):
            return None
        query = select(column("version_num", String)).select_from(table(_VERSION_TABLE))
        versions = list(connection.scalars(query))
    if len(versions) > 1:
        # Our history is one line; several heads mean someone branched it by hand.
        raise RuntimeError(f"the database is at several revisions: {sorted(versions)}")
    return versions[0] if versions else None


def head_revision(engine: Engine | None = None) -> str | None:
    """The newest revision of the migrations shipped (``engine`` is not needed; kept for callers).

    Read from the revision files' headers; if they do not form one line of history, Alembic
    itself decides (and says what is wrong).
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (_MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision, down = _REVISION.search(source), _DOWN_REVISION.search(source)
        if revision is None or down is None:
            return _alembic_head()
        revisions.add(revision.group(1))
        if down.group(1) is not None:
            parents.add(down.group(1))
    heads = revisions - parents
    if len(heads) != 1 or not parents <= revisions:
        return _alembic_head()
    return heads.pop()


def _alembic_head() -> str | None:
    from alembic.config import Config  # only here: see the module docstring
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.set_main_option("path_separator", "os")
    return ScriptDirectory.from_config(config).get_current_head()


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()
