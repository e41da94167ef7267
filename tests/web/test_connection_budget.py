"""One setting bounds every PostgreSQL connection a serving process opens (ADR 0021).

A real server on a runtime of its own, whose connections carry a name of their own in
``pg_stat_activity`` (the URL's ``application_name``). OAuth grants are held inside their
transaction by a row lock the test takes on their person (the new access token's foreign key
waits for it): the demand for connections is then exactly the number of grants sent, three
times the budget, for as long as the test holds the lock. Cold credential checks and the
process's background tasks (change feed, cache refresher) run beside them.
"""

import secrets
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from tessera.app import create_app
from tessera.bootstrap import Runtime
from tessera.core.people import Person
from tessera.oauth.messages import OAuthRequest, OAuthResponse
from tessera.services.container import Services
from tessera.services.oauth_clients import IssuedOAuthClient
from tessera.store.database import ConnectionBudget, normalize_url
from tests.conftest import extra_runtime
from tests.factories import make_oauth_client, make_person, make_token, token_header
from tests.live import serving
from tests.oauth.flows import ME, TOKEN, WEB_CALLBACK, callback_query, post_as
from tests.web.envelopes import admin_key, assert_error, envelope

pytestmark = pytest.mark.postgresql_only

#: The process's connections: eight for the main pool, two for the credential check.
BUDGET = ConnectionBudget(10)
#: Grants sent at once: as many connections as the pools before ADR 0021 could open.
GRANTS = 3 * BUDGET.total
#: Checks of tokens the process has never seen, sent while the grants hold the main pool.
COLD_CHECKS = 20
#: The longest the tests wait for what they set up to show (only reached when broken).
DEADLINE_SECONDS = 60.0


class Observer:
    """Connections outside the process under test, to count its connections from PostgreSQL."""

    def __init__(self, engine: Engine, name: str) -> None:
        self._engine = engine
        self.name = name

    def count(self, *, waiting_for_a_lock: bool = False) -> int:
        query = "SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"
        if waiting_for_a_lock:
            query += " AND wait_event_type = 'Lock'"
        with self._engine.connect() as connection:
            return int(connection.execute(text(query), {"name": self.name}).scalar_one())

    def wait_until(self, condition: Callable[[], bool]) -> None:
        """Ask PostgreSQL until ``condition`` holds: requests blocked on a lock stay blocked."""
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not condition():
            assert time.monotonic() < deadline, "PostgreSQL never showed what the test set up"
            time.sleep(0.02)

    @contextmanager
    def highest_count(self) -> Iterator[list[int]]:
        """The counts seen, over and over, while the block runs (its highest matters)."""
        seen: list[int] = []
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                seen.append(self.count())

        watcher = threading.Thread(target=watch, name="pg-stat-activity")
        watcher.start()
        try:
            yield seen
        finally:
            done.set()
            watcher.join()


@pytest.fixture
def outside(database_url: str) -> Iterator[Engine]:
    """An engine that is not the process's (its connections carry no name)."""
    engine = create_engine(normalize_url(database_url), poolclass=NullPool)
    yield engine
    engine.dispose()


@pytest.fixture
def named_url(database_url: str) -> tuple[str, str]:
    """The session's database URL with a name of its own for the connections; and the name."""
    name = f"tessera-budget-{secrets.token_hex(4)}"
    url = make_url(database_url).update_query_dict({"application_name": name})
    return url.render_as_string(hide_password=False), name


@contextmanager
def served(url: str, budget: ConnectionBudget) -> Iterator[tuple[Runtime, httpx.Client]]:
    with (
        extra_runtime(
            url,
            credential_cache_size=1000,
            db_pool_size=budget.total,
            db_pool_wait_seconds=budget.wait_seconds,
        ) as runtime,
        serving(create_app(runtime=runtime)) as base,
        httpx.Client(base_url=base, timeout=DEADLINE_SECONDS * 2) as client,
    ):
        yield runtime, client


def new_code(runtime: Runtime, issued: IssuedOAuthClient, person: Person) -> str:
    """An authorization code, as the consent page's Access button makes one."""
    form = {
        "response_type": "code",
        "client_id": issued.client.client_id,
        "redirect_uri": WEB_CALLBACK,
        "state": "s",
    }
    answer = runtime.oauth.decide(
        OAuthRequest(
            method="POST",
            url="http://127.0.0.1/oauth/authorize",
            headers={"content-type": "application/x-www-form-urlencoded"},
            form={field: [value] for field, value in form.items()},
        ),
        person,
        allow=True,
    )
    assert isinstance(answer, OAuthResponse), answer
    assert answer.location is not None, answer
    return callback_query(answer.location, WEB_CALLBACK)["code"]


