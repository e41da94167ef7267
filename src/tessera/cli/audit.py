"""``tessera audit``: read the audit trail and prune it by hand."""

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from tessera.bootstrap import Wiring
from tessera.cli.commands import summary
from tessera.cli.output import (
    CountOption,
    JsonOption,
    PageOption,
    emit,
    page_text,
    reports_errors,
    when,
)
from tessera.cli.serialize import iso, page_json
from tessera.cli.state import state
from tessera.core.audit import AuditEvent, AuditFilters
from tessera.core.errors import INVALID, FieldError, InvalidInput, NotFound
from tessera.core.paging import DEFAULT_PER_PAGE, PageRequest

app = typer.Typer(no_args_is_help=True, help=summary("audit"))


def event_json(event: AuditEvent) -> dict[str, Any]:
    """The same fields as the web API's ``/audit_events``."""
    return {
        "id": event.id,
        "occurred_at": iso(event.occurred_at),
        "kind": event.kind,
        "actor_person_id": event.actor_person_id,
        "subject_person_id": event.subject_person_id,
        "credential_kind": event.credential_kind,
        "credential_id": event.credential_id,
        "client_address": event.client_address,
        "detail": event.detail,
    }


def _moment(option: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput.for_field(option, INVALID) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _person(services: Wiring, email_or_id: str | None) -> int | None:
    """An id is taken as is (its person may be deleted: the trail outlives them)."""
    if email_or_id is None:
        return None
    value = email_or_id.strip()
    if value.isascii() and value.isdigit():
        return int(value)
    try:
        return services.people.find(value).id
    except NotFound:
        message = f"No person has the e-mail {email_or_id!r}."
        raise InvalidInput.for_field("person", FieldError("not_found", message)) from None


def _row(event: AuditEvent) -> list[str]:
    credential = f"{event.credential_kind} {event.credential_id}" if event.credential_kind else "-"
    return [
        when(event.occurred_at),
        event.kind,
        "-" if event.actor_person_id is None else str(event.actor_person_id),
        "-" if event.subject_person_id is None else str(event.subject_person_id),
        credential,
        event.client_address or "-",
    ]


@app.command("list")
@reports_errors
def list_events(
    ctx: typer.Context,
    person: Annotated[
        str | None,
        typer.Option("--person", metavar="EMAIL_OR_ID", help="Events about or by this person."),
    ] = None,
    kind: Annotated[
        str | None, typer.Option("--kind", help="One kind, e.g. api_key.revoked.")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", metavar="ISO8601", help="From this time on.")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", metavar="ISO8601", help="Before this time.")
    ] = None,
    page: PageOption = 1,
    count: CountOption = DEFAULT_PER_PAGE,
    as_json: JsonOption = False,
) -> None:
    """List audit events, newest first. ACTOR "-" is the operator at the command line."""
    services = state(ctx).services
    filters = AuditFilters(
        person_id=_person(services, person),
        kind=kind,
        since=_moment("since", since),
        until=_moment("until", until),
    )
    listing = services.audit.list(filters, PageRequest(page, count))
    headers = ["TIME", "KIND", "ACTOR", "SUBJECT", "CREDENTIAL", "ADDRESS"]
    emit(as_json, page_json(listing, event_json), page_text(listing, "events", headers, _row))


@app.command("prune")
@reports_errors
def prune(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Delete the events older than TESSERA_AUDIT_RETENTION_DAYS (the server does so regularly)."""
    audit = state(ctx).services.audit
    deleted = audit.prune()
    days = audit.retention.days
    emit(as_json, {"deleted": deleted}, f"Deleted {deleted} audit events older than {days} days.")
