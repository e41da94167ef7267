"""A refused credential is refused again without the database, never one that works (ADR 0024).

Real databases; the SELECTs the runtime sends are counted, which is what a flood of bad
credentials would cost.
"""

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tessera.bootstrap import Runtime
from tessera.core.changes import ChangeKind, CredentialChange
from tessera.core.errors import InvalidApiKey, InvalidApiToken
from tessera.services.authenticate import PresentedRequest
from tessera.services.credential_cache import Slot
from tessera.services.people import PersonChanges
from tessera.services.refusal_cache import RefusalCache
from tests.clock import ManualClock
from tests.conftest import extra_runtime, select_statements
from tests.factories import make_key, make_person, make_token

TTL = timedelta(seconds=10)
WRONG = "2" * 25


@pytest.fixture
def guarded(database_url: str, clock: ManualClock) -> Iterator[Runtime]:
    with extra_runtime(
        database_url,
        clock=clock,
        credential_cache_seconds=TTL.total_seconds(),
        refusal_cache_size=50,
    ) as runtime:
        yield runtime


@pytest.fixture
def selects(guarded: Runtime) -> Iterator[list[str]]:
    with select_statements(guarded.database.engine, this_thread=True) as seen:
        yield seen


def check(runtime: Runtime, authorization: str, **headers: Any) -> Any:
    request = PresentedRequest(authorization=authorization, **headers)
    return runtime.services.authenticator.authenticate(request)


def refused_twice(runtime: Runtime, authorization: str, error: type[Exception]) -> None:
    for _ in range(2):
        with pytest.raises(error):
            check(runtime, authorization)


def test_an_unknown_id_a_wrong_code_and_a_revoked_credential_read_the_database_once(
    guarded: Runtime, selects: list[str]
) -> None:
    services = guarded.services
    person = make_person(services)
    key, token = make_key(services, person), make_token(services, person)
    revoked_key, revoked_token = make_key(services, person), make_token(services, person)
    services.api_keys.revoke(revoked_key.key.id)
    services.api_tokens.revoke(revoked_token.token.id)
    selects.clear()

    refused_twice(guarded, f"key 99999999:{WRONG}", InvalidApiKey)
    refused_twice(guarded, f"token 99999999:{WRONG}", InvalidApiToken)
    refused_twice(guarded, f"key {key.key.id}:{WRONG}", InvalidApiKey)
    refused_twice(guarded, f"token {token.token.id}:{WRONG}", InvalidApiToken)
    refused_twice(guarded, f"key {revoked_key.key_string}", InvalidApiKey)
    refused_twice(guarded, f"token {revoked_token.token_string}", InvalidApiToken)

    assert len(selects) == 6


def test_basic_is_refused_from_memory_once_refused_as_both(
    guarded: Runtime, selects: list[str]
) -> None:
    value = base64.b64encode(f"99999999:{WRONG}".encode()).decode()

    refused_twice(guarded, f"Basic {value}", InvalidApiToken)

    assert len(selects) == 2  # as a key, then as a token; then neither


def test_the_right_code_is_not_refused_by_a_wrong_one(guarded: Runtime) -> None:
    services = guarded.services
    key = make_key(services, make_person(services))
    with pytest.raises(InvalidApiKey):
        check(guarded, f"key {key.key.id}:{WRONG}")

    assert check(guarded, f"key {key.key_string}").api_key_id == key.key.id


def test_an_id_refused_before_it_existed_works_once_created(guarded: Runtime) -> None:
    services = guarded.services
    person = make_person(services)
    before = make_token(services, person)
    next_id = before.token.id + 1
    with pytest.raises(InvalidApiToken):
        check(guarded, f"token {next_id}:{WRONG}")  # guessed before it exists
    with pytest.raises(InvalidApiToken):
        check(guarded, f"token {next_id}:{WRONG}")

    created = make_token(services, person)

    assert created.token.id == next_id
    assert check(guarded, f"token {created.token_string}").api_token_id == next_id


def test_a_regenerated_key_works_at_once_and_its_old_code_stays_refused(guarded: Runtime) -> None:
    services = guarded.services
    key = make_key(services, make_person(services))
    check(guarded, f"key {key.key_string}")
    regenerated = services.api_keys.regenerate(key.key.id)

    refused_twice(guarded, f"key {key.key_string}", InvalidApiKey)
    assert check(guarded, f"key {regenerated.key_string}").api_key_id == key.key.id


