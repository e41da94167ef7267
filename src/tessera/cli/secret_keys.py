"""``tessera secret-keys``: list, add, activate, rotate and retire the server's secret keys."""

from typing import Annotated

import typer

from tessera.cli.commands import summary
from tessera.cli.output import JsonOption, emit, reports_errors
from tessera.cli.state import state
from tessera.services.secret_keys import KeyVersionStatus

app = typer.Typer(no_args_is_help=True, help=summary("secret-keys"))

Version = Annotated[int, typer.Argument(metavar="VERSION", min=1, max=255)]
RESTART = "Restart every server (one after the other is fine) for it to take effect."


@app.command("list")
@reports_errors
def list_keys(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """The keys (never their values), which is active, and what each still checks."""
    service = state(ctx).services.secret_key_service
    statuses = service.status()
    lost = service.orphaned()
    lines = [_line(status) for status in statuses]
    if lost:
        lines.append(f"under retired keys (no longer accepted or readable): {_uses(lost)}")
    emit(
        as_json,
        {"keys": [_json(status) for status in statuses], "under_retired_keys": lost},
        "\n".join(lines),
    )


@app.command("add")
@reports_errors
def add(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Add a new key that only checks codes: step 1 of a rotation across several servers."""
    version = state(ctx).services.secret_key_service.add()
    emit(
        as_json,
        {"version": version, "state": "verify"},
        f"Added key {version}; it only checks for now. {RESTART}"
        f" Then: tessera secret-keys activate {version}",
    )


@app.command("activate")
@reports_errors
def activate(ctx: typer.Context, version: Version, as_json: JsonOption = False) -> None:
    """Make a key the one new codes are made with: step 2, once every server knows it."""
    state(ctx).services.secret_key_service.activate(version)
    emit(as_json, {"version": version, "state": "active"}, f"Key {version} is active. {RESTART}")


@app.command("rotate")
@reports_errors
def rotate(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Add a key and make it active at once (one server; several: add, then activate)."""
    version = state(ctx).services.secret_key_service.rotate()
    emit(
        as_json,
        {"version": version, "state": "active"},
        f"Key {version} is active; older keys still check the codes made with them. {RESTART}",
    )


@app.command("retire")
@reports_errors
def retire(
    ctx: typer.Context,
    version: Version,
    force: Annotated[
        bool,
        typer.Option("--force", help="Retire it even though live credentials still use it."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Forget an old key; what it sealed is sealed under the active key first. Refused while
    live credentials use it, unless --force (they end)."""
    retired = state(ctx).services.secret_key_service.retire(version, force=force)
    ended = retired.status.total_in_use
    lines = [f"Key {version} is retired."]
    if retired.resealed:
        lines.append(f"Sealed again under the active key: {_uses(retired.resealed)}.")
    if ended:
        lines.append(f"{ended} credentials or sessions no longer work.")
    if retired.unreadable:
        lines.append(f"Already unreadable, left as they were: {_uses(retired.unreadable)}.")
    lines.append(RESTART)
    emit(
        as_json,
        {
            "version": version,
            "ended": retired.status.in_use,
            "resealed": retired.resealed,
            "unreadable": retired.unreadable,
        },
        " ".join(lines),
    )


@app.command("reseal")
@reports_errors
def reseal(ctx: typer.Context, version: Version, as_json: JsonOption = False) -> None:
    """Seal under the active key what a key sealed, keeping it (retire does this itself; with
    keys in TESSERA_SECRET_KEY, run it before removing the key's line)."""
    resealed = state(ctx).services.secret_key_service.reseal(version)
    done = _uses(resealed) if resealed else "nothing was sealed under it"
    emit(
        as_json,
        {"version": version, "resealed": resealed},
        f"Key {version}: sealed again under the active key: {done}.",
    )


def _line(status: KeyVersionStatus) -> str:
    in_use = _uses(status.in_use) if status.in_use else "nothing live"
    sealed = f"; sealed: {_uses(status.sealed)}" if status.sealed else ""
    return f"{status.version}  {status.state:<6}  {in_use}{sealed}"


def _uses(counts: dict[str, int]) -> str:
    return ", ".join(f"{count} {kind}" for kind, count in counts.items())


def _json(status: KeyVersionStatus) -> dict[str, object]:
    return {
        "version": status.version,
        "state": str(status.state),
        "in_use": status.in_use,
        "sealed": status.sealed,
    }
