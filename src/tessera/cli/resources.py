"""``tessera resources``: the protected resources Tessera issues audience-bound tokens for.

RFC 8707 (ADR 0043): a client names a registered resource with ``resource`` and gets a token
only that resource accepts; Tessera's own API is always one and is never registered.
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
from tessera.core.resources import ProtectedResource, protected_resource_metadata_url
from tessera.services.protected_resources import ResourceChanges

app = typer.Typer(no_args_is_help=True, help=summary("resources"))

ClientsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--client",
        metavar="CLIENT_ID",
        help="Only this OAuth client may ask for it (repeat for more). Default: every client.",
    ),
]
IdArgument = Annotated[
    int, typer.Argument(metavar="ID", min=1, max=2**63 - 1, help="The resource's id.")
]


@app.command("add")
@reports_errors
def add(
    ctx: typer.Context,
    uri: Annotated[str, typer.Argument(help="The resource's URI, as clients name it.")],
    name: Annotated[str, typer.Option("--name", help="What people call it.")],
    clients: ClientsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register a resource: clients may then ask for tokens bound to it."""
    resource = state(ctx).services.resources.create(uri, name, clients)
    emit(
        as_json,
        _json(resource),
        "\n".join([f"Registered resource {resource.id}.", *_lines(resource)]),
    )


@app.command("list")
@reports_errors
def list_resources(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Every registered resource, and Tessera's own API."""
    registry = state(ctx).services.resources
    resources = registry.list()
    rows = [[str(r.id), r.uri, r.name, _clients(r)] for r in resources]
    rows.append(["-", registry.own_uri, "Tessera's own API (always)", "every client"])
    text = table(["ID", "URI", "NAME", "CLIENTS"], rows)
    emit(as_json, {"own": registry.own_uri, "resources": [_json(r) for r in resources]}, text)


@app.command("update")
@reports_errors
def update(
    ctx: typer.Context,
    resource_id: IdArgument,
    name: Annotated[str | None, typer.Option("--name", help="A new name.")] = None,
    clients: ClientsOption = None,
    every_client: Annotated[
        bool, typer.Option("--every-client", help="Let every client ask for it.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Rename a resource, or change which clients may ask for it (tokens issued stay)."""
    changes = ResourceChanges(name=name, clients=clients, every_client=every_client)
    try:
        resource = state(ctx).services.resources.update(resource_id, changes)
    except NotFound as error:
        raise CliFailure(Failure.of(error, f"no resource has id {resource_id}")) from None
    emit(
        as_json, _json(resource), "\n".join([f"Updated resource {resource.id}.", *_lines(resource)])
    )


@app.command("delete")
@reports_errors
def delete(ctx: typer.Context, resource_id: IdArgument, as_json: JsonOption = False) -> None:
    """Remove a resource: no new token names it, and refreshing one for it fails."""
    try:
        resource = state(ctx).services.resources.delete(resource_id)
    except NotFound as error:
        raise CliFailure(Failure.of(error, f"no resource has id {resource_id}")) from None
    emit(as_json, _json(resource), f"Deleted resource {resource.id} ({resource.uri}).")


def _clients(resource: ProtectedResource) -> str:
    if resource.client_ids is None:
        return "every client"
    return ", ".join(f"client {client_id}" for client_id in resource.client_ids) or "none"


def _lines(resource: ProtectedResource) -> list[str]:
    return fields(
        [
            ("uri", resource.uri),
            ("name", resource.name),
            ("clients", _clients(resource)),
            ("metadata", protected_resource_metadata_url(resource.uri)),
            ("created", when(resource.created_at)),
        ]
    )


def _json(resource: ProtectedResource) -> dict[str, Any]:
    return {
        "id": resource.id,
        "uri": resource.uri,
        "name": resource.name,
        "client_ids": None if resource.client_ids is None else list(resource.client_ids),
        "metadata_url": protected_resource_metadata_url(resource.uri),
        "created_at": when(resource.created_at),
        "updated_at": when(resource.updated_at),
    }
