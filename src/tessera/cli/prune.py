"""``tessera prune``: delete ended rows now."""

import typer

from tessera.cli.output import JsonOption, emit, reports_errors
from tessera.cli.state import state

app = typer.Typer()


@app.command("prune")
@reports_errors
def prune(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Delete ended rows now (the server does it every few minutes): revoked and expired
    tokens, codes and sessions past TESSERA_PRUNE_GRACE_DAYS, old change-feed rows and audit
    events, keys revoked longer ago than the audit retention."""
    deleted = state(ctx).services.housekeeping.run_round(max_batches=None)
    lines = [f"  {table}: {count}" for table, count in deleted.items()]
    emit(as_json, {"deleted": deleted}, "\n".join(["Deleted rows:", *lines]))
