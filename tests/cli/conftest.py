"""Run the real ``tessera`` command line against the test database, in process.

Commands run through Typer's CliRunner with the environment a deployment would set:
``TESSERA_DATABASE_URL`` names the session's database (SQLite, and PostgreSQL when
configured), ``TESSERA_SECRET_KEY`` is the test runtime's key, so a key the CLI creates
authenticates through the ``runtime`` fixture. Every other ``TESSERA_*`` variable is cleared
for the duration of a command, and restored after it.
"""

import json
import logging
import os
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from tessera.cli.main import app
from tessera.services.container import Services
from tests.conftest import SECRET_KEY

#: What ``serve`` and ``--config`` write into os.environ; cleared so no test sees another's.
VARIABLES_COMMANDS_SET = (
    "TESSERA_CONFIG",
    "TESSERA_HOST",
    "TESSERA_PORT",
    "TESSERA_WORKERS",
    "TESSERA_VERBOSE",
    "TESSERA_ROUTES_FILE",
)


class Cli:
    def __init__(self, environment: Mapping[str, str | None]) -> None:
        self._runner = CliRunner()
        self._environment = dict(environment)

    def __call__(
        self, *args: str, input: str | None = None, env: Mapping[str, str | None] | None = None
    ) -> Result:
        return self._runner.invoke(
            app, list(args), input=input, env={**self._environment, **(env or {})}
        )

    def json(self, *args: str, input: str | None = None, exit_code: int = 0) -> Any:
        """Run with ``--json``; check the exit status and that stdout is one JSON document."""
        result = self(*args, "--json", input=input)
        assert result.exit_code == exit_code, result.output
        return json.loads(result.stdout)


def cli_environment(database_url: str) -> dict[str, str | None]:
    environment: dict[str, str | None] = {
        name: None for name in os.environ if name.upper().startswith("TESSERA_")
    }
    environment.update(dict.fromkeys(VARIABLES_COMMANDS_SET))
    environment["TESSERA_DATABASE_URL"] = database_url
    environment["TESSERA_SECRET_KEY"] = SECRET_KEY
    return environment


@pytest.fixture
def cli(database_url: str, services: Services) -> Cli:
    """The CLI on the test database; ``services`` makes sure it is migrated, and cleans up."""
    return Cli(cli_environment(database_url))


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """``serve`` configures logging for its process; put the suite's own capture back after."""
    names = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "alembic")
    loggers = [logging.getLogger(name) for name in names]
    saved = [(lg, lg.handlers[:], lg.filters[:], lg.level, lg.propagate) for lg in loggers]
    yield
    for logger, handlers, filters, level, propagate in saved:
        logger.handlers[:], logger.filters[:] = handlers, filters
        logger.setLevel(level)
        logger.propagate = propagate
