"""The console's frame: who may open a page, the checked form of a POST, the shared layout.

Page handlers stay thin: they take the signed-in ``Person`` (``ConsoleViewer``/``AdminViewer``)
and, for changes, the CSRF-checked form (``CheckedForm``), call one service, and render.
Leaving the console early (not signed in, not allowed, forged form) is an exception that the
app turns into its response, so handlers never test for it.
"""

from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from tessera.core.errors import Unavailable
from tessera.core.people import Person
from tessera.web.errors import error_response
from tessera.web.pages.csrf import CSRF_FIELD, csrf_ok, csrf_token, remember_csrf
from tessera.web.pages.rendering import PAGE_HEADERS, render
from tessera.web.pages.session import signed_in_person

#: The console's sections: (path, label, admins only).
SECTIONS = (
    ("/console/people", "People", True),
    ("/console/api-keys", "API keys", True),
    ("/console/apps", "OAuth apps", True),
    ("/console/resources", "Resources", True),
    ("/console/sign-in", "Sign-in methods", True),
    ("/console/tokens", "Tokens", True),
    ("/console/audit", "Audit log", True),
    ("/console/account", "My account", False),
)


class LeaveConsole(Exception):
    """Stop here and answer with ``response`` (a redirect to sign in, a refusal)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


async def _leave(request: Request, exit: Exception) -> Response:
    if not isinstance(exit, LeaveConsole):  # pragma: no cover - registered for this class only
        raise exit
    return exit.response


def install_console(app: FastAPI) -> None:
    app.add_exception_handler(LeaveConsole, _leave)
    app.add_exception_handler(Unavailable, _unavailable)


async def _unavailable(request: Request, error: Exception) -> Response:
    """A page that cannot be served now (the database is gone) says so as a page; the API's
    answer stays the envelope. Pages are the routes left out of the OpenAPI description."""
    if not isinstance(error, Unavailable):  # pragma: no cover - registered for this class only
        raise error
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or route.include_in_schema:
        return error_response(error)
    page = render(
        "error.html",
        status=503,
        error=error.code,
        description=error.message
        + ("" if request.method in ("GET", "HEAD") else " Nothing you sent was saved."),
    )
    page.headers["Retry-After"] = str(error.retry_after_seconds)
    return page


def refusal(request: Request, description: str, *, status: int = 403) -> LeaveConsole:
    error = "forbidden" if status == 403 else "not_found" if status == 404 else "invalid"
    return LeaveConsole(render("error.html", status=status, error=error, description=description))


async def _viewer(request: Request, *, admin: bool) -> Person:
    person = await run_in_threadpool(signed_in_person, request)
    if person is None:
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        login = "/login?next=" + quote(target, safe="/")
        raise LeaveConsole(RedirectResponse(login, status_code=303, headers=PAGE_HEADERS))
    if not person.is_agent:
        raise refusal(request, "The console is for agents and admins.")
    if admin and not person.is_admin:
        raise refusal(request, "Only admins can open this page.")
    return person


async def _any_agent(request: Request) -> Person:
    return await _viewer(request, admin=False)


async def _admin(request: Request) -> Person:
    return await _viewer(request, admin=True)


#: The signed-in agent or admin; anybody else is sent to sign in or refused.
ConsoleViewer = Annotated[Person, Depends(_any_agent)]
#: The signed-in admin.
AdminViewer = Annotated[Person, Depends(_admin)]


async def _checked_form(request: Request) -> FormData:
    form = await request.form()
    if not csrf_ok(request, str(form.get(CSRF_FIELD) or "")):
        raise refusal(request, "This form expired or did not come from this site; try again.")
    return form


#: A POSTed form whose CSRF field matched this browser's cookie.
CheckedForm = Annotated[FormData, Depends(_checked_form)]


def field(form: FormData, name: str) -> str:
    """A text field of the form, trimmed; absent or a file reads as empty."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def render_console(
    request: Request,
    template: str,
    viewer: Person,
    *,
    status: int = 200,
    notices: Mapping[str, str] | None = None,
    **context: Any,
) -> Response:
    """A console page in the shared layout, with the navigation and the CSRF token.

    ``notices`` maps the ``done`` codes this page's actions redirect with (``back_to``) to the
    sentence shown after them: fixed texts, so a crafted link cannot put words on our page.
    """
    notice = (notices or {}).get(request.query_params.get("done", ""))
    sections = [
        (path, label, request.url.path.startswith(path))
        for path, label, admin_only in SECTIONS
        if viewer.is_admin or not admin_only
    ]
    response = render(
        template,
        status=status,
        viewer=viewer,
        sections=sections,
        csrf_field=CSRF_FIELD,
        csrf_token=csrf_token(request),
        notice=notice,
        **context,
    )
    remember_csrf(request, response)
    return response


def back_to(path: str, done: str | None = None) -> Response:
    """After a change: back to a page (POST, redirect, GET) that says what was ``done``."""
    target = path if done is None else f"{path}?done={quote(done)}"
    return RedirectResponse(target, status_code=303, headers=PAGE_HEADERS)
