"""``/login/link``, asking for a magic link, and ``/magic-link/{code}``, the page it opens, with
its button (ADR 0048).

Opening the link (GET) uses nothing: mail scanners fetch every link in a mail, and must not use
up the person's. The button (POST, with the page's CSRF token) uses the code once and signs the
person in as the password form does, then goes to the link's target, a path on this server.
"""

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from tessera.core.errors import Forbidden, NotFound, RateLimited
from tessera.core.magic_links import LINK_PATH, safe_target
from tessera.core.people import is_valid_email, normalize_email
from tessera.web.pages.csrf import CSRF_FIELD, csrf_ok, csrf_token, remember_csrf, rotate_csrf
from tessera.web.pages.rendering import PAGE_HEADERS, render
from tessera.web.pages.session import (
    services_of,
    session_cookie,
    set_device_cookie,
    set_session_cookie,
)

router = APIRouter(include_in_schema=False)


def _page(
    request: Request, code: str, *, live: bool, status: int = 200, error: str | None = None
) -> Response:
    response = render(
        "magic_link.html",
        status=status,
        heading="Sign in" if live else "This link does not work",
        live=live,
        error=error,
        action=LINK_PATH + code,
        csrf_field=CSRF_FIELD,
        csrf_token=csrf_token(request),
    )
    remember_csrf(request, response)
    return response


def _request_page(
    request: Request,
    next_url: str,
    *,
    status: int = 200,
    error: str | None = None,
    sent_to: str | None = None,
) -> Response:
    lifetime = services_of(request).magic_links.policy.lifetime
    response = render(
        "magic_link_request.html",
        status=status,
        heading="Check your mail" if sent_to else "Sign in by e-mail",
        error=error,
        sent_to=sent_to,
        next_url=next_url,
        minutes=max(1, round(lifetime.total_seconds() / 60)),
        csrf_field=CSRF_FIELD,
        csrf_token=csrf_token(request),
    )
    remember_csrf(request, response)
    return response


@router.get("/login/link")
async def request_page(request: Request, next: str | None = None) -> Response:
    """Ask for a link instead of typing a password (offered on /login when mail is set up)."""
    if not services_of(request).magic_links.enabled:
        return RedirectResponse("/login", status_code=303, headers=PAGE_HEADERS)
    return _request_page(request, safe_target(next))


@router.post("/login/link")
async def request_link(request: Request) -> Response:
    form = await request.form()
    next_url = safe_target(str(form.get("next") or ""))
    if not csrf_ok(request, str(form.get(CSRF_FIELD) or "")):
        return _request_page(request, next_url, status=403, error="The page expired; try again.")
    email = normalize_email(str(form.get("email") or ""))
    if not is_valid_email(email):
        return _request_page(request, next_url, status=400, error="Enter an e-mail address.")
    client = request.client.host if request.client else None
    try:
        await run_in_threadpool(services_of(request).magic_links.request, email, next_url, client)
    except Forbidden:
        return RedirectResponse("/login", status_code=303, headers=PAGE_HEADERS)
    except RateLimited as limited:
        minutes = max(1, round(limited.retry_after_seconds / 60))
        page = _request_page(
            request,
            next_url,
            status=429,
            error=f"Too many links asked for: try again in {minutes} min.",
        )
        page.headers["Retry-After"] = str(limited.retry_after_seconds)
        return page
    # The same page whether the address is anybody's or not (no enumeration).
    return _request_page(request, next_url, sent_to=email)


@router.get(LINK_PATH + "{code}")
async def confirm_page(request: Request, code: str) -> Response:
    live = await run_in_threadpool(services_of(request).magic_links.is_live, code)
    return _page(request, code, live=live, status=200 if live else 404)


@router.post(LINK_PATH + "{code}")
async def use_link(request: Request, code: str) -> Response:
    form = await request.form()
    if not csrf_ok(request, str(form.get(CSRF_FIELD) or "")):
        return _page(request, code, live=True, status=403, error="The page expired; try again.")
    services = services_of(request)
    client = request.client.host if request.client else None
    try:
        used = await run_in_threadpool(
            services.magic_links.use, code, client, request.headers.get("user-agent")
        )
    except NotFound:
        return _page(request, code, live=False, status=404)
    except RateLimited as limited:
        minutes = max(1, round(limited.retry_after_seconds / 60))
        page = _page(
            request,
            code,
            live=True,
            status=429,
            error=f"Too many attempts: try again in {minutes} min.",
        )
        page.headers["Retry-After"] = str(limited.retry_after_seconds)
        return page
    # This browser's earlier session, if any, ends: the link's person is signed in now.
    await run_in_threadpool(services.web_sessions.sign_out, session_cookie(request))
    response = RedirectResponse(used.target, status_code=303, headers=PAGE_HEADERS)
    set_session_cookie(request, response, used.signed_in.cookie)
    set_device_cookie(request, response, used.signed_in.device)
    # A new session gets a new CSRF secret, as at a password sign-in.
    rotate_csrf(request)
    remember_csrf(request, response)
    return response
