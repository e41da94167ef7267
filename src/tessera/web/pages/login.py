"""``/login`` and ``/logout``: signing in on Tessera's pages (the OAuth flow needs it)."""

from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from tessera.core.errors import BadCredentials, RateLimited
from tessera.web.cookies import DEVICE_COOKIE, read_cookie
from tessera.web.pages.csrf import CSRF_FIELD, csrf_ok, csrf_token, remember_csrf, rotate_csrf
from tessera.web.pages.rendering import PAGE_HEADERS, render
from tessera.web.pages.session import (
    forget_session_cookie,
    services_of,
    session_cookie,
    set_device_cookie,
    set_session_cookie,
    signed_in_person,
)

router = APIRouter(include_in_schema=False)


def safe_next(value: str | None) -> str:
    """Only a path on this server: never an open redirect to somewhere else."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/login"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/login"
    return value


#: An e-mail address is at most this long (RFC 5321): a longer prefill is cut, never trusted.
_MAX_EMAIL = 254


async def _login_page(
    request: Request,
    next_url: str,
    *,
    status: int = 200,
    error: str | None = None,
    email: str | None = None,
    again: bool = False,
) -> Response:
    # "Sign in with …" buttons: the identity providers people may use instead (ADR 0047).
    sources = await run_in_threadpool(services_of(request).user_sources.list, enabled_only=True)
    response = render(
        "login.html",
        status=status,
        sources=sources,
        csrf_field=CSRF_FIELD,
        csrf_token=csrf_token(request),
        next_url=next_url,
        error=error,
        email=(email or "")[:_MAX_EMAIL] or None,
        again=again,
        # Offered only where mail can be sent (docs/magic-links.md).
        magic_links=services_of(request).magic_links.enabled,
    )
    remember_csrf(request, response)
    return response


@router.get("/login")
async def login_page(
    request: Request,
    next: str | None = None,
    login_hint: str | None = None,
    again: str | None = None,
) -> Response:
    """The sign-in form. ``login_hint`` (an app's, OpenID Connect Core §3.1.2.1) only fills
    in the e-mail address; ``again``: an app asks for a fresh sign-in (``prompt=login``,
    ``max_age``), so the form shows even to someone signed in."""
    if again:
        return await _login_page(request, safe_next(next), email=login_hint, again=True)
    person = await run_in_threadpool(signed_in_person, request)
    if person is not None:
        if next:
            return RedirectResponse(safe_next(next), status_code=303, headers=PAGE_HEADERS)
        if person.is_agent:
            return RedirectResponse("/console", status_code=303, headers=PAGE_HEADERS)
        response = render(
            "signed_in.html",
            person=person,
            csrf_field=CSRF_FIELD,
            csrf_token=csrf_token(request),
        )
        remember_csrf(request, response)
        return response
    return await _login_page(request, safe_next(next), email=login_hint)


@router.post("/login")
async def sign_in(request: Request) -> Response:
    form = await request.form()
    next_url = safe_next(str(form.get("next") or ""))
    if not csrf_ok(request, str(form.get(CSRF_FIELD) or "")):
        return await _login_page(
            request, next_url, status=403, error="Your session expired; try again."
        )
    client = request.client.host if request.client else None
    try:
        signed_in = await services_of(request).web_sessions.sign_in(
            str(form.get("email") or ""),
            str(form.get("password") or ""),
            client,
            request.headers.get("user-agent"),
            device=read_cookie(request, DEVICE_COOKIE),
        )
    except BadCredentials:
        return await _login_page(
            request, next_url, status=401, error="That e-mail address and password do not match."
        )
    except RateLimited as limited:
        minutes = max(1, round(limited.retry_after_seconds / 60))
        page = await _login_page(
            request, next_url, status=429, error=f"Too many attempts: try again in {minutes} min."
        )
        page.headers["Retry-After"] = str(limited.retry_after_seconds)
        return page
    # Signing in again (an app asked for a fresh sign-in) replaces this browser's session.
    await run_in_threadpool(services_of(request).web_sessions.sign_out, session_cookie(request))
    response = RedirectResponse(next_url, status_code=303, headers=PAGE_HEADERS)
    set_session_cookie(request, response, signed_in.cookie)
    set_device_cookie(request, response, signed_in.device)
    # A new session gets a new CSRF secret: nothing seen before sign-in signs a form after it.
    rotate_csrf(request)
    remember_csrf(request, response)
    return response


@router.post("/logout")
async def sign_out(request: Request) -> Response:
    form = await request.form()
    response = RedirectResponse("/login", status_code=303, headers=PAGE_HEADERS)
    if csrf_ok(request, str(form.get(CSRF_FIELD) or "")):
        cookie = session_cookie(request)
        await run_in_threadpool(services_of(request).web_sessions.sign_out, cookie)
        forget_session_cookie(request, response)
    return response
