"""What commands print: readable text or one JSON document, and errors with their exit status.

Every command takes ``--json``. With it, stdout carries exactly one JSON document, whether the
command succeeded (the object, or ``{"data": [...], "meta": {"pagination": ...}}`` for lists)
or failed (Deskpro's error envelope ``{"status", "code", "message", "errors"}``), so a script
can always parse stdout and branch on the exit status. Without it, results go to stdout and
errors to stderr. ``tessera.cli.serialize`` makes the JSON of people, keys and tokens.
"""

import functools
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, ParamSpec, TypeVar

import typer

from tessera.core.errors import (
    WIRE_STATUS,
    ErrorKind,
    FieldError,
    FieldErrors,
    InvalidInput,
    TesseraError,
)
from tessera.core.paging import MAX_PER_PAGE, Page
from tessera.secret_key_file import InvalidSecretKey

P = ParamSpec("P")
T = TypeVar("T")

#: The one table of exit statuses. 2 is also what Typer uses for a bad command line, so
#: "you asked for something invalid" has one status whoever noticed it.
EXIT_CODES: dict[ErrorKind, int] = {
    ErrorKind.INVALID_INPUT: 2,
    ErrorKind.NOT_FOUND: 3,
    ErrorKind.FORBIDDEN: 4,
    ErrorKind.UNAUTHENTICATED: 1,
    ErrorKind.METHOD_NOT_ALLOWED: 1,
    ErrorKind.RATE_LIMITED: 1,
    ErrorKind.INTERNAL: 1,
    ErrorKind.UNAVAILABLE: 1,
    ErrorKind.TOO_LARGE: 2,
    ErrorKind.TIMED_OUT: 1,
}


PageOption = Annotated[int, typer.Option("--page", min=1, help="Which page of the list.")]
CountOption = Annotated[
    int, typer.Option("--count", min=1, max=MAX_PER_PAGE, help="Items per page.")
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON document on stdout, for scripts.")
]


@dataclass(frozen=True, slots=True)
class Failure:
    """An error as the command line shows it."""

    exit_code: int
    status: int
    code: str
    message: str
    problems: FieldErrors | None = None
    #: A CLI-specific explanation shown instead of ``message`` in text mode.
    detail: str | None = None

    @classmethod
    def of(cls, error: TesseraError, detail: str | None = None) -> "Failure":
        return cls(
            exit_code=EXIT_CODES[error.kind],
            status=WIRE_STATUS[error.kind],
            code=error.code,
            message=error.message,
            problems=error.problems if isinstance(error, InvalidInput) else None,
            # The catalogue says "Request input"; on a command line it is the arguments.
            detail=detail or ("invalid arguments" if isinstance(error, InvalidInput) else None),
        )


class CliFailure(Exception):
    """Raised by commands for failures that are not the services' errors."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.detail or failure.message)
        self.failure = failure


def reports_errors(command: Callable[P, None]) -> Callable[P, None]:
    """Turn a command's errors into their output and exit status, never a traceback.

    Reads the command's ``as_json`` parameter to choose the form; Typer passes parameters by
    keyword, and ``functools.wraps`` keeps the signature Typer reads the options from.
    """

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            command(*args, **kwargs)
        except TesseraError as error:
            failure = Failure.of(error)
        except CliFailure as error:
            failure = error.failure
        except InvalidSecretKey as error:
            problems = FieldErrors()
            problems.add(("secret_key_file",), FieldError("invalid_secret_key", str(error)))
            failure = settings_failure(problems)
        except Exception as error:
            database_problem = _database_failure(error)
            if database_problem is None:
                raise
            failure = database_problem
        else:
            return
        report(failure, as_json=bool(kwargs.get("as_json", False)))
        raise typer.Exit(failure.exit_code)

    return run


def settings_failure(problems: FieldErrors) -> Failure:
    return Failure(
        # Not the operator's command line but the configuration: a general failure (1).
        exit_code=EXIT_CODES[ErrorKind.INTERNAL],
        status=500,
        code="invalid_settings",
        message="The configuration is not valid.",
        problems=problems,
    )


def _database_failure(error: Exception) -> Failure | None:
    """Unreachable or unmigrated databases are operator problems, not bugs to trace."""
    # Imported here: a command that never touched the database must not load SQLAlchemy.
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    if not isinstance(error, SQLAlchemyError):
        return None
    # Statement parameters are hidden by the engine, so the text holds no secrets; the
    # driver's own message (``orig``) says what went wrong without the SQL.
    cause = error.orig if isinstance(error, DBAPIError) else error
    return Failure(
        exit_code=EXIT_CODES[ErrorKind.INTERNAL],
        status=WIRE_STATUS[ErrorKind.INTERNAL],
        code="database_error",
        message="The database could not be used.",
        detail=f"the database could not be used: {cause}",
    )


def report(failure: Failure, *, as_json: bool) -> None:
    if as_json:
        body: dict[str, Any] = {
            "status": failure.status,
            "code": failure.code,
            "message": failure.message,
        }
        if failure.problems is not None:
            body["errors"] = failure.problems.as_json()
        typer.echo(_dumps(body))
        return
    typer.echo(f"error: {failure.detail or failure.message}", err=True)
    for line in _problem_lines(failure.problems or FieldErrors()):
        typer.echo(line, err=True)


def _problem_lines(node: FieldErrors, path: tuple[str, ...] = ()) -> Iterator[str]:
    for error in node.errors:
        yield f"  {'.'.join(path) or 'input'}: {error.message}"
    for name, child in node.fields.items():
        yield from _problem_lines(child, (*path, name))


def emit(as_json: bool, data: Any, text: str) -> None:
    """Print a result: ``data`` as JSON, or ``text`` for people."""
    typer.echo(_dumps(data) if as_json else text)


def _dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


# -- text ------------------------------------------------------------------------------------


def when(moment: datetime | None, never: str = "never") -> str:
    return never if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def fields(pairs: Iterable[tuple[str, str]], indent: str = "  ") -> list[str]:
    """``label: value`` lines with the values aligned."""
    rows = list(pairs)
    width = max((len(label) for label, _ in rows), default=0) + 1
    return [f"{indent}{label + ':':<{width}} {value}" for label, value in rows]


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in [headers, *rows]
    ]
    return "\n".join(line.rstrip() for line in lines)


def page_text(
    page: Page[T], noun: str, headers: Sequence[str], row: Callable[[T], list[str]]
) -> str:
    if not page.items:
        return f"No {noun} on page {page.request.page} ({page.total} in all)."
    footer = f"Page {page.request.page} of {page.total_pages} ({page.total} in all)."
    return table(headers, [row(entry) for entry in page.items]) + "\n" + footer
