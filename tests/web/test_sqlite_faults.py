"""SQLite that cannot take a write, for real: a read-only file, a full one (issue #16 §1).

A read-only database is the same file opened with ``mode=ro``; a full one is SQLite's own
``SQLITE_FULL`` ("database or disk is full"), reached by capping the file's pages with
``PRAGMA max_page_count`` (what a full disk does to it, without needing a small filesystem).
Writes get 503 with ``Retry-After`` and lose nothing already stored; reads keep working.
"""

import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from tessera.app import create_app
from tessera.bootstrap import build_runtime
from tests.conftest import settings_for_tests
from tests.factories import key_header, make_key, make_person
from tests.live import serving
from tests.web.envelopes import assert_error

UNAVAILABLE = {
    "status": 503,
    "code": "service_unavailable",
    "message": "The database cannot be reached now. Try again in a moment.",
}


def new_person(api: httpx.Client, admin: dict[str, str], email: str) -> httpx.Response:
    return api.post("/api/v2/people", json={"email": email, "name": "New"}, headers=admin)


@pytest.fixture
def prepared(tmp_path: Path) -> tuple[str, dict[str, str]]:
    """A migrated SQLite file with an admin key in it."""
    url = f"sqlite:///{tmp_path}/faults.db"
    runtime = build_runtime(settings_for_tests(url))
    try:
        admin = key_header(make_key(runtime.services, make_person(runtime.services, admin=True)))
    finally:
        runtime.database.dispose()
    return url, admin


def test_a_read_only_database_refuses_writes_with_503_and_still_reads(
    prepared: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    _, admin = prepared
    read_only = f"sqlite:///file:{tmp_path}/faults.db?mode=ro&uri=true"
    runtime = build_runtime(settings_for_tests(read_only, auto_migrate=False))
    try:
        with serving(create_app(runtime=runtime)) as url, httpx.Client(base_url=url) as api:
            written = new_person(api, admin, "ro@example.test")
            read = api.get("/api/v2/me", headers=admin)
    finally:
        runtime.database.dispose()

    assert_error(written, UNAVAILABLE)
    assert written.headers["Retry-After"] == "5"
    assert read.status_code == 200, read.text


def test_a_full_database_refuses_writes_with_503_and_keeps_what_it_has(
    prepared: tuple[str, dict[str, str]],
) -> None:
    url, admin = prepared
    runtime = build_runtime(settings_for_tests(url))
    engine = runtime.database.engine
    with engine.connect() as connection:
        pages = connection.exec_driver_sql("PRAGMA page_count").scalar_one()

    @event.listens_for(engine, "connect")
    def full(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    engine.dispose()  # every connection from now on is capped at the file's present size
    try:
        with serving(create_app(runtime=runtime)) as base, httpx.Client(base_url=base) as api:
            answers = [new_person(api, admin, f"full{n}@example.test") for n in range(200)]
            refused = [a for a in answers if a.status_code == 503]
            read = api.get("/api/v2/me", headers=admin)
    finally:
        runtime.database.dispose()
    created = {a.json()["data"]["primary_email"] for a in answers if a.status_code == 201}
    with sqlite3.connect(url.removeprefix("sqlite:///")) as check:
        stored = {row[0] for row in check.execute("SELECT primary_email FROM people")}

    assert refused, [a.status_code for a in answers][-5:]
    assert_error(refused[0], UNAVAILABLE)
    assert all(a.status_code in (201, 503) for a in answers)
    assert created <= stored  # every acknowledged write is there
    assert read.status_code == 200
