"""The round trip to an identity provider, shared by the sign-in pages and Deskpro's E8/E9.

``begin`` sends the browser to the provider with the sign-in under way sealed in a cookie
(state, nonce, PKCE verifier, and what the caller wants back: where to go next, the hand-over
format); ``complete`` reads it back at the callback, has the provider's answer checked, and
returns who the provider vouched for. Each caller turns the failures into its own answer: a
page for people, Deskpro's envelope for apps.
"""

import time
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tessera.core.errors import NotFound
from tessera.core.user_sources import ProviderIdentity, UserSource
from tessera.oauth.service import OAuthService
from tessera.oauth.user_sources import ProviderRefused, Started
from tessera.services.container import Services
from tessera.web.cookies import cookie_name, read_cookie, served_securely

#: The sign-in under way, sealed (HttpOnly, SameSite=Lax: it must come back with the
#: provider's top-level redirect).
PENDING_COOKIE = "tessera_source_sign_in"
#: How long a person may take at the provider.
PENDING_SECONDS = 600


class PendingMissing(Exception):
    """No sign-in under way in this browser for this source (expired, or another browser)."""


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _oauth(request: Request) -> OAuthService:
    oauth: OAuthService = request.app.state.oauth
    return oauth


async def enabled_source(request: Request, source_id: int) -> UserSource | None:
    try:
        source = await run_in_threadpool(_services(request).user_sources.get, source_id)
    except NotFound:
        return None
    return source if source.is_enabled else None


async def begin(
    request: Request, source: UserSource, redirect_uri: str, keep: dict[str, str]
) -> Response:
    """A 303 to the provider's authorization endpoint, the pending sign-in in a cookie.

    Raises:
        ProviderUnavailable: discovery failed (nothing was written).
    """
    started = await run_in_threadpool(_oauth(request).user_sources.start, source, redirect_uri)
    pending = _services(request).user_sources.seal_pending(
        {
            **keep,
            "source": str(source.id),
            "state": started.state,
            "nonce": started.nonce,
            "verifier": started.code_verifier,
            "expires": str(int(time.time()) + PENDING_SECONDS),
        }
    )
    response = RedirectResponse(started.url, status_code=303)
    secure = served_securely(request)
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


def pending_of(request: Request, source_id: int) -> dict[str, str]:
    """The sign-in under way for this source in this browser.

    Raises:
        PendingMissing: there is none, it expired, or it was for another source.
    """
    sealed = read_cookie(request, PENDING_COOKIE)
    pending = _services(request).user_sources.open_pending(sealed) if sealed else None
    if (
        pending is None
        or pending.get("source") != str(source_id)
        or not pending.get("expires", "").isdigit()
        or int(pending["expires"]) < time.time()
    ):
        raise PendingMissing()
    return pending


async def complete(
    request: Request, source: UserSource, pending: dict[str, str], redirect_uri: str
) -> ProviderIdentity:
    """Who the provider vouched for at this callback.

    Raises:
        ProviderRefused: its answer does not sign anybody in (audited here).
        ProviderUnavailable, ClientSecretUnavailable: it could not be asked.
    """
    services = _services(request)
    started = Started("", pending["state"], pending["nonce"], pending["verifier"])
    secret = services.user_sources.client_secret(source)
    query = request.url.query
    if request.method == "POST":
        # response_mode=form_post: the answer arrives as a form.
        form = await request.form()
        query = urlencode([(k, v) for k, v in form.multi_items() if isinstance(v, str)])
    try:
        return await run_in_threadpool(
            _oauth(request).user_sources.finish,
            source,
            secret,
            started,
            redirect_uri,
            f"{redirect_uri}?{query}",
        )
    except ProviderRefused as refused:
        client = request.client.host if request.client else None
        await run_in_threadpool(services.user_sources.refused, source, str(refused), client)
        raise


def forget_pending(request: Request, response: Response) -> None:
    secure = served_securely(request)
    response.delete_cookie(
        cookie_name(PENDING_COOKIE, secure=secure), path="/", secure=secure, httponly=True
    )
