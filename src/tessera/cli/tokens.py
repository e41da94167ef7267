"""``tessera tokens``: list and revoke the API tokens people obtained."""

from datetime import UTC, datetime
from typing import Annotated

import typer

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
from tessera.cli.serialize import page_json, token_json
from tessera.cli.state import state
from tessera.core.errors import FieldError, InvalidInput, NotFound
from tessera.core.paging import DEFAULT_PER_PAGE, PageRequest
from tessera.core.principals import TokenLifetime
from tessera.core.records import ApiTokenInfo

app = typer.Typer(no_args_is_help=True, help=summary("tokens"))


def _status(token: ApiTokenInfo, lifetime: TokenLifetime, now: datetime) -> str:
    if token.revoked_at is not None:
        return "revoked"
    expiry = lifetime.expiry(token.created_at, token.last_used_at, token.expires_at)
    return "expired" if expiry is not None and expiry <= now else "live"


@app.command("list")
@reports_errors
def list_tokens(
    ctx: typer.Context,
    person: Annotated[
        str | None,
        typer.Option("--person", metavar="EMAIL_OR_ID", help="Only this person's tokens."),
    ] = None,
    include_revoked: Annotated[bool, typer.Option("--all", help="Include revoked tokens.")] = False,
    page: PageOption = 1,
    count: CountOption = DEFAULT_PER_PAGE,
    as_json: JsonOption = False,
) -> None:
    """List tokens not revoked, newest first (--all: revoked ones too); never their secrets."""
    services = state(ctx).services
    person_id = None
    if person is not None:
        try:
            person_id = services.people.find(person).id
        except NotFound:
            message = f"No person has the e-mail or id {person!r}."
            raise InvalidInput.for_field("person", FieldError("not_found", message)) from None
    listing = services.api_tokens.list(
        PageRequest(page, count), person_id=person_id, include_revoked=include_revoked
    )
    lifetime = services.api_tokens.policy.lifetime
    now = datetime.now(UTC)

    def row(token: ApiTokenInfo) -> list[str]:
        expiry = lifetime.expiry(token.created_at, token.last_used_at, token.expires_at)
        return [
            str(token.id),
            str(token.person_id),
            token.source.value,
            token.holder if token.app is None else f"{token.holder} ({token.app.client_id})",
            _status(token, lifetime, now),
            when(token.created_at),
            when(token.last_used_at),
            when(expiry),
        ]

    headers = ["ID", "PERSON", "SOURCE", "HELD BY", "STATUS", "CREATED", "LAST USED", "EXPIRES"]
    text = page_text(listing, "tokens", headers, row)
    emit(as_json, page_json(listing, lambda t: token_json(t, lifetime)), text)


@app.command("revoke")
@reports_errors
def revoke(
    ctx: typer.Context,
    token_id: Annotated[
        int, typer.Argument(metavar="ID", min=1, max=2**63 - 1, help="The token's id.")
    ],
    as_json: JsonOption = False,
) -> None:
    """Revoke a token: it stops working at once."""
    tokens = state(ctx).services.api_tokens
    try:
        token = tokens.revoke(token_id)
    except NotFound as error:
        raise CliFailure(Failure.of(error, f"no API token has id {token_id}")) from None
    lifetime = tokens.policy.lifetime
    rows = [
        ("person", str(token.person_id)),
        ("source", token.source.value),
        ("held by", token.holder),
        ("created", when(token.created_at)),
        ("last used", when(token.last_used_at)),
    ]
    text = "\n".join([f"Revoked API token {token.id}.", *fields(rows)])
    emit(as_json, token_json(token, lifetime), text)
