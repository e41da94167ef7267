"""What the root command hands every command: the settings, and a runtime built on first use."""

import tomllib

import typer
from pydantic import ValidationError

from tessera.bootstrap import InvalidSecretKey, Runtime, build_runtime
from tessera.cli.output import EXIT_CODES, CliFailure, Failure
from tessera.core.errors import ErrorKind, FieldError, FieldErrors
from tessera.services.container import Services
from tessera.settings import Settings


class CliState:
    """Settings built once per invocation; the database only for commands that use it."""

    def __init__(self, settings: Settings | None, problem: Failure | None = None) -> None:
        self._settings = settings
        self._problem = problem
        self._runtime: Runtime | None = None

    @classmethod
    def load(cls) -> "CliState":
        # A bad configuration is reported by the command that needs it, so that it can answer
        # in JSON when asked to, and so that ``--help`` still works.
        try:
            return cls(Settings())
        except ValidationError as error:
            return cls(None, _invalid_settings(error))
        except (OSError, tomllib.TOMLDecodeError) as error:
            problems = FieldErrors()
            problems.add(("config",), FieldError("unreadable", str(error)))
            return cls(None, _settings_failure(problems))

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            raise CliFailure(self._problem or _settings_failure(FieldErrors()))
        return self._settings

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            try:
                self._runtime = build_runtime(self.settings)
            except InvalidSecretKey as error:
                problems = FieldErrors()
                problems.add(("secret_key_file",), FieldError("invalid_secret_key", str(error)))
                raise CliFailure(_settings_failure(problems)) from error
        return self._runtime

    @property
    def services(self) -> Services:
        return self.runtime.services

    def close(self) -> None:
        """Release the database connections; safe to call again."""
        if self._runtime is not None:
            self._runtime.database.dispose()
            self._runtime = None


def state(ctx: typer.Context) -> CliState:
    """The state the root callback stored; sub-contexts inherit ``obj`` from their parent."""
    obj = ctx.obj
    if not isinstance(obj, CliState):
        raise TypeError("the root command did not run: no CLI state on the context")
    return obj


def _invalid_settings(error: ValidationError) -> Failure:
    problems = FieldErrors()
    for problem in error.errors():
        path = tuple(str(part) for part in problem["loc"]) or ("settings",)
        problems.add(path, FieldError(problem["type"], problem["msg"]))
    return _settings_failure(problems)


def _settings_failure(problems: FieldErrors) -> Failure:
    return Failure(
        # Not the operator's command line but the configuration: a general failure (1).
        exit_code=EXIT_CODES[ErrorKind.INTERNAL],
        status=500,
        code="invalid_settings",
        message="The configuration is not valid.",
        problems=problems,
    )
