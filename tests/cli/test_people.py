"""``tessera people``: the operator's way to add and manage people, in text and JSON."""

import anyio
import pytest

from tessera.bootstrap import Runtime
from tessera.core.paging import PageRequest
from tessera.services.container import Services
from tests.cli.conftest import Cli
from tests.factories import make_person, new_password, unique_email
from tests.secrets_seen import remember

DUPLICATE = {"errors": [{"code": "duplicate", "message": "This value is already used."}]}


def test_add_takes_the_first_stdin_line_as_the_password(cli: Cli, runtime: Runtime) -> None:
    email, password = unique_email(), new_password()

    result = cli(
        "people",
        "add",
        email,
        "--name",
        "Ada Lovelace",
        "--agent",
        "--password-stdin",
        input=f"{password}\nnot part of it\n",
    )

    assert result.exit_code == 0, result.output
    assert "Added person" in result.stdout
    assert f"<{email}>" in result.stdout
    assert "sign-in: password" in result.stdout
    assert password not in result.output
    issued = anyio.run(runtime.services.api_tokens.exchange_password, email, password, "::1")
    remember(issued.code)
    assert issued.token.person_id == runtime.services.people.find(email).id


def test_admin_implies_agent(cli: Cli) -> None:
    person = cli.json("people", "add", unique_email(), "--name", "Grace Hopper", "--admin")

    assert person["is_agent"] is True
    assert person["can_admin"] is True
    assert person["has_password"] is False
    assert person["name"] == "Grace Hopper"
    assert person["date_created"].endswith("Z")


def test_a_duplicate_email_is_a_field_error(cli: Cli) -> None:
    email = unique_email()
    assert cli("people", "add", email, "--name", "First").exit_code == 0

    text = cli("people", "add", email.upper(), "--name", "Second")
    body = cli.json("people", "add", email, "--name", "Second", exit_code=2)

    assert text.exit_code == 2
    assert text.stdout == ""
    assert "email: This value is already used." in text.stderr
    assert body == {
        "status": 400,
        "code": "invalid_input",
        "message": "Request input is invalid.",
        "errors": {"fields": {"email": DUPLICATE}},
    }


@pytest.mark.parametrize(
    ("stdin", "problem"),
    [
        ("short\n", "password: A password needs at least 8 characters."),
        ("", "password: This value should not be blank."),
    ],
    ids=["too-short", "no-line"],
)
def test_a_bad_password_from_stdin_is_refused(cli: Cli, stdin: str, problem: str) -> None:
    email = unique_email()

    result = cli("people", "add", email, "--name", "Short", "--password-stdin", input=stdin)

    assert result.exit_code == 2
    assert problem in result.stderr
    assert cli("people", "show", email).exit_code == 3


def test_show_finds_by_email_or_id(cli: Cli, services: Services) -> None:
    person = make_person(services, name="Katherine Johnson")

    by_email = cli.json("people", "show", person.primary_email.upper())
    by_id = cli("people", "show", str(person.id))

    assert by_email["id"] == person.id
    assert by_email["emails"] == [person.primary_email]
    assert by_id.exit_code == 0
    assert f"Person {person.id}: Katherine Johnson <{person.primary_email}>" in by_id.stdout
    assert "role:    agent" in by_id.stdout


def test_show_of_nobody_is_not_found(cli: Cli) -> None:
    email = unique_email()

    text = cli("people", "show", email)
    body = cli.json("people", "show", email, exit_code=3)

    assert text.exit_code == 3
    assert f"error: no person has the e-mail or id '{email}'" in text.stderr
    assert body["status"] == 404
    assert body["code"] == "not_found"


def test_list_searches_and_pages(cli: Cli, services: Services) -> None:
    marker = unique_email().split("@")[0]
    first = make_person(services, name=f"First {marker}")
    second = make_person(services, name=f"Second {marker}")

    page_one = cli.json("people", "list", "--search", marker, "--count", "1")
    page_two = cli.json("people", "list", "--search", marker, "--count", "1", "--page", "2")
    text = cli("people", "list", "--search", marker)

    assert [p["id"] for p in page_one["data"]] == [first.id]
    assert [p["id"] for p in page_two["data"]] == [second.id]
    assert page_two["meta"]["pagination"] == {
        "total": 2,
        "count": 1,
        "per_page": 1,
        "current_page": 2,
        "total_pages": 2,
    }
    assert text.exit_code == 0
    assert first.primary_email in text.stdout
    assert second.primary_email in text.stdout
    assert "Page 1 of 1 (2 in all)." in text.stdout


def test_disable_and_enable(cli: Cli, services: Services) -> None:
    person = make_person(services)

    disabled = cli.json("people", "disable", person.primary_email)
    shown = cli("people", "show", str(person.id))
    enabled = cli("people", "enable", str(person.id))

    assert disabled["is_disabled"] is True
    assert "status:  disabled" in shown.stdout
    assert enabled.exit_code == 0
    assert f"Enabled person {person.id}" in enabled.stdout
    assert services.people.get(person.id).is_disabled is False


def test_set_password_asks_twice_without_echo(cli: Cli, runtime: Runtime) -> None:
    person = make_person(runtime.services)
    password = new_password()

    result = cli("people", "set-password", person.primary_email, input=f"{password}\n{password}\n")

    assert result.exit_code == 0, result.output
    assert "New password" in result.stderr
    assert "Repeat for confirmation" in result.stderr
    assert password not in result.output
    assert f"Set the password of person {person.id}" in result.stdout
    email = person.primary_email
    issued = anyio.run(runtime.services.api_tokens.exchange_password, email, password, "::1")
    remember(issued.code)
    assert issued.token.person_id == person.id


def test_set_password_from_stdin_then_remove(cli: Cli, services: Services) -> None:
    person = make_person(services)

    set_it = cli.json(
        "people", "set-password", str(person.id), "--password-stdin", input=new_password()
    )
    removed = cli.json("people", "set-password", str(person.id), "--remove")
    both = cli("people", "set-password", str(person.id), "--remove", "--password-stdin")

    assert set_it["has_password"] is True
    assert removed["has_password"] is False
    assert both.exit_code == 2
    assert "not both" in both.stderr


def test_delete_asks_first_unless_yes(cli: Cli, services: Services) -> None:
    kept, deleted = make_person(services), make_person(services)

    refused = cli("people", "delete", kept.primary_email, input="n\n")
    confirmed = cli("people", "delete", kept.primary_email, input="y\n")
    forced = cli.json("people", "delete", str(deleted.id), "--yes")

    assert refused.exit_code == 1
    assert "Delete person" in refused.stderr
    assert confirmed.exit_code == 0
    assert f"Deleted person {kept.id}" in confirmed.stdout
    assert forced["id"] == deleted.id
    remaining = services.people.list(PageRequest(per_page=200), kept.primary_email)
    assert remaining.total == 0
    assert cli("people", "show", str(deleted.id)).exit_code == 3
