"""``/api/v2/audit_events``: admins read and export the audit trail (newest first)."""

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel

from tessera.core.audit import AuditEvent, AuditFilters
from tessera.core.errors import INVALID, FieldErrors, InvalidInput
from tessera.core.paging import MAX_PER_PAGE, PageRequest
from tessera.core.principals import Principal
from tessera.services.container import Services
from tessera.web.deps import MAX_ID, Access, PagingDep, ServicesDep
from tessera.web.envelope import Envelope, pagination_meta
from tessera.web.field_rules import Rule, checked

router = APIRouter(prefix="/api/v2", tags=["audit"])

#: An export is bounded: a larger trail is read page by page, or narrowed by dates.
MAX_EXPORT_ROWS = 100_000
CSV_COLUMNS = (
    "id",
    "occurred_at",
    "kind",
    "actor_person_id",
    "subject_person_id",
    "credential_kind",
    "credential_id",
    "client_address",
    "detail",
)


class AuditEventOut(BaseModel):
    id: int
    occurred_at: datetime
    kind: str
    actor_person_id: int | None
    subject_person_id: int | None
    credential_kind: str | None
    credential_id: int | None
    client_address: str | None
    detail: dict[str, Any]

    @classmethod
    def of(cls, event: AuditEvent) -> Self:
        return cls(
            id=event.id,
            occurred_at=event.occurred_at,
            kind=event.kind,
            actor_person_id=event.actor_person_id,
            subject_person_id=event.subject_person_id,
            credential_kind=event.credential_kind,
            credential_id=event.credential_id,
            client_address=event.client_address,
            detail=dict(event.detail),
        )


def _moment(problems: FieldErrors, name: str, value: str | None) -> datetime | None:
    """An ISO 8601 date or datetime; one without a zone is taken as UTC."""
    if value is None or value == "":
        return None
    try:
        moment = datetime.fromisoformat(value)
        # In UTC here, so that a moment out of range there (year 1 at +14:00) is refused as
        # input rather than overflowing in the database driver.
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        problems.add((name,), INVALID)
        return None


def _moment_rule(name: str) -> Rule:
    return lambda problems, value: _moment(problems, name, value)


def audit_filters(
    person_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    kind: Annotated[str | None, Query(max_length=64)] = None,
    # Checked while the query is read too, so that every bad parameter is reported at once.
    since: Annotated[
        str | None,
        Query(max_length=64, examples=["2026-11-01T00:00:00Z"]),
        checked(_moment_rule("since")),
    ] = None,
    until: Annotated[str | None, Query(max_length=64), checked(_moment_rule("until"))] = None,
) -> AuditFilters:
    """The filters (also called directly by the console's audit page).

    Raises:
        InvalidInput: ``since`` or ``until`` is not a date (both reported).
    """
    problems = FieldErrors()
    since_at, until_at = _moment(problems, "since", since), _moment(problems, "until", until)
    if problems:
        raise InvalidInput(problems)
    return AuditFilters(person_id=person_id, kind=kind or None, since=since_at, until=until_at)


FiltersDep = Annotated[AuditFilters, Depends(audit_filters)]


@router.get("/audit_events", summary="List audit events, newest first")
def list_events(
    principal: Annotated[Principal, Depends(Access("audit.audit_events.list", admin=True))],
    services: ServicesDep,
    filters: FiltersDep,
    page: PagingDep,
    format: Annotated[Literal["json"] | None, Query()] = None,
) -> Envelope[list[AuditEventOut]]:
    listing = services.audit.list(filters, page)
    return Envelope(
        data=[AuditEventOut.of(event) for event in listing.items], meta=pagination_meta(listing)
    )


@router.get(
    "/audit_events.csv",
    summary="Export audit events as CSV, newest first",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def export_events(
    principal: Annotated[Principal, Depends(Access("audit.audit_events.export", admin=True))],
    services: ServicesDep,
    filters: FiltersDep,
) -> Response:
    return Response(
        content=events_csv(services, filters),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit_events.csv"'},
    )


@router.get(
    "/audit_events.json",
    summary="Export audit events as one JSON document, newest first",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}}},
)
def export_events_json(
    principal: Annotated[Principal, Depends(Access("audit.audit_events.export", admin=True))],
    services: ServicesDep,
    filters: FiltersDep,
) -> Response:
    return Response(
        content=events_json(services, filters),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="audit_events.json"'},
    )


def _all_events(services: Services, filters: AuditFilters) -> Iterator[dict[str, Any]]:
    """Every matching event (up to ``MAX_EXPORT_ROWS``) as JSON values, page by page."""
    number, written = 1, 0
    while written < MAX_EXPORT_ROWS:
        listing = services.audit.list(filters, PageRequest(number, MAX_PER_PAGE))
        for event in listing.items:
            yield AuditEventOut.of(event).model_dump(mode="json")
        written += len(listing.items)
        if number >= listing.total_pages:
            break
        number += 1


def events_csv(services: Services, filters: AuditFilters) -> str:
    """Every matching event, with a header row; ``detail`` as a JSON object in one cell."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in _all_events(services, filters):
        row["detail"] = json.dumps(row["detail"], sort_keys=True)
        writer.writerow(["" if row[c] is None else row[c] for c in CSV_COLUMNS])
    return out.getvalue()


def events_json(services: Services, filters: AuditFilters) -> str:
    """Every matching event: ``{"data": [...]}``, the list endpoint's shape without pages."""
    return json.dumps({"data": list(_all_events(services, filters))}, separators=(",", ":"))
