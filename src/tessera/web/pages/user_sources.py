"""``/login/sources/{id}``: signing in through an external identity provider (ADR 0047).

    /login ──"Sign in with X"──▶ GET /login/sources/{id}?next=…
        ──303──▶ the provider (state, nonce, PKCE S256; the pending sign-in sealed in a cookie)
        ──the person signs in there──▶ GET /login/sources/{id}/callback?code=…&state=…
        ──▶ ID token checked, person found by subject (or linked, or created, or refused),
            a session like a password sign-in's ──303──▶ ``next`` (the console, an app's
            /oauth/authorize, …)

A SAML source goes the same way: the AuthnRequest by redirect to the IdP, its Response posted
back to the same callback (the assertion consumer service), and our SP metadata for the IdP's
administrator at ``/login/sources/{id}/metadata`` (ADR 0049).

Whatever goes wrong is a page that says so (the provider down, its answer refused, nobody to
sign in), never a 500; nothing is written until the person is resolved.
"""

from functools import partial

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from tessera.core.errors import NotFound, RateLimited
from tessera.core.sign_in_methods import SignInMethod
from tessera.core.user_sources import (
    ClientSecretUnavailable,
    SourceKind,
    UserSource,
    sign_in_return_url,
)
from tessera.oauth.service import OAuthService
from tessera.oauth.sign_in import ProviderRefused, ProviderUnavailable
from tessera.services.user_sources import SignInRefused
from tessera.web.pages.csrf import remember_csrf, rotate_csrf
from tessera.web.pages.login import safe_next
from tessera.web.pages.rendering import PAGE_HEADERS, render
from tessera.web.pages.session import services_of, session_cookie, set_session_cookie
from tessera.web.user_source_flow import (
    PendingMissing,
    begin,
    complete,
    enabled_source,
    forget_pending,
    pending_of,
)

router = APIRouter(include_in_schema=False)


def callback_url(request: Request, source_id: int) -> str:
    """The redirect URI (SAML: the assertion consumer service) registered for this source."""
    return sign_in_return_url(services_of(request).site.public_url, source_id)


def _problem(status: int, error: str, description: str) -> Response:
    return render("error.html", status=status, error=error, description=description)


def _unavailable(source: UserSource) -> Response:
    return _problem(
        502,
        "temporarily_unavailable",
        f"{source.title} cannot be reached right now, or answered something we could not use."
        " Nothing was changed: try again in a moment, or sign in another way.",
    )


def _not_available() -> Response:
    return _problem(404, "not_found", "This sign-in method is not available.")


@router.get("/login/sources/{source_id}")
async def start_sign_in(request: Request, source_id: int, next: str | None = None) -> Response:
    source = await enabled_source(request, source_id)
    if source is None:
        return _not_available()
    try:
        response = await begin(
            request, source, callback_url(request, source.id), {"next": safe_next(next)}
        )
    except ProviderUnavailable:
        return _unavailable(source)
    response.headers.update(PAGE_HEADERS)
    return response


@router.get("/login/sources/{source_id}/metadata")
async def service_provider_metadata(request: Request, source_id: int) -> Response:
    """A SAML source's SP metadata: what the IdP's administrator needs (ADR 0049)."""
    try:
        source = await run_in_threadpool(services_of(request).user_sources.get, source_id)
    except NotFound:
        return _not_available()
    if source.kind is not SourceKind.SAML:
        return _not_available()
    oauth: OAuthService = request.app.state.oauth
    try:
        document = await run_in_threadpool(oauth.saml.sp_metadata, source)
    except ProviderUnavailable:
        return _unavailable(source)
    return Response(
        document,
        media_type="application/samlmetadata+xml",
        headers={"Content-Disposition": f'inline; filename="tessera-sp-{source.id}.xml"'},
    )


@router.get("/login/sources/{source_id}/callback")
@router.post("/login/sources/{source_id}/callback")
async def finish_sign_in(request: Request, source_id: int) -> Response:
    services = services_of(request)
    try:
        pending = pending_of(request, source_id)
    except PendingMissing:
        return _problem(
            400,
            "invalid_request",
            "This sign-in expired or was started in another browser. Start again from the"
            " sign-in page.",
        )
    source = await enabled_source(request, source_id)
    if source is None:
        return _not_available()
    client = request.client.host if request.client else None
    try:
        identity = await complete(request, source, pending, callback_url(request, source.id))
    except (ProviderUnavailable, ClientSecretUnavailable):
        return _unavailable(source)
    except ProviderRefused:
        return _problem(
            401,
            "access_denied",
            f"Signing in with {source.title} did not succeed. Start again from the sign-in page.",
        )
    except RateLimited as limited:
        minutes = max(1, round(limited.retry_after_seconds / 60))
        page = _problem(
            429,
            "rate_limits",
            f"Too many sign-ins from this address: try again in {minutes} min, from the sign-in"
            " page.",
        )
        page.headers["Retry-After"] = str(limited.retry_after_seconds)
        return page
    try:
        person = await run_in_threadpool(
            services.user_sources.resolve, source, identity, client_address=client
        )
    except SignInRefused as refused:
        return _problem(403, "access_denied", refused.reason)
    # Signing in replaces whatever session this browser had, as a password sign-in does.
    await run_in_threadpool(services.web_sessions.sign_out, session_cookie(request))
    signed_in = await run_in_threadpool(
        partial(
            services.web_sessions.open_session,
            person,
            client,
            request.headers.get("user-agent"),
            method=SignInMethod.IDENTITY_PROVIDER,
        )
    )
    cookie = signed_in.cookie
    next_url = safe_next(pending.get("next"))
    if next_url == "/login" and person.is_agent:
        next_url = "/console"
    response = RedirectResponse(next_url, status_code=303, headers=PAGE_HEADERS)
    set_session_cookie(request, response, cookie)
    forget_pending(request, response)
    rotate_csrf(request)
    remember_csrf(request, response)
    return response
