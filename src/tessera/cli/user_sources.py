"""``tessera user-sources``: the external identity providers people sign in through.

An OpenID provider (Okta, Entra ID, Google, Keycloak…) is connected by its issuer and the
client registered there; docs/identity-providers.md walks through each (ADR 0047).
"""

from typing import Annotated, Any

import typer

from tessera.cli.commands import summary
from tessera.cli.output import (
    CliFailure,
    Failure,
    JsonOption,
    emit,
    fields,
    reports_errors,
    table,
    when,
)
from tessera.cli.state import state
from tessera.core.errors import NotFound
from tessera.core.user_sources import OfferedTo, UserSource
from tessera.services.user_sources import SourceSettings

app = typer.Typer(no_args_is_help=True, help=summary("user-sources"))

IdArgument = Annotated[
    int, typer.Argument(metavar="ID", min=1, max=2**63 - 1, help="The source's id.")
]
TitleOption = Annotated[
    str | None, typer.Option("--title", help="The button says 'Sign in with TITLE'.")
]
IssuerOption = Annotated[
    str | None,
    typer.Option("--issuer", help="The OpenID provider's issuer URL (discovery is read from it)."),
]
ClientIdOption = Annotated[
    str | None, typer.Option("--client-id", help="The client_id registered at the provider.")
]
SecretOption = Annotated[
    bool,
    typer.Option(
        "--client-secret",
        help="Ask for the client secret (hidden input, or read from standard input).",
    ),
]
EmailClaimOption = Annotated[
    str | None, typer.Option("--email-claim", help="The claim holding the e-mail address.")
]
NameClaimOption = Annotated[
    str | None, typer.Option("--name-claim", help="The claim holding the person's name.")
]
GroupsClaimOption = Annotated[
    str | None,
    typer.Option("--groups-claim", help="The claim listing the person's groups ('' turns it off)."),
]
AgentGroupOption = Annotated[
    list[str] | None,
    typer.Option("--agent-group", help="A group that makes an agent (repeat for more)."),
]
AdminGroupOption = Annotated[
    list[str] | None,
    typer.Option("--admin-group", help="A group that makes an admin (repeat for more)."),
]
CreateOption = Annotated[
    bool | None,
    typer.Option(
        "--create-unknown/--no-create-unknown",
        help="Create people at their first sign-in (just in time), or only let known ones in.",
    ),
]
LinkOption = Annotated[
    bool | None,
    typer.Option(
        "--link-by-email/--no-link-by-email",
        help="Link an existing person by the provider's verified e-mail address.",
    ),
]
OfferedOption = Annotated[
    OfferedTo | None, typer.Option("--offered-to", help="Who sees the source's button.")
]
EnabledOption = Annotated[
    bool | None, typer.Option("--enabled/--disabled", help="Whether people may sign in through it.")
]
OrderOption = Annotated[
    int | None, typer.Option("--order", help="Buttons are shown by this number, smallest first.")
]


def _secret(ask: bool) -> str | None:
    if not ask:
        return None
    value: str = typer.prompt("Client secret", hide_input=True)
    return value.strip()


@app.command("add")
@reports_errors
def add(
    ctx: typer.Context,
    title: TitleOption = None,
    issuer: IssuerOption = None,
    client_id: ClientIdOption = None,
    client_secret: SecretOption = False,
    email_claim: EmailClaimOption = None,
    name_claim: NameClaimOption = None,
    groups_claim: GroupsClaimOption = None,
    agent_groups: AgentGroupOption = None,
    admin_groups: AdminGroupOption = None,
    create_unknown: CreateOption = None,
    link_by_email: LinkOption = None,
    offered_to: OfferedOption = None,
    enabled: EnabledOption = None,
    order: OrderOption = None,
    as_json: JsonOption = False,
) -> None:
    """Connect an OpenID provider: its issuer, and the client registered there."""
    settings = SourceSettings(
        title=title,
        issuer=issuer,
        client_id=client_id,
        client_secret=_secret(client_secret),
        email_claim=email_claim,
        name_claim=name_claim,
        groups_claim=groups_claim,
        agent_groups=agent_groups,
        admin_groups=admin_groups,
        create_unknown=create_unknown,
        link_by_email=link_by_email,
        offered_to=offered_to,
        is_enabled=enabled,
        display_order=order,
    )
    source = state(ctx).services.user_sources.create(settings)
    lines = [
        f"Added user source {source.id}.",
        *_lines(source, state(ctx).services.site.public_url),
    ]
    emit(as_json, _json(source), "\n".join(lines))


