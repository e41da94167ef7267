"""The round trip to an identity provider, shared by the sign-in pages and Deskpro's E8/E9,
for every kind of source (OpenID Connect, SAML 2.0: ``OAuthService.sign_in_protocol``).

``begin`` sends the browser to the provider with the sign-in under way sealed in a cookie
(what the protocol keeps: state, nonce and PKCE verifier, or the AuthnRequest's id; and what
the caller wants back: where to go next, the hand-over format); ``complete`` reads it back at
the callback, has the provider's answer checked (a SAML assertion is refused the second time,
whichever process sees it), and returns who the provider vouched for. Each caller turns the
failures into its own answer: a page for people, Deskpro's envelope for apps.
"""

import time
from typing import Literal

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tessera.core.errors import NotFound
from tessera.core.user_sources import ProviderIdentity, SourceKind, UserSource
from tessera.oauth.service import OAuthService
from tessera.oauth.sign_in import ProviderRefused
from tessera.services.container import Services
from tessera.web.cookies import cookie_name, read_cookie, served_securely

#: The sign-in under way, sealed (HttpOnly; SameSite=Lax so that it comes back with an OpenID
#: provider's top-level redirect, SameSite=None for a SAML IdP's cross-site POST: see
#: ``_same_site``).
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
    request: Request, source: UserSource, return_url: str, keep: dict[str, str]
) -> Response:
    """A 303 to the provider (its authorization endpoint, or the IdP's sign-in URL with the
    AuthnRequest), the pending sign-in in a cookie.

    Raises:
        ProviderUnavailable: the provider cannot be asked now (nothing was written).
    """
    protocol = _oauth(request).sign_in_protocol(source)
    begun = await run_in_threadpool(protocol.start, source, return_url)
    pending = _services(request).user_sources.seal_pending(
        {
            **keep,
            **begun.kept,
            "source": str(source.id),
            "expires": str(int(time.time()) + PENDING_SECONDS),
        }
    )
    response = RedirectResponse(begun.url, status_code=303)
    secure = served_securely(request)
    response.set_cookie(
        cookie_name(PENDING_COOKIE, secure=secure),
        pending,
        max_age=PENDING_SECONDS,
        httponly=True,
        samesite=_same_site(source, secure),
        secure=secure,
        path="/",
    )
    return response


def _same_site(source: UserSource, secure: bool) -> Literal["lax", "none"]:
    """A SAML IdP answers with a cross-site POST, which a Lax cookie does not come back with.

    None is safe here: the cookie only carries the sealed request ids, and what it protects
    against (an answer posted into someone else's browser) is exactly that the answer must
    match them. Browsers take SameSite=None only with Secure: over plain http (loopback
    development) it stays Lax, which works when the IdP is on the same site.
    """
    return "none" if source.kind is SourceKind.SAML and secure else "lax"


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
    request: Request, source: UserSource, pending: dict[str, str], return_url: str
) -> ProviderIdentity:
    """Who the provider vouched for at this callback.

    Raises:
        ProviderRefused: its answer does not sign anybody in, or was used before (audited
            here).
        ProviderUnavailable, ClientSecretUnavailable: it could not be asked.
        RateLimited: this address had too many answers checked.
    """
    services = _services(request)
    protocol = _oauth(request).sign_in_protocol(source)
    secret = services.user_sources.client_secret(source)
    answer = dict(request.query_params)
    if request.method == "POST":
        # OpenID's response_mode=form_post, SAML's HTTP-POST binding: the answer is a form.
        form = await request.form()
        answer = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    client = request.client.host if request.client else None
    # Before any work on the answer: checking one is what a flood would cost us.
    await run_in_threadpool(services.user_sources.count_callback, client)
    try:
        if source.kind is SourceKind.SAML and request.method != "POST":
            # Only the HTTP-POST binding: a Response in a URL would end up in access logs.
            raise ProviderRefused("a SAML Response is accepted by POST only")
        vouched = await run_in_threadpool(
            protocol.finish, source, secret, pending, return_url, answer
        )
        once = vouched.once
        if once is not None and not await run_in_threadpool(
            services.user_sources.first_use, source, once.id, once.expires_at
        ):
            raise ProviderRefused("the assertion was used before (a replay)")
    except ProviderRefused as refused:
        await run_in_threadpool(services.user_sources.refused, source, str(refused), client)
        raise
    return vouched.identity


def forget_pending(request: Request, response: Response) -> None:
    secure = served_securely(request)
    response.delete_cookie(
        cookie_name(PENDING_COOKIE, secure=secure), path="/", secure=secure, httponly=True
    )
