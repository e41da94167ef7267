"""PostgreSQL refusing, then back; a held lock (issue #16 §1).

The database is the real PostgreSQL; ``tests.faults.FaultyLink`` sits between it and Tessera
and resets every connection when told to (PostgreSQL refusing, or restarted with connections
terminated). Answers while it is down: 503 with ``Retry-After`` in Deskpro's envelope on the
API, a page on the console; one warning per outage; requests work again by themselves after.
Credentials verified within the cache's TTL keep working throughout (docs/operations.md).
"""

import logging
import time
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tessera.store.database import PostgresTimeouts
from tests.conftest import served
from tests.factories import key_header, make_key, make_person
from tests.faults import FaultyLink, faulty_link
from tests.secrets_seen import remember
from tests.web.envelopes import assert_error, envelope

pytestmark = pytest.mark.postgresql_only

UNAVAILABLE = {
    **envelope(503, "service_unavailable"),
    "message": "The database cannot be reached now. Try again in a moment.",
}


@pytest.fixture
def link(database_url: str) -> Iterator[FaultyLink]:
    url = make_url(database_url)
    with faulty_link(url.host or "127.0.0.1", url.port or 5432) as link:
        yield link


def through(link: FaultyLink, database_url: str) -> str:
    url = make_url(database_url).set(host="127.0.0.1", port=link.port)
    return url.render_as_string(hide_password=False)


def test_a_refusing_database_gets_503_and_is_used_again_when_back(
    database_url: str, link: FaultyLink, caplog: pytest.LogCaptureFixture
) -> None:
    with served(through(link, database_url), db_connect_timeout_seconds=2) as (runtime, api):
        services = runtime.services
        person = make_person(services)
        used, unused = (
            key_header(make_key(services, person)),
            key_header(make_key(services, person)),
        )
        assert api.get("/api/v2/me", headers=used).status_code == 200  # now cached

        with caplog.at_level(logging.WARNING, logger="tessera.store.database"):
            link.mode = "reset"
            refused = [api.get("/api/v2/me", headers=unused) for _ in range(3)]
            page = api.get("/setup/not-a-real-code")
            cached = api.get("/api/v2/me", headers=used)
            link.mode = "forward"
            back = api.get("/api/v2/me", headers=unused)

    for answer in refused:
        assert_error(answer, UNAVAILABLE)
        assert answer.headers["Retry-After"] == "5"
    assert page.status_code == 503
    assert page.headers["Content-Type"].startswith("text/html")
    assert page.headers["Retry-After"] == "5"
    assert "The database cannot be reached now." in page.text
    assert cached.status_code == 200  # verified a moment ago: served from memory
    assert back.status_code == 200, back.text
    warnings = [r.getMessage() for r in caplog.records if r.name == "tessera.store.database"]
    assert len(warnings) == 2, warnings  # one when it went, one when it came back
    assert warnings[0].startswith("the database does not answer (")
    assert warnings[1].startswith("the database answers again")


def test_a_held_lock_costs_the_lock_timeout_not_the_holders_time(database_url: str) -> None:
    with served(database_url, db_lock_timeout_seconds=1) as (runtime, api):
        admin = key_header(make_key(runtime.services, make_person(runtime.services, admin=True)))
        person = make_person(runtime.services)
        # The test schema's search path is in the URL's options: the same tables as Tessera's.
        conninfo = make_url(database_url).set(drivername="postgresql")
        with psycopg.connect(conninfo.render_as_string(hide_password=False)) as holder:
            holder.execute("LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE")  # in a transaction
            answer = api.post(
                "/api/v2/api_keys", json={"person_id": person.id, "note": "x"}, headers=admin
            )
            holder.rollback()
        after = api.post(
            "/api/v2/api_keys", json={"person_id": person.id, "note": "y"}, headers=admin
        )

    assert_error(answer, UNAVAILABLE)
    assert answer.elapsed.total_seconds() < 10
    assert after.status_code == 201, after.text
    remember(after.json()["data"]["key_string"])


def test_the_timeouts_keep_the_urls_own_options() -> None:
    timeouts = PostgresTimeouts(connect_seconds=3, statement_seconds=1.5, lock_seconds=None)

    assert timeouts.connect_args("-csearch_path=mine") == {
        "connect_timeout": 3,
        "options": "-csearch_path=mine -c statement_timeout=1500",
    }
    assert PostgresTimeouts(None, None, None).connect_args() == {}


@pytest.mark.parametrize(("grace", "status"), [(0, 503), (60, 200)])
def test_cached_credentials_outlive_their_ttl_in_an_outage_only_within_the_grace(
    database_url: str, link: FaultyLink, grace: int, status: int
) -> None:
    with served(
        through(link, database_url),
        credential_cache_seconds=1,
        credential_outage_grace_seconds=grace,
        db_connect_timeout_seconds=2,
    ) as (runtime, api):
        key = key_header(make_key(runtime.services, make_person(runtime.services)))
        assert api.get("/api/v2/me", headers=key).status_code == 200  # cached

        link.mode = "reset"
        time.sleep(1.5)  # past the cache's TTL; the change feed has found the outage
        during = api.get("/api/v2/me", headers=key)
        link.mode = "forward"

    assert during.status_code == status, during.text
