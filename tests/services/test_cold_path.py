"""The cold path against real databases: ``verify_async``'s shared reads, and the unpinged pool.

``verify_async`` must answer exactly as ``verify`` does, each caller on its own credential,
however many misses share a read (ADR 0014); ``Database.hot_read`` must survive a connection
PostgreSQL dropped (no pre-ping any more on that path).
"""

import asyncio
import base64
import secrets
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from tessera.bootstrap import Runtime
from tessera.core.changes import ChangeKind, CredentialChange
from tessera.core.errors import InvalidApiKey, InvalidApiToken, Unauthorized
from tessera.core.principals import AuthMethod, Principal
from tessera.services.authenticate import Authenticator, PresentedRequest
from tessera.services.people import PersonChanges
from tessera.store.database import Database, normalize_url
from tests.clock import ManualClock
from tests.conftest import extra_runtime, select_statements
from tests.factories import make_key, make_person, make_token

WRONG_CODE = "2" * 25


@pytest.fixture
def cold(database_url: str, clock: ManualClock) -> Iterator[Runtime]:
    """A runtime with the credential cache on: every first check of a credential is a miss."""
    with extra_runtime(
        database_url, clock=clock, credential_cache_size=100, credential_cache_seconds=60
    ) as runtime:
        yield runtime


@pytest.fixture
def selects(cold: Runtime) -> Iterator[list[str]]:
    with select_statements(cold.database.engine) as seen:
        yield seen


def request(authorization: str | None = None, **headers: str) -> PresentedRequest:
    return PresentedRequest(authorization=authorization, client_address="192.0.2.9", **headers)


def outcome(result: Principal | BaseException) -> object:
    """What a caller would see: the principal's identity, or the error's type."""
    if isinstance(result, BaseException):
        return type(result)
    return (result.auth_method, result.person.id, result.api_token_id, result.api_key_id)


def verify_all(authenticator: Authenticator, requests: list[PresentedRequest]) -> list[object]:
    async def scenario() -> list[Principal | BaseException]:
        calls = (authenticator.verify_async(r) for r in requests)
        return list(await asyncio.gather(*calls, return_exceptions=True))

    return [outcome(result) for result in asyncio.run(scenario())]


def test_concurrent_token_misses_share_one_read_and_each_gets_its_own_answer(
    cold: Runtime, selects: list[str]
) -> None:
    services = cold.services
    ann, bob = make_person(services), make_person(services)
    anns, bobs = make_token(services, ann), make_token(services, bob)
    revoked, disabled_owner = make_token(services, ann), make_person(services)
    disabled = make_token(services, disabled_owner)
    services.api_tokens.revoke(revoked.token.id)
    services.people.change(disabled_owner.id, PersonChanges(is_disabled=True))
    requests = [
        request(f"token {anns.token_string}"),
        request(f"Bearer {bobs.token_string}"),
        request(f"token {anns.token.id}:{WRONG_CODE}"),  # Ann's id, a wrong code
        request(f"token {revoked.token_string}"),
        request(f"token {disabled.token_string}"),
        request(f"token 99999999:{WRONG_CODE}"),  # no such token
        request(api_token_header=bobs.token_string),  # the same token twice
    ]
    selects.clear()

    answers = verify_all(services.authenticator, requests)

    token = AuthMethod.API_TOKEN
    assert answers == [
        (token, ann.id, anns.token.id, None),
        (token, bob.id, bobs.token.id, None),
        InvalidApiToken,
        InvalidApiToken,
        InvalidApiToken,
        InvalidApiToken,
        (token, bob.id, bobs.token.id, None),
    ]
    assert len(selects) == 1  # one read for every miss that arrived together
    assert _each_alone(services.authenticator, requests) == answers


def test_what_a_shared_read_verified_is_cached_and_refusals_are_not(
    cold: Runtime, selects: list[str]
) -> None:
    services, authenticator = cold.services, cold.services.authenticator
    agent = make_person(services)
    good, other = make_token(services, agent), make_token(services, agent)
    verify_all(
        authenticator,
        [request(f"token {good.token_string}"), request(f"token {other.token.id}:{WRONG_CODE}")],
    )

    selects.clear()
    assert authenticator.try_cached(request(f"token {good.token_string}")) is not None
    assert authenticator.try_cached(request(f"token {other.token_string}")) is None
    assert selects == []
    assert verify_all(authenticator, [request(f"token {other.token_string}")]) == [
        (AuthMethod.API_TOKEN, agent.id, other.token.id, None)
    ]


