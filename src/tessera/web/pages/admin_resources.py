"""``/console/resources``: admins register the APIs tokens may be bound to (RFC 8707).

One page: the registered resources (and Tessera's own API, always one), a form to register
another (its URI, a name, optionally the apps that may ask for it), and a remove button per
resource. Changes are audited by the service (ADR 0043).
"""

from fastapi import APIRouter, Request
from starlette.responses import Response

from tessera.core.errors import InvalidInput
from tessera.core.resources import protected_resource_metadata_url
from tessera.web.pages.admin_kit import call, field_problems, render_admin, resource_id, services
from tessera.web.pages.console import AdminViewer, CheckedForm, back_to, field

router = APIRouter(include_in_schema=False)

LIST = "/console/resources"
FIELDS = ("uri", "name", "clients")
NOTICES = {
    "added": "The resource is registered: apps may ask for tokens bound to it.",
    "deleted": "The resource was removed: no new token names it, and refreshes for it fail.",
}
BLANK_FORM = {"uri": "", "name": "", "clients": ""}


async def _page(
    request: Request,
    viewer: AdminViewer,
    *,
    typed: dict[str, str] | None = None,
    problems: dict[str, list[str]] | None = None,
) -> Response:
    registry = services(request).resources
    resources = await call(registry.list)
    return render_admin(
        request,
        "console/admin/resources.html",
        viewer,
        status=400 if problems else 200,
        notices=NOTICES,
        resources=resources,
        metadata_url=protected_resource_metadata_url,
        own_uri=registry.own_uri,
        typed=typed or BLANK_FORM,
        problems=problems or {},
    )


@router.get(LIST)
async def resources_page(request: Request, viewer: AdminViewer) -> Response:
    return await _page(request, viewer)


@router.post(LIST)
async def add_resource(request: Request, viewer: AdminViewer, form: CheckedForm) -> Response:
    typed = {name: field(form, name) for name in FIELDS}
    clients = [value for value in typed["clients"].replace(",", " ").split() if value] or None
    try:
        await call(
            services(request).resources.create,
            typed["uri"],
            typed["name"],
            clients,
            actor=viewer.id,
        )
    except InvalidInput as error:
        return await _page(request, viewer, typed=typed, problems=field_problems(error, FIELDS))
    return back_to(LIST, done="added")


@router.post(LIST + "/{number}/delete")
async def delete_resource(
    request: Request, viewer: AdminViewer, form: CheckedForm, number: str
) -> Response:
    await call(services(request).resources.delete, resource_id(number), actor=viewer.id)
    return back_to(LIST, done="deleted")
