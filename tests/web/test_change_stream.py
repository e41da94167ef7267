"""``GET /authz/changes``: credential changes as server-sent events, over real HTTP.

The session's server (same runtime as the test's services: a change is published the moment
it commits) for what the stream says; real ``tessera serve`` processes for what another
process's change does to it, and for what a stopping server does with its open streams.
"""

import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tessera.app import create_app
from tessera.core.people import Person
from tessera.services.container import Services
from tessera.services.oauth_clients import OAuthClientChanges
from tests.conftest import SECRET_KEY, extra_runtime
from tests.factories import key_header, make_key, make_oauth_client, make_person, make_token
from tests.feed.nodes import PROPAGATION_BOUND_SECONDS, nodes
from tests.live import serving
from tests.served import clean_environment, start, stop, wait_until_serving
from tests.web.envelopes import FORBIDDEN, UNAUTHORIZED
from tests.web.event_streams import subscribed

#: Nothing should take this long on the session's own server; a bound, not a speed target.
READ_SECONDS = 10.0
CHANGES_TAG = "authz.changes.get"


def _subscriber(services: Services) -> dict[str, str]:
    """The headers of a guarded API's service key, allowed the stream and nothing else."""
    return key_header(make_key(services, make_person(services), tags=CHANGES_TAG))


def test_the_stream_starts_with_everything_and_names_its_keep_alive(
    server: str, services: Services
) -> None:
    with subscribed(server, _subscriber(services), read_seconds=READ_SECONDS) as events:
        first = events.next_data()
        response = events.response

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-tessera-keep-alive"] == "10"
    assert first == "everything"


def test_the_general_check_guards_the_stream(api: httpx.Client, services: Services) -> None:
    other_tags = key_header(make_key(services, make_person(services), tags="tickets.*"))

    anonymous = api.get("/authz/changes")
    wrong_tag = api.get("/authz/changes", headers=other_tags)

    assert (anonymous.status_code, anonymous.json()) == (401, UNAUTHORIZED)
    assert (wrong_tag.status_code, wrong_tag.json()) == (403, FORBIDDEN)


#: Streams a test may open: one more each time the feed resynchronised under it (below).
ATTEMPTS = 3


def test_every_kind_of_change_is_named(server: str, services: Services) -> None:
    # The feed resynchronises when it cannot vouch it missed nothing (on PostgreSQL, say, when
    # other tests' rows vanish under its cursor): it sends "everything" and ends every stream,
    # and a client reconnects, as the guard does. The changes made before that were never
    # named one by one, so the test makes four new ones on the new stream.
    for _ in range(ATTEMPTS):
        person = make_person(services)
        key = make_key(services, person)
        token = make_token(services, person)
        app = make_oauth_client(services)
        expected = [
            f"api_key {key.key.id}",
            f"api_token {token.token.id}",
            f"person {person.id}",
            f"oauth_client {app.client.id}",
        ]
        with subscribed(server, _subscriber(services), read_seconds=READ_SECONDS) as events:
            events.until("everything")
            services.api_keys.revoke(key.key.id)
            services.api_tokens.revoke(token.token.id)
            services.people.set_disabled(person.id, True)
            services.oauth_clients.change(app.client.id, OAuthClientChanges(is_enabled=False))
            seen: list[str] = []
            while (data := events.next_data()) is not None and data != expected[-1]:
                seen.append(data)
            if data is None:  # ended: it must have been a resynchronisation
                assert seen[-1:] == ["everything"], seen
                continue
            seen.append(data)
        # In order of first mention; the feed's poll may repeat a change this process already
        # published (harmless, ADR 0011), and may bring an earlier test's last changes.
        assert list(dict.fromkeys(event for event in seen if event in expected)) == expected
        return
    pytest.fail(f"the feed resynchronised under each of {ATTEMPTS} streams")


def test_the_stream_ends_when_its_own_credential_is_revoked(
    server: str, services: Services
) -> None:
    issued = make_key(services, make_person(services), tags=CHANGES_TAG)

    with subscribed(server, key_header(issued), read_seconds=READ_SECONDS) as events:
        events.until("everything")
        services.api_keys.revoke(issued.key.id)
        last = events.next_data()
        after = events.next_data()

    assert last == f"api_key {issued.key.id}"
    assert after is None  # ended: reconnecting means passing the credential check again


def test_a_quiet_stream_keeps_the_connection_alive(database_url: str) -> None:
    with (
        extra_runtime(database_url, change_stream_keep_alive_seconds=1) as runtime,
        serving(create_app(runtime=runtime)) as url,
    ):
        headers = _subscriber(runtime.services)
        # The keep-alive is what proves the stream alive: a read never waits much longer.
        with subscribed(url, headers, read_seconds=READ_SECONDS) as events:
            events.until("everything")
            comments = [events.next_comment(), events.next_comment()]
            header = events.response.headers["x-tessera-keep-alive"]

    assert header == "1"
    assert comments == ["keep-alive", "keep-alive"]


@pytest.fixture(scope="module")
def node(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``tessera serve`` process on the session's database (another process)."""
    with nodes(database_url, tmp_path_factory.mktemp("stream-node"), workers=(1,)) as (url,):
        yield url


@pytest.mark.parametrize("change", ["key revoked", "token revoked", "person disabled"])
def test_a_change_made_by_another_process_reaches_the_stream_within_the_bound(
    node: str, services: Services, change: str
) -> None:
    person: Person = make_person(services)
    key, token = make_key(services, person), make_token(services, person)
    expected = {
        "key revoked": f"api_key {key.key.id}",
        "token revoked": f"api_token {token.token.id}",
        "person disabled": f"person {person.id}",
    }[change]

    # A read that waits longer than the bound fails the test (httpx.ReadTimeout); the node
    # keeps its stream quiet otherwise (its keep-alive is longer than the bound).
    with subscribed(node, _subscriber(services), read_seconds=PROPAGATION_BOUND_SECONDS) as events:
        events.until("everything")
        if change == "key revoked":
            services.api_keys.revoke(key.key.id)
        elif change == "token revoked":
            services.api_tokens.revoke(token.token.id)
        else:
            services.people.set_disabled(person.id, True)
        # The node polls the change table: the event may share the stream with others.
        seen = events.until(expected)

    assert seen[-1] == expected


def test_a_stopping_server_ends_its_streams_and_stops(
    database_url: str, services: Services, tmp_path: Path
) -> None:
    environment = clean_environment(
        TESSERA_DATABASE_URL=database_url,
        TESSERA_SECRET_KEY=SECRET_KEY,
        TESSERA_AUTO_MIGRATE="true",
        TESSERA_LOG_LEVEL="warning",
    )
    log = tmp_path / "serve.log"
    process = start(["--port", "0"], environment=environment, log=log)
    try:
        url = wait_until_serving(process, log)
        with subscribed(url, _subscriber(services), read_seconds=60) as events:
            events.until("everything")
            process.send_signal(signal.SIGTERM)
            ended = events.next_data()
            status = process.wait(timeout=60)
    finally:
        stop(process)

    assert ended is None
    assert status == -signal.SIGTERM  # uvicorn raises the signal again once it has stopped