def test_a_change_of_the_credential_forgets_its_refusals(
    guarded: Runtime, selects: list[str]
) -> None:
    refused_twice(guarded, f"key 424242:{WRONG}", InvalidApiKey)
    refused_twice(guarded, f"token 424242:{WRONG}", InvalidApiToken)

    guarded.changes.publish([CredentialChange(ChangeKind.API_KEY, 424242)])
    selects.clear()
    refused_twice(guarded, f"key 424242:{WRONG}", InvalidApiKey)
    refused_twice(guarded, f"token 424242:{WRONG}", InvalidApiToken)

    assert len(selects) == 1  # the key read again, the token still remembered


def test_a_person_changing_keeps_the_refusals(guarded: Runtime, selects: list[str]) -> None:
    person = make_person(guarded.services)
    token = make_token(guarded.services, person)
    refused_twice(guarded, f"token {token.token.id}:{WRONG}", InvalidApiToken)
    guarded.services.people.change(person.id, PersonChanges(name="Renamed"))
    selects.clear()

    refused_twice(guarded, f"token {token.token.id}:{WRONG}", InvalidApiToken)

    assert selects == []


def test_a_refusal_is_forgotten_after_the_ttl(
    guarded: Runtime, clock: ManualClock, selects: list[str]
) -> None:
    refused_twice(guarded, f"token 434343:{WRONG}", InvalidApiToken)
    clock.advance(TTL)
    selects.clear()

    refused_twice(guarded, f"token 434343:{WRONG}", InvalidApiToken)

    assert len(selects) == 1


def test_a_flood_of_different_credentials_stays_within_the_size(guarded: Runtime) -> None:
    for unknown in range(5_000_000, 5_000_200):
        with pytest.raises(InvalidApiToken):
            check(guarded, f"token {unknown}:{WRONG}")

    assert len(guarded.services.refusal_cache) == 50


# -- the structure alone -----------------------------------------------------------------------

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def digest(n: int) -> bytes:
    return n.to_bytes(8, "big") * 4


def test_a_read_that_began_before_a_change_is_not_remembered() -> None:
    cache = RefusalCache(size=10, ttl=TTL)
    ticket = cache.ticket()
    cache.apply(CredentialChange(ChangeKind.API_TOKEN, 7))

    cache.remember(Slot.API_TOKEN, 7, digest(1), ticket=ticket, read_at=NOW)

    assert not cache.refuses(Slot.API_TOKEN, 7, digest(1), NOW)
    assert len(cache) == 0


def test_a_clock_stepped_back_does_not_stretch_a_refusal_past_its_ttl() -> None:
    cache = RefusalCache(size=10, ttl=TTL)
    cache.remember(Slot.API_TOKEN, 7, digest(1), ticket=0, read_at=NOW + timedelta(days=3))

    assert cache.refuses(Slot.API_TOKEN, 7, digest(1), NOW + timedelta(days=3))
    assert not cache.refuses(Slot.API_TOKEN, 7, digest(1), NOW)  # days ahead: not trusted


def test_one_id_holds_a_few_refusals_and_the_rest_stay() -> None:
    cache = RefusalCache(size=100, ttl=TTL)
    cache.remember(Slot.API_KEY, 8, digest(0), ticket=0, read_at=NOW)
    for n in range(1, 40):
        cache.remember(Slot.API_TOKEN, 7, digest(n), ticket=0, read_at=NOW)

    assert len(cache) == 17
    assert cache.refuses(Slot.API_TOKEN, 7, digest(39), NOW)
    assert not cache.refuses(Slot.API_TOKEN, 7, digest(1), NOW)
    assert cache.refuses(Slot.API_KEY, 8, digest(0), NOW)
    assert not cache.refuses(Slot.API_KEY, 7, digest(39), NOW)  # a key is not a token


def test_everything_forgets_everything_and_a_disabled_cache_holds_nothing() -> None:
    cache = RefusalCache(size=10, ttl=TTL)
    cache.remember(Slot.API_KEY, 8, digest(0), ticket=0, read_at=NOW)
    cache.apply(CredentialChange(ChangeKind.EVERYTHING))
    disabled = RefusalCache(size=0, ttl=TTL)
    disabled.remember(Slot.API_KEY, 8, digest(0), ticket=0, read_at=NOW)

    assert len(cache) == 0
    assert not cache.holds(Slot.API_KEY, 8)
    assert len(disabled) == 0
