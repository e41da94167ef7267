"""``tessera clients``: register, list, change, rotate the secret of and remove OAuth clients."""

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
from tessera.cli.serialize import issued_oauth_client_json, oauth_client_json, page_json
from tessera.cli.state import state
from tessera.core.errors import NotFound
from tessera.core.oauth_clients import (
    ClientContext,
    GrantType,
    OAuthClient,
    authorization_endpoint,
    is_insecure_redirect_uri,
    token_endpoint,
)
from tessera.core.paging import DEFAULT_PER_PAGE, PageRequest
from tessera.services.oauth_clients import IssuedOAuthClient, NewOAuthClient, OAuthClientChanges

app = typer.Typer(no_args_is_help=True, help=summary("clients"))

#: Ids are 64-bit database integers; a larger one could not name a client.
ClientId = Annotated[
    int, typer.Argument(metavar="ID", min=1, max=2**63 - 1, help="The client's numeric id.")
]
GrantOption = Annotated[
    GrantType,
    typer.Option(
        "--grant",
        help="authorization_code, token (the implicit grant), or device_code (RFC 8628).",
    ),
]
ContextOption = Annotated[
    ClientContext, typer.Option("--context", help="Who may authorize it: agents or users.")
]
SCOPES_HELP = (
    "The API scopes it may be granted: session (all of the person's rights, the default) or "
    "endpoint tag patterns, e.g. 'tickets.* -*.delete'; a request for more is narrowed to these."
)
REDIRECT_URI_HELP = (
    "A redirect URI (repeat for several): https://…, http://127.0.0.1, [::1] or localhost "
    "(any port), or the app's own scheme (myapp://cb, com.example.app:/cb)."
)


@contextmanager
def _naming(client_id: int) -> Iterator[None]:
    """Say which client was not found, in text mode."""
    try:
        yield
    except NotFound as error:
        raise CliFailure(Failure.of(error, f"no OAuth client has id {client_id}")) from None


def client_text(client: OAuthClient, services: Wiring) -> str:
    site = services.site
    kind = "public (no secret; must use PKCE)" if client.is_public else "confidential (secret)"
    rows = [
        ("client_id", client.client_id),
        ("type", kind),
        ("context", client.context.value),
        ("grant", client.allowed_grant_type.value),
        ("scopes", client.allowed_scopes),
        ("status", "enabled" if client.is_enabled else "disabled"),
        *(("redirect URI", uri) for uri in client.redirect_uris),
        ("authorize at", authorization_endpoint(site)),
        ("token at", token_endpoint(site)),
        ("created", when(client.created_at)),
    ]
    lines = [f"OAuth client {client.id}: {client.name}", *fields(rows)]
    insecure = [uri for uri in client.redirect_uris if is_insecure_redirect_uri(uri)]
    if insecure and services.oauth_clients.allows_insecure_redirects:
        lines.append(
            f"Warning: plain http redirect URIs ({', '.join(insecure)}): codes and tokens travel "
            "unencrypted; accepted only because oauth_allow_insecure_redirects is on."
        )
    elif insecure:
        lines.append(
            f"Warning: plain http redirect URIs ({', '.join(insecure)}) are not used while "
            "oauth_allow_insecure_redirects is off; change them to https."
        )
    return "\n".join(lines)


def _issued_text(issued: IssuedOAuthClient, what: str, services: Wiring) -> str:
    # Each value on a line of its own with a plain label, easy to copy; then why to copy it now.
    lines = [
        f"{what} {client_text(issued.client, services)}",
        "",
        f"Client ID: {issued.client.client_id}",
    ]
    if issued.secret is None:
        lines.append("No secret: a public client proves itself with PKCE (S256).")
    else:
        lines += [
            f"Client secret: {issued.secret}",
            "Store it now: this is the only time it is shown.",
        ]
    return "\n".join(lines)


