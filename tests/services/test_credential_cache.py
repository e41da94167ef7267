"""The credential cache on its own: bound, freshness, what each change forgets, late puts."""

from datetime import UTC, datetime, timedelta

import pytest

from tessera.core.changes import ChangeKind, CredentialChange
from tessera.core.ids import ApiKeyId, ApiTokenId, PersonId
from tessera.core.people import Person
from tessera.core.principals import ApiKeyRecord, ApiTokenRecord, TokenSource
from tessera.services.credential_cache import CredentialCache, Slot

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
TTL = timedelta(seconds=10)


def person(person_id: int) -> Person:
    return Person(
        id=PersonId(person_id),
        name="Ann Agent",
        first_name="Ann",
        last_name="Agent",
        display_name="Ann Agent",
        primary_email=f"ann{person_id}@example.test",
        emails=(f"ann{person_id}@example.test",),
        is_agent=True,
        is_admin=False,
        is_disabled=False,
        timezone="UTC",
        language_id=1,
        phone=None,
        identity_provider=None,
        has_password=False,
        created_at=NOW,
    )


def key(key_id: int, owner: int | None) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=ApiKeyId(key_id),
        code_digest=b"k" * 32,
        person=person(owner) if owner is not None else None,
        is_superuser=owner is None,
        admin_api=False,
        tags="*",
        revoked_at=None,
    )


def token(token_id: int, owner: int, client: str | None = None) -> ApiTokenRecord:
    return ApiTokenRecord(
        id=ApiTokenId(token_id),
        code_digest=b"t" * 32,
        person=person(owner),
        source=TokenSource.OAUTH if client else TokenSource.EXCHANGE,
        created_at=NOW,
        last_used_at=None,
        expires_at=None,
        revoked_at=None,
        oauth_client_id=client,
    )


def filled(cache: CredentialCache) -> CredentialCache:
    """Keys 1 (person 10) and 2 (superuser, nobody); tokens 3 (person 10, app 7) and 4
    (person 20); the snapshot of person 20."""
    ticket = cache.ticket()
    cache.put_api_key(key(1, 10), ticket=ticket, read_at=NOW)
    cache.put_api_key(key(2, None), ticket=ticket, read_at=NOW)
    cache.put_api_token(token(3, 10, client="7_abc"), ticket=ticket, read_at=NOW)
    cache.put_api_token(token(4, 20), ticket=ticket, read_at=NOW)
    cache.put_person(person(20), ticket=ticket, read_at=NOW)
    return cache


def present(cache: CredentialCache) -> set[str]:
    names = {f"key{i}" for i in (1, 2) if cache.api_key(i, NOW) is not None}
    names |= {f"token{i}" for i in (3, 4) if cache.api_token(i, NOW) is not None}
    if cache.person(20, NOW) is not None:
        names.add("person20")
    return names


EVERYTHING = {"key1", "key2", "token3", "token4", "person20"}


@pytest.mark.parametrize(
    ("change", "left"),
    [
        (CredentialChange(ChangeKind.API_KEY, 1), EVERYTHING - {"key1"}),
        (CredentialChange(ChangeKind.API_KEY, 3), EVERYTHING),  # a key id, not the token 3
        (CredentialChange(ChangeKind.API_TOKEN, 3), EVERYTHING - {"token3"}),
        (CredentialChange(ChangeKind.PERSON, 10), {"key2", "token4", "person20"}),
        (CredentialChange(ChangeKind.PERSON, 20), {"key1", "key2", "token3"}),
        (CredentialChange(ChangeKind.OAUTH_CLIENT, 7), EVERYTHING - {"token3"}),
        (CredentialChange(ChangeKind.OAUTH_CLIENT, 8), EVERYTHING),
        (CredentialChange(ChangeKind.EVERYTHING), set()),
    ],
)
def test_each_change_forgets_exactly_what_it_touches(
    change: CredentialChange, left: set[str]
) -> None:
    cache = filled(CredentialCache(100, TTL))
    assert present(cache) == EVERYTHING

    cache.apply(change)

    assert present(cache) == left
    assert len(cache) == len(left)


def test_size_bounds_the_entries_and_the_oldest_read_goes_first() -> None:
    cache = CredentialCache(3, TTL)
    for token_id in (1, 2, 3):
        cache.put_api_token(token(token_id, 10), ticket=cache.ticket(), read_at=NOW)
    assert cache.api_token(1, NOW) is not None  # a hit in the current generation moves nothing

    cache.put_api_token(token(4, 10), ticket=cache.ticket(), read_at=NOW)

    assert len(cache) == 3
    assert [t for t in (1, 2, 3, 4) if cache.api_token(t, NOW) is not None] == [2, 3, 4]
    # The evicted entry left no trace in the person index: a person change finds the rest.
    cache.apply(CredentialChange(ChangeKind.PERSON, 10))
    assert len(cache) == 0


