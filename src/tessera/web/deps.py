"""Request-scoped dependencies: the services, and who is calling with what rights."""

import hmac
from typing import Annotated

from fastapi import Depends, Path, Query, Request

from tessera.core.errors import Forbidden, InvalidCorsAuthType
from tessera.core.paging import DEFAULT_PER_PAGE, MAX_PER_PAGE, PageRequest
from tessera.core.principals import AuthMethod, Principal
from tessera.services.authenticate import PresentedRequest
from tessera.services.container import Services
from tessera.web.cookies import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE


async def get_services(request: Request) -> Services:
    # async on purpose: no I/O here, so no trip through the thread pool.
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def _session_cookie(request: Request) -> str | None:
    """The session cookie, when it may count: reading, or changing with the CSRF header.

    A cookie goes along with any request a browser makes, including forged ones from other
    sites; a header holding the CSRF cookie's value can only come from our own pages.
    """
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    if request.method in SAFE_METHODS:
        return cookie
    expected, echoed = request.cookies.get(CSRF_COOKIE), request.headers.get(CSRF_HEADER)
    if expected and echoed and hmac.compare_digest(expected.encode(), echoed.encode()):
        return cookie
    return None


def presented_request(request: Request) -> PresentedRequest:
    headers = request.headers
    query = request.query_params
    return PresentedRequest(
        session_cookie=_session_cookie(request),
        app_id_header=headers.get("x-deskpro-app-id"),
        authorization=headers.get("authorization"),
        api_key_header=headers.get("x-deskpro-api-key"),
        api_token_header=headers.get("x-deskpro-api-token"),
        agent_id_header=headers.get("x-deskpro-agent-id"),
        query_api_key=query.get("API-KEY"),
        query_api_token=query.get("API-TOKEN"),
        client_address=client_address(request),
    )


class Access:
    """Authenticate the caller and check the endpoint's tags (and admin rights).

    ``Depends(Access("api_keys.api_keys.list", admin=True))``. Tags limit API keys only
    (decision 11.5); ``admin`` needs an admin person, or a superuser key with the admin flag.
    A plain ``def``: the credential lookup is database I/O, so it runs in the thread pool.
    """

    def __init__(self, *tags: str, admin: bool = False) -> None:
        if not tags:
            raise ValueError("every authenticated endpoint names at least one tag")
        self.tags = tags
        self.admin = admin

    def __call__(self, request: Request) -> Principal:
        services: Services = request.app.state.services
        principal = services.authenticator.authenticate(presented_request(request))
        if "origin" in request.headers and not _may_cross_origins(principal):
            raise InvalidCorsAuthType()
        if not principal.may_call(self.tags, admin=self.admin):
            raise Forbidden()
        return principal


def _may_cross_origins(principal: Principal) -> bool:
    # Only credentials a page must hold explicitly: keys and OAuth tokens (shared/spec §1.6).
    # Sessions ride on cookies, and exchange tokens are meant for the person's own apps.
    if principal.auth_method is AuthMethod.API_KEY:
        return True
    return principal.auth_method is AuthMethod.API_TOKEN and principal.oauth_client_id is not None


#: Ids in bodies are 64-bit; in paths, a larger number simply names nothing (404).
MAX_ID = 2**63 - 1
ResourceId = Annotated[int, Path(ge=1)]


async def paging(
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    count: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = DEFAULT_PER_PAGE,
) -> PageRequest:
    return PageRequest(page, count)


PagingDep = Annotated[PageRequest, Depends(paging)]
