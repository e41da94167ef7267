"""Every change that can turn an accepted credential into a refused one reaches the listeners of
this process at once (before the service returns) and those of another process on its next poll.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from tessera.bootstrap import Runtime
from tessera.core.changes import ChangeKind, CredentialChange
from tessera.core.ids import PersonId
from tessera.core.principals import TokenSource
from tessera.services.api_keys import ApiKeyChanges
from tessera.services.change_feed import POLL_BATCH, ChangeFeed
from tessera.services.oauth_clients import OAuthClientChanges
from tessera.services.people import PersonChanges
from tessera.store import api_tokens as stored_tokens
from tessera.store import oauth as stored_oauth
from tessera.store.changes import record_change, record_changes
from tests.clock import ManualClock
from tests.factories import make_key, make_oauth_client, make_person, make_token
from tests.feed.recording import listening

Action = Callable[[Runtime], CredentialChange]


def _revoke_key(runtime: Runtime) -> CredentialChange:
    key = make_key(runtime.services, make_person(runtime.services)).key
    runtime.services.api_keys.revoke(key.id)
    return CredentialChange(ChangeKind.API_KEY, key.id)


def _regenerate_key(runtime: Runtime) -> CredentialChange:
    key = make_key(runtime.services, make_person(runtime.services)).key
    runtime.services.api_keys.regenerate(key.id)
    return CredentialChange(ChangeKind.API_KEY, key.id)


def _retag_key(runtime: Runtime) -> CredentialChange:
    key = make_key(runtime.services, None, superuser=True).key
    runtime.services.api_keys.change(key.id, ApiKeyChanges(tags="tickets.*"))
    return CredentialChange(ChangeKind.API_KEY, key.id)


def _revoke_token(runtime: Runtime) -> CredentialChange:
    token = make_token(runtime.services, make_person(runtime.services)).token
    runtime.services.api_tokens.revoke(token.id)
    return CredentialChange(ChangeKind.API_TOKEN, token.id)


def _disable_person(runtime: Runtime) -> CredentialChange:
    person = make_person(runtime.services)
    runtime.services.people.set_disabled(person.id, True)
    return CredentialChange(ChangeKind.PERSON, person.id)


def _demote_person(runtime: Runtime) -> CredentialChange:
    person = make_person(runtime.services, admin=True)
    runtime.services.people.change(person.id, PersonChanges(is_admin=False, name="Plain Agent"))
    return CredentialChange(ChangeKind.PERSON, person.id)


def _delete_person(runtime: Runtime) -> CredentialChange:
    person = make_person(runtime.services)
    make_token(runtime.services, person)
    runtime.services.people.delete(person.id)
    return CredentialChange(ChangeKind.PERSON, person.id)


def _disable_app(runtime: Runtime) -> CredentialChange:
    client = make_oauth_client(runtime.services).client
    runtime.services.oauth_clients.change(client.id, OAuthClientChanges(is_enabled=False))
    return CredentialChange(ChangeKind.OAUTH_CLIENT, client.id)


def _delete_app(runtime: Runtime) -> CredentialChange:
    client = make_oauth_client(runtime.services).client
    runtime.services.oauth_clients.delete(client.id)
    return CredentialChange(ChangeKind.OAUTH_CLIENT, client.id)


def _oauth_token(runtime: Runtime) -> tuple[int, str, int]:
    """An OAuth-issued access token: (person id, app client_id, token id)."""
    person = make_person(runtime.services)
    client = make_oauth_client(runtime.services).client
    now = _now(runtime)
    with runtime.database.write() as session:
        grant = stored_oauth.add_grant(
            session, client_id=client.id, person_id=person.id, scope="", now=now
        )
        token = stored_tokens.add_api_token(
            session,
            code_digest=b"d" * 32,
            person_id=person.id,
            scope="session",
            source=TokenSource.OAUTH,
            now=now,
            expires_at=now + timedelta(hours=1),
            grant_id=grant.id,
        )
    return person.id, client.client_id, token.id


def _disconnect_app(runtime: Runtime) -> CredentialChange:
    person_id, client_id, token_id = _oauth_token(runtime)
    runtime.services.connected_apps.disconnect(PersonId(person_id), client_id)
    return CredentialChange(ChangeKind.API_TOKEN, token_id)


def _oauth_revoke_access_token(runtime: Runtime) -> CredentialChange:
    """What the OAuth revocation endpoint does with an access token (RFC 7009)."""
    _, _, token_id = _oauth_token(runtime)
    with runtime.database.write() as session:
        stored_oauth.revoke_api_token_of_grant(session, token_id, now=_now(runtime))
    return CredentialChange(ChangeKind.API_TOKEN, token_id)


def _now(runtime: Runtime) -> datetime:
    return datetime.now(UTC)


ACTIONS: dict[str, Action] = {
    "key revoked": _revoke_key,
    "key regenerated": _regenerate_key,
    "key tags changed": _retag_key,
    "token revoked": _revoke_token,
    "person disabled": _disable_person,
    "person changed": _demote_person,
    "person deleted": _delete_person,
    "app disabled": _disable_app,
    "app deleted": _delete_app,
    "app disconnected": _disconnect_app,
    "access token revoked over OAuth": _oauth_revoke_access_token,
}


@pytest.mark.parametrize("action", ACTIONS.values(), ids=ACTIONS.keys())
def test_a_change_reaches_this_process_at_once_and_another_on_its_next_poll(
    runtime: Runtime, other_node: Runtime, services: object, action: Action
) -> None:
    other_node.changes.start()
    with listening(runtime.changes) as here, listening(other_node.changes) as there:
        expected = action(runtime)
        seen_here_before_polling = here.saw(expected.kind, expected.subject_id)
        seen_there_before_polling = there.saw(expected.kind, expected.subject_id)
        other_node.changes.poll()

    assert seen_here_before_polling
    assert not seen_there_before_polling
    assert there.saw(expected.kind, expected.subject_id)


def test_creating_credentials_and_people_records_no_change(
    runtime: Runtime, other_node: Runtime, services: object
) -> None:
    other_node.changes.start()
    with listening(runtime.changes) as here, listening(other_node.changes) as there:
        person = make_person(runtime.services)
        make_key(runtime.services, person)
        make_token(runtime.services, person)
        make_oauth_client(runtime.services)
        other_node.changes.poll()

    assert here.changes == []
    assert there.changes == []


def _record_then_fail(runtime: Runtime) -> None:
    with runtime.database.write() as session:
        record_change(session, ChangeKind.API_KEY, 4242, now=_now(runtime))
        raise RuntimeError("the service failed after recording")


def test_a_rolled_back_change_is_announced_nowhere(
    runtime: Runtime, other_node: Runtime, services: object
) -> None:
    other_node.changes.start()
    with listening(runtime.changes) as here, listening(other_node.changes) as there:
        with pytest.raises(RuntimeError):
            _record_then_fail(runtime)
        other_node.changes.poll()

    assert here.changes == []
    assert there.changes == []


def test_a_feed_that_starts_tells_its_listeners_to_forget_everything(
    other_node: Runtime, services: object
) -> None:
    with listening(other_node.changes) as there:
        other_node.changes.start()

    assert there.changes == [CredentialChange(ChangeKind.EVERYTHING)]


class SteppedTime:
    """Monotonic time that moves only when told: how long a feed went without reading."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_feed_that_could_not_read_for_too_long_forgets_everything_once(
    runtime: Runtime, services: object
) -> None:
    time = SteppedTime()
    feed = ChangeFeed(runtime.database, resync_after=30, monotonic=time)
    feed.start()
    with listening(feed) as listener:
        feed.poll()
        quiet = listener.changes
        time.now += 31
        feed.poll()
        after_silence = listener.changes
        listener.clear()
        time.now += 1
        feed.poll()

    assert quiet == []
    assert after_silence == [CredentialChange(ChangeKind.EVERYTHING)]
    assert listener.changes == []


