"""The FastAPI application over the services: routes, error envelope, request context, docs."""

import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from tessera import __version__
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
)
from tessera.web.cors import CorsMiddleware
from tessera.web.errors import install_error_handlers
from tessera.web.lean_me import LeanMe
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
    """The FastAPI app, with ``GET /api/v2/me`` served before FastAPI sees it (ADR 0010).

    Every API client calls it, often on every start: ``LeanMe`` answers callers the credential
    cache knows; the rest go through the same request-context and CORS middlewares into
    ``me.serve_me``, and nothing else. Everything else, other
    methods on ``/api/v2/me`` included, takes FastAPI's usual way.
    """

    hot_path: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.hot_path is not None
            and scope["type"] == "http"
            and scope["method"] == "GET"
            and _HOT_PATH.fullmatch(scope["path"])
        ):
            scope["app"] = self
            await self.hot_path(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def build_web_app(
    services: Services, oauth_server: OAuthService, lifespan: Lifespan | None = None
) -> FastAPI:
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
        )
    ]
    for router in routers:
        app.include_router(router)
    # The OAuth protocol endpoints are described too; the pages are not part of the API.
    app.include_router(oauth.router)
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
    app.hot_path = LeanMe(
        services.authenticator, general=RequestContextMiddleware(CorsMiddleware(me.serve_me))
    )
    install_error_handlers(app)
    install_console(app)
    install_docs(app, [*routers, oauth.router])
    app.add_middleware(UntypedBodyMiddleware)
    app.add_middleware(CorsMiddleware)
    app.add_middleware(RequestContextMiddleware)  # added last: outermost
    return app
