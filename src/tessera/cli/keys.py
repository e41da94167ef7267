"""``tessera keys``: create, list, show, regenerate and revoke API keys."""

from collections.abc import Iterator
from contextlib import contextmanager
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
from tessera.cli.serialize import issued_key_json, key_json, page_json
from tessera.cli.state import state
from tessera.core.errors import FieldError, FieldErrors, InvalidInput, NotFound
from tessera.core.paging import DEFAULT_PER_PAGE, PageRequest
from tessera.core.records import ApiKeyInfo
from tessera.services.api_keys import IssuedApiKey, NewApiKey

app = typer.Typer(no_args_is_help=True, help=summary("keys"))

#: Ids are 64-bit database integers; a larger one could not name a key.
KeyId = Annotated[int, typer.Argument(metavar="ID", min=1, max=2**63 - 1, help="The key's id.")]

ONE_KIND = FieldError("one_kind", "Give exactly one of --agent EMAIL_OR_ID and --superuser.")
DEFAULT_AGENT_NEEDS_SUPERUSER = FieldError(
    "superuser_only", "--default-agent is for --superuser keys; a normal key acts as --agent."
)


@contextmanager
def _naming(key_id: int) -> Iterator[None]:
    """Say which key was not found, in text mode."""
    try:
        yield
    except NotFound as error:
        raise CliFailure(Failure.of(error, f"no API key has id {key_id}")) from None


def _person_id(services: Wiring, option: str, email_or_id: str) -> int:
    """The id of the person an option names; an unknown one is a bad option (exit 2)."""
    try:
        return services.people.find(email_or_id).id
    except NotFound:
        message = f"No person has the e-mail or id {email_or_id!r}."
        raise InvalidInput.for_field(option, FieldError("not_found", message)) from None


def _kind(key: ApiKeyInfo) -> str:
    if not key.is_superuser:
        return f"agent key, acts as person {key.person_id}"
    if key.person_id is None:
        return "superuser key, no default agent (callers must send X-DeskPRO-Agent-ID)"
    return f"superuser key, default agent is person {key.person_id}"


def key_text(key: ApiKeyInfo) -> str:
    last_used = when(key.last_used_at)
    if key.last_used_address:
        last_used += f" from {key.last_used_address}"
    rows = [
        ("kind", _kind(key)),
        ("admin API", "yes" if key.admin_api else "no"),
        ("tags", key.tags or "(none: allows nothing)"),
        ("status", "active" if key.revoked_at is None else f"revoked {when(key.revoked_at)}"),
        ("created", when(key.created_at)),
        ("regenerated", when(key.regenerated_at)),
        ("last used", last_used),
    ]
    return "\n".join([f"API key {key.id}: {key.note}", *fields(rows)])


def _issued_text(issued: IssuedApiKey, what: str) -> str:
    # The secret on a line of its own with a plain label, easy to copy; then why to copy it now.
    lines = [
        f"{what} {key_text(issued.key)}",
        "",
        f"API key: {issued.key_string}",
        "Store it now: this is the only time it is shown.",
    ]
    if issued.key.revoked_at is not None:
        lines.append("warning: this key is revoked; the new secret will not authenticate.")
    return "\n".join(lines)


@app.command("create")
@reports_errors
def create(
    ctx: typer.Context,
    note: Annotated[str, typer.Option("--note", help="What the key is for.")],
    agent: Annotated[
        str | None,
        typer.Option("--agent", metavar="EMAIL_OR_ID", help="The agent a normal key acts as."),
    ] = None,
    superuser: Annotated[
        bool, typer.Option("--superuser", help="A key that may act as any agent.")
    ] = False,
    default_agent: Annotated[
        str | None,
        typer.Option(
            "--default-agent",
            metavar="EMAIL_OR_ID",
            help="The agent a superuser key acts as without X-DeskPRO-Agent-ID.",
        ),
    ] = None,
    tags: Annotated[
        str, typer.Option("--tags", metavar="PATTERNS", help='Endpoint tags, e.g. "tickets.*".')
    ] = "*",
    admin_api: Annotated[
        bool, typer.Option("--admin-api", help="Let a superuser key call admin endpoints.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Create a key and print its ID:CODE, once."""
    problems = FieldErrors()
    if (agent is None) == (not superuser):
        problems.add(("agent",), ONE_KIND)
    if default_agent is not None and not superuser:
        problems.add(("default_agent",), DEFAULT_AGENT_NEEDS_SUPERUSER)
    if problems:
        raise InvalidInput(problems)
    services = state(ctx).services
    person = agent if agent is not None else default_agent
    option = "agent" if agent is not None else "default_agent"
    issued = services.api_keys.create(
        NewApiKey(
            note=note,
            person_id=_person_id(services, option, person) if person is not None else None,
            is_superuser=superuser,
            admin_api=admin_api,
            tags=tags,
        )
    )
    emit(as_json, issued_key_json(issued), _issued_text(issued, "Created"))


@app.command("list")
@reports_errors
def list_keys(
    ctx: typer.Context,
    page: PageOption = 1,
    count: CountOption = DEFAULT_PER_PAGE,
    as_json: JsonOption = False,
) -> None:
    """List API keys, revoked ones included; never their secrets."""
    listing = state(ctx).services.api_keys.list(PageRequest(page, count))

    def row(key: ApiKeyInfo) -> list[str]:
        kind = "superuser" if key.is_superuser else "agent"
        person = "-" if key.person_id is None else str(key.person_id)
        status = "active" if key.revoked_at is None else "revoked"
        return [str(key.id), kind, person, status, key.tags, key.note]

    headers = ["ID", "KIND", "PERSON", "STATUS", "TAGS", "NOTE"]
    emit(as_json, page_json(listing, key_json), page_text(listing, "keys", headers, row))


@app.command("show")
@reports_errors
def show(ctx: typer.Context, key_id: KeyId, as_json: JsonOption = False) -> None:
    """Show one API key (its secret cannot be shown again)."""
    with _naming(key_id):
        key = state(ctx).services.api_keys.get(key_id)
    emit(as_json, key_json(key), key_text(key))


@app.command("regenerate")
@reports_errors
def regenerate(ctx: typer.Context, key_id: KeyId, as_json: JsonOption = False) -> None:
    """Give a key a new secret and print it once; the old one stops working at once."""
    with _naming(key_id):
        issued = state(ctx).services.api_keys.regenerate(key_id)
    emit(as_json, issued_key_json(issued), _issued_text(issued, "Regenerated"))


@app.command("revoke")
@reports_errors
def revoke(ctx: typer.Context, key_id: KeyId, as_json: JsonOption = False) -> None:
    """Revoke a key for good."""
    with _naming(key_id):
        key = state(ctx).services.api_keys.revoke(key_id)
    emit(as_json, key_json(key), f"Revoked API key {key.id} ({key.note}).")