def exchange(client: httpx.Client, issued: IssuedOAuthClient, code: str) -> int:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": WEB_CALLBACK}
    return post_as(client, issued, TOKEN, form).status_code


@contextmanager
def person_locked(outside: Engine, person: Person) -> Iterator[None]:
    """Hold the person's row: a new token of theirs waits for it, inside its transaction."""
    with outside.begin() as locker:
        locker.execute(text("SELECT id FROM people WHERE id = :id FOR UPDATE"), {"id": person.id})
        yield


def test_grants_and_cold_checks_far_beyond_the_budget_never_open_more_connections(
    services: Services, outside: Engine, named_url: tuple[str, str]
) -> None:
    url, name = named_url
    observer = Observer(outside, name)
    issued = make_oauth_client(services, redirect_uris=[WEB_CALLBACK])
    grantee = make_person(services)
    cold = [token_header(make_token(services, make_person(services))) for _ in range(COLD_CHECKS)]
    budget = ConnectionBudget(BUDGET.total, wait_seconds=DEADLINE_SECONDS)

    with (
        served(url, budget) as (runtime, client),
        ThreadPoolExecutor(GRANTS + COLD_CHECKS) as threads,
    ):
        codes = [new_code(runtime, issued, grantee) for _ in range(GRANTS)]
        with observer.highest_count() as seen:
            with person_locked(outside, grantee):
                grants = [threads.submit(exchange, client, issued, code) for code in codes]
                # Every connection of the main pool is held by a grant waiting for the row.
                observer.wait_until(lambda: observer.count(waiting_for_a_lock=True) >= budget.main)
                checks = [threads.submit(client.get, ME, headers=headers) for headers in cold]
                checked = [check.result().status_code for check in checks]
                held = observer.count()
            granted = [grant.result() for grant in grants]
        after = observer.count()

    assert budget.main <= held <= budget.total
    assert max(seen) <= budget.total, seen
    assert after <= budget.total
    assert checked == [200] * COLD_CHECKS, "the credential check has connections of its own"
    assert granted == [200] * GRANTS, "grants beyond the budget waited for a connection"


def test_a_request_that_waits_too_long_for_a_connection_is_told_to_come_back(
    services: Services, outside: Engine, named_url: tuple[str, str]
) -> None:
    url, name = named_url
    observer = Observer(outside, name)
    budget = ConnectionBudget(5, wait_seconds=0.2)
    issued = make_oauth_client(services, redirect_uris=[WEB_CALLBACK])
    grantee = make_person(services)
    admin = admin_key(services)
    cold = token_header(make_token(services, make_person(services)))

    with served(url, budget) as (runtime, client), ThreadPoolExecutor(budget.main) as threads:
        codes = [new_code(runtime, issued, grantee) for _ in range(budget.main)]
        with person_locked(outside, grantee):
            grants = [threads.submit(exchange, client, issued, code) for code in codes]
            observer.wait_until(lambda: observer.count(waiting_for_a_lock=True) == budget.main)
            listed = client.get("/api/v2/people", headers=admin)
            me = client.get(ME, headers=cold)
        granted = [grant.result() for grant in grants]

    assert_error(listed, envelope(503, "service_unavailable"))
    assert listed.headers["Retry-After"] == "1"
    assert me.status_code == 200, "the credential check does not wait for the main pool"
    assert granted == [200] * budget.main


def test_a_budget_of_one_connection_still_serves_checks_grants_and_admin_reads(
    services: Services, outside: Engine, named_url: tuple[str, str]
) -> None:
    """No pool of the credential check's own: its reads share the one connection, in turn."""
    url, name = named_url
    budget = ConnectionBudget(1, wait_seconds=DEADLINE_SECONDS)
    issued = make_oauth_client(services, redirect_uris=[WEB_CALLBACK])
    grantee = make_person(services)
    admin = admin_key(services)
    cold = token_header(make_token(services, make_person(services)))

    with served(url, budget) as (runtime, client):
        code = new_code(runtime, issued, grantee)
        answers = [
            exchange(client, issued, code),
            client.get(ME, headers=cold).status_code,
            client.get("/api/v2/people", headers=admin).status_code,
        ]
        opened = Observer(outside, name).count()

    assert answers == [200, 200, 200]
    assert opened == 1
