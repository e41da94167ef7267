"""Pages of a list, as Deskpro's ``meta.pagination`` describes them."""

import math
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200


@dataclass(frozen=True, slots=True)
class PageRequest:
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    def __post_init__(self) -> None:
        if self.page < 1 or not 1 <= self.per_page <= MAX_PER_PAGE:
            raise ValueError("page starts at 1; per_page is between 1 and 200")

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    request: PageRequest

    @property
    def total_pages(self) -> int:
        return max(1, math.ceil(self.total / self.request.per_page))

    def pagination(self) -> dict[str, int]:
        """Deskpro's ``meta.pagination`` object."""
        return {
            "total": self.total,
            "count": len(self.items),
            "per_page": self.request.per_page,
            "current_page": self.request.page,
            "total_pages": self.total_pages,
        }
