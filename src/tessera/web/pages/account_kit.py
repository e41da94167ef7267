"""What the "My account" pages share: their sub-navigation, times as people read them."""

from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from starlette.responses import Response

from tessera.core.people import Person
from tessera.web.pages.console import refusal, render_console

#: The account's own pages: (path, label); the overview is the first.
ACCOUNT_PAGES = (
    ("/console/account", "Overview"),
    ("/console/account/tokens", "My tokens"),
    ("/console/account/apps", "Connected apps"),
    ("/console/account/device", "Connect a device"),
    ("/console/account/password", "Change password"),
    ("/console/account/sign-ins", "Sign-ins"),
)


def when(moment: datetime | None) -> str:
    """A time the same way on every page: "2026-11-29 12:30 UTC", or "never"."""
    if moment is None:
        return "never"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _shows(path: str, target: str) -> bool:
    # The overview is current on itself only; every other page on its sub-pages as well.
    return path == target or (target != ACCOUNT_PAGES[0][0] and path.startswith(target + "/"))


def render_account(request: Request, template: str, viewer: Person, **context: Any) -> Response:
    """A page of "My account": the console's layout with the account's sub-navigation."""
    path = request.url.path
    pages = [(target, label, _shows(path, target)) for target, label in ACCOUNT_PAGES]
    return render_console(request, template, viewer, account_pages=pages, when=when, **context)


def page_id(request: Request, value: str, missing: str) -> int:
    """An id from a page's path; anything that is not one is a page saying ``missing`` (404)."""
    if not (value.isascii() and value.isdigit()) or len(value) > 19 or int(value) < 1:
        raise refusal(request, missing, status=404)
    return int(value)
