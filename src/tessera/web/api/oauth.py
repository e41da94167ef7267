"""The OAuth and OpenID Connect protocol endpoints (RFC 6749, 7009, 7662, 8414, 7517; OpenID
Connect Core and Discovery): JSON in OAuth's own shapes."""

import json
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from tessera.core.errors import NotFound, RateLimited
from tessera.core.oauth_clients import METADATA_PATH, metadata_url
from tessera.services.container import Services
from tessera.web.api.device_openapi import DEVICE_AUTHORIZATION_OPENAPI
from tessera.web.deps import ServicesDep, client_address
from tessera.web.oauth_http import oauth_service, snapshot, to_response

#: OpenID Connect Discovery §4: the issuer's URL with this appended (docs/oidc.md).
OPENID_CONFIGURATION_PATH = "/.well-known/openid-configuration"

router = APIRouter(tags=["oauth"])

#: How a client authenticates at the token, revocation and introspection endpoints, besides
#: HTTP Basic: ``client_secret_post`` or ``private_key_jwt`` (RFC 7523 §2.2, ADR 0052).
CLIENT_AUTHENTICATION_FORM: dict[str, Any] = {
    "client_id": {"type": "string"},
    "client_secret": {"type": "string", "description": "client_secret_post"},
    "client_assertion_type": {
        "type": "string",
        "enum": ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"],
        "description": "private_key_jwt",
    },
    "client_assertion": {
        "type": "string",
        "description": "private_key_jwt: a JWT the client signed with its key (RS256, ES256, "
        "PS256 …): iss and sub its client_id, aud the token endpoint or the issuer, exp at "
        "most an hour ahead, a jti used once.",
    },
}


def _form(**fields: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI form body: these fields and the client's authentication."""
    properties = fields | CLIENT_AUTHENTICATION_FORM
    content = {
        "application/x-www-form-urlencoded": {
            "schema": {"type": "object", "properties": properties}
        }
    }
    return {"requestBody": {"required": True, "content": content}}


@router.post(
    "/oauth/token",
    summary="Exchange a code or refresh token (RFC 6749 §4.1.3, §6)",
    openapi_extra=_form(
        grant_type={"type": "string"},
        code={"type": "string"},
        redirect_uri={"type": "string"},
        code_verifier={"type": "string"},
        refresh_token={"type": "string"},
        device_code={"type": "string"},
        scope={"type": "string"},
        resource={"type": "string"},
    ),
)
async def token(request: Request) -> Response:
    request_snapshot = snapshot(request, await request.form())
    answer = await run_in_threadpool(oauth_service(request).token, request_snapshot)
    return to_response(answer)


@router.post(
    "/oauth/device_authorization",
    summary="Start the device grant: a device code and a user code (RFC 8628 §3.1)",
    openapi_extra=DEVICE_AUTHORIZATION_OPENAPI,
)
async def device_authorization(request: Request) -> Response:
    services: Services = request.app.state.services
    try:
        await run_in_threadpool(
            services.device_authorizations.count_request, client_address(request)
        )
    except RateLimited as limited:
        return _oauth_error(
            429,
            "temporarily_unavailable",
            "Too many device requests from this address; try again later.",
            {"Retry-After": str(limited.retry_after_seconds)},
        )
    request_snapshot = snapshot(request, await request.form())
    answer = await run_in_threadpool(oauth_service(request).authorize_device, request_snapshot)
    return to_response(answer)


@router.post(
    "/oauth/revoke",
    summary="Revoke an access or refresh token (RFC 7009)",
    openapi_extra=_form(token={"type": "string"}, token_type_hint={"type": "string"}),
)
async def revoke(request: Request) -> Response:
    request_snapshot = snapshot(request, await request.form())
    answer = await run_in_threadpool(oauth_service(request).revoke, request_snapshot)
    return to_response(answer)


@router.post(
    "/oauth/introspect",
    summary="Describe a token to its client (RFC 7662)",
    openapi_extra=_form(token={"type": "string"}, token_type_hint={"type": "string"}),
)
async def introspect(request: Request) -> Response:
    request_snapshot = snapshot(request, await request.form())
    answer = await run_in_threadpool(oauth_service(request).introspect, request_snapshot)
    return to_response(answer)


REGISTRATION_SUMMARY = "Register a client (RFC 7591); off unless the operator allows it"
REGISTRATION_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "client_name": {"type": "string"},
                        "redirect_uris": {"type": "array", "items": {"type": "string"}},
                        "grant_types": {"type": "array", "items": {"type": "string"}},
                        "response_types": {"type": "array", "items": {"type": "string"}},
                        "token_endpoint_auth_method": {
                            "type": "string",
                            "enum": [
                                "none",
                                "client_secret_basic",
                                "client_secret_post",
                                "private_key_jwt",
                            ],
                        },
                        # private_key_jwt (ADR 0052): exactly one of these.
                        "jwks_uri": {"type": "string", "format": "uri"},
                        "jwks": {
                            "type": "object",
                            "properties": {"keys": {"type": "array", "items": {"type": "object"}}},
                        },
                    },
                }
            }
        },
    }
}


