"""``/login/sources/{id}``: signing in through an external identity provider (ADR 0047).

    /login ──"Sign in with X"──▶ GET /login/sources/{id}?next=…
        ──303──▶ the provider (state, nonce, PKCE S256; the pending sign-in sealed in a cookie)
        ──the person signs in there──▶ GET /login/sources/{id}/callback?code=…&state=…
        ──▶ ID token checked, person found by subject (or linked, or created, or refused),
            a session like a password sign-in's ──303──▶ ``next`` (the console, an app's
            /oauth/authorize, …)

Whatever goes wrong is a page that says so (the provider down, its answer refused, nobody to
sign in), never a 500; nothing is written until the person is resolved.
"""

import time

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from tessera.core.errors import NotFound
from tessera.core.user_sources import ClientSecretUnavailable, UserSource
from tessera.oauth.user_sources import ProviderRefused, ProviderUnavailable, Started
from tessera.services.user_sources import SignInRefused
from tessera.web.cookies import cookie_name, read_cookie
from tessera.web.oauth_http import oauth_service
from tessera.web.pages.csrf import remember_csrf, rotate_csrf
from tessera.web.pages.login import safe_next
from tessera.web.pages.rendering import PAGE_HEADERS, render
from tessera.web.pages.session import (
    secure_cookies,
    services_of,
    session_cookie,
    set_session_cookie,
)

router = APIRouter(include_in_schema=False)

#: The sign-in under way, sealed (HttpOnly, SameSite=Lax: it must come back with the
#: provider's top-level redirect).
PENDING_COOKIE = "tessera_source_sign_in"
#: How long a person may take at the provider.
PENDING_SECONDS = 600


def callback_url(request: Request, source_id: int) -> str:
    """The redirect URI registered at the provider for this source."""
    public_url = services_of(request).site.public_url.rstrip("/")
    return f"{public_url}/login/sources/{source_id}/callback"


def _problem(status: int, error: str, description: str) -> Response:
    return render("error.html", status=status, error=error, description=description)


def _unavailable(source: UserSource) -> Response:
    return _problem(
        502,
        "temporarily_unavailable",
        f"{source.title} cannot be reached right now, or answered something we could not use."
        " Nothing was changed: try again in a moment, or sign in another way.",
    )


async def _enabled_source(request: Request, source_id: int) -> UserSource | None:
    try:
        source = await run_in_threadpool(services_of(request).user_sources.get, source_id)
    except NotFound:
        return None
    return source if source.is_enabled else None


@router.get("/login/sources/{source_id}")
async def start_sign_in(request: Request, source_id: int, next: str | None = None) -> Response:
    source = await _enabled_source(request, source_id)
    if source is None:
        return _problem(404, "not_found", "This sign-in method is not available.")
    try:
        started = await run_in_threadpool(
            oauth_service(request).user_sources.start, source, callback_url(request, source.id)
        )
    except ProviderUnavailable:
        return _unavailable(source)
    pending = services_of(request).user_sources.seal_pending(
        {
            "source": str(source.id),
            "state": started.state,
            "nonce": started.nonce,
            "verifier": started.code_verifier,
            "next": safe_next(next),
            "expires": str(int(time.time()) + PENDING_SECONDS),
        }
    )
    response = RedirectResponse(started.url, status_code=303, headers=PAGE_HEADERS)
    secure = secure_cookies(request)
    response.set_cookie(
        cookie_name(PENDING_COOKIE, secure=secure),
        pending,
        max_age=PENDING_SECONDS,
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )
    return response


@router.get("/login/sources/{source_id}/callback")
async def finish_sign_in(request: Request, source_id: int) -> Response:
    services = services_of(request)
    sealed = read_cookie(request, PENDING_COOKIE)
    pending = services.user_sources.open_pending(sealed) if sealed else None
    if (
        pending is None
        or pending.get("source") != str(source_id)
        or int(pending.get("expires", "0")) < time.time()
    ):
        return _problem(
            400,
            "invalid_request",
            "This sign-in expired or was started in another browser. Start again from the"
            " sign-in page.",
        )
    source = await _enabled_source(request, source_id)
    if source is None:
        return _problem(404, "not_found", "This sign-in method is not available.")
    started = Started("", pending["state"], pending["nonce"], pending["verifier"])
    redirect_uri = callback_url(request, source.id)
    client = request.client.host if request.client else None
    try:
        secret = services.user_sources.client_secret(source)
        identity = await run_in_threadpool(
            oauth_service(request).user_sources.finish,
            source,
            secret,
            started,
            redirect_uri,
            f"{redirect_uri}?{request.url.query}",
        )
    except (ProviderUnavailable, ClientSecretUnavailable):
        return _unavailable(source)
    except ProviderRefused as refused:
        await run_in_threadpool(services.user_sources.refused, source, str(refused), client)
        return _problem(
            401,
            "access_denied",
            f"Signing in with {source.title} did not succeed. Start again from the sign-in page.",
        )
    try:
        person = await run_in_threadpool(
            services.user_sources.resolve, source, identity, client_address=client
        )
    except SignInRefused as refused:
        return _problem(403, "access_denied", refused.reason)
    # Signing in replaces whatever session this browser had, as a password sign-in does.
    await run_in_threadpool(services.web_sessions.sign_out, session_cookie(request))
    cookie = await run_in_threadpool(
        services.web_sessions.open_for, person, client, request.headers.get("user-agent")
    )
    next_url = safe_next(pending.get("next"))
    if next_url == "/login":
        next_url = "/console" if person.is_agent else "/login"
    response = RedirectResponse(next_url, status_code=303, headers=PAGE_HEADERS)
    set_session_cookie(request, response, cookie)
    secure = secure_cookies(request)
    response.delete_cookie(
        cookie_name(PENDING_COOKIE, secure=secure), path="/", secure=secure, httponly=True
    )
    rotate_csrf(request)
    remember_csrf(request, response)
    return response
