"""Fixtures: real databases (SQLite always, PostgreSQL when configured), real servers.

``TESSERA_TEST_DATABASE_URL`` (e.g. ``postgresql://postgres@127.0.0.1:5432/test``) adds
PostgreSQL: every test that needs a database then runs once per backend. Each backend gets a
schema of its own, built by the Alembic migrations and dropped at the end; tests clean up the
rows they made and never assume an empty database.
"""

import logging
import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, create_engine, delete, event
from sqlalchemy.engine import make_url

from tessera.app import create_app
from tessera.bootstrap import Runtime, build_runtime
from tessera.core.passwords import PasswordHasher
from tessera.logs import install_redaction
from tessera.services.container import Services
from tessera.settings import Settings
from tessera.store.database import normalize_url
from tessera.store.tables import Base
from tests.clock import ManualClock
from tests.external_tools import report_skipped
from tests.live import serving
from tests.secrets_seen import all_secrets, other_processes_log_lines

POSTGRES_URL_VARIABLE = "TESSERA_TEST_DATABASE_URL"
REDIS_URL_VARIABLE = "TESSERA_TEST_REDIS_URL"
SECRET_KEY = "tessera-test-secret-key-" + "k" * 24


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "postgresql_only: about what only a database server does (no SQLite run is generated)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Every test that needs a database, directly or through a fixture, runs once per backend.
    if "backend" in metafunc.fixturenames:
        backends = []
        if metafunc.definition.get_closest_marker("postgresql_only") is None:
            backends.append("sqlite")
        if os.environ.get(POSTGRES_URL_VARIABLE):
            backends.append("postgresql")
        metafunc.parametrize("backend", backends, indirect=True, scope="session")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Like PostgreSQL, Redis is used when named: without them these tests are not collected.
    left_out = [item for item in items if _service_missing(item)]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if item not in left_out]


def _service_missing(item: pytest.Item) -> bool:
    if "redis_url" in getattr(item, "fixturenames", ()) and not os.environ.get(REDIS_URL_VARIABLE):
        return True
    return item.get_closest_marker("postgresql_only") is not None and not os.environ.get(
        POSTGRES_URL_VARIABLE
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    report_skipped(terminalreporter)


@pytest.fixture(scope="session")
def redis_url() -> str:
    return os.environ[REDIS_URL_VARIABLE]


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@contextmanager
def fresh_database(backend: str, folder: Path) -> Iterator[str]:
    """The URL of a database nobody else uses, empty; dropped when the block ends.

    SQLite: a new file in ``folder``. PostgreSQL: a new schema on the configured server,
    reached through ``search_path``, so tests never need to create databases.
    """
    if backend == "sqlite":
        yield f"sqlite:///{folder}/tessera.db"
        return
    base = normalize_url(os.environ[POSTGRES_URL_VARIABLE])
    schema = f"tessera_test_{secrets.token_hex(6)}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of this test session's own, empty until the migrations run."""
    with fresh_database(backend, tmp_path_factory.mktemp("session-db")) as url:
        yield url


def settings_for_tests(database_url: str, **overrides: object) -> Settings:
    """Settings for a test runtime: the real defaults, with room for a test suite's traffic."""
    values: dict[str, object] = {
        "database_url": database_url,
        "secret_key": SECRET_KEY,
        "auto_migrate": True,
        "public_url": "http://helpdesk.test",
        # Every request of the suite comes from 127.0.0.1: per-address limits would trip.
        "exchange_rate_per_address": "100000/minute",
        "device_setup_rate_per_address": "100000/minute",
        "device_code_rate_per_address": "100000/minute",
        "device_authorization_rate_per_address": "100000/minute",
        "sign_in_callback_rate_per_address": "100000/minute",
        # Tests flush last-used times themselves, when they want to see them.
        "usage_flush_seconds": 3600,
        # Tests move the clock by days: background pruning would race their assertions.
        "prune_every_seconds": 86400,
    }
    values.update(overrides)
    return Settings.model_validate(values)


@contextmanager
def extra_runtime(
    database_url: str,
    *,
    passwords: PasswordHasher | None = None,
    clock: ManualClock | None = None,
    **overrides: object,
) -> Iterator[Runtime]:
    """A second runtime on the session's database, with other settings; cleaned up after.

    With ``clock``, the runtime reads that clock, which is set back afterwards.
    """
    runtime = build_runtime(
        settings_for_tests(database_url, **overrides), passwords=passwords, clock=clock
    )
    try:
        yield runtime
    finally:
        wipe(runtime)
        runtime.database.dispose()
        if clock is not None:
            clock.reset()


@contextmanager
def served(
    database_url: str, *, passwords: PasswordHasher | None = None, **overrides: object
) -> Iterator[tuple[Runtime, httpx.Client]]:
    """A server of its own, with other settings, on the session's database."""
    with (
        extra_runtime(database_url, passwords=passwords, clock=None, **overrides) as runtime,
        serving(create_app(runtime=runtime)) as url,
        httpx.Client(base_url=url, timeout=120) as api,
    ):
        yield runtime, api


@contextmanager
def select_statements(engine: Engine, *, this_thread: bool = False) -> Iterator[list[str]]:
    """Every SELECT sent through ``engine`` while the block runs, in order.

    ``this_thread``: only the calling thread's, when a server on the same engine runs its
    background work (the change feed's polls, say) meanwhile.
    """
    seen: list[str] = []
    caller = threading.get_ident()

    def record(conn: object, cursor: object, statement: str, *rest: object) -> None:
        if this_thread and threading.get_ident() != caller:
            return
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.fixture(scope="session")
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(scope="session")
def runtime(database_url: str, clock: ManualClock) -> Iterator[Runtime]:
    runtime = build_runtime(settings_for_tests(database_url), clock=clock)
    yield runtime
    runtime.database.dispose()


def wipe(runtime: Runtime) -> None:
    runtime.services.usage.flush()
    with runtime.database.write() as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(delete(table))
    runtime.throttle.reset()


@pytest.fixture
def services(runtime: Runtime, clock: ManualClock) -> Iterator[Services]:
    """The runtime's services; what the test stored is removed afterwards."""
    yield runtime.services
    wipe(runtime)
    clock.reset()


@pytest.fixture(scope="session")
def server(runtime: Runtime) -> Iterator[str]:
    with serving(create_app(runtime=runtime)) as url:
        yield url


@pytest.fixture
def api(server: str, services: Services) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=60) as client:
        yield client


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        # The tests' own HTTP client logs the URLs it calls: that is the caller, not us.
        if not record.name.startswith(("httpx", "httpcore")):
            self.lines.append(self.format(record))


@pytest.fixture(scope="session", autouse=True)
def no_secret_in_any_log_line() -> Iterator[None]:
    """Capture every log record of the whole run; no secret the suite saw may be in one."""
    install_redaction()
    collector = _Collector()
    root = logging.getLogger()
    root.addHandler(collector)
    previous = root.level
    root.setLevel(logging.INFO)
    yield
    root.removeHandler(collector)
    root.setLevel(previous)
    seen = all_secrets()
    lines = collector.lines + other_processes_log_lines()
    leaks = [line for line in lines if any(s in line for s in seen)]
    if seen:
        assert lines, "the capture saw no log line at all: it would prove nothing"
    assert not leaks, f"{len(leaks)} log lines hold a secret, first: {leaks[0]!r}"
