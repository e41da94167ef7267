"""``/api/v2/api_tokens/user_sources``: apps get a token through an identity provider (§8.2).

E7 lists the sources an app may offer (JSON, or a page of buttons); E8 sends the app's web view
to the provider; E9 takes the provider's answer and hands a new client-scope token to the app
in one of Deskpro's three pages: ``default`` calls the web view's ``sendPayload``, ``ios`` and
``deskpro_scheme`` go to the app's URL scheme. The token is in that page only, once; the page
is never cached and runs nothing but its own one script (a CSP hash).
"""

import base64
import hashlib
import html
import json
from enum import StrEnum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, Response

from tessera.core.errors import (
    INVALID,
    BadCredentials,
    InvalidInput,
    NotFound,
    UnableToRedirect,
    UnsupportedUserSource,
)
from tessera.core.user_sources import ClientSecretUnavailable, OfferedTo, UserSource
from tessera.oauth.sign_in import ProviderRefused, ProviderUnavailable
from tessera.services.api_tokens import IssuedToken
from tessera.services.user_sources import SignInRefused
from tessera.web.deps import ServicesDep, client_address
from tessera.web.envelope import Envelope
from tessera.web.user_source_flow import (
    PendingMissing,
    begin,
    complete,
    enabled_source,
    forget_pending,
    pending_of,
)

router = APIRouter(prefix="/api/v2/api_tokens/user_sources", tags=["api_tokens"])

SourceId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The source's id.")]


class HandOver(StrEnum):
    """How E9's page hands the token to the app (Deskpro's ``format``)."""

    DEFAULT = "default"
    IOS = "ios"
    DESKPRO_SCHEME = "deskpro_scheme"


class DisplayOptionsOut(BaseModel):
    login_url: str


class UserSourceOut(BaseModel):
    """Deskpro's usersource item (spec §8.2)."""

    id: int
    title: str
    #: ``agent`` or ``user``: the context it was listed for.
    type: Literal["agent", "user"]
    source_type: str
    display_type: Literal["button", "social"]
    display_order: int
    display_options: DisplayOptionsOut
    is_enabled: bool


def _base(request: Request) -> str:
    public_url: str = request.app.state.services.site.public_url
    return public_url.rstrip("/") + "/api/v2/api_tokens/user_sources"


def _login_url(request: Request, source: UserSource, hand_over: str = "default") -> str:
    return f"{_base(request)}/{source.id}/login?format={hand_over}"


def _offered(request: Request, services: ServicesDep, context: str) -> list[UserSourceOut]:
    sources = services.user_sources.list(enabled_only=True)
    return [
        UserSourceOut(
            id=source.id,
            title=source.title,
            type="agent" if context == "agent" else "user",
            source_type=source.kind.value,
            display_type="button",
            display_order=source.display_order,
            display_options=DisplayOptionsOut(login_url=_login_url(request, source)),
            is_enabled=source.is_enabled,
        )
        for source in sources
        if source.offered_to.offers(context)
    ]


def _context(value: str) -> tuple[str, str]:
    """(``agent``|``user``, ``json``|``html``) of ``agent``, ``user.json``, ``agent.html``…"""
    context, _, suffix = value.partition(".")
    if context not in ("agent", "user") or suffix not in ("", "json", "html"):
        raise NotFound()
    return context, suffix or "json"


@router.get(
    "/{context}",
    summary="List the identity providers an app may offer to agents or users (E7)",
    response_model=Envelope[list[UserSourceOut]],
    responses={
        200: {
            "content": {"text/html": {}},
            "description": "JSON (`agent`, `agent.json`) or a page of buttons (`agent.html`)",
        },
        404: {"description": "`not_found`: a context other than agent or user"},
    },
)
def list_user_sources(
    request: Request,
    services: ServicesDep,
    context: Annotated[str, Path(description="`agent` or `user`, optionally `.json`/`.html`")],
) -> Envelope[list[UserSourceOut]] | HTMLResponse:
    """Open endpoint. Each source's `display_options.login_url` starts E8 in a web view."""
    which, suffix = _context(context)
    offered = _offered(request, services, which)
    if suffix == "html":
        return _methods_page(offered)
    return Envelope(data=offered)


def _methods_page(offered: list[UserSourceOut]) -> HTMLResponse:
    items = "".join(
        f'<li><a href="{html.escape(item.display_options.login_url)}">Sign in with '
        f"{html.escape(item.title)}</a></li>"
        for item in offered
    )
    body = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<title>Sign in</title></head><body><h1>Sign in</h1>"
        f"<ul>{items}</ul></body></html>"
    )
    return HTMLResponse(body, headers=_page_headers(None))


