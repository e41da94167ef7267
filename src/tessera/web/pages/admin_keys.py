"""``/console/api-keys``: admins create, check, change, regenerate and revoke API keys.

A new or regenerated key's ``ID:CODE`` is shown once, by the page the POST redirects to
(``…/{id}/issued``, post-redirect-get through ``shown_once``): a reload shows that it was
shown and makes no second key. No URL or redirect carries the code; pages are ``no-store``.
The tag check runs ``ApiKeyService.check_tag``, the rule the server applies to requests: as a
form button here, and as you type through ``GET /api/v2/api_keys/tag_check`` (static/keys.js).
"""

from dataclasses import dataclass

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from tessera.core.errors import InvalidInput
from tessera.core.ids import PersonId
from tessera.core.people import Person
from tessera.core.records import ApiKeyInfo
from tessera.services.api_keys import ApiKeyChanges, IssuedApiKey, NewApiKey, TagCheck
from tessera.services.container import Services
from tessera.web.pages.admin_kit import (
    call,
    field_problems,
    find_person,
    page_request,
    pager,
    render_admin,
    resource_id,
    services,
)
from tessera.web.pages.console import AdminViewer, CheckedForm, back_to, field
from tessera.web.pages.shown_once import show_next, take_shown

router = APIRouter(include_in_schema=False)

LIST = "/console/api-keys"
CREATE_FIELDS = ("note", "kind", "agent", "admin_api", "tags", "check_tag")
EDIT_FIELDS = ("note", "agent", "admin_api", "tags")
NOTICES = {
    "changed": "The changes were saved.",
    "revoked": "The key is revoked: the next request that uses it is refused.",
}
BLANK_FORM = {"note": "", "kind": "normal", "agent": "", "admin_api": "", "tags": "*"}


@dataclass(frozen=True, slots=True)
class KeyRow:
    key: ApiKeyInfo
    #: The bound agent, or a superuser key's default agent.
    person: Person | None


def _key_rows(services: Services, keys: list[ApiKeyInfo]) -> list[KeyRow]:
    people = services.people.get_many(k.person_id for k in keys if k.person_id is not None)
    return [KeyRow(k, people.get(k.person_id) if k.person_id else None) for k in keys]


async def _keys_page(
    request: Request,
    viewer: AdminViewer,
    *,
    typed: dict[str, str] | None = None,
    problems: dict[str, list[str]] | None = None,
    answer: TagCheck | None = None,
    nothing_to_check: bool = False,
) -> Response:
    page = await call(
        services(request).api_keys.list, page_request(request.query_params.get("page"))
    )
    rows = await call(_key_rows, services(request), page.items)
    return render_admin(
        request,
        "console/admin/keys.html",
        viewer,
        status=400 if problems else 200,
        notices=NOTICES,
        rows=rows,
        pages=pager(page, LIST, {}),
        total=page.total,
        typed=typed or {**BLANK_FORM, "check_tag": ""},
        problems=problems or {},
        answer=answer,
        nothing_to_check=nothing_to_check,
    )


@router.get(LIST)
async def keys_page(request: Request, viewer: AdminViewer) -> Response:
    return await _keys_page(request, viewer)


def _typed(form: FormData, names: tuple[str, ...]) -> dict[str, str]:
    return {name: field(form, name) for name in names}


def _person_id(services: Services, typed: dict[str, str]) -> int | None:
    return find_person(services, typed["agent"], "agent").id if typed["agent"] else None


def _agent_field(error: InvalidInput) -> InvalidInput:
    """The service names the agent ``person_id``; these forms call it ``agent``."""
    fields = error.problems.fields
    if "person_id" in fields:
        fields["agent"] = fields.pop("person_id")
    return error


def _create(services: Services, typed: dict[str, str], actor: PersonId) -> IssuedApiKey:
    new = NewApiKey(
        note=typed["note"],
        person_id=_person_id(services, typed),
        is_superuser=typed["kind"] == "superuser",
        admin_api=typed["admin_api"] == "on",
        tags=typed["tags"],
    )
    try:
        return services.api_keys.create(new, actor=actor)
    except InvalidInput as error:
        raise _agent_field(error) from None


@router.post(LIST)
async def create_key(request: Request, viewer: AdminViewer, form: CheckedForm) -> Response:
    typed = _typed(form, CREATE_FIELDS)
    if field(form, "action") == "check":
        return await _check_tag(request, viewer, typed)
    try:
        issued = await call(_create, services(request), typed, viewer.id)
    except InvalidInput as error:
        problems = field_problems(error, CREATE_FIELDS)
        return await _keys_page(request, viewer, typed=typed, problems=problems)
    return await _show_issued(request, issued, created=True)


