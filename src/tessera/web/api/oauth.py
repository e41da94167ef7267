"""The OAuth and OpenID Connect protocol endpoints (RFC 6749, 7009, 7662, 8414, 7517; OpenID
Connect Core and Discovery): JSON in OAuth's own shapes."""

from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from tessera.core.errors import NotFound
from tessera.core.oauth_clients import METADATA_PATH, metadata_url
from tessera.web.api.device_openapi import DEVICE_AUTHORIZATION_OPENAPI
from tessera.web.deps import ServicesDep
from tessera.web.oauth_http import oauth_service, snapshot, to_response

#: OpenID Connect Discovery §4: the issuer's URL with this appended (docs/oidc.md).
OPENID_CONFIGURATION_PATH = "/.well-known/openid-configuration"

router = APIRouter(tags=["oauth"])


@router.post("/oauth/token", summary="Exchange a code or refresh token (RFC 6749 §4.1.3, §6)")
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
    request_snapshot = snapshot(request, await request.form())
    answer = await run_in_threadpool(oauth_service(request).authorize_device, request_snapshot)
    return to_response(answer)


@router.post("/oauth/revoke", summary="Revoke an access or refresh token (RFC 7009)")
async def revoke(request: Request) -> Response:
    request_snapshot = snapshot(request, await request.form())
    answer = await run_in_threadpool(oauth_service(request).revoke, request_snapshot)
    return to_response(answer)


@router.post("/oauth/introspect", summary="Describe a token to its client (RFC 7662)")
async def introspect(request: Request) -> Response:
    request_snapshot = snapshot(request, await request.form())
    answer = await run_in_threadpool(oauth_service(request).introspect, request_snapshot)
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
