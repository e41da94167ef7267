"""The FastAPI application over the services: routes, error envelope, request context, docs."""

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI

from tessera import __version__
from tessera.services.container import Services
from tessera.web.api import api_keys, api_tokens, helpdesk, me, people
from tessera.web.errors import install_error_handlers
from tessera.web.middleware import RequestContextMiddleware
from tessera.web.openapi import API_DESCRIPTION, DescribedApp, install_docs

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def build_web_app(services: Services, lifespan: Lifespan | None = None) -> FastAPI:
    app = DescribedApp(
        title="Tessera",
        description=API_DESCRIPTION,
        version=__version__,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.services = services
    routers = [module.router for module in (me, api_tokens, api_keys, people, helpdesk)]
    for router in routers:
        app.include_router(router)
    install_error_handlers(app)
    install_docs(app, routers)
    app.add_middleware(RequestContextMiddleware)
    return app
