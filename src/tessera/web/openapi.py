"""The OpenAPI description and the docs page, served without any asset from the internet.

Security schemes ``key`` and ``token`` are both the ``Authorization`` header; each operation
that needs a credential lists them and its endpoint tags (``x-deskpro-tags``), read from the
route's ``Access`` dependency, so the description cannot drift from what is enforced.
"""

from collections.abc import Iterator, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse
from swagger_ui_bundle import swagger_ui_path

from tessera import __version__
from tessera.web.deps import Access

SECURITY_SCHEMES = {
    "key": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "An API key: enter `key ID:CODE` (created by an admin).",
    },
    "token": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "An API token: enter `token ID:CODE` (or `Bearer ID:CODE`).",
    },
}

_DESCRIPTION = """Tessera issues and checks the credentials apps use to call a helpdesk API,
wire-compatible with Deskpro's API v2 authentication. Every success is
`{"data": …, "meta": {}, "linked": {}}`; every error `{"status", "code", "message"}`."""


def _access_of(dependant: Dependant) -> Iterator[Access]:
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, Access):
            yield dependency.call
        yield from _access_of(dependency)


def build_openapi(app: FastAPI, routers: Sequence[APIRouter]) -> dict[str, Any]:
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = get_openapi(
        title="Tessera", version=__version__, description=_DESCRIPTION, routes=app.routes
    )
    schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    # The routers' own routes: the application wraps included routes in private types.
    for route in (route for router in routers for route in router.routes):
        if not isinstance(route, APIRoute):
            continue
        for access in _access_of(route.dependant):
            for method in route.methods or ():
                operation = schema["paths"][route.path_format][method.lower()]
                operation["security"] = [{"key": []}, {"token": []}]
                operation["x-deskpro-tags"] = list(access.tags)
                note = f"\n\nEndpoint tags: `{'`, `'.join(access.tags)}`."
                if access.admin:
                    note += " Admin only."
                operation["description"] = operation.get("description", "") + note
    app.openapi_schema = schema
    return schema


def install_docs(app: FastAPI, routers: Sequence[APIRouter]) -> None:
    # Built now, once every route exists: FastAPI serves a schema that is already set.
    build_openapi(app, routers)
    app.mount("/docs/assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Tessera API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon-32x32.png",
        )
