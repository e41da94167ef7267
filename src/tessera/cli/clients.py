"""``tessera clients``: register, list, change, rotate the secret of and remove OAuth clients."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

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
    table,
    when,
)
from tessera.cli.serialize import issued_oauth_client_json, oauth_client_json, page_json
from tessera.cli.state import state
from tessera.core.client_keys import ClientAuthMethod
from tessera.core.client_registration import InitialAccessToken, RegistrationMode
from tessera.core.errors import FieldError, FieldErrors, InvalidInput, NotFound
from tessera.core.oauth_clients import (
    AccessTokenFormat,
    ClientContext,
    ClientOrigin,
    GrantType,
    OAuthClient,
    authorization_endpoint,
    is_insecure_redirect_uri,
    token_endpoint,
)
from tessera.core.paging import DEFAULT_PER_PAGE, PageRequest
from tessera.core.signing_keys import DEFAULT_ALGORITHM, SigningAlgorithm
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
SIGNATURE_HELP = (
    "What signs its OpenID Connect ID tokens (id_token_signed_response_alg): RS256, which every "
    "library checks, or ES256 for an app that asks for it."
)
ACCESS_FORMAT_HELP = (
    "What its access tokens look like: opaque (Deskpro's ID:CODE, the default) or jwt "
    "(RFC 9068 JWTs signed with the keys at /oauth/jwks, still revocable at once)."
)
SCOPES_HELP = (
    "The API scopes it may be granted: session (all of the person's rights, the default) or "
    "endpoint tag patterns, e.g. 'tickets.* -*.delete'; a request for more is narrowed to these."
)
AUTH_METHOD_HELP = (
    "How the app authenticates: client_secret_basic (a secret, the default for confidential "
    "clients; the form works too) or private_key_jwt (no secret: a JWT signed with its key, "
    "whose public half is at --jwks-uri or in --jwks-file). Public clients use none."
)
JwksUriOption = Annotated[
    str | None,
    typer.Option(
        "--jwks-uri",
        metavar="URL",
        help="private_key_jwt: the https address where the app publishes its public keys.",
    ),
]
JwksFileOption = Annotated[
    Path | None,
    typer.Option(
        "--jwks-file",
        metavar="FILE",
        help="private_key_jwt: a JSON file holding the app's public keys (a JWK Set).",
    ),
]
REDIRECT_URI_HELP = (
    "A redirect URI (repeat for several): https://…, http://127.0.0.1, [::1] or localhost "
    "(any port), or the app's own scheme (myapp://cb, com.example.app:/cb)."
)


#: How the console and the CLI name a client's origin (admins' clients go unmarked).
ORIGIN_WORDS = {
    ClientOrigin.CONSOLE: "registered by an admin",
    ClientOrigin.DOCUMENT: "metadata document",
    ClientOrigin.REGISTERED: "self-registered",
}


@contextmanager
def _naming(client_id: int) -> Iterator[None]:
    """Say which client was not found, in text mode."""
    try:
        yield
    except NotFound as error:
        raise CliFailure(Failure.of(error, f"no OAuth client has id {client_id}")) from None


def _read_jwks(path: Path | None) -> dict[str, Any] | None:
    """The JWK Set in a JSON file; a file that is not JSON is reported as the field's problem."""
    if path is None:
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        problems = FieldErrors()
        reason = f"{path} could not be read as JSON ({type(error).__name__})."
        problems.add(("jwks",), FieldError("invalid_jwks", reason))
        raise InvalidInput(problems) from None
    return value if isinstance(value, dict) else {"keys": None}


def _kind(client: OAuthClient) -> str:
    if client.is_public:
        return "public (no secret; must use PKCE)"
    if client.private_key_jwt:
        return "confidential (private_key_jwt: signs with its key)"
    return "confidential (secret)"


