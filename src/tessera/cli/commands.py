"""The table of ``tessera``'s commands: which module holds each, and its one-line summary.

The root command reads only this table to list and describe its commands, and imports a
command's module only when that command runs: the web stack, SQLAlchemy, Authlib and the rest
cost seconds together, and ``tessera --help`` needs none of them (ADR 0022). Each module takes
its own help from here, so that the listing and the command's own help cannot disagree.
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CommandEntry:
    #: The module whose Typer ``app`` is the command.
    module: str
    summary: str
    #: A group of subcommands (``tessera people list``), even if it has only one so far.
    is_group: bool = True


COMMANDS: dict[str, CommandEntry] = {
    "audit": CommandEntry("tessera.cli.audit", "Read and prune the audit trail."),
    "clients": CommandEntry(
        "tessera.cli.clients", "Manage OAuth clients (the apps that may use OAuth)."
    ),
    "config": CommandEntry("tessera.cli.config", "Inspect the configuration."),
    "keys": CommandEntry("tessera.cli.keys", "Manage API keys."),
    "mail": CommandEntry("tessera.cli.mail", "Check the mail settings (magic links)."),
    "migrate": CommandEntry(
        "tessera.cli.migrate", "Bring the database schema to the current revision.", is_group=False
    ),
    "people": CommandEntry("tessera.cli.people", "Manage the people that credentials act for."),
    "prune": CommandEntry("tessera.cli.prune", "Delete ended rows now.", is_group=False),
    "resources": CommandEntry(
        "tessera.cli.resources", "Manage the protected resources tokens may be bound to."
    ),
    "routes": CommandEntry(
        "tessera.cli.routes", "Show the guard's route table and explain its decisions."
    ),
    "secret-keys": CommandEntry(
        "tessera.cli.secret_keys", "List, add, activate and retire the server's secret keys."
    ),
    "signing-keys": CommandEntry(
        "tessera.cli.signing_keys", "List and rotate the keys that sign OpenID Connect ID tokens."
    ),
    "serve": CommandEntry("tessera.cli.serve", "Run the API server (uvicorn).", is_group=False),
    "tokens": CommandEntry("tessera.cli.tokens", "List and revoke API tokens."),
    "user-sources": CommandEntry(
        "tessera.cli.user_sources",
        "Manage the external identity providers people sign in through.",
    ),
}


def summary(name: str) -> str:
    return COMMANDS[name].summary