def test_a_credential_in_use_is_renewed_and_outlasts_those_nobody_uses() -> None:
    cache = CredentialCache(3, TTL)
    for token_id in (1, 2, 3):
        cache.put_api_token(token(token_id, 10), ticket=cache.ticket(), read_at=NOW)
    later = NOW + TTL / 2  # the generation turns: 1, 2 and 3 are in their second half

    assert cache.api_token(2, later) is not None
    assert cache.take_due() == {Slot.API_KEY: [], Slot.API_TOKEN: [2], Slot.PERSON: []}
    cache.put_api_token(token(2, 10), ticket=cache.ticket(), read_at=later)  # the refresher
    cache.put_api_token(token(4, 10), ticket=cache.ticket(), read_at=later)

    assert [t for t in (1, 2, 3, 4) if cache.api_token(t, later) is not None] == [2, 3, 4]
    # Past the first read's TTL only the renewed and the new entries are served.
    assert [t for t in (2, 3, 4) if cache.api_token(t, NOW + TTL) is not None] == [2, 4]
    assert sorted(cache.take_due()[Slot.API_TOKEN]) == [2, 4]  # in their second half now


def test_a_read_older_than_both_generations_is_not_stored() -> None:
    cache = CredentialCache(10, TTL)
    cache.put_api_token(token(1, 10), ticket=cache.ticket(), read_at=NOW + TTL)

    # Read long before the generations it would join: it would outlive its TTL there.
    cache.put_api_token(token(2, 10), ticket=cache.ticket(), read_at=NOW)
    # Read before the current generation but after the previous one began: it joins that one.
    cache.put_api_token(token(3, 10), ticket=cache.ticket(), read_at=NOW + TTL * 1.2)
    cache.put_api_token(token(4, 10), ticket=cache.ticket(), read_at=NOW + TTL * 1.6)
    cache.put_api_token(token(5, 10), ticket=cache.ticket(), read_at=NOW + TTL * 1.4)

    assert cache.api_token(2, NOW + TTL * 1.6) is None
    assert [t for t in (1, 3, 4, 5) if cache.api_token(t, NOW + TTL * 1.99) is not None] == [
        1,
        3,
        4,
        5,
    ]
    # A generation's entries go with it: a late read may go earlier than its TTL, never later.
    assert [t for t in (1, 3, 4, 5) if cache.api_token(t, NOW + TTL * 2) is not None] == [4]
    assert cache.api_token(4, NOW + TTL * 2.59) is not None
    assert cache.api_token(4, NOW + TTL * 2.6) is None


def test_an_entry_is_fresh_for_the_ttl_after_its_read_and_no_longer() -> None:
    cache = CredentialCache(10, TTL)
    cache.put_api_token(token(1, 10), ticket=cache.ticket(), read_at=NOW)

    assert cache.api_token(1, NOW + TTL - timedelta(microseconds=1)) is not None
    assert cache.api_token(1, NOW + TTL) is None


def test_a_clock_stepped_back_starts_afresh_and_caching_goes_on() -> None:
    cache = CredentialCache(10, TTL)
    later = NOW + timedelta(days=3)  # a test clock moved ahead, or a wall clock set back after
    cache.put_api_token(token(1, 10), ticket=cache.ticket(), read_at=later)
    assert cache.api_token(1, later) is not None

    assert cache.api_token(1, NOW) is None  # an entry of unknown age is not served
    cache.put_api_token(token(2, 10), ticket=cache.ticket(), read_at=NOW)
    assert cache.api_token(2, NOW) is not None
    assert cache.api_token(2, NOW + TTL) is None  # and its TTL counts from the new time


def test_a_read_that_overlapped_a_change_is_not_stored() -> None:
    cache = CredentialCache(10, TTL)
    ticket = cache.ticket()  # a miss starts reading the database…
    cache.apply(CredentialChange(ChangeKind.API_TOKEN, 1))  # …the token is revoked meanwhile…

    cache.put_api_token(token(1, 10), ticket=ticket, read_at=NOW)  # …and the old row arrives

    assert cache.api_token(1, NOW) is None
    cache.put_api_token(token(1, 10), ticket=cache.ticket(), read_at=NOW)
    assert cache.api_token(1, NOW) is not None


def test_discard_forgets_one_entry_and_its_index_entries() -> None:
    cache = filled(CredentialCache(100, TTL))

    cache.discard(Slot.API_TOKEN, 3)

    assert present(cache) == EVERYTHING - {"token3"}
    cache.apply(CredentialChange(ChangeKind.OAUTH_CLIENT, 7))
    assert present(cache) == EVERYTHING - {"token3"}


@pytest.mark.parametrize(("size", "seconds"), [(0, 10), (100, 0)])
def test_size_or_ttl_zero_caches_nothing(size: int, seconds: int) -> None:
    cache = filled(CredentialCache(size, timedelta(seconds=seconds)))

    assert not cache.enabled
    assert present(cache) == set()
    assert len(cache) == 0


def test_while_held_nothing_lapses_and_after_it_the_bound_is_back() -> None:
    holding = [True]
    cache = CredentialCache(10, TTL, hold=lambda: holding[0])
    cache.put_api_token(token(1, 10), ticket=cache.ticket(), read_at=NOW)

    # The database is down, within the operator's grace: served past its TTL.
    assert cache.api_token(1, NOW + TTL * 3) is not None

    holding[0] = False
    assert cache.api_token(1, NOW + TTL * 3 + timedelta(seconds=1)) is None