def test_rows_pruned_before_a_silent_feed_read_them_end_in_everything(
    runtime: Runtime, services: object, clock: ManualClock
) -> None:
    time = SteppedTime()
    feed = ChangeFeed(runtime.database, resync_after=30, monotonic=time)
    feed.start()
    key = make_key(runtime.services, make_person(runtime.services)).key
    runtime.services.api_keys.revoke(key.id)
    clock.advance(timedelta(hours=2))
    deleted = runtime.housekeeping.run_round()["credential_changes"]
    time.now += 3600
    with listening(feed) as listener:
        feed.poll()

    assert deleted >= 1
    assert listener.saw_everything()


@pytest.mark.postgresql_only
def test_a_change_committed_after_a_later_one_is_still_read(
    runtime: Runtime, other_node: Runtime, services: object
) -> None:
    """PostgreSQL hands out ids before commit: a lower id can become visible after a higher.

    SQLite has one writer at a time: there, ids become visible in order.
    """
    other_node.changes.start()
    with listening(other_node.changes) as there:
        with runtime.database.write() as slow:
            record_change(slow, ChangeKind.API_KEY, 1, now=_now(runtime))
            slow.flush()
            with runtime.database.write() as fast:
                record_change(fast, ChangeKind.API_KEY, 2, now=_now(runtime))
            other_node.changes.poll()
            before_the_slow_commit = there.changes
        other_node.changes.poll()

    assert before_the_slow_commit == [CredentialChange(ChangeKind.API_KEY, 2)]
    assert there.changes == [
        CredentialChange(ChangeKind.API_KEY, 2),
        CredentialChange(ChangeKind.API_KEY, 1),
    ]


