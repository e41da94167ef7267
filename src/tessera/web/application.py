"""The FastAPI application over the services: routes, error envelope, request context, docs."""

import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from tessera import __version__
from tessera.core.proxies import TrustedProxies
from tessera.core.routes import RouteTable
from tessera.oauth.service import OAuthService
from tessera.services.container import Services
from tessera.web.api import (
    api_keys,
    api_tokens,
    audit,
    authz_changes,
    batch,
    helpdesk,
    me,
    me_account,
    oauth,
    oauth_clients,
    people,
    secret_scanning,
)
from tessera.web.authz import PREFIX, AuthzOptions, ForwardAuth, door_for
from tessera.web.body_limits import BodyLimits, BodyLimitSettings
from tessera.web.errors import install_error_handlers
from tessera.web.forwarded import believe_forwarded
from tessera.web.health import router as health_router
from tessera.web.identity_headers import IDENTITY_PRESETS
from tessera.web.middleware import RequestContextMiddleware
from tessera.web.openapi import API_DESCRIPTION, DescribedApp, install_docs
from tessera.web.pages import (
    account,
    account_device,
    admin_apps,
    admin_audit,
    admin_keys,
    admin_people,
    admin_tokens,
    authorize,
    login,
    overview,
    setup,
)
from tessera.web.pages.console import install_console
from tessera.web.pages.rendering import STATIC
from tessera.web.untyped_bodies import UntypedBodyMiddleware

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]

#: ``GET /api/v2/me``, dated or not: the hot path's one endpoint.
_HOT_PATH = re.compile(r"/api/v2/(?:\d{8}/)?me")


class TesseraApp(DescribedApp):
    """The FastAPI app, with ``GET /api/v2/me`` and the guard's doors served before FastAPI.

    Every request first has what a trusted proxy says of it believed (``web.forwarded``).
    ``GET /api/v2/me``: every API client calls it, often on every start, so it goes through
    the same request-context middleware (request id, CORS) into ``me.serve_me`` without FastAPI's
    routing and dependency solving, and through the same general check (ADR 0010, 0027). The
    forward-auth doors (``web.authz``) answer
    one decision per request of a guarded API, so they skip FastAPI's routing and dependency
    machinery too, not the decision (ADR 0024). Everything else, other methods on
    ``/api/v2/me`` and other ``/authz/`` paths included, takes FastAPI's usual way.
    """

    hot_path: ASGIApp | None = None
    forward_auth: ASGIApp | None = None
    proxies: TrustedProxies | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        proxies = self.proxies
        if scope["type"] != "http":
            if proxies is not None and scope["type"] == "websocket":
                believe_forwarded(scope, proxies)
            await super().__call__(scope, receive, send)
            return
        if proxies is not None:
            believe_forwarded(scope, proxies)
        path = scope["path"]
        if self.hot_path is not None and scope["method"] == "GET" and _HOT_PATH.fullmatch(path):
            scope["app"] = self
            await self.hot_path(scope, receive, send)
            return
        if self.forward_auth is not None and path.startswith(PREFIX) and door_for(path):
            scope["app"] = self
            await self.forward_auth(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def build_web_app(
    services: Services,
    oauth_server: OAuthService,
    lifespan: Lifespan | None = None,
    *,
    authz: AuthzOptions | None = None,
    proxies: TrustedProxies | None = None,
    body_limits: BodyLimitSettings | None = None,
) -> FastAPI:
    """The app; ``authz``: the guard's route table and answers (default: no route, so every
    forward-auth request is refused); ``proxies``: whose forwarded headers are believed."""
    app = TesseraApp(
        title="Tessera",
        description=API_DESCRIPTION,
        version=__version__,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.oauth = oauth_server
    routers = [
        module.router
        for module in (
            me,
            me_account,
            api_tokens,
            api_keys,
            people,
            oauth_clients,
            audit,
            helpdesk,
            batch,
            authz_changes,
            secret_scanning,
        )
    ]
    for router in routers:
        app.include_router(router)
    # The OAuth protocol endpoints are described too; the pages are not part of the API.
    app.include_router(oauth.router)
    app.include_router(health_router)
    for page_router in (
        overview.router,
        login.router,
        authorize.router,
        setup.router,
        admin_people.router,
        admin_keys.router,
        admin_apps.router,
        admin_tokens.router,
        admin_audit.router,
        account.router,
        account_device.router,
    ):
        app.include_router(page_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # The same request context (and CORS) as every API route, and the same general check.
    app.hot_path = RequestContextMiddleware(me.serve_me)
    app.forward_auth = ForwardAuth(
        authz or AuthzOptions(RouteTable.of(), IDENTITY_PRESETS["tessera"])
    )
    app.proxies = proxies if proxies else None  # none trusted: nothing to do per request
    install_error_handlers(app)
    install_console(app)
    install_docs(app, [*routers, oauth.router, health_router])
    app.add_middleware(UntypedBodyMiddleware)
    limits = body_limits or BodyLimitSettings()
    app.add_middleware(BodyLimits, max_bytes=limits.max_bytes, body_seconds=limits.body_seconds)
    app.add_middleware(RequestContextMiddleware)  # added last: outermost
    return app