@router.get(
    "/{source_id}/login",
    status_code=302,
    summary="Send an app's web view to an identity provider (E8)",
    responses={
        302: {"description": "to the identity provider's authorization endpoint"},
        400: {"description": "`bad_request`: `Not supported usersource.` or `Unable to redirect.`"},
    },
)
async def start(
    request: Request,
    source_id: SourceId,
    format: Annotated[str, Query(description="`default`, `ios` or `deskpro_scheme`")] = "default",
) -> Response:
    """Open endpoint. The provider's answer comes back to E9 with the same `format`."""
    hand_over = _hand_over(format)
    source = await enabled_source(request, source_id)
    if source is None:
        raise UnsupportedUserSource()
    redirect_uri = f"{_base(request)}/{source.id}/callback/{hand_over.value}"
    try:
        response = await begin(request, source, redirect_uri, {"format": hand_over.value})
    except ProviderUnavailable:
        raise UnableToRedirect() from None
    response.status_code = 302
    response.headers["Cache-Control"] = "no-store"
    return response


def _hand_over(value: str) -> HandOver:
    try:
        return HandOver(value)
    except ValueError:
        raise InvalidInput.for_field("format", INVALID) from None


_CALLBACK = "/{source_id}/callback/{hand_over}"
_CALLBACK_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {}}, "description": "the hand-over page (spec §8.2)"},
    400: {"description": "`bad_request`: `Not supported usersource.`"},
    401: {"description": "`bad_credentials`: the provider's answer signs nobody in"},
}
_CALLBACK_SUMMARY = "Take the identity provider's answer; hand a new token to the app (E9)"


@router.get(
    _CALLBACK,
    summary=_CALLBACK_SUMMARY,
    responses=_CALLBACK_ANSWERS,
    operation_id="user_source_callback",
)
@router.post(
    _CALLBACK,
    summary=_CALLBACK_SUMMARY + " (form_post)",
    responses=_CALLBACK_ANSWERS,
    operation_id="user_source_callback_form_post",
)
async def finish(
    request: Request,
    services: ServicesDep,
    source_id: SourceId,
    hand_over: Annotated[str, Path(description="`default`, `ios` or `deskpro_scheme`")],
) -> Response:
    """Open endpoint, reached from the provider with its callback parameters."""
    chosen = _hand_over(hand_over)
    source = await enabled_source(request, source_id)
    if source is None:
        raise UnsupportedUserSource()
    try:
        pending = pending_of(request, source_id)
    except PendingMissing:
        raise BadCredentials() from None
    if pending.get("format") != chosen.value:
        raise BadCredentials()
    redirect_uri = f"{_base(request)}/{source.id}/callback/{chosen.value}"
    address = client_address(request)
    try:
        identity = await complete(request, source, pending, redirect_uri)
        person = await run_in_threadpool(
            services.user_sources.resolve, source, identity, client_address=address
        )
        issued = await run_in_threadpool(
            services.api_tokens.issue_for_user_source,
            person,
            address,
            users_allowed=source.offered_to is not OfferedTo.AGENTS,
        )
    except (ProviderRefused, ProviderUnavailable, ClientSecretUnavailable, SignInRefused):
        # Deskpro: an invalid result from the provider, or no e-mail address, is 401.
        raise BadCredentials() from None
    response = _hand_over_page(chosen, issued)
    forget_pending(request, response)
    return response


def _hand_over_page(hand_over: HandOver, issued: IssuedToken) -> HTMLResponse:
    person_id = issued.token.person_id
    if hand_over is HandOver.DEFAULT:
        payload = json.dumps({"token": issued.token_string, "person_id": person_id})
        script = f"sendPayload({_script_safe(payload)});"
        body = f"<script>{script}</script>"
        return HTMLResponse(_page(body), headers=_page_headers(script))
    if hand_over is HandOver.IOS:
        # Deskpro's iOS app takes the bare CODE, without "ID:" (spec §8.2).
        target = f"iOSDeskPro://?token={issued.code}&person_id={person_id}"
    else:
        target = f"deskpro://login_api_token?token={issued.token_string}&person_id={person_id}"
    script = f"window.location.href = {_script_safe(json.dumps(target))};"
    escaped = html.escape(target)
    body = (
        f'<meta http-equiv="refresh" content="0;url={escaped}">'
        f"<script>{script}</script>"
        f'<p><a href="{escaped}">Continue</a></p>'
    )
    return HTMLResponse(_page(body), headers=_page_headers(script))


def _page(body: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Signing in</title></head><body>{body}</body></html>"
    )


def _script_safe(value: str) -> str:
    """JSON inside a <script>: nothing in it can close the element or open a comment."""
    return value.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _page_headers(script: str | None) -> dict[str, str]:
    """A strict policy: no source at all but this page's one script (by its hash)."""
    script_source = "'none'"
    if script is not None:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        script_source = f"'sha256-{digest}'"
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; script-src {script_source}; style-src 'none'; img-src 'none';"
            " base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        ),
        "Cache-Control": "no-store",
        "Pragma": "no-cache",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    }
