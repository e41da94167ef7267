"""``tessera routes``: the guard's route table, and why it would allow or refuse a request.

The table is the server's (``routes_file``), or a file named here: ``--routes`` (TOML) or
``--openapi`` (an OpenAPI document in JSON). ``check`` exits 0 when the request would be
allowed, else with the status of the refusal's kind (4 forbidden, 1 unauthenticated).
"""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tessera.cli.commands import summary
from tessera.cli.output import EXIT_CODES, JsonOption, emit, fields, reports_errors, table
from tessera.cli.state import state
from tessera.core.errors import WIRE_STATUS, FieldError, InvalidInput
from tessera.core.routes import Route, RouteTable

if TYPE_CHECKING:
    # Only ``check`` reads the database: ``show`` loads no database layer (ADR 0022).
    from tessera.services.route_check import CredentialState, RouteExplanation

app = typer.Typer(no_args_is_help=True, help=summary("routes"))

RoutesOption = Annotated[
    Path | None,
    typer.Option(
        "--routes",
        metavar="FILE",
        dir_okay=False,
        help="A TOML route table (default: the setting).",
    ),
]
OpenApiOption = Annotated[
    Path | None,
    typer.Option(
        "--openapi", metavar="FILE", dir_okay=False, help="Read the table from an OpenAPI document."
    ),
]
NO_TABLE = FieldError(
    "required",
    "No route table: set routes_file (TESSERA_ROUTES_FILE), or pass --routes or --openapi.",
)


def _table(ctx: typer.Context, routes: Path | None, openapi: Path | None) -> tuple[RouteTable, str]:
    from tessera.route_files import load_openapi_routes, load_route_table

    if routes is not None and openapi is not None:
        message = "Pass --routes or --openapi, not both."
        raise InvalidInput.for_field("openapi", FieldError("invalid", message))
    if routes is not None:
        return load_route_table(routes), str(routes)
    if openapi is not None:
        return load_openapi_routes(openapi), str(openapi)
    settings = state(ctx).settings
    if settings.routes_file is None:
        raise InvalidInput.for_field("routes_file", NO_TABLE)
    return load_route_table(settings.routes_file), str(settings.routes_file)


def _methods(route: Route) -> str:
    return "*" if route.methods is None else ", ".join(sorted(route.methods))


def _route_json(route: Route) -> dict[str, Any]:
    methods = None if route.methods is None else sorted(route.methods)
    return {
        "methods": methods,
        "path": route.path,
        "tags": list(route.tags),
        "origin": route.origin,
    }


def _specificity(route: Route) -> tuple[tuple[int, ...], int]:
    """Higher first: literal segments before ``{name}`` before ``**``, named methods before *."""
    segments = route.path[1:].split("/")
    ranks = tuple(0 if s == "**" else 1 if s.startswith("{") else 2 for s in segments)
    return ranks, 0 if route.methods is None else 1


