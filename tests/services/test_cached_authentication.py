"""The per-request check with the credential cache on, against real databases (ADR 0010).

No write publishes changes on its own yet (the change feed does that): these tests hand the
cache the change a service would publish, or show what happens when it is missed.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from tessera.bootstrap import Runtime
from tessera.core.changes import ChangeKind, CredentialChange
from tessera.core.errors import InvalidApiKey, InvalidApiToken
from tessera.core.principals import AuthMethod
from tessera.services.authenticate import Authenticator, PresentedRequest
from tessera.services.people import PersonChanges
from tessera.store.tables import ApiKeyRow, ApiTokenRow
from tests.clock import ManualClock
from tests.conftest import extra_runtime, select_statements
from tests.factories import make_key, make_person, make_token

TTL = timedelta(seconds=10)


@pytest.fixture
def cached(
    request: pytest.FixtureRequest, database_url: str, clock: ManualClock
) -> Iterator[Runtime]:
    """A runtime with a small cache (5 entries; ``@pytest.mark.cache_size(n)`` for another)."""
    marker = request.node.get_closest_marker("cache_size")
    with extra_runtime(
        database_url,
        clock=clock,
        credential_cache_size=marker.args[0] if marker else 5,
        credential_cache_seconds=TTL.total_seconds(),
    ) as runtime:
        yield runtime


@pytest.fixture
def selects(cached: Runtime) -> Iterator[list[str]]:
    """Every SELECT the cached runtime sends from now on."""
    with select_statements(cached.database.engine) as seen:
        yield seen


def check(runtime: Runtime, authorization: str, **headers: str) -> Any:
    request = PresentedRequest(authorization=authorization, client_address="192.0.2.7", **headers)
    return runtime.services.authenticator.authenticate(request)


def cached_only(runtime: Runtime, authorization: str, **headers: str) -> Any:
    """What the event loop decides without the database (None: it would go to a thread)."""
    authenticator: Authenticator = runtime.services.authenticator
    return authenticator.try_cached(PresentedRequest(authorization=authorization, **headers))


def test_a_verified_credential_is_served_from_memory_after_one_read(
    cached: Runtime, selects: list[str]
) -> None:
    services = cached.services
    agent = make_person(services)
    key, token = make_key(services, agent), make_token(services, agent)
    selects.clear()

    for _ in range(3):
        assert check(cached, f"key {key.key_string}").api_key_id == key.key.id
        assert check(cached, f"token {token.token_string}").api_token_id == token.token.id

    assert len(selects) == 2
    assert cached_only(cached, f"token {token.token_string}").person.id == agent.id


def test_a_wrong_code_for_a_cached_id_is_refused_and_spoils_nothing(
    cached: Runtime, selects: list[str]
) -> None:
    services = cached.services
    agent = make_person(services)
    key, token = make_key(services, agent), make_token(services, agent)
    check(cached, f"key {key.key_string}")
    check(cached, f"token {token.token_string}")

    with pytest.raises(InvalidApiKey):
        check(cached, f"key {key.key.id}:{'2' * 25}")
    with pytest.raises(InvalidApiToken):
        check(cached, f"token {token.token.id}:{'2' * 25}")
    with pytest.raises(InvalidApiToken):  # now refused from memory (ADR 0024)
        cached_only(cached, f"token {token.token.id}:{'2' * 25}")

    selects.clear()
    assert check(cached, f"key {key.key_string}").api_key_id == key.key.id
    assert check(cached, f"token {token.token_string}").api_token_id == token.token.id
    assert selects == []


def test_a_flood_of_unknown_ids_evicts_no_good_entry(cached: Runtime, selects: list[str]) -> None:
    services = cached.services
    agent = make_person(services)
    tokens = [make_token(services, agent) for _ in range(3)]
    for issued in tokens:
        check(cached, f"token {issued.token_string}")

    for unknown in range(10_000_000, 10_000_050):  # ten times the cache's size
        with pytest.raises(InvalidApiToken):
            check(cached, f"token {unknown}:{'A' * 25}")

    selects.clear()
    for issued in tokens:
        assert check(cached, f"token {issued.token_string}").api_token_id == issued.token.id
    assert selects == []


def test_the_cache_holds_at_most_its_size(cached: Runtime, selects: list[str]) -> None:
    services = cached.services
    agent = make_person(services)
    tokens = [make_token(services, agent) for _ in range(8)]

    for issued in tokens:
        check(cached, f"token {issued.token_string}")

    assert len(services.credential_cache) == 5
    selects.clear()
    check(cached, f"token {tokens[0].token_string}")  # the least recently used: evicted
    check(cached, f"token {tokens[-1].token_string}")
    assert len(selects) == 1


def test_a_revocation_whose_message_is_lost_stops_the_credential_after_the_ttl(
    cached: Runtime, clock: ManualClock, runtime: Runtime
) -> None:
    services = cached.services
    # Another process revokes: the cached runtime's feed is not polling, so no message arrives.
    elsewhere = runtime.services
    agent = make_person(services)
    key, token = make_key(services, agent), make_token(services, agent)
    check(cached, f"key {key.key_string}")
    check(cached, f"token {token.token_string}")

    elsewhere.api_keys.revoke(key.key.id)
    elsewhere.api_tokens.revoke(token.token.id)
    clock.advance(TTL - timedelta(seconds=1))
    assert check(cached, f"key {key.key_string}").api_key_id == key.key.id  # the bound
    clock.advance(timedelta(seconds=1))

    with pytest.raises(InvalidApiKey):
        check(cached, f"key {key.key_string}")
    with pytest.raises(InvalidApiToken):
        check(cached, f"token {token.token_string}")
    assert len(services.credential_cache) == 0  # refused entries are dropped, not kept stale


def test_changes_stop_credentials_at_once(cached: Runtime) -> None:
    services, cache = cached.services, cached.services.credential_cache
    agent, other = make_person(services), make_person(services)
    key, token = make_key(services, agent), make_token(services, agent)
    others_token = make_token(services, other)
    for authorization in (
        f"key {key.key_string}",
        f"token {token.token_string}",
        f"token {others_token.token_string}",
    ):
        check(cached, authorization)

    services.api_keys.revoke(key.key.id)
    cache.apply(CredentialChange(ChangeKind.API_KEY, key.key.id))
    with pytest.raises(InvalidApiKey):
        check(cached, f"key {key.key_string}")

    services.people.change(agent.id, PersonChanges(is_disabled=True))
    cache.apply(CredentialChange(ChangeKind.PERSON, agent.id))
    with pytest.raises(InvalidApiToken):
        check(cached, f"token {token.token_string}")
    assert cached_only(cached, f"token {others_token.token_string}") is not None

    services.api_tokens.revoke(others_token.token.id)
    cache.apply(CredentialChange(ChangeKind.API_TOKEN, others_token.token.id))
    with pytest.raises(InvalidApiToken):
        check(cached, f"token {others_token.token_string}")


def test_a_regenerated_key_works_at_once_even_before_its_change_arrives(
    cached: Runtime,
) -> None:
    services = cached.services
    key = make_key(services, make_person(services))
    check(cached, f"key {key.key_string}")

    regenerated = services.api_keys.regenerate(key.key.id)

    # The new code does not match the cached digest: the database decides, and says yes.
    assert check(cached, f"key {regenerated.key_string}").api_key_id == key.key.id
    with pytest.raises(InvalidApiKey):
        check(cached, f"key {key.key_string}")


def test_expiry_is_checked_on_every_hit(
    cached: Runtime, clock: ManualClock, selects: list[str]
) -> None:
    services = cached.services
    token = make_token(services, make_person(services))
    expires = clock.now() + timedelta(seconds=5)
    with cached.database.write() as session:
        session.execute(
            update(ApiTokenRow).where(ApiTokenRow.id == token.token.id).values(expires_at=expires)
        )
    check(cached, f"token {token.token_string}")
    selects.clear()

    clock.advance(timedelta(seconds=6))  # past the expiry, within the cache's TTL

    with pytest.raises(InvalidApiToken):
        cached_only(cached, f"token {token.token_string}")
    assert selects == []


def test_a_superuser_key_acts_as_each_agent_named_and_sees_their_changes(
    cached: Runtime, selects: list[str]
) -> None:
    services, cache = cached.services, cached.services.credential_cache
    default, ann, bob = make_person(services), make_person(services), make_person(services)
    superuser = make_key(services, default, superuser=True)
    authorization = f"key {superuser.key_string}"

    def acting(agent_id: int | None) -> Any:
        headers = {} if agent_id is None else {"agent_id_header": str(agent_id)}
        return check(cached, authorization, **headers).person.id

    assert [acting(ann.id), acting(bob.id), acting(None)] == [ann.id, bob.id, default.id]
    selects.clear()
    assert [acting(bob.id), acting(ann.id), acting(None)] == [bob.id, ann.id, default.id]
    assert selects == []

    services.people.change(bob.id, PersonChanges(is_agent=False))
    cache.apply(CredentialChange(ChangeKind.PERSON, bob.id))
    with pytest.raises(InvalidApiKey):
        acting(bob.id)
    assert acting(ann.id) == ann.id
    with pytest.raises(InvalidApiKey):
        check(cached, authorization, agent_id_header="not-a-number")


def test_last_use_is_recorded_on_hits(cached: Runtime, clock: ManualClock) -> None:
    services = cached.services
    agent = make_person(services)
    key, token = make_key(services, agent), make_token(services, agent)
    check(cached, f"key {key.key_string}")
    check(cached, f"token {token.token_string}")
    services.usage.flush()
    clock.advance(timedelta(seconds=3))

    hit_key = check(cached, f"key {key.key_string}")
    hit_token = check(cached, f"token {token.token_string}")
    assert services.usage.flush() == 2

    with cached.database.read() as session:
        key_row = session.get_one(ApiKeyRow, key.key.id)
        token_row = session.get_one(ApiTokenRow, token.token.id)
        uses = [(r.last_used_at, r.last_used_address) for r in (key_row, token_row)]
    for used_at, address in uses:
        assert address == "192.0.2.7"
        assert used_at is not None
        used_at = used_at.replace(tzinfo=used_at.tzinfo or UTC)
        assert used_at >= datetime.now(UTC) + timedelta(seconds=2)  # the hit's time, not the read's
    assert hit_key.auth_method is AuthMethod.API_KEY
    assert hit_token.auth_method is AuthMethod.API_TOKEN


@pytest.mark.cache_size(100)
def test_the_refresher_renews_credentials_in_use_and_drops_what_no_longer_verifies(
    cached: Runtime, clock: ManualClock, selects: list[str], runtime: Runtime
) -> None:
    services = cached.services
    elsewhere = runtime.services  # another process, whose change messages never arrive here
    agent, bob = make_person(services), make_person(services)
    key, token = make_key(services, agent), make_token(services, agent)
    revoked, regenerated = make_token(services, agent), make_key(services, agent)
    idle = make_token(services, bob)
    superuser = f"key {make_key(services, None, superuser=True).key_string}"
    in_use = [f"key {key.key_string}", f"token {token.token_string}"]
    changing = [f"token {revoked.token_string}", f"key {regenerated.key_string}"]
    for authorization in [*in_use, *changing, f"token {idle.token_string}"]:
        check(cached, authorization)
    check(cached, superuser, agent_id_header=str(bob.id))  # caches Bob's snapshot too
    elsewhere.api_tokens.revoke(revoked.token.id)
    elsewhere.api_keys.regenerate(regenerated.key.id)

    clock.advance(TTL * 0.6)  # the second half of the entries' life: hits mark them due
    for authorization in [*in_use, *changing]:
        assert cached_only(cached, authorization) is not None
    assert cached_only(cached, superuser, agent_id_header=str(bob.id)) is not None
    selects.clear()

    assert services.authenticator.refresh_due() == 4  # key, token, the superuser key, Bob
    assert len(selects) == 3  # one SELECT per kind, whatever the number of entries

    clock.advance(TTL * 0.6)  # past the first read's TTL, within the renewed one
    selects.clear()
    for authorization in in_use:
        assert cached_only(cached, authorization) is not None
    assert cached_only(cached, superuser, agent_id_header=str(bob.id)).person.id == bob.id
    assert selects == []
    for authorization in [*changing, f"token {idle.token_string}"]:
        assert cached_only(cached, authorization) is None  # dropped, or expired: read again
    with pytest.raises(InvalidApiToken):
        check(cached, f"token {revoked.token_string}")
    with pytest.raises(InvalidApiKey):
        check(cached, f"key {regenerated.key_string}")
