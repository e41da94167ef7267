"""``tessera user-sources``: the external identity providers people sign in through.

An OpenID provider (Okta, Entra ID, Google, Keycloak…) is connected by its issuer and the
client registered there (ADR 0047); a SAML 2.0 IdP by its metadata, from a file or fetched
from a URL by this command (``add-saml``, ADR 0049). docs/identity-providers.md walks through
each.
"""

from pathlib import Path
from typing import Annotated, Any, NoReturn

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
from tessera.core.errors import FieldError, FieldErrors, InvalidInput, NotFound
from tessera.core.saml_metadata import MAX_METADATA_BYTES, read_idp_metadata
from tessera.core.user_sources import (
    OfferedTo,
    SourceKind,
    UserSource,
    return_urls,
    sign_in_return_url,
    sp_metadata_url,
)
from tessera.services.user_source_settings import SourceSettings

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


MetadataFileOption = Annotated[
    Path | None,
    typer.Option(
        "--idp-metadata-file",
        help="The IdP's SAML metadata (XML), as downloaded from it.",
        exists=True,
        dir_okay=False,
        readable=True,
    ),
]
MetadataUrlOption = Annotated[
    str | None,
    typer.Option(
        "--idp-metadata-url",
        help="Fetch the IdP's SAML metadata from this https URL now (and on --refresh-metadata).",
    ),
]
SpEntityIdOption = Annotated[
    str | None,
    typer.Option(
        "--sp-entity-id",
        help="Tessera's entity id at the IdP (default: the URL of its SP metadata).",
    ),
]
EmailAttributeOption = Annotated[
    str | None, typer.Option("--email-attribute", help="The attribute holding the e-mail.")
]
NameAttributeOption = Annotated[
    str | None, typer.Option("--name-attribute", help="The attribute holding the name.")
]
GroupsAttributeOption = Annotated[
    str | None,
    typer.Option("--groups-attribute", help="The attribute listing the groups ('' turns it off)."),
]


def _metadata(file: Path | None, url: str | None) -> str | None:
    """The IdP metadata from the file, or fetched from the URL (bounded), or None."""
    if file is not None:
        if file.stat().st_size > MAX_METADATA_BYTES:
            _metadata_problem("idp_metadata", "The file is larger than any IdP's metadata.")
        return file.read_text(encoding="utf-8", errors="replace")
    if url is None:
        return None
    # Only here: pysaml2 is slow to import, and every other command answers at once (ADR 0022).
    from tessera.oauth.saml_sign_in import fetch_idp_metadata
    from tessera.oauth.sign_in import ProviderUnavailable

    try:
        return fetch_idp_metadata(url)
    except ProviderUnavailable as error:
        _metadata_problem("idp_metadata_url", str(error))


def _metadata_problem(field: str, message: str) -> NoReturn:
    problems = FieldErrors()
    problems.add((field,), FieldError("unusable_metadata", message))
    raise InvalidInput(problems)


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
    emit(as_json, _json(source, state(ctx).services.site.public_url), "\n".join(lines))