def client_text(client: OAuthClient, services: Wiring) -> str:
    site = services.site
    kind = _kind(client)
    rows = [
        ("client_id", client.client_id),
        ("type", kind),
        ("context", client.context.value),
        ("grant", client.allowed_grant_type.value),
        ("ID tokens signed", client.id_token_signed_response_alg.value),
        ("scopes", client.allowed_scopes),
        *((("keys at", client.jwks_uri),) if client.jwks_uri else ()),
        *(
            (("keys", f"{len(client.jwks.get('keys') or ())} inline (JWK Set)"),)
            if client.jwks
            else ()
        ),
        ("access tokens", client.access_token_format.value),
        ("status", "enabled" if client.is_enabled else "disabled"),
        *(("redirect URI", uri) for uri in client.redirect_uris),
        *(("after sign-out", uri) for uri in client.post_logout_redirect_uris),
        ("authorize at", authorization_endpoint(site)),
        ("token at", token_endpoint(site)),
        ("created", when(client.created_at)),
    ]
    if client.origin is ClientOrigin.DOCUMENT:
        rows.insert(1, ("origin", f"metadata document at {client.document_url}"))
    elif client.origin is ClientOrigin.REGISTERED:
        rows.insert(1, ("origin", "registered itself (RFC 7591)"))
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
    if issued.secret is None and issued.client.private_key_jwt:
        lines.append("No secret: the app signs a JWT with its key (private_key_jwt).")
    elif issued.secret is None:
        lines.append("No secret: a public client proves itself with PKCE (S256).")
    else:
        lines += [
            f"Client secret: {issued.secret}",
            "Store it now: this is the only time it is shown.",
        ]
    return "\n".join(lines)


#: OpenID Connect RP-Initiated Logout: where the app may send people once signed out.
PostLogoutOption = Annotated[
    list[str] | None,
    typer.Option(
        "--post-logout-redirect-uri",
        metavar="URI",
        help="Where the app may send people after signing them out of Tessera (OpenID Connect "
        "logout; repeat for several; replaces the list on update). Same rules as redirect URIs.",
    ),
]


