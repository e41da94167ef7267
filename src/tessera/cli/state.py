"""What the root command hands every command: settings and services, each built on first use.

A command that needs no settings (``--help``, a usage error) never reads them; one that needs
only the people service never builds the OAuth server (``tessera.bootstrap.Wiring``).
"""

import tomllib
from typing import TYPE_CHECKING

import typer

from tessera.cli.output import CliFailure, Failure, settings_failure
from tessera.core.errors import FieldError, FieldErrors

if TYPE_CHECKING:
    from pydantic import ValidationError

    from tessera.bootstrap import Wiring
    from tessera.settings import Settings


class CliState:
    """Settings read once per invocation; the database only for commands that use it."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._wiring: Wiring | None = None

    @property
    def settings(self) -> "Settings":
        # A bad configuration is reported by the command that needs it, so that it can answer
        # in JSON when asked to, and so that ``--help`` still works.
        if self._settings is None:
            from pydantic import ValidationError

            from tessera.settings import Settings

            try:
                self._settings = Settings()
            except ValidationError as error:
                raise CliFailure(_invalid_settings(error)) from None
            except (OSError, tomllib.TOMLDecodeError) as error:
                problems = FieldErrors()
                problems.add(("config",), FieldError("unreadable", str(error)))
                raise CliFailure(settings_failure(problems)) from None
        return self._settings

    @property
    def services(self) -> "Wiring":
        """The composition of this process: each service built when first asked for."""
        if self._wiring is None:
            from tessera.bootstrap import Wiring

            self._wiring = Wiring(self.settings)
        return self._wiring

    def close(self) -> None:
        """Release the database connections; safe to call again."""
        if self._wiring is not None:
            self._wiring.close()
            self._wiring = None


def state(ctx: typer.Context) -> CliState:
    """The state the root callback stored; sub-contexts inherit ``obj`` from their parent."""
    obj = ctx.obj
    if not isinstance(obj, CliState):
        raise TypeError("the root command did not run: no CLI state on the context")
    return obj


def _invalid_settings(error: "ValidationError") -> Failure:
    problems = FieldErrors()
    for problem in error.errors():
        path = tuple(str(part) for part in problem["loc"]) or ("settings",)
        problems.add(path, FieldError(problem["type"], problem["msg"]))
    return settings_failure(problems)
