"""``/console/people``: admins find, add, change, disable, re-password and delete people."""

from fastapi import APIRouter, Request
from starlette.responses import Response

from tessera.core.errors import InvalidInput
from tessera.core.people import Person
from tessera.services.people import NewPerson, PersonChanges
from tessera.web.pages.admin_kit import (
    call,
    field_problems,
    page_request,
    pager,
    render_admin,
    resource_id,
    services,
)
from tessera.web.pages.console import AdminViewer, CheckedForm, back_to, field

router = APIRouter(include_in_schema=False)

LIST = "/console/people"
#: What each role choice of the forms means.
ROLES = {"user": (False, False), "agent": (True, False), "admin": (True, True)}
ROLE_CHOICES = [
    ("agent", "Agent"),
    ("admin", "Admin (an agent who manages Tessera)"),
    ("user", "User (no console, no API keys)"),
]
ADD_FIELDS = ("name", "email", "role", "password")
EDIT_FIELDS = ("name", "emails", "role")
NOTICES = {
    "created": "The person was added.",
    "changed": "The changes were saved.",
    "disabled": "The person is disabled: their sessions, keys and tokens no longer work.",
    "enabled": "The person is enabled again.",
    "password": "The new password is set.",
    "deleted": "The person was deleted, with their tokens and keys.",
}


def role_of(person: Person) -> str:
    return "admin" if person.is_admin else "agent" if person.is_agent else "user"


def _chosen_role(text: str) -> tuple[bool, bool]:
    # An unknown choice (a forged form) is the least powerful one.
    return ROLES.get(text, ROLES["user"])


async def _list_page(
    request: Request,
    viewer: AdminViewer,
    *,
    typed: dict[str, str] | None = None,
    problems: dict[str, list[str]] | None = None,
) -> Response:
    search = request.query_params.get("q", "").strip()[:200]
    page = await call(
        services(request).people.list, page_request(request.query_params.get("page")), search
    )
    return render_admin(
        request,
        "console/admin/people.html",
        viewer,
        status=400 if problems else 200,
        notices=NOTICES,
        page=page,
        pages=pager(page, LIST, {"q": search}),
        search=search,
        typed=typed or {"name": "", "email": "", "role": "agent"},
        problems=problems or {},
        roles=ROLE_CHOICES,
        role_of=role_of,
    )


@router.get(LIST)
async def people_page(request: Request, viewer: AdminViewer) -> Response:
    return await _list_page(request, viewer)


@router.post(LIST)
async def add_person(request: Request, viewer: AdminViewer, form: CheckedForm) -> Response:
    typed = {name: field(form, name) for name in ("name", "email", "role")}
    is_agent, is_admin = _chosen_role(typed["role"])
    # A password is taken as typed (blanks may be part of it); empty means none.
    password = form.get("password")
    new = NewPerson(
        email=typed["email"],
        name=typed["name"],
        is_agent=is_agent,
        is_admin=is_admin,
        password=password if isinstance(password, str) and password else None,
    )
    try:
        person = await call(services(request).people.add, new, actor=viewer.id)
    except InvalidInput as error:
        return await _list_page(
            request, viewer, typed=typed, problems=field_problems(error, ADD_FIELDS)
        )
    return back_to(f"{LIST}/{person.id}", done="created")


def _person_page(
    request: Request,
    viewer: AdminViewer,
    person: Person,
    *,
    typed: dict[str, str] | None = None,
    problems: dict[str, list[str]] | None = None,
    password_problems: dict[str, list[str]] | None = None,
) -> Response:
    shown = typed or {
        "name": person.name,
        "emails": "\n".join(person.emails),
        "role": role_of(person),
    }
    return render_admin(
        request,
        "console/admin/person.html",
        viewer,
        status=400 if problems or password_problems else 200,
        notices=NOTICES,
        person=person,
        typed=shown,
        problems=problems or {},
        password_problems=password_problems or {},
        roles=ROLE_CHOICES,
        role_of=role_of,
        is_self=person.id == viewer.id,
    )


@router.get(LIST + "/{person_id}")
async def person_page(request: Request, viewer: AdminViewer, person_id: str) -> Response:
    person = await call(services(request).people.get, resource_id(person_id))
    return _person_page(request, viewer, person)


@router.post(LIST + "/{person_id}")
async def change_person(
    request: Request, viewer: AdminViewer, form: CheckedForm, person_id: str
) -> Response:
    number = resource_id(person_id)
    typed = {name: field(form, name) for name in EDIT_FIELDS}
    is_agent, is_admin = _chosen_role(typed["role"])
    changes = PersonChanges(
        name=typed["name"],
        emails=[line.strip() for line in typed["emails"].splitlines() if line.strip()],
        is_agent=is_agent,
        is_admin=is_admin,
    )
    try:
        await call(services(request).people.change, number, changes, actor=viewer.id)
    except InvalidInput as error:
        person = await call(services(request).people.get, number)
        problems = field_problems(error, EDIT_FIELDS)
        return _person_page(request, viewer, person, typed=typed, problems=problems)
    return back_to(f"{LIST}/{number}", done="changed")


async def _set_disabled(
    request: Request, viewer: AdminViewer, person_id: str, off: bool
) -> Response:
    number = resource_id(person_id)
    try:
        await call(services(request).people.set_disabled, number, off, actor=viewer.id)
    except InvalidInput as error:
        person = await call(services(request).people.get, number)
        return _person_page(request, viewer, person, problems=field_problems(error, ()))
    return back_to(f"{LIST}/{number}", done="disabled" if off else "enabled")


@router.post(LIST + "/{person_id}/disable")
async def disable_person(
    request: Request, viewer: AdminViewer, form: CheckedForm, person_id: str
) -> Response:
    return await _set_disabled(request, viewer, person_id, True)


@router.post(LIST + "/{person_id}/enable")
async def enable_person(
    request: Request, viewer: AdminViewer, form: CheckedForm, person_id: str
) -> Response:
    return await _set_disabled(request, viewer, person_id, False)


@router.post(LIST + "/{person_id}/password")
async def reset_password(
    request: Request, viewer: AdminViewer, form: CheckedForm, person_id: str
) -> Response:
    number = resource_id(person_id)
    password = form.get("new_password")
    # Empty is "required" (the service's words), never a silent removal of the password.
    typed = password if isinstance(password, str) else ""
    try:
        await call(services(request).people.set_password, number, typed, actor=viewer.id)
    except InvalidInput as error:
        person = await call(services(request).people.get, number)
        # The service names the field "password"; this form calls it "new_password".
        found = field_problems(error, ("password",))
        problems = {"new_password" if k == "password" else k: v for k, v in found.items()}
        return _person_page(request, viewer, person, password_problems=problems)
    return back_to(f"{LIST}/{number}", done="password")


@router.get(LIST + "/{person_id}/delete")
async def confirm_delete(request: Request, viewer: AdminViewer, person_id: str) -> Response:
    person = await call(services(request).people.get, resource_id(person_id))
    return render_admin(
        request,
        "console/admin/person_delete.html",
        viewer,
        person=person,
        is_self=person.id == viewer.id,
    )


@router.post(LIST + "/{person_id}/delete")
async def delete_person(
    request: Request, viewer: AdminViewer, form: CheckedForm, person_id: str
) -> Response:
    number = resource_id(person_id)
    try:
        await call(services(request).people.delete, number, actor=viewer.id)
    except InvalidInput as error:
        person = await call(services(request).people.get, number)
        return _person_page(request, viewer, person, problems=field_problems(error, ()))
    return back_to(LIST, done="deleted")
