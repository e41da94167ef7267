"""What the admin pages share: service calls off the event loop, ids, errors, times, pages.

A service's ``NotFound`` becomes the console's 404 page and its ``InvalidInput`` the sentences
shown next to the fields (``field_problems``); the handler decides what to render around them.
"""

from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlencode

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from tessera.core.errors import FieldError, FieldErrors, InvalidInput, NotFound
from tessera.core.paging import Page, PageRequest
from tessera.core.people import Person
from tessera.services.container import Services
from tessera.web.deps import MAX_ID
from tessera.web.pages.console import LeaveConsole, render_console
from tessera.web.pages.rendering import PAGE_HEADERS, render
from tessera.web.pages.session import services_of

P = ParamSpec("P")
T = TypeVar("T")

#: Rows per console page: enough to scan, few enough to read.
PER_PAGE = 25
GONE = "There is nothing with this id here; it may have been deleted."
UNKNOWN_PERSON = FieldError("not_found", "No person has this e-mail address or id.")


def services(request: Request) -> Services:
    return services_of(request)


async def call(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a (synchronous, database) service call in the thread pool; unknown ids are a 404."""
    try:
        return await run_in_threadpool(function, *args, **kwargs)
    except NotFound:
        raise refusal_404() from None


def refusal_404() -> LeaveConsole:
    return LeaveConsole(render("console/admin/gone.html", status=404, description=GONE))


def back_to_list(path: str, filters: Mapping[str, str], done: str) -> Response:
    """After an action on a filtered list: the same list, filters kept, saying what was done."""
    query = urlencode({**{k: v for k, v in filters.items() if v}, "done": done})
    return RedirectResponse(f"{path}?{query}", status_code=303, headers=PAGE_HEADERS)


def resource_id(text: str) -> int:
    """An id from the path; anything that cannot be one names nothing (404, not 400)."""
    # The length first: Python refuses to read a number of thousands of digits at all.
    if not (text.isascii() and text.isdigit() and len(text) <= 19) or not 1 <= int(text) <= MAX_ID:
        raise refusal_404()
    return int(text)


def page_number(text: str | None) -> int:
    """``?page=`` read leniently: a hand-edited link shows the first page, not an error."""
    if (
        text
        and text.isascii()
        and text.isdigit()
        and len(text) <= 7
        and 1 <= int(text) <= 1_000_000
    ):
        return int(text)
    return 1


def page_request(text: str | None) -> PageRequest:
    return PageRequest(page_number(text), PER_PAGE)


def find_person(services: Services, email_or_id: str, field: str) -> Person:
    """The person a form names by e-mail or id; not found is a problem of that field."""
    try:
        return services.people.find(email_or_id)
    except NotFound:
        raise InvalidInput.for_field(field, UNKNOWN_PERSON) from None


def field_problems(error: InvalidInput, fields: Collection[str]) -> dict[str, list[str]]:
    """Sentences per form field of ``fields``, in the service's words; the rest under "".

    A list field's items (``redirect_uris_2``) become "Line 3: …", as the form has one per line.
    """
    sentences: dict[str, list[str]] = {}
    _collect(error.problems, "", "", sentences)
    general = [s for name, found in sentences.items() if name not in fields for s in found]
    shown = {name: found for name, found in sentences.items() if name in fields}
    return {**shown, "": general} if general else shown


def _collect(node: FieldErrors, field: str, prefix: str, out: dict[str, list[str]]) -> None:
    if node.errors:
        out.setdefault(field, []).extend(prefix + e.message for e in node.errors)
    for name, child in node.fields.items():
        if field:
            index = name.rsplit("_", 1)[-1]
            line = f"Line {int(index) + 1}: " if index.isdigit() else ""
            _collect(child, field, line, out)
        else:
            _collect(child, name, "", out)


def when(moment: datetime | None) -> str:
    """Every time in the console: UTC, to the minute; "never" when there is none."""
    if moment is None:
        return "never"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def pager(page: Page[Any], path: str, query: Mapping[str, str]) -> dict[str, Any]:
    """Links to the previous and next page, keeping the list's filters."""

    def link(number: int) -> str:
        return path + "?" + urlencode({**{k: v for k, v in query.items() if v}, "page": number})

    current = page.request.page
    return {
        "current": current,
        "total_pages": page.total_pages,
        "total": page.total,
        "previous": link(current - 1) if current > 1 else None,
        "next": link(current + 1) if current < page.total_pages else None,
    }


def render_admin(
    request: Request,
    template: str,
    viewer: Person,
    *,
    status: int = 200,
    notices: Mapping[str, str] | None = None,
    **context: Any,
) -> Response:
    """``render_console`` with what every admin template uses: ``when`` and ``problems``."""
    context.setdefault("problems", {})
    return render_console(
        request, template, viewer, status=status, notices=notices, when=when, **context
    )
