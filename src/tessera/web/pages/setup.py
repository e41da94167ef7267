"""``/setup/{code}``: the first-run page that creates the first admin (link printed by serve)."""

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from tessera.core.errors import InvalidInput, NotFound
from tessera.web.pages.csrf import CSRF_FIELD, csrf_ok, csrf_token, remember_csrf
from tessera.web.pages.rendering import PAGE_HEADERS, render
from tessera.web.pages.session import services_of

router = APIRouter(include_in_schema=False)

_GONE = "This setup link is not valid: it was used, it expired, or an admin exists already."


def _form(
    request: Request, code: str, *, status: int = 200, errors: list[str] | None = None
) -> Response:
    response = render(
        "setup.html",
        status=status,
        code=code,
        errors=errors or [],
        csrf_field=CSRF_FIELD,
        csrf_token=csrf_token(request),
    )
    remember_csrf(request, response)
    return response


@router.get("/setup/{code}")
async def setup_page(request: Request, code: str) -> Response:
    first_run = services_of(request).first_run
    if not await run_in_threadpool(first_run.is_valid, code):
        return render("error.html", status=404, error="not_found", description=_GONE)
    return _form(request, code)


@router.post("/setup/{code}")
async def create_first_admin(request: Request, code: str) -> Response:
    form = await request.form()
    if not csrf_ok(request, str(form.get(CSRF_FIELD) or "")):
        return _form(request, code, status=403, errors=["The form expired; try again."])
    password = str(form.get("password") or "")
    if password != str(form.get("password_again") or ""):
        return _form(request, code, status=400, errors=["The two passwords differ."])
    first_run = services_of(request).first_run
    try:
        await run_in_threadpool(
            lambda: first_run.create_first_admin(
                code,
                email=str(form.get("email") or ""),
                name=str(form.get("name") or ""),
                password=password,
            )
        )
    except NotFound:
        return render("error.html", status=404, error="not_found", description=_GONE)
    except InvalidInput as invalid:
        messages = [
            f"{name}: {problem.message}"
            for name, node in invalid.problems.fields.items()
            for problem in node.errors
        ]
        return _form(request, code, status=400, errors=messages)
    return RedirectResponse("/login", status_code=303, headers=PAGE_HEADERS)