@app.command("create")
@reports_errors
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="The app's name, shown on the consent page.")],
    redirect_uris: Annotated[
        list[str] | None,
        typer.Option(
            "--redirect-uri",
            metavar="URI",
            help=REDIRECT_URI_HELP + " Not for --grant device_code, which takes none.",
        ),
    ] = None,
    public: Annotated[
        bool, typer.Option("--public", help="No secret (mobile or browser app); PKCE required.")
    ] = False,
    grant: GrantOption = GrantType.AUTHORIZATION_CODE,
    context: ContextOption = ClientContext.AGENT,
    id_token_alg: Annotated[
        SigningAlgorithm, typer.Option("--id-token-alg", help=SIGNATURE_HELP)
    ] = DEFAULT_ALGORITHM,
    post_logout_redirect_uris: PostLogoutOption = None,
    scopes: Annotated[str, typer.Option("--scopes", help=SCOPES_HELP)] = "session",
    auth_method: Annotated[
        ClientAuthMethod | None, typer.Option("--auth-method", help=AUTH_METHOD_HELP)
    ] = None,
    jwks_uri: JwksUriOption = None,
    jwks_file: JwksFileOption = None,
    access_tokens: Annotated[
        AccessTokenFormat, typer.Option("--access-tokens", help=ACCESS_FORMAT_HELP)
    ] = AccessTokenFormat.OPAQUE,
    as_json: JsonOption = False,
) -> None:
    """Register a client; print its client_id and, unless public or private_key_jwt, its
    secret once."""
    services = state(ctx).services
    issued = services.oauth_clients.create(
        NewOAuthClient(
            name=name,
            redirect_uris=redirect_uris or [],
            context=context,
            allowed_grant_type=grant,
            is_public=public,
            id_token_signed_response_alg=id_token_alg,
            post_logout_redirect_uris=post_logout_redirect_uris or (),
            allowed_scopes=scopes,
            token_endpoint_auth_method=auth_method,
            jwks_uri=jwks_uri,
            jwks=_read_jwks(jwks_file),
            access_token_format=access_tokens,
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
        if client.private_key_jwt:
            kind += " (private_key_jwt)"
        if client.origin is not ClientOrigin.CONSOLE:
            kind += f" ({ORIGIN_WORDS[client.origin]})"
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
    id_token_alg: Annotated[
        SigningAlgorithm | None, typer.Option("--id-token-alg", help=SIGNATURE_HELP)
    ] = None,
    access_tokens: Annotated[
        AccessTokenFormat | None, typer.Option("--access-tokens", help=ACCESS_FORMAT_HELP)
    ] = None,
    post_logout_redirect_uris: PostLogoutOption = None,
    no_post_logout_redirect_uris: Annotated[
        bool,
        typer.Option(
            "--no-post-logout-redirect-uris", help="Remove every post-logout redirect URI."
        ),
    ] = False,
    auth_method: Annotated[
        ClientAuthMethod | None,
        typer.Option(
            "--auth-method",
            help=AUTH_METHOD_HELP + " To private_key_jwt: the secret is dropped; back to a "
            "secret: run rotate-secret.",
        ),
    ] = None,
    jwks_uri: JwksUriOption = None,
    jwks_file: JwksFileOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change a client; options not given stay as they are."""
    services = state(ctx).services
    logout_uris: list[str] | None = [] if no_post_logout_redirect_uris else None
    changes = OAuthClientChanges(
        name=name,
        # Typer gives an empty list when the option is absent: that means "unchanged".
        redirect_uris=redirect_uris or None,
        context=context,
        allowed_grant_type=grant,
        is_enabled=enabled,
        id_token_signed_response_alg=id_token_alg,
        post_logout_redirect_uris=post_logout_redirect_uris or logout_uris,
        allowed_scopes=scopes,
        token_endpoint_auth_method=auth_method,
        jwks_uri=jwks_uri,
        jwks=_read_jwks(jwks_file),
        access_token_format=access_tokens,
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


# -- initial access tokens for dynamic registration (RFC 7591 §3) ----------------------------

tokens_app = typer.Typer(
    no_args_is_help=True,
    help="Initial access tokens: what lets an app register itself at /oauth/register.",
)
app.add_typer(tokens_app, name="initial-tokens")


def _token_json(token: InitialAccessToken) -> dict[str, object]:
    return {
        "id": token.id,
        "note": token.note,
        "created_at": token.created_at.isoformat(),
        "expires_at": token.expires_at.isoformat(),
        "single_use": token.single_use,
        "uses": token.uses,
        "revoked_at": None if token.revoked_at is None else token.revoked_at.isoformat(),
    }


@tokens_app.command("create")
@reports_errors
def create_initial_token(
    ctx: typer.Context,
    note: Annotated[str, typer.Option("--note", help="What it is for (shown in lists).")],
    days: Annotated[
        float, typer.Option("--days", min=0.001, max=365, help="How long it may be used.")
    ] = 7,
    single_use: Annotated[
        bool, typer.Option("--single-use", help="Spent by its first registration.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Make an initial access token; print it once."""
    services = state(ctx).services
    issued = services.client_registration.create_initial_token(
        note=note, lifetime=timedelta(days=days), single_use=single_use, created_by=None
    )
    token = issued.token
    text = "\n".join(
        [
            f"Initial access token {token.id}: {token.note}",
            *fields(
                [
                    ("expires", when(token.expires_at)),
                    ("use", "once" if token.single_use else "until it expires"),
                ]
            ),
            "",
            f"Token: {issued.value}",
            "Store it now: this is the only time it is shown. Send it as",
            "Authorization: Bearer <token> to POST /oauth/register.",
        ]
    )
    mode = services.client_registration.mode
    if mode is not RegistrationMode.INVITED:
        text += (
            f"\nNote: dynamic registration is {mode.value!r}; it needs the token only when "
            "TESSERA_OAUTH_REGISTRATION=initial_token."
        )
    emit(as_json, {**_token_json(token), "token": issued.value}, text)


@tokens_app.command("list")
@reports_errors
def list_initial_tokens(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List initial access tokens, newest first; never their values."""
    services = state(ctx).services
    tokens = services.client_registration.list_initial_tokens()
    now = services.clock.now()

    def status(token: InitialAccessToken) -> str:
        if token.revoked_at is not None:
            return "revoked"
        if not token.is_usable(now):
            return "spent" if token.single_use and token.uses else "expired"
        return "usable"

    rows = [[str(t.id), status(t), str(t.uses), when(t.expires_at), t.note] for t in tokens]
    text = (
        table(["ID", "STATUS", "USES", "EXPIRES", "NOTE"], rows)
        if rows
        else "No initial access tokens."
    )
    emit(as_json, [_token_json(token) for token in tokens], text)


@tokens_app.command("revoke")
@reports_errors
def revoke_initial_token(
    ctx: typer.Context,
    token_id: Annotated[int, typer.Argument(metavar="ID", min=1, max=2**63 - 1)],
    as_json: JsonOption = False,
) -> None:
    """Revoke an initial access token: it registers nothing more."""
    services = state(ctx).services
    try:
        token = services.client_registration.revoke_initial_token(token_id, actor=None)
    except NotFound as error:
        raise CliFailure(Failure.of(error, f"no initial access token has id {token_id}")) from None
    emit(as_json, _token_json(token), f"Revoked initial access token {token.id} ({token.note}).")
