"""``/console/sign-in``: admins connect the identity providers people sign in through.

The list (with the redirect URIs to register at each provider, or a SAML IdP's SP metadata URL)
and a form to connect another provider, by OpenID Connect or SAML 2.0 (its IdP metadata pasted,
ADR 0049); each source's own page changes its settings, switches it off or on, removes
it. Switching off and removing end the source's people's sessions and tokens at once, so each
asks for confirmation on a page of its own first, as deleting an app does. The client secret is
never shown back: its field is empty, and left empty it keeps the secret. Every change is
audited by the service (ADR 0047).
"""

from dataclasses import replace

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from tessera.core.errors import InvalidInput
from tessera.core.people import Person
from tessera.core.user_sources import OfferedTo, SourceKind, UserSource
from tessera.services.user_source_settings import SourceSettings
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
    "display_order",
    "protocol",
    "idp_metadata",
    "email_attribute",
    "name_attribute",
    "groups_attribute",
)
#: The add form's SAML fields, each named apart from the OpenID field it stands for, as both
#: groups are in the one form (only the chosen protocol's shows).
SAML_NAMES = {
    "email_claim": "email_attribute",
    "name_claim": "name_attribute",
    "groups_claim": "groups_attribute",
}
NOTICES = {
    "added": "The identity provider is connected: its button is on the sign-in page.",
    "added_saml": (
        "The SAML identity provider is connected: give it the SP metadata URL listed for it"
        " below; its button is on the sign-in page."
    ),
    "changed": "The changes were saved.",
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
    "display_order": "0",
    "protocol": "oidc",
    "idp_metadata": "",
    "email_attribute": "email",
    "name_attribute": "name",
    "groups_attribute": "",
}
OFFERED = [
    (OfferedTo.AGENTS.value, "Agents"),
    (OfferedTo.USERS.value, "Users"),
    (OfferedTo.BOTH.value, "Agents and users"),
]
ORDER_NOT_A_NUMBER = "The order is a whole number, such as 0 or 10."


def _groups(text: str) -> list[str]:
    return [group for group in text.replace(",", " ").split() if group]


def _offered(typed: dict[str, str]) -> OfferedTo:
    known = {option.value for option in OfferedTo}
    return OfferedTo(typed["offered_to"]) if typed["offered_to"] in known else OfferedTo.AGENTS


def _order(text: str) -> int | None:
    """The display order typed, or None when it is no number the column holds."""
    try:
        number = int(text or "0")
    except ValueError:
        return None
    return number if -1_000_000 <= number <= 1_000_000 else None


def _typed(form: FormData) -> dict[str, str]:
    typed = {name: field(form, name) for name in FIELDS}
    typed["make_public"] = field(form, "make_public")
    return typed


def _settings(typed: dict[str, str], order: int) -> SourceSettings:
    """What the form says; the secret only when one was typed (or removal asked for)."""
    if typed["make_public"] == "on":
        secret: str | None = ""
    else:
        secret = typed["client_secret"] or None
    return SourceSettings(
        title=typed["title"],
        issuer=typed["issuer"],
        client_id=typed["client_id"],
        client_secret=secret,
        email_claim=typed["email_claim"] or "email",
        name_claim=typed["name_claim"] or "name",
        groups_claim=typed["groups_claim"],
        agent_groups=_groups(typed["agent_groups"]),
        admin_groups=_groups(typed["admin_groups"]),
        offered_to=_offered(typed),
        create_unknown=typed["create_unknown"] == "on",
        link_by_email=typed["link_by_email"] == "on",
        display_order=order,
    )


def _saml_settings(typed: dict[str, str], order: int) -> SourceSettings:
    """The add form's SAML choice: its own fields, none of OpenID's (the service refuses them)."""
    return replace(
        _settings(typed, order),
        issuer=None,
        client_id=None,
        client_secret=None,
        email_claim=typed["email_attribute"] or "email",
        name_claim=typed["name_attribute"] or "name",
        groups_claim=typed["groups_attribute"],
        idp_metadata=typed["idp_metadata"] or None,
    )


def _saml_problems(problems: dict[str, list[str]]) -> dict[str, list[str]]:
    """The service names SAML's attributes as claims; the add form's SAML fields are apart."""
    return {SAML_NAMES.get(name, name): sentences for name, sentences in problems.items()}


def _form_of(source: UserSource) -> dict[str, str]:
    return {
        "title": source.title,
        "issuer": source.issuer,
        "client_id": source.client_id,
        "email_claim": source.email_claim,
        "name_claim": source.name_claim,
        "groups_claim": source.groups_claim or "",
        "agent_groups": " ".join(source.agent_groups),
        "admin_groups": " ".join(source.admin_groups),
        "offered_to": source.offered_to.value,
        "create_unknown": "on" if source.create_unknown else "",
        "link_by_email": "on" if source.link_by_email else "",
        "display_order": str(source.display_order),
        "make_public": "",
        "idp_metadata": "",  # SAML: only a replacement is typed here; the current one stays
    }


def _public_url(request: Request) -> str:
    return services(request).site.public_url.rstrip("/")


async def _page(
    request: Request,
    viewer: AdminViewer,
    *,
    typed: dict[str, str] | None = None,
    problems: dict[str, list[str]] | None = None,
) -> Response:
    sources = await call(services(request).user_sources.list)
    return render_admin(
        request,
        "console/admin/user_sources.html",
        viewer,
        status=400 if problems else 200,
        notices=NOTICES,
        sources=sources,
        public_url=_public_url(request),
        offered=OFFERED,
        typed=typed or BLANK_FORM,
        problems=problems or {},
    )