async def _registration_json(request: Request) -> dict[str, Any] | Response:
    """The JSON object of a registration request, or the OAuth-shaped refusal to send."""
    services: Services = request.app.state.services
    try:
        await run_in_threadpool(services.client_registration.count_attempt, client_address(request))
    except RateLimited as limited:
        return _oauth_error(
            429,
            "temporarily_unavailable",
            "Too many registrations from this address; try again later.",
            {"Retry-After": str(limited.retry_after_seconds)},
        )
    if request.method not in ("POST", "PUT"):
        return {}
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        return _oauth_error(
            400, "invalid_client_metadata", "The body must be a JSON object (RFC 7591)."
        )
    return body


def _oauth_error(
    status: int, error: str, description: str, headers: dict[str, str] | None = None
) -> Response:
    """An OAuth-shaped refusal (RFC 6749 §5.2's fields), never stored by a cache."""
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


@router.post(
    "/oauth/register",
    summary=REGISTRATION_SUMMARY,
    status_code=201,
    openapi_extra=REGISTRATION_BODY,
)
async def register_client(request: Request) -> Response:
    body = await _registration_json(request)
    if isinstance(body, Response):
        return body
    answer = await run_in_threadpool(oauth_service(request).register, snapshot(request, json=body))
    return to_response(answer)


CONFIGURATION_SUMMARY = "A registered client's own registration (RFC 7592), by its access token"


@router.get("/oauth/register/{client_id:path}", summary=CONFIGURATION_SUMMARY)
@router.put("/oauth/register/{client_id:path}", summary=CONFIGURATION_SUMMARY)
@router.delete("/oauth/register/{client_id:path}", summary=CONFIGURATION_SUMMARY)
async def client_configuration(request: Request, client_id: str) -> Response:
    body = await _registration_json(request)
    if isinstance(body, Response):
        return body
    answer = await run_in_threadpool(
        oauth_service(request).configure_registration, snapshot(request, json=body)
    )
    return to_response(answer)


USERINFO_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The person's claims that the token's scope allows (`sub` always)",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["sub"],
                    "properties": {"sub": {"type": "string"}},
                }
            }
        },
    }
}


USERINFO_SUMMARY = "A person's claims, for a Bearer access token (OpenID Connect Core §5.3)"


@router.get("/oauth/userinfo", summary=USERINFO_SUMMARY, responses=USERINFO_ANSWER)
async def userinfo(request: Request) -> Response:
    answer = await run_in_threadpool(oauth_service(request).userinfo, snapshot(request))
    return to_response(answer)


@router.post("/oauth/userinfo", summary=USERINFO_SUMMARY, responses=USERINFO_ANSWER)
async def userinfo_by_post(request: Request) -> Response:
    request_snapshot = snapshot(request, await request.form())
    answer = await run_in_threadpool(oauth_service(request).userinfo, request_snapshot)
    return to_response(answer)


@router.get("/oauth/jwks", summary="The public keys that check ID tokens (RFC 7517)")
async def jwks(request: Request) -> JSONResponse:
    keys = await run_in_threadpool(oauth_service(request).jwks)
    # Cacheable for a while: a new key is published before it is needed by nobody but us,
    # and clients fetch again when they meet a kid they do not know.
    return JSONResponse(keys, headers={"Cache-Control": "public, max-age=300"})


@router.head("/oauth/jwks", include_in_schema=False)
async def jwks_head(request: Request) -> JSONResponse:
    return await jwks(request)


@router.get(METADATA_PATH, summary="What this server supports (RFC 8414)")
async def metadata(request: Request, services: ServicesDep) -> dict[str, Any]:
    return oauth_service(request).metadata(services.site.public_url)


@router.get(
    OPENID_CONFIGURATION_PATH,
    summary="What this OpenID provider supports (OpenID Connect Discovery §4)",
)
async def openid_configuration(request: Request, services: ServicesDep) -> dict[str, Any]:
    return oauth_service(request).metadata(services.site.public_url)


@router.head(METADATA_PATH, include_in_schema=False)
@router.head(OPENID_CONFIGURATION_PATH, include_in_schema=False)
async def metadata_head(request: Request, services: ServicesDep) -> dict[str, Any]:
    return oauth_service(request).metadata(services.site.public_url)


@router.head(METADATA_PATH + "/{issuer_path:path}", include_in_schema=False)
@router.get(METADATA_PATH + "/{issuer_path:path}", include_in_schema=False)
async def metadata_of_issuer_path(
    request: Request, services: ServicesDep, issuer_path: str
) -> dict[str, Any]:
    """The same document where RFC 8414 §3.1 puts it for an issuer with a path.

    With ``TESSERA_PUBLIC_URL=https://example.com/auth`` the proxy hands Tessera
    ``/auth/…`` without the prefix, and this address as it is (docs/oauth.md).
    """
    if f"{METADATA_PATH}/{issuer_path}" != urlsplit(metadata_url(services.site)).path:
        raise NotFound()
    return oauth_service(request).metadata(services.site.public_url)
