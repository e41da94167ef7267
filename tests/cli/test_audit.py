"""``tessera audit``: the operator reads and prunes the trail."""

from datetime import timedelta

from tessera.services.container import Services
from tests.cli.conftest import Cli
from tests.clock import ManualClock
from tests.factories import make_key, make_person


def test_list_filters_by_person_and_kind(cli: Cli, services: Services) -> None:
    person = make_person(services)
    make_key(services, person)
    make_person(services)

    about = cli.json("audit", "list", "--person", person.primary_email)
    keys = cli.json("audit", "list", "--kind", "api_key.created", "--since", "2000-01-01")
    text = cli("audit", "list", "--person", str(person.id))

    assert [e["kind"] for e in about["data"]] == ["api_key.created", "person.created"]
    assert {e["subject_person_id"] for e in about["data"]} == {person.id}
    assert about["meta"]["pagination"]["total"] == 2
    assert [e["subject_person_id"] for e in keys["data"]] == [person.id]
    assert text.exit_code == 0, text.output
    assert "person.created" in text.stdout
    assert "KIND" in text.stdout


def test_list_refuses_a_bad_date(cli: Cli) -> None:
    result = cli("audit", "list", "--since", "last week")

    assert result.exit_code != 0


def test_prune_deletes_events_past_the_retention(
    cli: Cli, services: Services, clock: ManualClock
) -> None:
    clock.advance(-timedelta(days=400))
    old = make_person(services)
    clock.reset()
    recent = make_person(services)

    pruned = cli.json("audit", "prune")

    assert pruned == {"deleted": 1}
    assert cli.json("audit", "list", "--person", str(old.id))["data"] == []
    assert len(cli.json("audit", "list", "--person", str(recent.id))["data"]) == 1
