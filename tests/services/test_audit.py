"""The audit trail through the services: same transaction as the change, actor, pruning."""

import logging
from datetime import timedelta

import pytest

from tessera.core.audit import AuditFilters
from tessera.core.errors import InvalidInput
from tessera.core.paging import PageRequest
from tessera.services.container import Services
from tessera.services.people import PersonChanges
from tests.clock import ManualClock
from tests.factories import make_key, make_person, make_token, new_password


def kinds(services: Services, person_id: int | None = None) -> list[str]:
    """Oldest first, which reads like the story it tells."""
    listing = services.audit.list(AuditFilters(person_id=person_id), PageRequest(1, 200))
    return [event.kind for event in reversed(listing.items)]


def test_command_line_changes_have_no_actor(services: Services) -> None:
    person = make_person(services)
    services.people.set_disabled(person.id, True)
    services.people.set_password(person.id, new_password())
    key = make_key(services, make_person(services))
    services.api_keys.revoke(key.key.id)

    listing = services.audit.list(AuditFilters(), PageRequest(1, 200))

    assert {event.actor_person_id for event in listing.items} == {None}
    assert kinds(services, person.id) == ["person.created", "person.disabled", "person.changed"]
    changed = [e for e in listing.items if e.kind == "person.changed"]
    assert changed[0].detail == {"fields": ["password"]}


def test_a_refused_change_records_nothing(services: Services) -> None:
    person = make_person(services)
    other = make_person(services)

    with pytest.raises(InvalidInput):
        services.people.change(
            person.id, PersonChanges(emails=[other.primary_email]), actor=other.id
        )

    assert kinds(services, person.id) == ["person.created"]


def test_revoking_a_revoked_key_again_records_nothing_more(services: Services) -> None:
    agent = make_person(services)
    key = make_key(services, agent)

    first = services.api_keys.revoke(key.key.id)
    again = services.api_keys.revoke(key.key.id)

    assert again.revoked_at == first.revoked_at
    assert kinds(services, agent.id) == ["person.created", "api_key.created", "api_key.revoked"]


def test_an_owner_revoking_their_token_is_the_actor(services: Services) -> None:
    person = make_person(services)
    token = make_token(services, person)

    services.api_tokens.revoke(token.token.id, owner=person.id)

    listing = services.audit.list(AuditFilters(person_id=person.id), PageRequest(1, 10))
    revoked = listing.items[0]
    assert (revoked.kind, revoked.actor_person_id, revoked.credential_id) == (
        "api_token.revoked",
        person.id,
        token.token.id,
    )


def test_pruning_removes_only_events_older_than_the_retention(
    services: Services, clock: ManualClock
) -> None:
    old = make_person(services)
    clock.advance(services.audit.retention - timedelta(days=1))
    recent = make_person(services)
    clock.advance(timedelta(days=2))

    deleted = services.audit.prune()

    assert deleted == 1
    assert kinds(services, old.id) == []
    assert kinds(services, recent.id) == ["person.created"]
    assert services.audit.prune() == 0


def test_each_event_goes_to_the_audit_log_too(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="tessera.audit"):
        person = make_person(services)

    records = [r for r in caplog.records if r.name == "tessera.audit"]
    assert [r.getMessage() for r in records] == ["person.created"]
    assert records[0].__dict__["subject_person_id"] == person.id
