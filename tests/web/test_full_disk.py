"""A real full disk under SQLite: a small tmpfs (issue #16 §4).

The database lives on a tmpfs of a few MiB; a filler file takes the rest of it. Writes then
get 503 with ``Retry-After`` and lose nothing acknowledged; reads keep working; once the filler
is removed, writes succeed again without a restart. Mounting needs root (as on the project's
machines and in CI); elsewhere the test says so and is skipped (failed under ``CI=true``).
"""

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tessera.app import create_app
from tessera.bootstrap import build_runtime
from tests.conftest import settings_for_tests
from tests.factories import key_header, make_key, make_person
from tests.live import serving
from tests.web.envelopes import assert_error
from tests.web.test_sqlite_faults import UNAVAILABLE, new_person


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    # Our own arguments: no untrusted input.
    mounted = subprocess.run(  # noqa: S603
        ["/usr/bin/mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        reason = f"cannot mount a small tmpfs (needs root): {mounted.stderr.strip()}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: no test may be skipped)", pytrace=False)
        pytest.skip(reason)
    try:
        yield mount_point
    finally:
        subprocess.run(["/usr/bin/umount", "-l", str(mount_point)], check=False)  # noqa: S603


def _fill(disk: Path) -> Path:
    """A file that takes every byte left on ``disk``."""
    filler = disk / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(descriptor, b"\0" * 4096)  # unbuffered: the write that fails is ours
    except OSError:
        pass
    finally:
        os.close(descriptor)
    return filler


def test_a_full_disk_refuses_writes_with_503_and_recovers_when_space_returns(
    small_disk: Path, tmp_path: Path
) -> None:
    prepared = tmp_path / "prepared.db"
    runtime = build_runtime(settings_for_tests(f"sqlite:///{prepared}"))
    try:
        admin = key_header(make_key(runtime.services, make_person(runtime.services, admin=True)))
    finally:
        runtime.database.dispose()
    shutil.copy(prepared, small_disk / "tessera.db")
    url = f"sqlite:///{small_disk}/tessera.db"

    runtime = build_runtime(settings_for_tests(url, auto_migrate=False))
    try:
        with serving(create_app(runtime=runtime)) as base, httpx.Client(base_url=base) as api:
            before = new_person(api, admin, "before@example.test")
            filler = _fill(small_disk)
            while_full = [new_person(api, admin, f"full{n}@example.test") for n in range(100)]
            read = api.get("/api/v2/me", headers=admin)
            filler.unlink()
            after = new_person(api, admin, "after@example.test")
    finally:
        runtime.database.dispose()
    refused = [answer for answer in while_full if answer.status_code == 503]
    acknowledged = {
        answer.json()["data"]["primary_email"]
        for answer in [before, *while_full, after]
        if answer.status_code == 201
    }
    with sqlite3.connect(small_disk / "tessera.db") as check:
        stored = {row[0] for row in check.execute("SELECT primary_email FROM people")}
        integrity = check.execute("PRAGMA integrity_check").fetchone()[0]

    assert before.status_code == 201, before.text
    assert refused, [answer.status_code for answer in while_full][-5:]
    assert_error(refused[0], UNAVAILABLE)
    assert refused[0].headers["Retry-After"] == "5"
    assert all(answer.status_code in (201, 503) for answer in while_full)
    assert read.status_code == 200, read.text
    assert after.status_code == 201, after.text  # space back: writes work, no restart
    assert acknowledged <= stored
    assert integrity == "ok"
