"""ID token signing keys: one per algorithm whoever starts first, sealed, rotated (ADR 0039)."""

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tessera.bootstrap import Runtime, Wiring, build_runtime
from tessera.core.secret_keys import SecretKeyRing
from tessera.core.signing_keys import SigningAlgorithm, SigningKeyUnavailable
from tessera.services.signing_keys import SigningKeyPolicy, SigningKeyService
from tessera.store import signing_keys
from tessera.store.tables import SigningKeyRow
from tests.clock import ManualClock
from tests.conftest import SECRET_KEY, fresh_database, settings_for_tests, wipe

POLICY = SigningKeyPolicy(token_lifetime=timedelta(hours=1), rotate_after=timedelta(days=90))


@pytest.fixture
def empty_database(backend: str, tmp_path: Path) -> Iterator[str]:
    with fresh_database(backend, tmp_path) as url:
        yield url


def rows(runtime: Runtime) -> list[SigningKeyRow]:
    with runtime.database.read() as session:
        found = list(session.scalars(select(SigningKeyRow)))
        session.expunge_all()
    return found


def test_two_runtimes_starting_at_once_on_an_empty_database_make_one_key_each_algorithm(
    empty_database: str,
) -> None:
    Wiring(settings_for_tests(empty_database)).database.dispose()  # the schema, no key yet
    start = threading.Barrier(2)
    started: list[Runtime] = []
    failures: list[BaseException] = []

    def start_one() -> None:
        start.wait()
        try:
            started.append(build_runtime(settings_for_tests(empty_database)))
        except BaseException as failure:  # noqa: BLE001 - reported below
            failures.append(failure)

    threads = [threading.Thread(target=start_one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not failures, failures
    found = rows(started[0])
    assert sorted(row.algorithm for row in found) == ["ES256", "RS256"]
    assert all(row.signing_algorithm == row.algorithm for row in found)
    for runtime in started:
        runtime.database.dispose()


def test_a_second_signing_key_for_an_algorithm_is_refused_by_the_database(
    runtime: Runtime, clock: ManualClock
) -> None:
    keys = runtime.oauth.context.signing_keys
    keys.ensure()
    other = SigningKeyService(runtime.database, clock, SecretKeyRing.parse(SECRET_KEY), POLICY)

    try:
        assert other.ensure() == []  # both exist: nothing made
        with runtime.database.write() as session:
            # What a process that read "no key" a moment too early would do: refused.
            assert not signing_keys.add_signing_key(
                session,
                kid="late-comer",
                algorithm=SigningAlgorithm.RS256,
                public_jwk={},
                sealed=b"",
                secret_key_version=1,
                now=clock.now(),
            )
        assert len(rows(runtime)) == 2
    finally:
        wipe(runtime)


def test_a_key_sealed_with_another_secret_says_so_and_never_signs(
    runtime: Runtime, clock: ManualClock
) -> None:
    runtime.oauth.context.signing_keys.ensure()
    stranger = SigningKeyService(
        runtime.database, clock, SecretKeyRing.parse("another-secret-key-" + "x" * 32), POLICY
    )
    lacking = SigningKeyService(
        runtime.database,
        clock,
        SecretKeyRing.parse("2 active another-secret-key-" + "y" * 32),
        POLICY,
    )
    try:
        problems = stranger.check()
        assert len(problems) == 2
        assert "does not open with secret key version 1" in problems[0]
        with pytest.raises(SigningKeyUnavailable, match="sealed with secret key version 1"):
            lacking.signer(SigningAlgorithm.RS256)
        assert stranger.jwks()["keys"], "the public keys are published all the same"
    finally:
        wipe(runtime)


def test_the_schedule_rotates_only_keys_that_are_due(runtime: Runtime, clock: ManualClock) -> None:
    keys = runtime.oauth.context.signing_keys
    keys.ensure()
    try:
        assert keys.rotate_when_due() == []
        clock.advance(timedelta(days=91))
        rotated = keys.rotate_when_due()
        assert sorted(key.algorithm for key in rotated) == ["ES256", "RS256"]
        assert keys.rotate_when_due() == []  # the new ones are young
        published = {key["kid"] for key in keys.jwks()["keys"]}
        assert len(published) == 4
        clock.advance(timedelta(hours=2))  # every token the old keys signed has expired
        assert {key["kid"] for key in keys.jwks()["keys"]} == {key.kid for key in rotated}
    finally:
        wipe(runtime)
        clock.reset()


def test_nothing_private_is_stored_in_clear(runtime: Runtime) -> None:
    runtime.oauth.context.signing_keys.ensure()
    try:
        for row in rows(runtime):
            assert not {"d", "p", "q"} & set(row.public_jwk)
            assert b"PRIVATE KEY" not in row.sealed
            assert row.secret_key_version == 1
    finally:
        wipe(runtime)
