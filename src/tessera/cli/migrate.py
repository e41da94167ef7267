"""``tessera migrate``: bring the database schema to the current revision."""

import typer

from tessera.cli.output import JsonOption, emit, reports_errors
from tessera.cli.state import state
from tessera.store import schema
from tessera.store.database import make_engine

app = typer.Typer()


@app.command("migrate")
@reports_errors
def migrate(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Bring the database schema to the current revision (safe to run again)."""
    settings = state(ctx).settings
    engine = make_engine(settings.database_url)
    try:
        before = schema.current_revision(engine)
        schema.upgrade(engine)
        after = schema.current_revision(engine)
    finally:
        engine.dispose()
    if before == after:
        text = f"The database is already at revision {after}."
    else:
        text = f"Migrated the database from revision {before or '(empty)'} to {after}."
    emit(as_json, {"from_revision": before, "to_revision": after}, text)