@app.command("list")
@reports_errors
def list_sources(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Every user source, in the order their buttons are shown."""
    sources = state(ctx).services.user_sources.list()
    rows = [
        [
            str(s.id),
            s.kind.value,
            s.title,
            s.issuer,
            s.offered_to.value,
            "yes" if s.is_enabled else "no",
        ]
        for s in sources
    ]
    text = table(["ID", "KIND", "TITLE", "ISSUER", "OFFERED TO", "ENABLED"], rows)
    emit(as_json, [_json(s) for s in sources], text)


@app.command("update")
@reports_errors
def update(
    ctx: typer.Context,
    source_id: IdArgument,
    title: TitleOption = None,
    issuer: IssuerOption = None,
    client_id: ClientIdOption = None,
    client_secret: SecretOption = False,
    remove_client_secret: Annotated[
        bool, typer.Option("--remove-client-secret", help="Make it a public client (PKCE only).")
    ] = False,
    email_claim: EmailClaimOption = None,
    name_claim: NameClaimOption = None,
    groups_claim: GroupsClaimOption = None,
    agent_groups: AgentGroupOption = None,
    admin_groups: AdminGroupOption = None,
    create_unknown: CreateOption = None,
    link_by_email: LinkOption = None,
    offered_to: OfferedOption = None,
    enabled: EnabledOption = None,
    order: OrderOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change a source. ``--disabled`` ends every session and token of its people at once."""
    secret = "" if remove_client_secret else _secret(client_secret)
    changes = SourceSettings(
        title=title,
        issuer=issuer,
        client_id=client_id,
        client_secret=secret,
        email_claim=email_claim,
        name_claim=name_claim,
        groups_claim=groups_claim,
        agent_groups=agent_groups,
        admin_groups=admin_groups,
        create_unknown=create_unknown,
        link_by_email=link_by_email,
        offered_to=offered_to,
        is_enabled=enabled,
        display_order=order,
    )
    try:
        source = state(ctx).services.user_sources.update(source_id, changes)
    except NotFound as error:
        raise CliFailure(Failure.of(error, f"no user source has id {source_id}")) from None
    lines = [
        f"Updated user source {source.id}.",
        *_lines(source, state(ctx).services.site.public_url),
    ]
    emit(as_json, _json(source), "\n".join(lines))


@app.command("delete")
@reports_errors
def delete(ctx: typer.Context, source_id: IdArgument, as_json: JsonOption = False) -> None:
    """Remove a source; its people's sessions and tokens end at once."""
    try:
        source = state(ctx).services.user_sources.delete(source_id)
    except NotFound as error:
        raise CliFailure(Failure.of(error, f"no user source has id {source_id}")) from None
    emit(as_json, _json(source), f"Deleted user source {source.id} ({source.title}).")


def _redirect_uri(public_url: str, source: UserSource) -> str:
    return f"{public_url.rstrip('/')}/login/sources/{source.id}/callback"


def _groups(groups: tuple[str, ...]) -> str:
    return ", ".join(groups) or "-"


def _lines(source: UserSource, public_url: str) -> list[str]:
    return fields(
        [
            ("kind", source.kind.value),
            ("title", source.title),
            ("issuer", source.issuer),
            ("client_id", source.client_id),
            ("client secret", "set" if source.has_secret else "none (public client)"),
            ("redirect URI", _redirect_uri(public_url, source)),
            ("e-mail claim", source.email_claim),
            ("name claim", source.name_claim),
            ("groups claim", source.groups_claim or "-"),
            ("agent groups", _groups(source.agent_groups)),
            ("admin groups", _groups(source.admin_groups)),
            ("create unknown", "yes" if source.create_unknown else "no"),
            ("link by e-mail", "yes" if source.link_by_email else "no"),
            ("offered to", source.offered_to.value),
            ("enabled", "yes" if source.is_enabled else "no"),
            ("order", str(source.display_order)),
            ("created", when(source.created_at)),
        ]
    )


def _json(source: UserSource) -> dict[str, Any]:
    return {
        "id": source.id,
        "kind": source.kind.value,
        "title": source.title,
        "issuer": source.issuer,
        "client_id": source.client_id,
        "has_client_secret": source.has_secret,
        "email_claim": source.email_claim,
        "name_claim": source.name_claim,
        "groups_claim": source.groups_claim,
        "agent_groups": list(source.agent_groups),
        "admin_groups": list(source.admin_groups),
        "create_unknown": source.create_unknown,
        "link_by_email": source.link_by_email,
        "offered_to": source.offered_to.value,
        "is_enabled": source.is_enabled,
        "display_order": source.display_order,
        "created_at": when(source.created_at),
        "updated_at": when(source.updated_at),
    }