async def _source_page(
    request: Request,
    viewer: Person,
    source: UserSource,
    *,
    typed: dict[str, str] | None = None,
    problems: dict[str, list[str]] | None = None,
) -> Response:
    people = await call(services(request).user_sources.linked_people, source.id)
    return render_admin(
        request,
        "console/admin/user_source.html",
        viewer,
        status=400 if problems else 200,
        notices=NOTICES,
        source=source,
        people=people,
        public_url=_public_url(request),
        offered=OFFERED,
        typed=typed or _form_of(source),
        problems=problems or {},
    )


def _with_order_problem(
    problems: dict[str, list[str]], typed: dict[str, str]
) -> dict[str, list[str]]:
    if _order(typed["display_order"]) is None:
        return {**problems, "display_order": [ORDER_NOT_A_NUMBER]}
    return problems


@router.get(LIST)
async def user_sources_page(request: Request, viewer: AdminViewer) -> Response:
    return await _page(request, viewer)


@router.post(LIST)
async def add_user_source(request: Request, viewer: AdminViewer, form: CheckedForm) -> Response:
    typed = _typed(form)
    typed["make_public"] = ""
    saml = typed["protocol"] == "saml"
    typed["protocol"] = "saml" if saml else "oidc"
    order = _order(typed["display_order"])
    build = _saml_settings if saml else _settings
    settings = build(typed, order if order is not None else 0)
    kind = SourceKind.SAML if saml else SourceKind.OIDC
    typed["client_secret"] = ""  # never shown back
    try:
        if order is None:
            # Checked by the service too, so that every other field's problem shows at once.
            await call(services(request).user_sources.check, settings)
            problems: dict[str, list[str]] = {}
        else:
            await call(services(request).user_sources.create, settings, kind=kind, actor=viewer.id)
            return back_to(LIST, done="added_saml" if saml else "added")
    except InvalidInput as error:
        problems = field_problems(error, FIELDS)
        if saml:
            problems = _saml_problems(problems)
    return await _page(request, viewer, typed=typed, problems=_with_order_problem(problems, typed))


@router.get(LIST + "/{number}")
async def user_source_page(request: Request, viewer: AdminViewer, number: str) -> Response:
    source = await call(services(request).user_sources.get, resource_id(number))
    return await _source_page(request, viewer, source)


@router.post(LIST + "/{number}")
async def change_user_source(
    request: Request, viewer: AdminViewer, form: CheckedForm, number: str
) -> Response:
    source_id = resource_id(number)
    typed = _typed(form)
    order = _order(typed["display_order"])
    changes = _settings(typed, order if order is not None else 0)
    current = await call(services(request).user_sources.get, source_id)
    if current.kind is SourceKind.SAML:
        # A SAML source's form has no OpenID fields: its IdP comes from its metadata (ADR 0049),
        # replaced only when a new document is pasted (then no longer the one at a URL).
        metadata = typed["idp_metadata"].strip() or None
        changes = replace(
            changes,
            issuer=None,
            client_id=None,
            client_secret=None,
            idp_metadata=metadata,
            idp_metadata_url="" if metadata else None,
        )
    typed["client_secret"] = ""  # never shown back
    try:
        if order is None:
            await call(services(request).user_sources.check, changes)
            problems: dict[str, list[str]] = {}
        else:
            await call(services(request).user_sources.update, source_id, changes, actor=viewer.id)
            return back_to(f"{LIST}/{source_id}", done="changed")
    except InvalidInput as error:
        problems = field_problems(error, FIELDS)
    source = await call(services(request).user_sources.get, source_id)
    return await _source_page(
        request, viewer, source, typed=typed, problems=_with_order_problem(problems, typed)
    )


async def _confirm(request: Request, viewer: Person, number: str, action: str) -> Response:
    source = await call(services(request).user_sources.get, resource_id(number))
    people = await call(services(request).user_sources.linked_people, source.id)
    return render_admin(
        request,
        "console/admin/user_source_confirm.html",
        viewer,
        source=source,
        people=people,
        action=action,
    )


@router.get(LIST + "/{number}/disable")
async def confirm_disable(request: Request, viewer: AdminViewer, number: str) -> Response:
    return await _confirm(request, viewer, number, "disable")


@router.get(LIST + "/{number}/delete")
async def confirm_delete(request: Request, viewer: AdminViewer, number: str) -> Response:
    return await _confirm(request, viewer, number, "delete")


async def _switch(request: Request, viewer: Person, number: str, enabled: bool) -> Response:
    source_id = resource_id(number)
    await call(
        services(request).user_sources.update,
        source_id,
        SourceSettings(is_enabled=enabled),
        actor=viewer.id,
    )
    return back_to(f"{LIST}/{source_id}", done="enabled" if enabled else "disabled")


@router.post(LIST + "/{number}/disable")
async def disable_user_source(
    request: Request, viewer: AdminViewer, form: CheckedForm, number: str
) -> Response:
    return await _switch(request, viewer, number, False)


@router.post(LIST + "/{number}/enable")
async def enable_user_source(
    request: Request, viewer: AdminViewer, form: CheckedForm, number: str
) -> Response:
    return await _switch(request, viewer, number, True)


@router.post(LIST + "/{number}/delete")
async def delete_user_source(
    request: Request, viewer: AdminViewer, form: CheckedForm, number: str
) -> Response:
    await call(services(request).user_sources.delete, resource_id(number), actor=viewer.id)
    return back_to(LIST, done="deleted")
