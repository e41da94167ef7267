"""``/api/v2/api_tokens``: the open token exchange and device setup, and admin token control."""

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from tessera.core.errors import BadCredentials, InvalidSessionId, Unauthorized
from tessera.core.principals import AuthMethod, Principal
from tessera.web.api.helpdesk import DiscoverOut
from tessera.web.api.models import ApiTokenOut
from tessera.web.deps import (
    MAX_ID,
    Access,
    PagingDep,
    ResourceId,
    ServicesDep,
    client_address,
)
from tessera.web.envelope import Envelope, pagination_meta

router = APIRouter(prefix="/api/v2", tags=["api_tokens"])


class ExchangeIn(BaseModel):
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class IssuedTokenOut(BaseModel):
    person_id: int
    #: ``ID:CODE``, in this response only: use it as ``Authorization: token ID:CODE``.
    token: str


class DeviceTokenOut(IssuedTokenOut):
    discover: DiscoverOut


_REFUSALS: dict[int | str, dict[str, Any]] = {
    400: {"description": "`invalid_input`: e-mail or password missing"},
    401: {"description": "`bad_credentials`, whatever the reason (no user enumeration)"},
    403: {"description": "`forbidden`: the operator switched the exchange off"},
    429: {"description": "`rate_limits`: too many attempts; see `Retry-After`"},
}


@router.post(
    "/api_tokens",
    status_code=201,
    summary="Exchange an agent's e-mail and password for an API token",
    responses=_REFUSALS,
)
async def exchange_password(
    body: ExchangeIn, request: Request, services: ServicesDep
) -> Envelope[IssuedTokenOut]:
    """Open endpoint (no key needed), throttled per e-mail and per client address. Refused
    with `bad_credentials` for people who sign in through an external identity provider,
    disabled people and, unless the operator allows it, non-agents."""
    issued = await services.api_tokens.exchange_password(
        body.email, body.password, client_address(request)
    )
    return Envelope(
        data=IssuedTokenOut(person_id=issued.token.person_id, token=issued.token_string)
    )


class SignedInBrowser(Access):
    """The agent signed in to this browser (E4); any other caller gets ``bad_credentials``.

    The general check, unchanged (a present ``Authorization`` still decides; the CORS rule
    still refuses a session sent from another origin): only "no session here" is answered as
    Deskpro answers it on this endpoint.
    """

    async def __call__(self, request: Request) -> Principal:
        try:
            principal = await super().__call__(request)
        except (Unauthorized, InvalidSessionId):
            raise BadCredentials() from None
        if principal.auth_method is not AuthMethod.AGENT_SESSION:
            raise BadCredentials()
        return principal


@router.get(
    "/api_tokens/session",
    status_code=201,
    summary="Turn this browser's console session into an API token",
    responses={
        401: {"description": "`bad_credentials`: no signed-in session came with the request"}
    },
)
async def token_for_session(
    request: Request,
    principal: Annotated[
        Principal, Depends(SignedInBrowser("api_tokens.session.get", issues_credential=True))
    ],
    services: ServicesDep,
) -> Envelope[IssuedTokenOut]:
    """For apps running in a signed-in agent's pages. The session cookie counts only for a
    request of this origin (`Sec-Fetch-Site: same-origin`) or with the console's CSRF header
    (`X-DeskPRO-Request-Token`): a page of another site cannot get one in the agent's name."""
    issued = await anyio.to_thread.run_sync(
        services.api_tokens.issue_for_session, principal.person, client_address(request)
    )
    return Envelope(
        data=IssuedTokenOut(person_id=issued.token.person_id, token=issued.token_string)
    )


@router.get(
    "/api_tokens/device_setup/{code}",
    status_code=201,
    summary="Redeem a device-setup code for an API token",
    responses={404: {"description": "`not_found`: unknown, used or expired code"}},
)
def redeem_device_setup(
    code: str, request: Request, services: ServicesDep
) -> Envelope[DeviceTokenOut]:
    """Open endpoint: the code from `GET /me/device-setup-token` works once, for ten minutes.
    A code of any other length is simply unknown (404), like any other unknown code."""
    issued = services.api_tokens.redeem_device_setup_code(code, client_address(request))
    return Envelope(
        data=DeviceTokenOut(
            person_id=issued.token.person_id,
            token=issued.token_string,
            discover=DiscoverOut.of(services.site),
        )
    )


@router.get("/api_tokens", summary="Every live API token (admin)")
def list_tokens(
    principal: Annotated[Principal, Depends(Access("api_tokens.api_tokens.list", admin=True))],
    services: ServicesDep,
    page: PagingDep,
    person_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Envelope[list[ApiTokenOut]]:
    listing = services.api_tokens.list(page, person_id=person_id)
    lifetime = services.api_tokens.policy.lifetime
    return Envelope(
        data=[ApiTokenOut.of(token, lifetime) for token in listing.items],
        meta=pagination_meta(listing),
    )


@router.delete("/api_tokens/{token_id}", summary="Revoke any token (admin)")
def revoke_token(
    token_id: ResourceId,
    principal: Annotated[Principal, Depends(Access("api_tokens.api_tokens.delete", admin=True))],
    services: ServicesDep,
) -> Envelope[ApiTokenOut]:
    token = services.api_tokens.revoke(token_id, actor=principal.person.id)
    return Envelope(data=ApiTokenOut.of(token, services.api_tokens.policy.lifetime))
