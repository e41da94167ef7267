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
        describe_errors(schema)
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


#: Deskpro's error envelope (``web/errors.py``), one schema for every error answer.
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["status", "code", "message"],
    "properties": {
        "status": {"type": "integer"},
        "code": {"type": "string"},
        "message": {"type": "string"},
        "errors": {"type": "object", "description": "Field problems (`invalid_input`)."},
    },
}
_ERROR_REF = {"$ref": "#/components/schemas/DeskproError"}
#: RFC 6749 §5.2's error (token, revocation and introspection endpoints, 400 and 401).
OAUTH_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
}
_OAUTH_ERROR_REF = {"$ref": "#/components/schemas/OAuthError"}
_OAUTH_PROTOCOL = (
    "/oauth/token",
    "/oauth/revoke",
    "/oauth/introspect",
    "/oauth/device_authorization",
)
#: RFC 6750's errors, for the endpoint that takes a Bearer access token.
_BEARER_ERRORS = {
    "401": '`invalid_token`, with `WWW-Authenticate: Bearer error="invalid_token"`',
    "403": "`insufficient_scope`: the token was not issued for `openid`",
}
_BEARER_PROTECTED = ("/oauth/userinfo",)
#: RFC 7591/7592's errors, in OAuth's shape, for dynamic client registration.
_REGISTRATION_ERRORS = {
    "400": "`invalid_client_metadata`, `invalid_redirect_uri` or "
    "`unapproved_software_statement` (RFC 7591 §3.2.2)",
    "401": "`invalid_token`: a missing or unusable initial or registration access token, with "
    '`WWW-Authenticate: Bearer error="invalid_token"`',
    "403": "`access_denied`: the operator has not turned registration on",
    "429": "`temporarily_unavailable`: too many registrations from this address, with "
    "`Retry-After`",
}
_REGISTRATION = ("/oauth/register", "/oauth/register/{client_id}")
#: The errors any operation may answer, whatever it does (the API's own, and the server's:
#: an outage, an oversized or slow body, too many attempts).
_ANY_OPERATION = {
    "400": "`invalid_input` (every invalid field at once) or another bad request",
    "404": "`not_found`",
    "405": "`method_not_allowed`",
    "408": "`request_timeout`: the body did not arrive in time",
    "413": "`payload_too_large`: the body is larger than this endpoint accepts",
    "429": "`rate_limits`, with `Retry-After`",
    "500": "`internal_error`",
    "503": "`service_unavailable`, with `Retry-After`",
}
_GUARDED = {
    "401": "No credential, or one that does not work (with `WWW-Authenticate`)",
    "403": (
        "`forbidden`: the credential's tags (a key's, or an OAuth token's scope's) or rights "
        "do not allow this endpoint; a token refused by its scope also gets "
        "`WWW-Authenticate: Bearer "
        'error="insufficient_scope", scope="<the tags it lacks>"`'
    ),
}


def describe_errors(schema: dict[str, Any]) -> None:
    """Every error an operation can answer, in Deskpro's envelope, instead of FastAPI's 422.

    The server answers a request it cannot read with 400 ``invalid_input`` (never 422), and
    any operation may meet an outage, a body limit or a rate limit: listed, so that clients and
    conformance tools know every answer to expect (idempotent).
    """
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas["DeskproError"] = ERROR_SCHEMA
    schemas["OAuthError"] = OAUTH_ERROR_SCHEMA
    for path, item in schema.get("paths", {}).items():
        oauth = path in _OAUTH_PROTOCOL
        bearer = path in _BEARER_PROTECTED
        registration = path in _REGISTRATION
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            errors = dict(_ANY_OPERATION)
            if "security" in operation:
                errors.update(_GUARDED)
            if oauth:
                errors["401"] = "`invalid_client` (with a `Basic` challenge)"
            if bearer:
                errors.update(_BEARER_ERRORS)
            if registration:
                errors.update(_REGISTRATION_ERRORS)
            for status, description in errors.items():
                if status not in responses:  # an operation's own description stands
                    in_oauth_shape = (
                        (oauth and status in ("400", "401"))
                        or (bearer and status in _BEARER_ERRORS)
                        or (registration and status in _REGISTRATION_ERRORS)
                    )
                    shape = _OAUTH_ERROR_REF if in_oauth_shape else _ERROR_REF
                    responses[status] = {
                        "description": description,
                        "content": {"application/json": {"schema": shape}},
                    }
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)


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