async def _check_tag(request: Request, viewer: AdminViewer, typed: dict[str, str]) -> Response:
    """The form's "Check" button: the page again, as typed, with the answer.

    It is the form's first button, so Enter in any field presses it: with no tag to check,
    the page comes back as typed (nothing created by accident), saying what the box is for.
    """
    if not typed["check_tag"]:
        return await _keys_page(request, viewer, typed=typed, nothing_to_check=True)
    try:
        answer = await call(services(request).api_keys.check_tag, typed["tags"], typed["check_tag"])
    except InvalidInput as error:
        problems = field_problems(error, CREATE_FIELDS)
        problems = {("check_tag" if k == "tag" else k): v for k, v in problems.items()}
        return await _keys_page(request, viewer, typed=typed, problems=problems)
    return await _keys_page(request, viewer, typed=typed, answer=answer)


def _subject(key_id: int) -> str:
    return f"api_key/{key_id}"


async def _show_issued(request: Request, issued: IssuedApiKey, *, created: bool) -> Response:
    values = {"key_string": issued.key_string, "created": "yes" if created else ""}
    page = f"{LIST}/{issued.key.id}/issued"
    return await show_next(request, _subject(issued.key.id), values, page)


@router.get(LIST + "/{key_id}/issued")
async def issued_page(request: Request, viewer: AdminViewer, key_id: str) -> Response:
    """The new code, the first time only; afterwards, that it was shown."""
    key = await call(services(request).api_keys.get, resource_id(key_id))
    shown = await take_shown(request, _subject(key.id))
    return render_admin(
        request,
        "console/admin/key_issued.html",
        viewer,
        key=key,
        key_string=shown["key_string"] if shown else None,
        created=bool(shown and shown["created"]),
        api_base=str(request.base_url).rstrip("/"),
    )


@router.get(LIST + "/{key_id}")
async def key_page(request: Request, viewer: AdminViewer, key_id: str) -> Response:
    key = await call(services(request).api_keys.get, resource_id(key_id))
    return await _key_page(request, viewer, key)


async def _key_page(
    request: Request,
    viewer: AdminViewer,
    key: ApiKeyInfo,
    *,
    typed: dict[str, str] | None = None,
    problems: dict[str, list[str]] | None = None,
) -> Response:
    (row,) = await call(_key_rows, services(request), [key])
    shown = typed or {
        "note": key.note,
        "agent": str(key.person_id or ""),
        "admin_api": "on" if key.admin_api else "",
        "tags": key.tags,
    }
    return render_admin(
        request,
        "console/admin/key.html",
        viewer,
        status=400 if problems else 200,
        notices=NOTICES,
        row=row,
        key=key,
        typed=shown,
        problems=problems or {},
    )


def _change(services: Services, key_id: int, typed: dict[str, str], actor: PersonId) -> ApiKeyInfo:
    person_id = _person_id(services, typed)
    changes = ApiKeyChanges(
        note=typed["note"],
        person_id=person_id,
        clear_person=person_id is None,
        admin_api=typed["admin_api"] == "on",
        tags=typed["tags"],
    )
    try:
        return services.api_keys.change(key_id, changes, actor=actor)
    except InvalidInput as error:
        raise _agent_field(error) from None


@router.post(LIST + "/{key_id}")
async def change_key(
    request: Request, viewer: AdminViewer, form: CheckedForm, key_id: str
) -> Response:
    number = resource_id(key_id)
    typed = _typed(form, EDIT_FIELDS)
    try:
        await call(_change, services(request), number, typed, viewer.id)
    except InvalidInput as error:
        key = await call(services(request).api_keys.get, number)
        problems = field_problems(error, EDIT_FIELDS)
        return await _key_page(request, viewer, key, typed=typed, problems=problems)
    return back_to(f"{LIST}/{number}", done="changed")


@router.post(LIST + "/{key_id}/regenerate")
async def regenerate_key(
    request: Request, viewer: AdminViewer, form: CheckedForm, key_id: str
) -> Response:
    number = resource_id(key_id)
    try:
        issued = await call(services(request).api_keys.regenerate, number, actor=viewer.id)
    except InvalidInput as error:
        key = await call(services(request).api_keys.get, number)
        return await _key_page(request, viewer, key, problems=field_problems(error, ()))
    return await _show_issued(request, issued, created=False)


@router.post(LIST + "/{key_id}/revoke")
async def revoke_key(
    request: Request, viewer: AdminViewer, form: CheckedForm, key_id: str
) -> Response:
    await call(services(request).api_keys.revoke, resource_id(key_id), actor=viewer.id)
    return back_to(LIST, done="revoked")
