"""What commands print: readable text or one JSON document, and errors with their exit status.

Every command takes ``--json``. With it, stdout carries exactly one JSON document, whether the
command succeeded (the object, or ``{"data": [...], "meta": {"pagination": ...}}`` for lists)
or failed (Deskpro's error envelope ``{"status", "code", "message", "errors"}``), so a script
can always parse stdout and branch on the exit status. Without it, results go to stdout and
errors to stderr. People, keys and tokens use the field names of the web API's models.
"""

import functools
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from sqlalchemy.exc import SQLAlchemyError

from tessera.core.errors import ErrorKind, FieldErrors, InvalidInput, TesseraError
from tessera.core.paging import Page
from tessera.core.people import Person
from tessera.core.principals import TokenLifetime
from tessera.core.records import ApiKeyInfo, ApiTokenInfo
from tessera.services.api_keys import IssuedApiKey

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
}

#: The ``status`` of the JSON envelope, as the web API would answer (tessera.web is off limits).
HTTP_STATUS: dict[ErrorKind, int] = {
    ErrorKind.UNAUTHENTICATED: 401,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.INVALID_INPUT: 400,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.METHOD_NOT_ALLOWED: 405,
    ErrorKind.RATE_LIMITED: 429,
    ErrorKind.INTERNAL: 500,
}

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
            status=HTTP_STATUS[error.kind],
            code=error.code,
            message=error.message,
            problems=error.problems if isinstance(error, InvalidInput) else None,
            detail=detail,
        )

    def with_detail(self, detail: str) -> "Failure":
        return replace(self, detail=detail)


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
        except SQLAlchemyError as error:
            # Unreachable or unmigrated databases are operator problems, not bugs to trace.
            # Statement parameters are hidden by the engine, so the text holds no secrets.
            failure = Failure(
                exit_code=EXIT_CODES[ErrorKind.INTERNAL],
                status=HTTP_STATUS[ErrorKind.INTERNAL],
                code="database_error",
                message="The database could not be used.",
                detail=f"the database could not be used: {error.orig or error}",
            )
        else:
            return
        report(failure, as_json=bool(kwargs.get("as_json", False)))
        raise typer.Exit(failure.exit_code)

    return run


def report(failure: Failure, *, as_json: bool) -> None:
    if as_json:
        body: dict[str, Any] = {
            "status": failure.status,
            "code": failure.code,
            "message": failure.message,
        }
        if failure.problems is not None:
            body["errors"] = problems_json(failure.problems)
        typer.echo(_dumps(body))
        return
    typer.echo(f"error: {failure.detail or failure.message}", err=True)
    for line in _problem_lines(failure.problems or FieldErrors()):
        typer.echo(line, err=True)


def problems_json(node: FieldErrors) -> dict[str, Any]:
    """Deskpro's nested ``errors``: ``{"errors": [...], "fields": {name: ...}}``."""
    out: dict[str, Any] = {}
    if node.errors:
        out["errors"] = [{"code": e.code, "message": e.message} for e in node.errors]
    if node.fields:
        out["fields"] = {name: problems_json(child) for name, child in node.fields.items()}
    return out


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


# -- JSON of people, keys and tokens (the web API's PersonOut, ApiKeyOut, ApiTokenOut) ---------


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 with ``Z`` for UTC, as the web API's JSON writes times."""
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def person_json(person: Person) -> dict[str, Any]:
    return {
        "id": person.id,
        "name": person.name,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "display_name": person.display_name,
        "primary_email": person.primary_email,
        "emails": list(person.emails),
        "is_agent": person.is_agent,
        "can_admin": person.is_admin,
        "is_disabled": person.is_disabled,
        "timezone": person.timezone,
        "language_id": person.language_id,
        "phone": person.phone,
        "identity_provider": person.identity_provider,
        "has_password": person.has_password,
        "date_created": iso(person.created_at),
    }


def key_json(key: ApiKeyInfo) -> dict[str, Any]:
    return {
        "id": key.id,
        "note": key.note,
        "person_id": key.person_id,
        "is_superuser": key.is_superuser,
        "admin_api": key.admin_api,
        "tags": key.tags,
        "date_created": iso(key.created_at),
        "date_regenerated": iso(key.regenerated_at),
        "date_revoked": iso(key.revoked_at),
        "is_revoked": key.revoked_at is not None,
        "date_last_used": iso(key.last_used_at),
        "last_used_address": key.last_used_address,
    }


def issued_key_json(issued: IssuedApiKey) -> dict[str, Any]:
    """The only JSON that carries ``key_string``: it is stored nowhere and never shown again."""
    return {**key_json(issued.key), "key_string": issued.key_string}


def token_json(token: ApiTokenInfo, lifetime: TokenLifetime) -> dict[str, Any]:
    return {
        "id": token.id,
        "person_id": token.person_id,
        "scope": token.scope,
        "source": token.source.value,
        "date_created": iso(token.created_at),
        "date_expires": iso(
            lifetime.expiry(token.created_at, token.last_used_at, token.expires_at)
        ),
        "date_revoked": iso(token.revoked_at),
        "date_last_used": iso(token.last_used_at),
        "last_used_address": token.last_used_address,
    }


def page_json(page: Page[T], item: Callable[[T], dict[str, Any]]) -> dict[str, Any]:
    """A list as the web API's envelope has it: the items and Deskpro's pagination."""
    return {
        "data": [item(entry) for entry in page.items],
        "meta": {
            "pagination": {
                "total": page.total,
                "count": len(page.items),
                "per_page": page.request.per_page,
                "current_page": page.request.page,
                "total_pages": page.total_pages,
            }
        },
    }


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
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
             for row in [headers, *rows]]
    return "\n".join(line.rstrip() for line in lines)


def page_text(page: Page[T], noun: str, headers: Sequence[str], row: Callable[[T], list[str]]) -> str:
    if not page.items:
        return f"No {noun} on page {page.request.page} ({page.total} in all)."
    footer = f"Page {page.request.page} of {page.total_pages}; {page.total} {noun} in all."
    return table(headers, [row(entry) for entry in page.items]) + "\n" + footer