def test_a_change_applied_during_a_shared_read_keeps_its_result_out_of_the_cache(
    cold: Runtime,
) -> None:
    services, authenticator = cold.services, cold.services.authenticator
    agent = make_person(services)
    key, token = make_key(services, agent), make_token(services, agent)

    def change_meanwhile(*args: Any) -> None:
        # A change applied while the SELECT runs: what it reads may predate it.
        services.credential_cache.apply(CredentialChange(ChangeKind.PERSON, agent.id))

    event.listen(cold.database.engine, "before_cursor_execute", change_meanwhile)
    try:
        answers = verify_all(
            authenticator,
            [request(f"token {token.token_string}"), request(f"key {key.key_string}")],
        )
    finally:
        event.remove(cold.database.engine, "before_cursor_execute", change_meanwhile)

    assert answers == [
        (AuthMethod.API_TOKEN, agent.id, token.token.id, None),
        (AuthMethod.API_KEY, agent.id, None, key.key.id),
    ]
    assert authenticator.try_cached(request(f"token {token.token_string}")) is None
    assert authenticator.try_cached(request(f"key {key.key_string}")) is None


def test_concurrent_key_misses_share_one_read_and_answer_as_verify_does(
    cold: Runtime, selects: list[str]
) -> None:
    services, authenticator = cold.services, cold.services.authenticator
    agent = make_person(services)
    key, revoked = make_key(services, agent), make_key(services, agent)
    superuser = make_key(services, agent, superuser=True)
    services.api_keys.revoke(revoked.key.id)
    requests = [
        request(f"key {key.key_string}"),
        request(f"key {key.key.id}:{WRONG_CODE}"),
        request(f"key {revoked.key_string}"),
        request(f"key 99999999:{WRONG_CODE}"),
        request(api_key_header=superuser.key_string),
    ]
    selects.clear()

    answers = verify_all(authenticator, requests)

    by_key = AuthMethod.API_KEY
    assert answers == [
        (by_key, agent.id, None, key.key.id),
        InvalidApiKey,
        InvalidApiKey,
        InvalidApiKey,
        (by_key, agent.id, None, superuser.key.id),
    ]
    assert len(selects) == 1
    assert authenticator.try_cached(request(f"key {key.key_string}")) is not None
    assert _each_alone(authenticator, requests) == answers


def test_agents_basic_and_no_credential_answer_as_verify_does(cold: Runtime) -> None:
    services, authenticator = cold.services, cold.services.authenticator
    agent, acted_for = make_person(services), make_person(services)
    key, token = make_key(services, agent), make_token(services, agent)
    superuser = make_key(services, None, superuser=True)

    def basic(value: str) -> PresentedRequest:
        return request("Basic " + base64.b64encode(value.encode()).decode())

    requests = [
        request(f"key {superuser.key_string}", agent_id_header=str(acted_for.id)),
        request(f"key {superuser.key_string}", agent_id_header="not-a-number"),
        request(f"key {superuser.key_string}", agent_id_header="99999999"),
        basic(key.key_string),
        basic(token.token_string),
        basic(f"{token.token.id}:{WRONG_CODE}"),
        request(),
    ]

    answers = verify_all(authenticator, requests)

    assert answers == [
        (AuthMethod.API_KEY, acted_for.id, None, superuser.key.id),
        InvalidApiKey,
        InvalidApiKey,
        (AuthMethod.API_KEY, agent.id, None, key.key.id),
        (AuthMethod.API_TOKEN, agent.id, token.token.id, None),
        InvalidApiToken,
        Unauthorized,
    ]
    assert _each_alone(authenticator, requests) == answers


def _each_alone(authenticator: Authenticator, requests: list[PresentedRequest]) -> list[object]:
    """What the synchronous check says, request by request."""
    answers: list[object] = []
    for presented in requests:
        try:
            answers.append(outcome(authenticator.verify(presented)))
        except (InvalidApiKey, InvalidApiToken, Unauthorized) as error:
            answers.append(outcome(error))
    return answers


