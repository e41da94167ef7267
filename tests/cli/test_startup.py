"""A command imports what it needs when it runs, nothing more (ADR 0022).

Not a timing test (bench/cli_startup.py measures): these check *which* modules a command
loads, in a fresh interpreter, which is what its start-up time follows.
"""

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command, get_group

from tessera.cli.commands import COMMANDS
from tests.cli.conftest import cli_environment
from tests.web.guard import write_routes

#: Run a command in a fresh interpreter, then write the names of the modules it loaded.
_PROBE = """
import json, sys
from tessera.cli.main import app
try:
    app(sys.argv[2:], prog_name="tessera")
except SystemExit:
    pass
with open(sys.argv[1], "w") as modules:
    json.dump(sorted(sys.modules), modules)
"""
#: What serving HTTP, OAuth, migrations, rate limits or pretty output need.
_SERVER_SIDE = (
    "fastapi",
    "starlette",
    "uvicorn",
    "authlib",
    "alembic",
    "limits",
    "jinja2",
    "rich",
    "prometheus_client",
    "opentelemetry",
)


def _modules_loaded(tmp_path: Path, *arguments: str) -> set[str]:
    listing = tmp_path / "modules.json"
    environment = {k: v for k, v in cli_environment(f"sqlite:///{tmp_path}/t.db").items() if v}
    # The suite's own interpreter and arguments built here: no untrusted input.
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", _PROBE, str(listing), *arguments],
        env=environment,
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()
    return set(json.loads(listing.read_text()))


def _loaded(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in packages)


def test_help_imports_none_of_the_libraries(tmp_path: Path) -> None:
    modules = _modules_loaded(tmp_path, "--help")

    assert _loaded(modules, ("sqlalchemy", "pydantic", *_SERVER_SIDE)) == []
    assert _loaded(modules, ("tessera",)) == [
        "tessera",
        "tessera.cli",
        "tessera.cli.commands",
        "tessera.cli.main",
    ]


def test_listing_people_loads_the_database_layer_and_not_the_server(tmp_path: Path) -> None:
    _modules_loaded(tmp_path, "migrate")  # a current schema: no migration to load Alembic for

    modules = _modules_loaded(tmp_path, "people", "list")

    assert "sqlalchemy.orm" in modules
    assert "tessera.services.people" in modules
    assert _loaded(modules, _SERVER_SIDE) == []
    assert not {"tessera.oauth", "tessera.web", "tessera.services.authenticate"} & modules


def test_showing_a_route_table_loads_neither_the_database_nor_the_server(tmp_path: Path) -> None:
    routes = write_routes(tmp_path)

    modules = _modules_loaded(tmp_path, "routes", "show", "--routes", str(routes))

    assert "tessera.core.routes" in modules
    assert _loaded(modules, ("sqlalchemy", *_SERVER_SIDE)) == []


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_listing_says_what_each_command_says_of_itself(name: str) -> None:
    entry = COMMANDS[name]
    module_app = importlib.import_module(entry.module).app
    command = get_group(module_app) if entry.is_group else get_command(module_app)

    assert command.get_short_help_str(limit=200).startswith(entry.summary.rstrip("."))
