"""``tessera``: the root command, with ``migrate`` and ``serve``; the groups live beside it."""

import logging
import os
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from tessera.cli import audit, clients, config, keys, people, tokens
from tessera.cli.output import EXIT_CODES, CliFailure, Failure, JsonOption, emit, reports_errors
from tessera.cli.state import CliState, state
from tessera.core.errors import ErrorKind
from tessera.logs import configure_logging
from tessera.store import schema
from tessera.store.database import make_engine

app = typer.Typer(
    no_args_is_help=True,
    help="Tessera: a self-hosted API credential server, wire-compatible with Deskpro's API v2.",
    # Locals in a traceback could hold passwords read from stdin or prompts.
    pretty_exceptions_show_locals=False,
)
app.add_typer(people.app, name="people")
app.add_typer(keys.app, name="keys")
app.add_typer(tokens.app, name="tokens")
app.add_typer(clients.app, name="clients")
app.add_typer(config.app, name="config")
app.add_typer(audit.app, name="audit")

#: The uvicorn factory; a string, so that this module never imports the web stack and each
#: worker process builds its own app.
SERVER_FACTORY = "tessera.app:serve_app"
#: How long uvicorn waits for a worker to answer its health check before killing it. Its default
#: (5 s) is shorter than a spawned worker's start on a loaded machine: workers were killed and
#: respawned in a loop, and the node never served.
WORKER_HEALTHCHECK_SECONDS = 60


@app.callback()
def root(
    ctx: typer.Context,
    config_path: Annotated[
        Path | None,
        typer.Option(
            "--config",
            metavar="PATH",
            exists=True,
            dir_okay=False,
            help="TOML settings file (default: $TESSERA_CONFIG, else ./tessera.toml if present).",
        ),
    ] = None,
) -> None:
    if config_path is not None:
        # Through the environment, so that settings and server workers all read the same file.
        os.environ["TESSERA_CONFIG"] = str(config_path.resolve())
    cli_state = CliState.load()
    ctx.obj = cli_state
    ctx.call_on_close(cli_state.close)


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


@app.command("prune")
@reports_errors
def prune(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Delete ended rows now (the server does it every few minutes): revoked and expired
    tokens, codes and sessions past TESSERA_PRUNE_GRACE_DAYS, old change-feed rows and audit
    events, keys revoked longer ago than the audit retention."""
    deleted = state(ctx).runtime.housekeeping.run_round(max_batches=None)
    lines = [f"  {table}: {count}" for table, count in deleted.items()]
    emit(as_json, {"deleted": deleted}, "\n".join(["Deleted rows:", *lines]))


@app.command("serve")
@reports_errors
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option("--host", help="Default: the host setting.")] = None,
    port: Annotated[
        int | None, typer.Option("--port", min=0, max=65535, help="Default: the port setting.")
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, max=64, help="Default: the workers setting.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Run the API server (uvicorn)."""
    cli_state = state(ctx)
    settings = cli_state.settings
    configure_logging(settings.log_level, access_log=settings.access_log)
    # Workers build their own Settings from the environment: options reach them through it.
    for name, value in (("HOST", host), ("PORT", port), ("WORKERS", workers)):
        if value is not None:
            os.environ[f"TESSERA_{name}"] = str(value)
    host = settings.host if host is None else host
    port = settings.port if port is None else port
    workers = settings.workers if workers is None else workers

    runtime = cli_state.runtime  # migrates SQLite, as each worker would
    if not schema.is_current(runtime.database.engine):
        raise CliFailure(
            Failure(
                exit_code=EXIT_CODES[ErrorKind.INTERNAL],
                status=500,
                code="schema_not_current",
                message="The database schema is not current; run `tessera migrate`.",
            )
        )
    admins = runtime.services.people.count_admins()
    setup_code = runtime.services.first_run.new_setup_code() if admins == 0 else None
    # Workers are separate processes with their own pools: nothing of ours stays open.
    cli_state.close()
    emit(
        as_json,
        {
            "host": host,
            "port": port,
            "workers": workers,
            "public_url": settings.public_url,
            "admins": admins,
        },
        f"Serving {settings.public_url} on {host}:{port} with {workers} worker(s).",
    )
    if setup_code is not None:
        # On the console only (never in a log): whoever can read it may create the first admin.
        typer.echo(
            "There is no admin yet. Open this one-time link to create the first one:\n"
            f"  {settings.public_url}/setup/{setup_code}\n"
            "or use the command line (the password is read from stdin):\n"
            f"  {people.FIRST_ADMIN_HINT}",
            err=True,
        )
    uvicorn.run(
        SERVER_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        # What configure_logging decided (each worker decides again as it builds the app).
        access_log=logging.getLogger("uvicorn.access").hasHandlers(),
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
    )


def main() -> None:
    app()
