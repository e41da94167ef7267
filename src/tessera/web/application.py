"""The FastAPI application over the services: routes, error envelope, request context, docs."""

import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.telemetry import TelemetryConfig
from starlette.types import ASGIApp, Receive, Scope, Send

from tessera import __version__
from tessera.core.proxies import TrustedProxies
from tessera.core.resources import AudienceRule, protected_resource_metadata_url
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
    magic_links,
    me,
    me_account,
    oauth,
    oauth_clients,
    people,
    protected_resources,
    secret_scanning,
    user_sources_admin,
)
from tessera.web.api import user_sources as user_sources_api
from tessera.web.authz import PREFIX, AuthzOptions, Door, ForwardAuth, door_for
from tessera.web.body_limits import BodyLimits, BodyLimitSettings
from tessera.web.errors import install_error_handlers
from tessera.web.forwarded import believe_forwarded
from tessera.web.health import router as health_router
from tessera.web.identity_headers import IDENTITY_PRESETS
from tessera.web.metrics import MetricsExposure
from tessera.web.metrics import router as metrics_router
from tessera.web.middleware import RequestContextMiddleware
from tessera.web.openapi import API_DESCRIPTION, DescribedApp, install_docs
from tessera.web.pages import (
    account,
    account_device,
    admin_apps,
    admin_audit,
    admin_keys,
    admin_people,
    admin_resources,
    admin_tokens,
    admin_user_sources,
    authorize,
    device,
    login,
    logout,
    magic_link,
    overview,
    setup,
    user_sources,
)
from tessera.web.pages.console import install_console
from tessera.web.pages.rendering import STATIC
from tessera.web.request_metrics import ROUTE, RequestTimer
from tessera.web.untyped_bodies import UntypedBodyMiddleware

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]

#: ``GET /api/v2/me``, dated or not: the hot path's one endpoint.
_HOT_PATH = re.compile(r"/api/v2/(?:\d{8}/)?me")
NO_FASTAPI_TELEMETRY: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
}
#: The route label of each forward-auth door (``ext-authz`` takes any path below it).
_DOOR_ROUTES = {door: PREFIX + door.value for door in Door}


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
    #: What serves an HTTP request once forwarded headers are believed: ``serve_http``, timed
    #: for the metrics and traced when configured (``build_web_app``).
    http: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        proxies = self.proxies
        if scope["type"] != "http":
            if proxies is not None and scope["type"] == "websocket":
                believe_forwarded(scope, proxies)
            await super().__call__(scope, receive, send)
            return
        if proxies is not None:
            believe_forwarded(scope, proxies)
        if self.http is not None:
            await self.http(scope, receive, send)
        else:
            await self.serve_http(scope, receive, send)

    async def serve_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        if self.hot_path is not None and scope["method"] == "GET" and _HOT_PATH.fullmatch(path):
            scope["app"] = self
            scope[ROUTE] = "/api/v2/me"
            await self.hot_path(scope, receive, send)
            return
        door = door_for(path) if self.forward_auth is not None and path.startswith(PREFIX) else None
        if door is not None and self.forward_auth is not None:
            scope["app"] = self
            scope[ROUTE] = _DOOR_ROUTES[door]
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
    metrics: MetricsExposure | None = None,
    tracing: Callable[[ASGIApp], ASGIApp] | None = None,
) -> FastAPI:
    """The app; ``authz``: the guard's route table and answers (default: no route, so every
    forward-auth request is refused); ``proxies``: whose forwarded headers are believed;
    ``metrics``: who may read ``GET /metrics`` (None: no request timed, no metrics served);
    ``tracing``: wraps what serves each HTTP request (OpenTelemetry, ``web.tracing``)."""
    app = TesseraApp(
        title="Tessera",
        description=API_DESCRIPTION,
        version=__version__,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        # FastAPI's own OpenTelemetry spans, on whenever a tracer provider is installed, carry
        # the raw path and query string (codes, query credentials): tracing is ``web.tracing``'s.
        telemetry=NO_FASTAPI_TELEMETRY,
    )
    app.state.services = services
    app.state.oauth = oauth_server
    # Tessera's own API as a resource (RFC 8707, 9728; ADR 0043): tokens for it or for none.
    own_resource = services.resources.own_uri
    app.state.api_audience = AudienceRule(own_resource, accept_unbound=True)
    app.state.api_metadata_url = protected_resource_metadata_url(own_resource)
    routers = [
        module.router
        for module in (
            me,
            me_account,
            user_sources_api,
            api_tokens,
            magic_links,
            api_keys,
            people,
            oauth_clients,
            user_sources_admin,
            audit,
            helpdesk,
            batch,
            authz_changes,
            secret_scanning,
        )
    ]
    for router in routers:
        app.include_router(router)
    # The OAuth protocol endpoints are described too; of the pages, only the authorization
    # server's browser endpoints (/oauth/authorize, /oauth/logout).
    app.include_router(oauth.router)
    app.include_router(protected_resources.router)
    app.include_router(health_router)
    http: ASGIApp = app.serve_http
    if metrics is not None:
        app.state.metrics = metrics
        app.include_router(metrics_router)
        http = RequestTimer(http)
    app.http = tracing(http) if tracing is not None else http
    for page_router in (
        overview.router,
        login.router,
        user_sources.router,
        authorize.router,
        logout.router,
        magic_link.router,
        setup.router,
        admin_people.router,
        admin_keys.router,
        admin_apps.router,
        admin_resources.router,
        admin_user_sources.router,
        admin_tokens.router,
        admin_audit.router,
        account.router,
        account_device.router,
        device.router,
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
    install_docs(app, [*routers, oauth.router, protected_resources.router, health_router])
    app.add_middleware(UntypedBodyMiddleware)
    limits = body_limits or BodyLimitSettings()
    app.add_middleware(BodyLimits, max_bytes=limits.max_bytes, body_seconds=limits.body_seconds)
    app.add_middleware(RequestContextMiddleware)  # added last: outermost
    return app