@app.command("create")
@reports_errors
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="The app's name, shown on the consent page.")],
    redirect_uris: Annotated[
        list[str], typer.Option("--redirect-uri", metavar="URI", help=REDIRECT_URI_HELP)
    ],
    public: Annotated[
        bool, typer.Option("--public", help="No secret (mobile or browser app); PKCE required.")
    ] = False,
    grant: GrantOption = GrantType.AUTHORIZATION_CODE,
    context: ContextOption = ClientContext.AGENT,
    scopes: Annotated[str, typer.Option("--scopes", help=SCOPES_HELP)] = "session",
    as_json: JsonOption = False,
) -> None:
    """Register a client; print its client_id and, unless public, its secret once."""
    services = state(ctx).services
    issued = services.oauth_clients.create(
        NewOAuthClient(
            name=name,
            redirect_uris=redirect_uris,
            context=context,
            allowed_grant_type=grant,
            is_public=public,
            allowed_scopes=scopes,
        )
    )
    emit(
        as_json,
        issued_oauth_client_json(issued, services.site),
        _issued_text(issued, "Created", services),
    )


@app.command("list")
@reports_errors
def list_clients(
    ctx: typer.Context,
    page: PageOption = 1,
    count: CountOption = DEFAULT_PER_PAGE,
    as_json: JsonOption = False,
) -> None:
    """List OAuth clients, oldest first; never their secrets."""
    services = state(ctx).services
    listing = services.oauth_clients.list(PageRequest(page, count))

    def row(client: OAuthClient) -> list[str]:
        status = "enabled" if client.is_enabled else "disabled"
        kind = "public" if client.is_public else "confidential"
        grant = client.allowed_grant_type.value
        return [str(client.id), client.client_id, kind, grant, status, client.name]

    headers = ["ID", "CLIENT_ID", "TYPE", "GRANT", "STATUS", "NAME"]
    emit(
        as_json,
        page_json(listing, lambda client: oauth_client_json(client, services.site)),
        page_text(listing, "OAuth clients", headers, row),
    )


@app.command("show")
@reports_errors
def show(ctx: typer.Context, client_id: ClientId, as_json: JsonOption = False) -> None:
    """Show one client (its secret cannot be shown again)."""
    services = state(ctx).services
    with _naming(client_id):
        client = services.oauth_clients.get(client_id)
    emit(as_json, oauth_client_json(client, services.site), client_text(client, services))


@app.command("update")
@reports_errors
def update(
    ctx: typer.Context,
    client_id: ClientId,
    name: Annotated[str | None, typer.Option("--name", help="A new name.")] = None,
    redirect_uris: Annotated[
        list[str] | None,
        typer.Option(
            "--redirect-uri", metavar="URI", help="Replaces all redirect URIs (repeat for several)."
        ),
    ] = None,
    grant: Annotated[
        GrantType | None,
        typer.Option("--grant", help="authorization_code, token (implicit), or device_code."),
    ] = None,
    context: Annotated[ClientContext | None, typer.Option("--context")] = None,
    scopes: Annotated[str | None, typer.Option("--scopes", help=SCOPES_HELP)] = None,
    enabled: Annotated[
        bool | None, typer.Option("--enable/--disable", help="A disabled client cannot be used.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Change a client; options not given stay as they are."""
    services = state(ctx).services
    changes = OAuthClientChanges(
        name=name,
        # Typer gives an empty list when the option is absent: that means "unchanged".
        redirect_uris=redirect_uris or None,
        context=context,
        allowed_grant_type=grant,
        is_enabled=enabled,
        allowed_scopes=scopes,
    )
    with _naming(client_id):
        client = services.oauth_clients.change(client_id, changes)
    text = "Updated " + client_text(client, services)
    emit(as_json, oauth_client_json(client, services.site), text)


@app.command("rotate-secret")
@reports_errors
def rotate_secret(ctx: typer.Context, client_id: ClientId, as_json: JsonOption = False) -> None:
    """Give a confidential client a new secret and print it once; the old one stops working."""
    services = state(ctx).services
    with _naming(client_id):
        issued = services.oauth_clients.rotate_secret(client_id)
    emit(
        as_json,
        issued_oauth_client_json(issued, services.site),
        _issued_text(issued, "Rotated the secret of", services),
    )


@app.command("delete")
@reports_errors
def delete(
    ctx: typer.Context,
    client_id: ClientId,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Remove a client, with every grant and token issued through it."""
    services = state(ctx).services
    with _naming(client_id):
        client = services.oauth_clients.get(client_id)
        if not yes:
            typer.confirm(
                f"Remove OAuth client {client.id} ({client.name}) and every token issued to it?",
                abort=True,
                err=True,
            )
        removed = services.oauth_clients.delete(client_id)
    text = f"Removed OAuth client {removed.id} ({removed.name})."
    emit(as_json, oauth_client_json(removed, services.site), text)
