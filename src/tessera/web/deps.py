"""Request-scoped dependencies: the services, and who is calling with what rights."""

from typing import Annotated

from fastapi import Depends, Path, Query, Request

from tessera.core.errors import (
    Forbidden,
    InsufficientScope,
    InvalidCorsAuthType,
    TesseraError,
    TokenForAnotherResource,
)
from tessera.core.paging import DEFAULT_PER_PAGE, MAX_PER_PAGE, PageRequest
from tessera.core.principals import AuthMethod, Principal
from tessera.core.resources import AudienceRule
from tessera.metrics.decisions import count_allowed, count_not_allowed
from tessera.services.authenticate import PresentedRequest
from tessera.services.container import Services
from tessera.web.cookies import CSRF_HEADER, SESSION_COOKIE, csrf_matches, read_cookie


async def get_services(request: Request) -> Services:
    # async on purpose: no I/O here, so no trip through the thread pool.
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def client_address(request: Request) -> str | None:
    client = request.scope.get("client")
    return str(client[0]) if client else None


SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
#: Set by browsers on every request (Fetch Metadata); pages cannot set or change it.
FETCH_SITE = "sec-fetch-site"


def _session_cookie(request: Request, *, issues_credential: bool = False) -> str | None:
    """The session cookie, when it may count: reading, or changing with the CSRF header.

    A cookie goes along with any request a browser makes, including forged ones from other
    sites; a header holding the CSRF cookie's value can only come from our own pages. A GET
    that issues a credential from the cookie (``issues_credential``) is a change too; it may
    also come from any page of this origin, which the browser itself vouches for
    (``Sec-Fetch-Site: same-origin``, a header no page can set): ADR 0018.
    """
    cookie = read_cookie(request, SESSION_COOKIE)
    if not cookie:
        return None
    if request.method in SAFE_METHODS and not issues_credential:
        return cookie
    if csrf_matches(request, request.headers.get(CSRF_HEADER)):
        return cookie
    if issues_credential and request.headers.get(FETCH_SITE) == "same-origin":
        return cookie
    return None


#: The request headers the credential check reads, found in one pass over the raw list.
_CREDENTIAL_HEADERS = frozenset(
    (
        b"authorization",
        b"x-deskpro-api-key",
        b"x-deskpro-api-token",
        b"x-deskpro-agent-id",
        b"x-deskpro-app-id",
        b"origin",
        b"cookie",
    )
)


def _credential_headers(request: Request) -> dict[bytes, str]:
    """The first value of each header of ``_CREDENTIAL_HEADERS`` present (as ``Headers.get``).

    One pass instead of a lookup per header: this runs on every authenticated request.
    """
    found: dict[bytes, str] = {}
    for name, value in request.scope["headers"]:
        if name in _CREDENTIAL_HEADERS and name not in found:
            found[name] = value.decode("latin-1")
    return found


def presented_request(request: Request) -> PresentedRequest:
    return _presented(request, _credential_headers(request))


def _presented(
    request: Request,
    headers: dict[bytes, str],
    *,
    issues_credential: bool = False,
    sessions: bool = True,
) -> PresentedRequest:
    query = None
    if request.scope.get("query_string") and request.app.state.services.authenticator.reads_query:
        query = request.query_params  # parsed only when it may hold the credential
    cookie = None
    if sessions and b"cookie" in headers:
        cookie = _session_cookie(request, issues_credential=issues_credential)
    return PresentedRequest(
        session_cookie=cookie,
        app_id_header=headers.get(b"x-deskpro-app-id"),
        authorization=headers.get(b"authorization"),
        api_key_header=headers.get(b"x-deskpro-api-key"),
        api_token_header=headers.get(b"x-deskpro-api-token"),
        agent_id_header=headers.get(b"x-deskpro-agent-id"),
        query_api_key=query.get("API-KEY") if query is not None else None,
        query_api_token=query.get("API-TOKEN") if query is not None else None,
        client_address=client_address(request),
    )


async def authorize(
    request: Request,
    tags: tuple[str, ...],
    *,
    admin: bool,
    issues_credential: bool = False,
    sessions: bool = True,
    audience: AudienceRule | None = None,
) -> Principal:
    """Authenticate the caller, then apply the audience, the CORS rule, the tags and the admin
    rule.

    ``audience``: which OAuth tokens the resource takes (RFC 8707, ADR 0043); by default
    Tessera's own API's rule (``app.state.api_audience``): tokens for it, or for no resource.

    A cache hit is decided right here on the event loop; a miss awaits a database read that
    concurrent misses share (ADR 0010, 0014). ``sessions=False``: a session cookie is no
    credential here (the guard's endpoints, which programs call: ADR 0024). Every decision is
    counted (``tessera_credential_decisions_total``): one counter step.
    """
    services: Services = request.app.state.services
    authenticator = services.authenticator
    headers = _credential_headers(request)
    presented = _presented(request, headers, issues_credential=issues_credential, sessions=sessions)
    try:
        principal = authenticator.try_cached(presented)
        if principal is None:
            principal = await authenticator.verify_async(presented)
        rule: AudienceRule = audience or request.app.state.api_audience
        if not rule.admits(principal.audience, principal.oauth_client_id):
            raise TokenForAnotherResource()
        if b"origin" in headers and not _may_cross_origins(principal):
            raise InvalidCorsAuthType()
        if not principal.may_call(tags, admin=admin):
            raise _refusal(principal, tags, admin=admin)
    except TesseraError as error:
        count_not_allowed(error)
        raise
    count_allowed(principal.auth_method)
    return principal


def _refusal(principal: Principal, tags: tuple[str, ...], *, admin: bool) -> Forbidden:
    """An OAuth token refused by its scope's tags is told which it lacks (RFC 6750 §3.1)."""
    limit = principal.key_tags
    if principal.oauth_client_id is None or limit is None or (admin and not principal.may_admin):
        return Forbidden()
    return InsufficientScope(tuple(tag for tag in tags if not limit.allows(tag)))


class Access:
    """Authenticate the caller and check the endpoint's tags (and admin rights).

    ``Depends(Access("api_keys.api_keys.list", admin=True))``. Tags limit API keys only
    (decision 11.5); ``admin`` needs an admin person, or a superuser key with the admin flag.
    ``issues_credential``: the endpoint turns the caller into a new credential, so a session
    cookie counts only as for a change (``_session_cookie``), whatever the method.
    """

    def __init__(self, *tags: str, admin: bool = False, issues_credential: bool = False) -> None:
        if not tags:
            raise ValueError("every authenticated endpoint names at least one tag")
        self.tags = tags
        self.admin = admin
        self.issues_credential = issues_credential

    async def __call__(self, request: Request) -> Principal:
        return await authorize(
            request, self.tags, admin=self.admin, issues_credential=self.issues_credential
        )


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
