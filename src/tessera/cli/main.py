"""``tessera``: the root command. Each command's module is imported only when it runs.

``tessera --help`` reads the table in ``tessera.cli.commands`` and imports nothing else of
ours; ``tessera people list`` imports the people commands, the settings and the database
layer, not the web stack or the OAuth server (ADR 0022, bench/cli_startup.py).
"""

import importlib
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup
from typer.main import get_command, get_group

from tessera.cli.commands import COMMANDS


class LazyCommands(TyperGroup):
    """A command group that imports a command's module the first time the command is needed.

    ``ctx`` is Any: Typer types these methods with the Click it vendors privately.
    """

    def list_commands(self, ctx: Any) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        entry = COMMANDS.get(cmd_name)
        if entry is not None and cmd_name not in self.commands:
            module_app = importlib.import_module(entry.module).app
            command = get_group(module_app) if entry.is_group else get_command(module_app)
            command.name = cmd_name
            self.commands[cmd_name] = command
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        # From the table: listing the commands must not import them.
        rows = [(name, COMMANDS[name].summary) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


app = typer.Typer(
    cls=LazyCommands,
    no_args_is_help=True,
    help="Tessera: a self-hosted API credential server, wire-compatible with Deskpro's API v2.",
    # Plain help and errors: Rich's formatting alone costs more than the 0.3 s a command may
    # take to answer (ADR 0022).
    rich_markup_mode=None,
    # Locals in a traceback could hold passwords read from stdin or prompts.
    pretty_exceptions_show_locals=False,
)


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
    from tessera.cli.state import CliState  # only for a command that runs: see the docstring

    if config_path is not None:
        # Through the environment, so that settings and server workers all read the same file.
        os.environ["TESSERA_CONFIG"] = str(config_path.resolve())
    cli_state = CliState()
    ctx.obj = cli_state
    ctx.call_on_close(cli_state.close)


def main() -> None:
    app()
