"""Post, redirect, get for pages that show a secret once (``ShownOnceService``, ADR 0020).

The POST seals the secret for this browser and answers ``303 See Other`` to a page named by
what the secret belongs to (never by the secret); that GET takes it, so a reload, the back
button or a second tab finds nothing and says the secret was shown once.
"""

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from tessera.web.pages.rendering import PAGE_HEADERS
from tessera.web.pages.session import services_of, session_cookie


async def show_next(request: Request, subject: str, values: dict[str, str], page: str) -> Response:
    """Keep ``values`` for this browser's next GET of ``page``, and send it there."""
    cookie = session_cookie(request)
    await run_in_threadpool(services_of(request).shown_once.keep, cookie, subject, values)
    return RedirectResponse(page, status_code=303, headers=PAGE_HEADERS)


async def take_shown(request: Request, subject: str) -> dict[str, str] | None:
    """What a POST kept for this page, once; None on every later look."""
    cookie = session_cookie(request)
    return await run_in_threadpool(services_of(request).shown_once.take, cookie, subject)
