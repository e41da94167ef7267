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
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse
from swagger_ui_bundle import swagger_ui_path

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

API_DESCRIPTION = """Tessera issues and checks the credentials apps use to call a helpdesk API,
wire-compatible with Deskpro's API v2 authentication. Every success is
`{"data": …, "meta": {}, "linked": {}}`; every error `{"status", "code", "message"}`."""


def _access_of(dependant: Dependant) -> Iterator[Access]:
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, Access):
            yield dependency.call
        yield from _access_of(dependency)


class DescribedApp(FastAPI):
    """FastAPI whose OpenAPI description also states credentials and endpoint tags."""

    described_routers: Sequence[APIRouter] = ()

    def openapi(self) -> dict[str, Any]:
        schema = super().openapi()
        describe_security(schema, self.described_routers)
        return schema


def describe_security(schema: dict[str, Any], routers: Sequence[APIRouter]) -> None:
    """Add the security schemes, and each guarded operation's credentials and tags (idempotent)."""
    schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    # The routers' own routes: the application wraps included routes in private types.
    for route in (route for router in routers for route in router.routes):
        if not isinstance(route, APIRoute):
            continue
        for access in _access_of(route.dependant):
            for method in route.methods or ():
                operation = schema["paths"][route.path_format][method.lower()]
                if "x-deskpro-tags" in operation:
                    continue
                operation["security"] = [{"key": []}, {"token": []}]
                operation["x-deskpro-tags"] = list(access.tags)
                note = f"\n\nEndpoint tags: `{'`, `'.join(access.tags)}`."
                if access.admin:
                    note += " Admin only."
                operation["description"] = operation.get("description", "") + note


def install_docs(app: DescribedApp, routers: Sequence[APIRouter]) -> None:
    app.described_routers = routers
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
