"""``/`` and ``/console``: where a browser lands, and the console's first page."""

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from tessera.web.pages.console import ConsoleViewer, render_console
from tessera.web.pages.rendering import PAGE_HEADERS

router = APIRouter(include_in_schema=False)


@router.get("/")
async def root() -> Response:
    return RedirectResponse("/console", status_code=303, headers=PAGE_HEADERS)


@router.get("/console")
async def console_home(request: Request, viewer: ConsoleViewer) -> Response:
    return render_console(request, "console/home.html", viewer)
