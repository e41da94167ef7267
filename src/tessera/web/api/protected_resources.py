"""RFC 9728 protected-resource metadata: Tessera's own API, and the resources it knows.

``/.well-known/oauth-protected-resource`` describes Tessera's own API (the resource named by its
public URL, whose 401s point here); ``/.well-known/oauth-protected-resource/<path>`` describes
the registered resource at ``<path>`` of the host the request came to (or of Tessera's own), so
that a proxy in front of a guarded API or an MCP server can pass those paths to Tessera. A
resource Tessera does not know answers 404.
"""

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from tessera.core.errors import NotFound
from tessera.core.resources import PROTECTED_RESOURCE_PATH
from tessera.services.container import Services
from tessera.web.deps import ServicesDep
from tessera.web.resource_metadata import candidate_resources, metadata_document

router = APIRouter(tags=["oauth"])

#: Metadata may be cached a little: a registry change shows within a minute.
_CACHE_CONTROL = {"Cache-Control": "public, max-age=60"}
_SUMMARY = "Where to get a token for this resource (RFC 9728)"
_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The resource's metadata: its identifier and authorization server",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["resource", "authorization_servers"],
                    "properties": {
                        "resource": {"type": "string"},
                        "authorization_servers": {"type": "array", "items": {"type": "string"}},
                        "scopes_supported": {"type": "array", "items": {"type": "string"}},
                        "bearer_methods_supported": {"type": "array", "items": {"type": "string"}},
                        "resource_name": {"type": "string"},
                    },
                }
            }
        },
    }
}


@router.get(PROTECTED_RESOURCE_PATH, summary=_SUMMARY, responses=_ANSWER)
async def own_metadata(request: Request, services: ServicesDep) -> JSONResponse:
    return await _answer(request, services, "")


@router.head(PROTECTED_RESOURCE_PATH, include_in_schema=False)
async def own_metadata_head(request: Request, services: ServicesDep) -> JSONResponse:
    return await _answer(request, services, "")


@router.get(PROTECTED_RESOURCE_PATH + "/{resource_path:path}", summary=_SUMMARY, responses=_ANSWER)
async def resource_metadata(
    request: Request, services: ServicesDep, resource_path: str
) -> JSONResponse:
    return await _answer(request, services, "/" + resource_path)


@router.head(PROTECTED_RESOURCE_PATH + "/{resource_path:path}", include_in_schema=False)
async def resource_metadata_head(
    request: Request, services: ServicesDep, resource_path: str
) -> JSONResponse:
    return await _answer(request, services, "/" + resource_path)


async def _answer(request: Request, services: Services, suffix: str) -> JSONResponse:
    document = await run_in_threadpool(_document, request, services, suffix)
    if document is None:
        raise NotFound()
    return JSONResponse(document, headers=_CACHE_CONTROL)


def _document(request: Request, services: Services, suffix: str) -> dict[str, object] | None:
    site, registry = services.site, services.resources
    issuer = site.public_url.rstrip("/")
    origin = f"{request.url.scheme}://{request.url.netloc}"
    for candidate in candidate_resources(suffix, origin, site.public_url):
        if candidate == registry.own_uri:
            name = f"{site.helpdesk_name} API"
            return metadata_document(candidate, issuer, name, f"{issuer}/docs")
        found = registry.find(candidate)
        if found is not None:
            return metadata_document(found.uri, issuer, found.name)
    return None
