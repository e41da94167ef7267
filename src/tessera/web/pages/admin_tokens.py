"""``/console/tokens``: every live API token, who holds it and where it came from; revoke."""

from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Request
from starlette.responses import Response

from tessera.core.errors import InvalidInput
from tessera.core.paging import Page
from tessera.core.people import Person
from tessera.core.principals import TokenSource
from tessera.core.records import ApiTokenInfo
from tessera.services.container import Services
from tessera.web.pages.admin_kit import (
    back_to_list,
    call,
    field_problems,
    find_person,
    page_request,
    pager,
    render_admin,
    resource_id,
    services,
)
from tessera.web.pages.console import AdminViewer, CheckedForm, field

router = APIRouter(include_in_schema=False)

LIST = "/console/tokens"
NOTICES = {"revoked": "The token is revoked: the next request that uses it is refused."}
SOURCES = {
    TokenSource.EXCHANGE: "Password exchange",
    TokenSource.DEVICE_SETUP: "Device setup (QR code)",
    TokenSource.OAUTH: "OAuth",
    TokenSource.SESSION: "Signed-in browser",
    TokenSource.USER_SOURCE: "Identity provider",
}


@dataclass(frozen=True, slots=True)
class TokenRow:
    token: ApiTokenInfo
    person: Person | None
    how: str
    app: str
    expires_at: datetime | None


def _listing(
    services: Services, person_text: str, page_text: str | None
) -> tuple[Page[ApiTokenInfo], list[TokenRow]]:
    person_id = find_person(services, person_text, "person").id if person_text else None
    page = services.api_tokens.list(page_request(page_text), person_id=person_id)
    people = services.people.get_many(t.person_id for t in page.items)
    lifetime = services.api_tokens.policy.lifetime
    rows = []
    for token in page.items:
        expiry = lifetime.expiry(token.created_at, token.last_used_at, token.expires_at)
        how = SOURCES.get(token.source, token.source.value)
        rows.append(TokenRow(token, people.get(token.person_id), how, token.holder, expiry))
    return page, rows


@router.get(LIST)
async def tokens_page(request: Request, viewer: AdminViewer) -> Response:
    person_text = request.query_params.get("person", "").strip()[:320]
    try:
        page, rows = await call(
            _listing, services(request), person_text, request.query_params.get("page")
        )
    except InvalidInput as error:
        return render_admin(
            request,
            "console/admin/tokens.html",
            viewer,
            status=400,
            rows=[],
            pages=None,
            total=0,
            person=person_text,
            problems=field_problems(error, ("person",)),
        )
    return render_admin(
        request,
        "console/admin/tokens.html",
        viewer,
        notices=NOTICES,
        rows=rows,
        pages=pager(page, LIST, {"person": person_text}),
        total=page.total,
        person=person_text,
    )


@router.post(LIST + "/{token_id}/revoke")
async def revoke_token(
    request: Request, viewer: AdminViewer, form: CheckedForm, token_id: str
) -> Response:
    await call(services(request).api_tokens.revoke, resource_id(token_id), actor=viewer.id)
    return back_to_list(LIST, {"person": field(form, "person")}, "revoked")
