"""``tessera signing-keys``: list and rotate the keys that sign ID tokens (ADR 0039)."""

from datetime import datetime
from typing import Any

import typer

from tessera.cli.commands import summary
from tessera.cli.output import JsonOption, emit, reports_errors
from tessera.cli.state import state
from tessera.core.signing_keys import StoredSigningKey

app = typer.Typer(no_args_is_help=True, help=summary("signing-keys"))


@app.command("list")
@reports_errors
def list_keys(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Every key (never its private part): which signs, until when the others are published."""
    service = state(ctx).services.signing_keys
    keys = service.keys()
    problems = service.check()
    lines = [_line(key) for key in keys] or ["No signing key yet: the server makes them at start."]
    lines += [f"cannot sign: {problem}" for problem in problems]
    emit(as_json, {"keys": [_json(key) for key in keys], "problems": problems}, "\n".join(lines))


@app.command("rotate")
@reports_errors
def rotate(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Make new signing keys now; the old ones stay published until their tokens expire."""
    made = state(ctx).services.signing_keys.rotate()
    emit(
        as_json,
        {"made": [_json(key) for key in made]},
        "\n".join(f"{key.algorithm} signs with {key.kid} from now on." for key in made)
        + "\nEvery server follows at once; old keys stay in the JWKS until their tokens expire.",
    )


def _line(key: StoredSigningKey) -> str:
    if key.is_active:
        state_text = "signing"
    else:
        state_text = (
            f"retired {_when(key.retired_at)}, published until {_when(key.published_until)}"
        )
    return (
        f"{key.kid}  {key.algorithm}  made {_when(key.created_at)}  {state_text}"
        f"  (sealed with secret key {key.secret_key_version})"
    )


def _json(key: StoredSigningKey) -> dict[str, Any]:
    return {
        "kid": key.kid,
        "algorithm": key.algorithm.value,
        "signing": key.is_active,
        "created_at": _when(key.created_at),
        "retired_at": _when(key.retired_at),
        "published_until": _when(key.published_until),
        "secret_key_version": key.secret_key_version,
    }


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds")
