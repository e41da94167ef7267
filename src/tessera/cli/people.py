"""``tessera people``: add, list, show, disable, enable, set passwords of and delete people."""

import sys
from typing import Annotated

import typer

from tessera.bootstrap import Wiring
from tessera.cli.commands import summary
from tessera.cli.output import (
    CliFailure,
    CountOption,
    Failure,
    JsonOption,
    PageOption,
    emit,
    fields,
    page_text,
    reports_errors,
    when,
)
from tessera.cli.serialize import page_json, person_json
from tessera.cli.state import state
from tessera.core.errors import REQUIRED, FieldError, FieldErrors, InvalidInput, NotFound
from tessera.core.paging import DEFAULT_PER_PAGE, PageRequest
from tessera.core.people import Person
from tessera.services.people import NewPerson

app = typer.Typer(no_args_is_help=True, help=summary("people"))

Who = Annotated[str, typer.Argument(metavar="EMAIL_OR_ID", help="An e-mail address or an id.")]
PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin", help="Read the password from the first line of standard input."
    ),
]
FIRST_ADMIN_HINT = 'tessera people add you@example.com --name "Your Name" --admin --password-stdin'


def find_person(services: Wiring, email_or_id: str) -> Person:
    """The person an argument names; not found says which argument it was."""
    try:
        return services.people.find(email_or_id)
    except NotFound as error:
        detail = f"no person has the e-mail or id {email_or_id!r}"
        raise CliFailure(Failure.of(error, detail)) from None


def read_password_line() -> str:
    """One line of stdin without its line ending: ``echo "$PW" | tessera ... --password-stdin``."""
    line = sys.stdin.readline()
    if not line:
        raise InvalidInput.for_field("password", REQUIRED)
    return line.removesuffix("\n").removesuffix("\r")


def person_text(person: Person, title: str = "Person") -> str:
    role = "admin" if person.is_admin else "agent" if person.is_agent else "user"
    if person.identity_provider is not None:
        sign_in = f"through identity provider {person.identity_provider}"
    elif person.has_password:
        sign_in = "password"
    else:
        sign_in = "no password (cannot use the password exchange)"
    rows = [
        ("role", role),
        ("status", "disabled" if person.is_disabled else "active"),
        ("sign-in", sign_in),
        ("e-mails", ", ".join(person.emails)),
        ("created", when(person.created_at)),
    ]
    header = f"{title} {person.id}: {person.name} <{person.primary_email}>"
    return "\n".join([header, *fields(rows)])


def _warn_if_no_admin(services: Wiring) -> None:
    # The CLI is the only way back in when no admin is left to use the API.
    if services.people.count_admins() == 0:
        hint = f"warning: there is no active admin left; add one with:\n  {FIRST_ADMIN_HINT}"
        typer.echo(hint, err=True)


@app.command("add")
@reports_errors
def add(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(metavar="EMAIL")],
    name: Annotated[str, typer.Option("--name", help="Full name.")],
    agent: Annotated[bool, typer.Option("--agent", help="An agent (may use the API).")] = False,
    admin: Annotated[bool, typer.Option("--admin", help="An admin; implies --agent.")] = False,
    password_stdin: PasswordStdin = False,
    identity_provider: Annotated[
        str | None, typer.Option("--identity-provider", help="Signs in through this provider.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Add a person. Without a password they cannot use the password exchange."""
    password = read_password_line() if password_stdin else None
    person = state(ctx).services.people.add(
        NewPerson(
            email=email,
            name=name,
            is_agent=agent or admin,
            is_admin=admin,
            password=password,
            identity_provider=identity_provider,
        )
    )
    emit(as_json, person_json(person), person_text(person, "Added person"))


@app.command("list")
@reports_errors
def list_people(
    ctx: typer.Context,
    search: Annotated[
        str | None, typer.Option("--search", help="Part of a name or e-mail address.")
    ] = None,
    page: PageOption = 1,
    count: CountOption = DEFAULT_PER_PAGE,
    as_json: JsonOption = False,
) -> None:
    """List people, oldest first."""
    listing = state(ctx).services.people.list(PageRequest(page, count), search)

    def row(person: Person) -> list[str]:
        role = "admin" if person.is_admin else "agent" if person.is_agent else "user"
        status = "disabled" if person.is_disabled else "active"
        return [str(person.id), person.primary_email, person.name, role, status]

    text = page_text(listing, "people", ["ID", "E-MAIL", "NAME", "ROLE", "STATUS"], row)
    emit(as_json, page_json(listing, person_json), text)


@app.command("show")
@reports_errors
def show(ctx: typer.Context, who: Who, as_json: JsonOption = False) -> None:
    """Show one person."""
    person = find_person(state(ctx).services, who)
    emit(as_json, person_json(person), person_text(person))


@app.command("disable")
@reports_errors
def disable(ctx: typer.Context, who: Who, as_json: JsonOption = False) -> None:
    """Disable a person: their keys and tokens stop working until enabled again."""
    services = state(ctx).services
    person = services.people.set_disabled(find_person(services, who).id, True)
    emit(as_json, person_json(person), f"Disabled person {person.id} <{person.primary_email}>.")
    _warn_if_no_admin(services)


@app.command("enable")
@reports_errors
def enable(ctx: typer.Context, who: Who, as_json: JsonOption = False) -> None:
    """Enable a disabled person."""
    services = state(ctx).services
    person = services.people.set_disabled(find_person(services, who).id, False)
    emit(as_json, person_json(person), f"Enabled person {person.id} <{person.primary_email}>.")


@app.command("set-password")
@reports_errors
def set_password(
    ctx: typer.Context,
    who: Who,
    password_stdin: PasswordStdin = False,
    remove: Annotated[
        bool, typer.Option("--remove", help="Remove the password: no password exchange.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Set a person's password (asked twice, hidden), or remove it."""
    if password_stdin and remove:
        problems = FieldErrors()
        problems.add(
            ("password",),
            FieldError("exclusive", "Give --password-stdin or --remove, not both."),
        )
        raise InvalidInput(problems)
    services = state(ctx).services
    person = find_person(services, who)
    password: str | None = None
    if password_stdin:
        password = read_password_line()
    elif not remove:
        # Prompts go to stderr, so that stdout stays one JSON document with --json.
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True, err=True)
    person = services.people.set_password(person.id, password)
    done = "Removed the password of" if password is None else "Set the password of"
    emit(as_json, person_json(person), f"{done} person {person.id} <{person.primary_email}>.")


@app.command("delete")
@reports_errors
def delete(
    ctx: typer.Context,
    who: Who,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Delete a person, with their keys and tokens."""
    services = state(ctx).services
    person = find_person(services, who)
    if not yes:
        typer.confirm(
            f"Delete person {person.id} <{person.primary_email}> and their credentials?",
            abort=True,
            err=True,
        )
    deleted = services.people.delete(person.id)
    emit(as_json, person_json(deleted), f"Deleted person {deleted.id} <{deleted.primary_email}>.")
    _warn_if_no_admin(services)