@app.command("add-saml")
@reports_errors
def add_saml(
    ctx: typer.Context,
    title: TitleOption = None,
    idp_metadata_file: MetadataFileOption = None,
    idp_metadata_url: MetadataUrlOption = None,
    sp_entity_id: SpEntityIdOption = None,
    email_attribute: EmailAttributeOption = None,
    name_attribute: NameAttributeOption = None,
    groups_attribute: GroupsAttributeOption = None,
    agent_groups: AgentGroupOption = None,
    admin_groups: AdminGroupOption = None,
    create_unknown: CreateOption = None,
    offered_to: OfferedOption = None,
    enabled: EnabledOption = None,
    order: OrderOption = None,
    as_json: JsonOption = False,
) -> None:
    """Connect a SAML 2.0 IdP by its metadata; prints what to enter at the IdP."""
    settings = SourceSettings(
        title=title,
        idp_metadata=_metadata(idp_metadata_file, idp_metadata_url),
        idp_metadata_url=idp_metadata_url if idp_metadata_file is None else None,
        sp_entity_id=sp_entity_id,
        email_claim=email_attribute,
        name_claim=name_attribute,
        groups_claim=groups_attribute,
        agent_groups=agent_groups,
        admin_groups=admin_groups,
        create_unknown=create_unknown,
        offered_to=offered_to,
        is_enabled=enabled,
        display_order=order,
    )
    source = state(ctx).services.user_sources.create(settings, kind=SourceKind.SAML)
    lines = [
        f"Added user source {source.id}.",
        *_lines(source, state(ctx).services.site.public_url),
    ]
    emit(as_json, _json(source, state(ctx).services.site.public_url), "\n".join(lines))


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
    public_url = state(ctx).services.site.public_url
    emit(as_json, [_json(s, public_url) for s in sources], text)


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
    idp_metadata_file: MetadataFileOption = None,
    idp_metadata_url: MetadataUrlOption = None,
    refresh_metadata: Annotated[
        bool,
        typer.Option(
            "--refresh-metadata", help="SAML: fetch the metadata again from its URL (rollover)."
        ),
    ] = False,
    sp_entity_id: SpEntityIdOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change a source. ``--disabled`` ends every session and token of its people at once.

    For a SAML source the claim options name its attributes."""
    secret = "" if remove_client_secret else _secret(client_secret)
    if refresh_metadata and idp_metadata_url is None and idp_metadata_file is None:
        try:
            current = state(ctx).services.user_sources.get(source_id)
        except NotFound as error:
            raise CliFailure(Failure.of(error, f"no user source has id {source_id}")) from None
        if not current.idp_metadata_url:
            _metadata_problem(
                "idp_metadata_url", "The source's metadata was not fetched from a URL."
            )
        idp_metadata_url = current.idp_metadata_url
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
        idp_metadata=_metadata(idp_metadata_file, idp_metadata_url),
        # A file replaces what was fetched: its URL is forgotten.
        idp_metadata_url="" if idp_metadata_file is not None else idp_metadata_url,
        sp_entity_id=sp_entity_id,
    )
    try:
        source = state(ctx).services.user_sources.update(source_id, changes)
    except NotFound as error:
        raise CliFailure(Failure.of(error, f"no user source has id {source_id}")) from None
    lines = [
        f"Updated user source {source.id}.",
        *_lines(source, state(ctx).services.site.public_url),
    ]
    emit(as_json, _json(source, state(ctx).services.site.public_url), "\n".join(lines))


@app.command("delete")
@reports_errors
def delete(ctx: typer.Context, source_id: IdArgument, as_json: JsonOption = False) -> None:
    """Remove a source; its people's sessions and tokens end at once."""
    try:
        source = state(ctx).services.user_sources.delete(source_id)
    except NotFound as error:
        raise CliFailure(Failure.of(error, f"no user source has id {source_id}")) from None
    public_url = state(ctx).services.site.public_url
    emit(as_json, _json(source, public_url), f"Deleted user source {source.id} ({source.title}).")


def _groups(groups: tuple[str, ...]) -> str:
    return ", ".join(groups) or "-"


def _lines(source: UserSource, public_url: str) -> list[str]:
    if source.kind is SourceKind.SAML:
        return _saml_lines(source, public_url)
    return fields(
        [
            ("kind", source.kind.value),
            ("title", source.title),
            ("issuer", source.issuer),
            ("client_id", source.client_id),
            ("client secret", "set" if source.has_secret else "none (public client)"),
            ("redirect URI", sign_in_return_url(public_url, source.id)),
            ("e-mail claim", source.email_claim),
            ("name claim", source.name_claim),
            ("groups claim", source.groups_claim or "-"),
            *_common(source),
        ]
    )


def _saml_lines(source: UserSource, public_url: str) -> list[str]:
    try:
        sign_in_url = read_idp_metadata(source.idp_metadata or "").sign_in_url
    except ValueError:
        sign_in_url = "- (the metadata cannot be read)"
    acs = return_urls(public_url, source.id)
    return fields(
        [
            ("kind", source.kind.value),
            ("title", source.title),
            ("IdP entity id", source.issuer),
            ("IdP sign-in URL", sign_in_url),
            ("metadata URL", source.idp_metadata_url or "- (from a file)"),
            ("SP entity id", source.sp_entity_id),
            ("SP metadata", sp_metadata_url(public_url, source.id)),
            ("ACS URL", acs[0]),
            *(("ACS URL (app)", url) for url in acs[1:]),
            ("NameID format", "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"),
            ("e-mail attribute", source.email_claim),
            ("name attribute", source.name_claim),
            ("groups attribute", source.groups_claim or "-"),
            *_common(source),
        ]
    )


def _common(source: UserSource) -> list[tuple[str, str]]:
    return [
        ("agent groups", _groups(source.agent_groups)),
        ("admin groups", _groups(source.admin_groups)),
        ("create unknown", "yes" if source.create_unknown else "no"),
        ("link by e-mail", "yes" if source.link_by_email else "no"),
        ("offered to", source.offered_to.value),
        ("enabled", "yes" if source.is_enabled else "no"),
        ("order", str(source.display_order)),
        ("created", when(source.created_at)),
    ]


def _json(source: UserSource, public_url: str) -> dict[str, Any]:
    described: dict[str, Any] = {
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
    if source.kind is SourceKind.SAML:
        described.update(
            sp_entity_id=source.sp_entity_id,
            sp_metadata_url=sp_metadata_url(public_url, source.id),
            acs_urls=list(return_urls(public_url, source.id)),
            idp_metadata_url=source.idp_metadata_url,
        )
    return described