def test_a_long_backlog_is_read_in_one_poll(
    runtime: Runtime, other_node: Runtime, services: object
) -> None:
    other_node.changes.start()
    subjects = list(range(1, POLL_BATCH + 51))
    with runtime.database.write() as session:
        record_changes(session, ChangeKind.API_TOKEN, subjects, now=_now(runtime))
    with listening(other_node.changes) as there:
        applied = other_node.changes.poll()

    assert applied == len(subjects)
    assert [change.subject_id for change in there.changes] == subjects


class _ReadsOnApply:
    """Reads the key the moment it is told of a change, as a cache refilling itself would."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self.revoked_when_told: list[bool] = []

    def apply(self, change: CredentialChange) -> None:
        if change.kind is ChangeKind.API_KEY:
            key = self._runtime.services.api_keys.get(change.subject_id)
            self.revoked_when_told.append(key.revoked_at is not None)


def test_this_process_is_told_only_once_the_change_is_committed(
    runtime: Runtime, services: object
) -> None:
    key = make_key(runtime.services, make_person(runtime.services)).key
    reader = _ReadsOnApply(runtime)
    runtime.changes.subscribe(reader)
    try:
        runtime.services.api_keys.revoke(key.id)
    finally:
        runtime.changes.unsubscribe(reader)

    assert reader.revoked_when_told == [True]


class _Broken:
    def __init__(self) -> None:
        self.told: list[CredentialChange] = []

    def apply(self, change: CredentialChange) -> None:
        self.told.append(change)
        if change.kind is not ChangeKind.EVERYTHING:
            raise RuntimeError("a listener bug")


def test_a_listener_that_fails_is_told_to_forget_everything_and_the_change_still_commits(
    runtime: Runtime, services: object
) -> None:
    key = make_key(runtime.services, make_person(runtime.services)).key
    broken = _Broken()
    runtime.changes.subscribe(broken)
    try:
        revoked = runtime.services.api_keys.revoke(key.id)
    finally:
        runtime.changes.unsubscribe(broken)

    assert revoked.revoked_at is not None
    assert runtime.services.api_keys.get(key.id).revoked_at is not None
    assert broken.told == [
        CredentialChange(ChangeKind.API_KEY, key.id),
        CredentialChange(ChangeKind.EVERYTHING),
    ]
