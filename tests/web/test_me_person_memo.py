"""The memo of a person's JSON on ``GET /api/v2/me`` holds what the credential cache holds.

Issue #16's soak: the memo kept its last 10,000 snapshots alive (each credential cache refresh
reads a new one), about 15 MiB per worker of people nothing else held. Entries now end with
their snapshot.
"""

import gc
from datetime import UTC, datetime

from tessera.core.ids import PersonId
from tessera.core.people import Person
from tessera.web.api import me


def snapshot(person_id: int, name: str = "Ada Lovelace") -> Person:
    return Person(
        id=PersonId(person_id),
        name=name,
        first_name="Ada",
        last_name="Lovelace",
        display_name=name,
        primary_email=f"ada{person_id}@example.test",
        emails=(f"ada{person_id}@example.test",),
        is_agent=True,
        is_admin=False,
        is_disabled=False,
        timezone="UTC",
        language_id=1,
        phone=None,
        identity_provider=None,
        has_password=True,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_a_snapshot_in_use_is_encoded_once() -> None:
    person = snapshot(1)

    first = me._person_json(person)

    assert me._person_json(person) is first
    assert b'"ada1@example.test"' in first


def test_an_entry_ends_with_its_snapshot() -> None:
    before = len(me._PERSON_JSON)
    people = [snapshot(n) for n in range(100, 300)]
    for person in people:
        me._person_json(person)
    assert len(me._PERSON_JSON) == before + 200

    del people, person
    gc.collect()

    assert len(me._PERSON_JSON) == before


def test_a_newer_snapshot_of_the_same_person_gets_its_own_json() -> None:
    old = snapshot(7, "Ada Lovelace")
    me._person_json(old)
    renamed = snapshot(7, "Ada King")

    assert b"Ada King" in me._person_json(renamed)
    assert b"Ada Lovelace" in me._person_json(old)
