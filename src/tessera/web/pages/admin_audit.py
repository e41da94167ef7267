"""``/console/audit``: the audit trail, filtered by person, kind and time; CSV and JSON export.

The filters are a GET form, so a filtered view is a link; the exports take the same query and
produce what ``/api/v2/audit_events.csv`` and ``.json`` produce (one function each).
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from tessera.core.audit import AuditEvent, AuditFilters, AuditKind
from tessera.core.errors import InvalidInput
from tessera.core.paging import Page
from tessera.core.people import Person
from tessera.services.container import Services
from tessera.web.api.audit import audit_filters, events_csv, events_json
from tessera.web.pages.admin_kit import (
    call,
    field_problems,
    find_person,
    page_request,
    pager,
    render_admin,
    services,
)
from tessera.web.pages.console import AdminViewer
from tessera.web.pages.rendering import PAGE_HEADERS

router = APIRouter(include_in_schema=False)

LIST = "/console/audit"
FILTERS = ("person", "kind", "since", "until")
KINDS = [("", "Any kind"), *((kind.value, kind.value) for kind in AuditKind)]


@dataclass(frozen=True, slots=True)
class EventRow:
    event: AuditEvent
    actor: Person | None
    subject: Person | None
    detail: str


def _typed(query: Mapping[str, str]) -> dict[str, str]:
    return {name: query.get(name, "").strip()[:320] for name in FILTERS}


def _filters(services: Services, typed: dict[str, str]) -> AuditFilters:
    """The form's filters as the API reads them; times without a zone are UTC."""
    person = find_person(services, typed["person"], "person") if typed["person"] else None
    return audit_filters(
        person_id=person.id if person else None,
        kind=typed["kind"] or None,
        since=typed["since"] or None,
        until=typed["until"] or None,
    )


def _listing(
    services: Services, typed: dict[str, str], page_text: str | None
) -> tuple[Page[AuditEvent], list[EventRow]]:
    page = services.audit.list(_filters(services, typed), page_request(page_text))
    ids = {i for e in page.items for i in (e.actor_person_id, e.subject_person_id) if i}
    people = services.people.get_many(ids)
    rows = [
        EventRow(
            event,
            people.get(event.actor_person_id) if event.actor_person_id else None,
            people.get(event.subject_person_id) if event.subject_person_id else None,
            _detail(event),
        )
        for event in page.items
    ]
    return page, rows


def _detail(event: AuditEvent) -> str:
    """``{"fields": ["name"], "is_admin": false}`` → ``fields: name; is_admin: false``."""
    parts = []
    for name, value in sorted(event.detail.items()):
        if isinstance(value, list):
            shown = ", ".join(value)
        else:
            shown = value if isinstance(value, str) else json.dumps(value)
        parts.append(f"{name}: {shown}")
    return "; ".join(parts)


@router.get(LIST)
async def audit_page(request: Request, viewer: AdminViewer) -> Response:
    typed = _typed(request.query_params)
    query = urlencode({k: v for k, v in typed.items() if v})
    context: dict[str, Any] = {"typed": typed, "kinds": KINDS, "export_query": query}
    try:
        page, rows = await call(
            _listing, services(request), typed, request.query_params.get("page")
        )
    except InvalidInput as error:
        problems = field_problems(error, FILTERS)
        return render_admin(
            request,
            "console/admin/audit.html",
            viewer,
            status=400,
            rows=[],
            pages=None,
            total=0,
            problems=problems,
            **context,
        )
    return render_admin(
        request,
        "console/admin/audit.html",
        viewer,
        rows=rows,
        pages=pager(page, LIST, typed),
        total=page.total,
        **context,
    )


async def _export(request: Request, make: str) -> Response:
    typed = _typed(request.query_params)
    try:
        filters = await call(_filters, services(request), typed)
    except InvalidInput as error:
        problems = field_problems(error, FILTERS)
        text = " ".join(s for found in problems.values() for s in found)
        return Response(text, status_code=400, media_type="text/plain", headers=PAGE_HEADERS)
    if make == "csv":
        body = await call(events_csv, services(request), filters)
        media = "text/csv; charset=utf-8"
    else:
        body = await call(events_json, services(request), filters)
        media = "application/json"
    disposition = f'attachment; filename="audit_events.{make}"'
    return Response(
        body, media_type=media, headers={**PAGE_HEADERS, "Content-Disposition": disposition}
    )


@router.get(LIST + "/export.csv")
async def export_csv(request: Request, viewer: AdminViewer) -> Response:
    return await _export(request, "csv")


@router.get(LIST + "/export.json")
async def export_json(request: Request, viewer: AdminViewer) -> Response:
    return await _export(request, "json")
