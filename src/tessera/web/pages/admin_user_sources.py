"""``/console/sign-in``: admins connect the identity providers people sign in through.

One page: the connected sources (with the redirect URI to register at each provider), a form
to connect another OpenID provider, and per source a button to switch it off or on and one to
remove it. Switching a source off ends its people's sessions and tokens at once; every change
is audited by the service (ADR 0047).
"""

from fastapi import APIRouter, Request
from starlette.responses import Response

from tessera.core.errors import InvalidInput
from tessera.core.user_sources import OfferedTo
from tessera.services.user_sources import SourceSettings
from tessera.web.pages.admin_kit import call, field_problems, render_admin, resource_id, services
from tessera.web.pages.console import AdminViewer, CheckedForm, back_to, field

router = APIRouter(include_in_schema=False)

LIST = "/console/sign-in"
FIELDS = (
    "title",
    "issuer",
    "client_id",
    "client_secret",
    "email_claim",
    "name_claim",
    "groups_claim",
    "agent_groups",
    "admin_groups",
    "offered_to",
    "create_unknown",
    "link_by_email",
)
NOTICES = {
    "added": "The identity provider is connected: its button is on the sign-in page.",
    "disabled": "The identity provider is switched off: its people were signed out everywhere.",
    "enabled": "The identity provider is switched on again.",
    "deleted": "The identity provider was removed: its people were signed out everywhere.",
}
BLANK_FORM = {
    "title": "",
    "issuer": "",
    "client_id": "",
    "email_claim": "email",
    "name_claim": "name",
    "groups_claim": "",
    "agent_groups": "",
    "admin_groups": "",
    "offered_to": OfferedTo.AGENTS.value,
    "create_unknown": "",
    "link_by_email": "",
}
OFFERED = [
    (OfferedTo.AGENTS.value, "Agents"),
    (OfferedTo.USERS.value, "Users"),
    (OfferedTo.BOTH.value, "Agents and users"),
]


def _groups(text: str) -> list[str]:
    return [group for group in text.replace(",", " ").split() if group]


async def _page(
    request: Request,
    viewer: AdminViewer,
    *,
    typed: dict[str, str] | None = None,
    problems: dict[str, list[str]] | None = None,
) -> Response:
    sources = await call(services(request).user_sources.list)
    public_url = services(request).site.public_url.rstrip("/")
    return render_admin(
        request,
        "console/admin/user_sources.html",
        viewer,
        status=400 if problems else 200,
        notices=NOTICES,
        sources=sources,
        public_url=public_url,
        offered=OFFERED,
        typed=typed or BLANK_FORM,
        problems=problems or {},
    )


@router.get(LIST)
async def user_sources_page(request: Request, viewer: AdminViewer) -> Response:
    return await _page(request, viewer)


@router.post(LIST)
async def add_user_source(request: Request, viewer: AdminViewer, form: CheckedForm) -> Response:
    typed = {name: field(form, name) for name in FIELDS}
    known = {option.value for option in OfferedTo}
    offered = typed["offered_to"] if typed["offered_to"] in known else OfferedTo.AGENTS.value
    settings = SourceSettings(
        title=typed["title"],
        issuer=typed["issuer"],
        client_id=typed["client_id"],
        client_secret=typed["client_secret"] or None,
        email_claim=typed["email_claim"] or "email",
        name_claim=typed["name_claim"] or "name",
        groups_claim=typed["groups_claim"],
        agent_groups=_groups(typed["agent_groups"]),
        admin_groups=_groups(typed["admin_groups"]),
        offered_to=OfferedTo(offered),
        create_unknown=typed["create_unknown"] == "on",
        link_by_email=typed["link_by_email"] == "on",
    )
    typed["client_secret"] = ""  # never shown back
    try:
        await call(services(request).user_sources.create, settings, actor=viewer.id)
    except InvalidInput as error:
        return await _page(request, viewer, typed=typed, problems=field_problems(error, FIELDS))
    return back_to(LIST, done="added")


@router.post(LIST + "/{number}/enabled")
async def switch_user_source(
    request: Request, viewer: AdminViewer, form: CheckedForm, number: str
) -> Response:
    enabled = field(form, "enabled") == "yes"
    await call(
        services(request).user_sources.update,
        resource_id(number),
        SourceSettings(is_enabled=enabled),
        actor=viewer.id,
    )
    return back_to(LIST, done="enabled" if enabled else "disabled")


@router.post(LIST + "/{number}/delete")
async def delete_user_source(
    request: Request, viewer: AdminViewer, form: CheckedForm, number: str
) -> Response:
    await call(services(request).user_sources.delete, resource_id(number), actor=viewer.id)
    return back_to(LIST, done="deleted")
