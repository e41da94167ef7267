"""Deskpro's success envelope: ``{"data": …, "meta": {}, "linked": {}}`` (shared/spec §1.1)."""

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from tessera.core.paging import Page

T = TypeVar("T")


class Envelope(BaseModel, Generic[T]):
    data: T
    meta: dict[str, Any] = Field(default_factory=dict)
    linked: dict[str, Any] = Field(default_factory=dict)


def pagination_meta(page: Page[Any]) -> dict[str, Any]:
    return {"pagination": page.pagination()}
