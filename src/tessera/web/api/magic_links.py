"""``POST /api/v2/api_tokens/magic_link/email`` (E10): a sign-in link by e-mail (ADR 0048)."""

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from tessera.core.errors import INVALID_EMAIL, InvalidInput
from tessera.core.magic_links import MAX_TARGET_LENGTH
from tessera.core.people import is_valid_email, normalize_email
from tessera.web.deps import ServicesDep, client_address

router = APIRouter(prefix="/api/v2", tags=["api_tokens"])


class MagicLinkIn(BaseModel):
    email: str = Field(min_length=1, max_length=320)
    #: A path on this server to land on once signed in; anything else leads to ``/login``.
    target: str | None = Field(None, max_length=MAX_TARGET_LENGTH)


@router.post(
    "/api_tokens/magic_link/email",
    status_code=204,
    response_class=Response,
    summary="E-mail a one-time sign-in link",
    responses={
        400: {"description": "`invalid_input`: the e-mail address is missing or malformed"},
        403: {"description": "`forbidden`: no mail server is configured"},
        429: {
            "description": "`rate_limits`: too many links for this address or from this"
            " client; see `Retry-After`"
        },
    },
)
def send_magic_link(body: MagicLinkIn, request: Request, services: ServicesDep) -> Response:
    """Open endpoint. Answers 204 for every well-formed address, whether it is anybody's or
    not, at once: the mail is sent afterwards, and only to a person who may sign in this way
    (not a disabled person, not one of an external identity provider, an agent only when the
    operator allows it). The link works once, for `magic_link_minutes` (15 by default), and
    leads to `target` when that is a path on this server."""
    if not is_valid_email(normalize_email(body.email)):
        raise InvalidInput.for_field("email", INVALID_EMAIL)
    services.magic_links.request(body.email, body.target, client_address(request))
    return Response(status_code=204)