@app.command("show")
@reports_errors
def show(
    ctx: typer.Context,
    routes: RoutesOption = None,
    openapi: OpenApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print the compiled route table, most specific first (it is checked whole first)."""
    route_table, source = _table(ctx, routes, openapi)
    ordered = sorted(route_table.routes, key=_specificity, reverse=True)
    rows = [[_methods(r), r.path, ", ".join(r.tags) or "(any caller)", r.origin] for r in ordered]
    unrouted = (
        "refused with 403 forbidden"
        if route_table.default == "refuse"
        else "let through for any authenticated caller"
    )
    lines = [f"Route table: {source}", ""]
    if rows:
        lines.append(table(["METHOD", "PATH", "TAGS", "FROM"], rows))
    else:
        lines.append("No routes.")
    lines += ["", f'A request no route names is {unrouted} (default = "{route_table.default}").']
    data = {
        "source": source,
        "default": route_table.default,
        "routes": [_route_json(route) for route in ordered],
    }
    emit(as_json, data, "\n".join(lines))


@app.command("check")
@reports_errors
def check(
    ctx: typer.Context,
    method: Annotated[str, typer.Argument(help="The request's method, e.g. DELETE.")],
    path: Annotated[str, typer.Argument(help="Its path, e.g. /tickets/12 (a query is ignored).")],
    key: Annotated[
        int | None, typer.Option("--key", metavar="ID", help="Explain for this API key.")
    ] = None,
    token: Annotated[
        int | None, typer.Option("--token", metavar="ID", help="Explain for this API token.")
    ] = None,
    routes: RoutesOption = None,
    openapi: OpenApiOption = None,
    as_json: JsonOption = False,
) -> None:
    """Explain a decision: which route, which tags, which pattern of the key allowed or denied."""
    if key is not None and token is not None:
        raise InvalidInput.for_field("token", FieldError("invalid", "Pass --key or --token."))
    route_table, _ = _table(ctx, routes, openapi)
    checker = state(ctx).services.route_checker
    explained = checker.explain(route_table, method, path, key_id=key, token_id=token)
    emit(as_json, _explanation_json(explained), _explanation_text(explained))
    if explained.refusal is not None:
        raise typer.Exit(EXIT_CODES[explained.refusal.kind])


def _explanation_json(explained: "RouteExplanation") -> dict[str, Any]:
    credential = explained.credential
    refusal = explained.refusal
    return {
        "method": explained.method,
        "path": explained.path,
        "default": explained.default,
        "route": None if explained.route is None else _route_json(explained.route),
        "tags": None if explained.tags is None else list(explained.tags),
        "path_refusal": explained.path_refusal,
        "credential": None if credential is None else _credential_json(credential),
        "tag_checks": [
            {
                "tag": verdict.tag,
                "allowed": verdict.allowed,
                "allowed_by": verdict.allowed_by,
                "denied_by": verdict.denied_by,
            }
            for verdict in explained.verdicts
        ],
        "decision": {
            "allowed": refusal is None,
            "status": 200 if refusal is None else WIRE_STATUS[refusal.kind],
            "code": None if refusal is None else refusal.code,
        },
    }


def _credential_json(credential: "CredentialState") -> dict[str, Any]:
    return {
        "credential": credential.name,
        "person_id": credential.person_id,
        "is_superuser": credential.is_superuser,
        "patterns": None if credential.patterns is None else str(credential.patterns),
        "refused_because": credential.refused_because,
    }


def _explanation_text(explained: "RouteExplanation") -> str:
    route = explained.route
    if route is not None:
        routed = f"{_methods(route)} {route.path} ({route.origin})"
    elif explained.tags is not None:
        routed = "none: the default lets any authenticated caller through"
    else:
        routed = f"refused: {explained.path_refusal}"
    pairs = [("route", routed)]
    if explained.tags is not None:
        pairs.append(("tags", ", ".join(explained.tags) or "(none: any authenticated caller)"))
    credential = explained.credential
    if credential is not None:
        pairs.append(("credential", f"{credential.name}, {_credential_text(credential)}"))
    lines = [f"{explained.method} {explained.path}", *fields(pairs)]
    for verdict in explained.verdicts:
        allowed = f"allowed by {verdict.allowed_by}" if verdict.allowed_by else "allowed by none"
        denied = f", denied by {verdict.denied_by}" if verdict.denied_by else ""
        lines.append(f"    {verdict.tag}: {allowed}{denied}")
    lines.append("")
    lines.append(_verdict_text(explained))
    return "\n".join(lines)


def _credential_text(credential: "CredentialState") -> str:
    if credential.refused_because is not None:
        return f"refused: {credential.refused_because}"
    if credential.is_superuser:
        acts = "the agent named in X-DeskPRO-Agent-ID, else "
        acts += "no one" if credential.person_id is None else f"person {credential.person_id}"
    else:
        acts = f"person {credential.person_id}"
    text = f"live, acts as {acts}"
    if credential.patterns is None:
        return text + "; tags do not limit tokens"
    return text + f"; patterns: {credential.patterns or '(none: allows nothing)'}"


def _verdict_text(explained: "RouteExplanation") -> str:
    refusal = explained.refusal
    if refusal is not None:
        return f"Refused: {WIRE_STATUS[refusal.kind]} {refusal.code}."
    if explained.credential is None:
        tags = explained.tags or ()
        needs = f"whose patterns allow {', '.join(tags)}" if tags else "at all"
        return f"Allowed for a caller with a valid credential {needs} (keys; tokens need none)."
    return "Allowed: 200."