def test_a_failed_shared_read_fails_its_callers_and_the_next_one_reads_again(
    cold: Runtime,
) -> None:
    services, authenticator = cold.services, cold.services.authenticator
    agent = make_person(services)
    tokens = [make_token(services, agent) for _ in range(3)]
    failures = [1]

    def fail_once(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if failures and "api_tokens" in statement:
            failures.pop()
            raise RuntimeError("the read failed")

    event.listen(cold.database.engine, "before_cursor_execute", fail_once)
    try:
        first = verify_all(authenticator, [request(f"token {t.token_string}") for t in tokens])
        again = verify_all(authenticator, [request(f"token {tokens[0].token_string}")])
    finally:
        event.remove(cold.database.engine, "before_cursor_execute", fail_once)

    assert first == [RuntimeError] * 3
    assert again == [(AuthMethod.API_TOKEN, agent.id, tokens[0].token.id, None)]


# -- the unpinged pool ---------------------------------------------------------------------


def _backend_pid(connection: Connection) -> int:
    return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(runtime: Runtime, pid: int) -> None:
    # From a connection of the main pool: the hot pool's connection stays idle in its pool.
    with runtime.database.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


# SQLite has no server connection to lose.
@pytest.mark.postgresql_only
def test_a_terminated_connection_costs_the_check_no_error(cold: Runtime) -> None:
    services, database = cold.services, cold.database
    agent = make_person(services)
    first, second = make_token(services, agent), make_token(services, agent)
    pid = database.hot_read(_backend_pid)

    _terminate(cold, pid)
    answer = services.authenticator.verify(request(f"token {first.token_string}"))
    assert answer.api_token_id == first.token.id
    assert database.hot_read(_backend_pid) != pid

    _terminate(cold, database.hot_read(_backend_pid))
    assert verify_all(services.authenticator, [request(f"token {second.token_string}")]) == [
        (AuthMethod.API_TOKEN, agent.id, second.token.id, None)
    ]


def test_a_failing_hot_read_that_is_no_disconnect_is_not_retried(cold: Runtime) -> None:
    calls: list[int] = []

    def broken(connection: Connection) -> object:
        calls.append(1)
        return connection.execute(text("SELECT * FROM no_such_table")).all()

    with pytest.raises(DBAPIError):
        cold.database.hot_read(broken)
    assert calls == [1]


def _open_at_once(database: Database, count: int) -> list[int]:
    """Take ``count`` hot connections at the same time (each read waits for the others)."""
    together = threading.Barrier(count)

    def read(connection: Connection) -> int:
        pid = _backend_pid(connection)
        together.wait(timeout=60)
        return pid

    with ThreadPoolExecutor(count) as threads:
        return list(threads.map(lambda _: database.hot_read(read), range(count)))


@pytest.mark.postgresql_only
def test_a_check_after_a_restart_finds_every_idle_connection_dead_and_still_answers(
    cold: Runtime,
) -> None:
    services, database = cold.services, cold.database
    agent = make_person(services)
    issued = make_token(services, agent)
    dead = _open_at_once(database, 3)
    for pid in dead:  # what a restart leaves: every idle connection of the hot pool gone
        _terminate(cold, pid)

    answer = services.authenticator.verify(request(f"token {issued.token_string}"))

    assert answer.api_token_id == issued.token.id
    assert database.hot_read(_backend_pid) not in dead


@pytest.mark.postgresql_only
def test_a_connection_busy_while_the_hot_pool_recovers_is_closed_with_the_others(
    database_url: str, clock: ManualClock
) -> None:
    """Recovering never strands a connection outside the pool, beyond the budget, still open."""
    name = f"tessera-hot-{secrets.token_hex(4)}"
    url = make_url(database_url).update_query_dict({"application_name": name})
    outside = create_engine(normalize_url(database_url), poolclass=NullPool)
    held, release = threading.Event(), threading.Event()

    def slow(connection: Connection) -> int:
        held.set()
        assert release.wait(60)
        return _backend_pid(connection)

    with extra_runtime(url.render_as_string(hide_password=False), clock=clock) as runtime:
        database = runtime.database
        with ThreadPoolExecutor(1) as thread:
            busy = thread.submit(database.hot_read, slow)
            assert held.wait(60)
            idle = database.hot_read(_backend_pid)  # a second connection: the first is busy
            _terminate(runtime, idle)
            assert database.hot_read(_backend_pid) != idle
            release.set()
            busy.result()
        database.dispose()
        with outside.connect() as connection:
            left = connection.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"),
                {"name": name},
            ).scalar_one()
    outside.dispose()

    assert left == 0
