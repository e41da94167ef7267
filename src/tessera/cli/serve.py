"""``tessera serve``: run the API server, and say in a few lines where it is.

The listening socket is bound here, before anything is printed: the port printed is the one
bound (``--port 0`` picks a free one), a port in use is a clear error rather than a traceback
from a worker, and the server processes inherit both the socket and, through the environment,
the port, so that every URL they hand out names it (``Settings.base_url``).
"""

import logging
import os
import socket
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from tessera import __version__
from tessera.cli.config import mask_url, otel_installed
from tessera.cli.metrics_directory import WorkerSupervisor, metrics_directory
from tessera.cli.output import EXIT_CODES, CliFailure, Failure, JsonOption, emit, reports_errors
from tessera.cli.people import FIRST_ADMIN_HINT
from tessera.cli.state import state
from tessera.core.addresses import is_loopback_host, url_of_bound_address
from tessera.core.errors import ErrorKind
from tessera.logs import configure_logging
from tessera.settings import Settings
from tessera.store import schema

log = logging.getLogger(__name__)

app = typer.Typer()

#: The uvicorn factory; a string, so that each worker process builds its own app.
SERVER_FACTORY = "tessera.app:serve_app"
#: The protocol, by name too: each worker imports it (the factory sets its limits there).
HTTP_PROTOCOL = "tessera.web.http_protocol:LimitedHttpProtocol"
#: How long uvicorn waits for a worker to answer its health check before killing it. Its default
#: (5 s) is shorter than a spawned worker's start on a loaded machine: workers were killed and
#: respawned in a loop, and the node never served.
WORKER_HEALTHCHECK_SECONDS = 60
#: uvicorn's exit status when the server could not start.
STARTUP_FAILURE = 3


@app.command("serve")
@reports_errors
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option("--host", help="Default: the host setting.")] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", min=0, max=65535, help="Default: the port setting; 0: any free."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, max=64, help="Default: the workers setting.")
    ] = None,
    verbose: Annotated[
        bool,
        typer.Option("--verbose", help="Also log start-up detail: migrations, server processes."),
    ] = False,
    routes: Annotated[
        Path | None,
        typer.Option(
            "--routes",
            metavar="FILE",
            dir_okay=False,
            help="The guarded API's route table (TOML); default: the routes_file setting.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Run the API server (uvicorn)."""
    # Workers build their own Settings from the environment: options reach them through it.
    for name, value in (("HOST", host), ("PORT", port), ("WORKERS", workers)):
        if value is not None:
            os.environ[f"TESSERA_{name}"] = str(value)
    if routes is not None:
        os.environ["TESSERA_ROUTES_FILE"] = str(routes.resolve())
    if verbose:
        os.environ["TESSERA_VERBOSE"] = "true"
    cli_state = state(ctx)
    settings = cli_state.settings
    if settings.otel_enabled and not otel_installed():
        raise CliFailure(
            Failure(
                exit_code=EXIT_CODES[ErrorKind.INTERNAL],
                status=500,
                code="otel_not_installed",
                message="TESSERA_OTEL_ENABLED is on but OpenTelemetry is not installed: install "
                "the otel extra (pip install 'tessera[otel]') or turn tracing off.",
            )
        )
    configure_logging(
        settings.log_level,
        access_log=settings.access_log,
        verbose=settings.verbose,
        json_lines=settings.log_format == "json",
    )

    wiring = cli_state.services  # building the database migrates SQLite, as each worker would
    # Read now: a bad route table is one clear error here, not a traceback in every worker.
    route_count = len(wiring.route_table.routes)
    if wiring.partner_keyring is not None:  # and a bad secret-scanning keys file
        log.info(
            "secret-scanning reports accepted, keys from %s", settings.secret_scanning_keys_file
        )
    revision = schema.current_revision(wiring.database.engine)
    if not schema.is_current(wiring.database.engine):
        raise CliFailure(
            Failure(
                exit_code=EXIT_CODES[ErrorKind.INTERNAL],
                status=500,
                code="schema_not_current",
                message="The database schema is not current; run `tessera migrate`.",
            )
        )
    listener = _listen(settings.host, settings.port)
    bound_port = listener.getsockname()[1]
    if bound_port != settings.port:
        os.environ["TESSERA_PORT"] = str(bound_port)
        settings = settings.model_copy(update={"port": bound_port})
    admins = wiring.people.count_admins()
    setup_code = wiring.first_run.new_setup_code() if admins == 0 else None
    # Workers are separate processes with their own pools: nothing of ours stays open.
    cli_state.close()

    listening = url_of_bound_address(settings.host, bound_port)
    emit(
        as_json,
        {
            "version": __version__,
            "listening_url": listening,
            "host": settings.host,
            "port": bound_port,
            "workers": settings.workers,
            "public_url": settings.base_url,
            "database_url": mask_url(settings.database_url),
            "schema_revision": revision,
            "admins": admins,
            "routes": route_count,
        },
        _banner(settings, listening, revision, route_count),
    )
    if settings.public_url is None and not is_loopback_host(settings.host):
        log.warning(
            "listening on %s without a public URL: the URLs this server hands out (discover, "
            "QR codes, OAuth metadata) name %s; set TESSERA_PUBLIC_URL to the address clients use",
            settings.host,
            settings.base_url,
        )
    if setup_code is not None:
        # On the console only (never in a log): whoever can read it may create the first admin.
        typer.echo(
            "There is no admin yet. Open this one-time link to create the first one:\n"
            f"  {settings.base_url}/setup/{setup_code}\n"
            "or use the command line (the password is read from stdin):\n"
            f"  {FIRST_ADMIN_HINT}",
            err=True,
        )
    if settings.metrics_enabled:
        with metrics_directory():
            _run(settings, listener)
    else:
        _run(settings, listener)


def _banner(settings: Settings, listening: str, revision: str | None, routes: int) -> str:
    count = settings.workers
    lines = [f"Tessera {__version__} listening on {listening} ({count} worker{'s' * (count > 1)})"]
    if settings.public_url is not None:
        lines.append(f"Clients reach it at {settings.public_url}")
    lines.append(f"Database: {mask_url(settings.database_url)} (schema {revision})")
    if settings.routes_file is not None:
        lines.append(f"Guarding with {routes} routes from {settings.routes_file}")
    return "\n".join(lines)


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound to host:port, as uvicorn binds one (IPv6 when the host is an address)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host.strip("[]"), port))
    except OSError as error:
        listener.close()
        raise CliFailure(
            Failure(
                exit_code=EXIT_CODES[ErrorKind.INTERNAL],
                status=500,
                code="cannot_listen",
                message=f"Cannot listen on {host}:{port}: {error.strerror or error}.",
            )
        ) from None
    listener.set_inheritable(True)
    return listener


def _run(settings: Settings, listener: socket.socket) -> None:
    config = uvicorn.Config(
        SERVER_FACTORY,
        factory=True,
        host=settings.host,
        port=listener.getsockname()[1],
        workers=settings.workers,
        log_config=None,
        # What configure_logging decided (each worker decides again as it builds the app).
        access_log=logging.getLogger("uvicorn.access").hasHandlers(),
        # The app believes trusted proxies itself (web.forwarded): it must see the peer.
        proxy_headers=False,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        # uvicorn's HTTP/1.1 protocol with header limits and a header timeout (ADR 0032).
        http=HTTP_PROTOCOL,
    )
    server = uvicorn.Server(config)
    if settings.workers > 1:
        WorkerSupervisor(config, sockets=[listener]).run()
    else:
        server.run(sockets=[listener])
        if not server.started:
            raise typer.Exit(STARTUP_FAILURE)
