"""A small helpdesk API — tickets: list, view, open, close — guarded by Tessera in two ways.

- **Behind a proxy** (``create_app()``): nginx, Traefik, Caddy or Envoy asks Tessera about
  every request and passes on only the allowed ones, with the caller in ``X-Tessera-*``
  headers; the API reads them and writes no auth code. The proxies' configurations are in
  ``examples/guard/`` (docs/guard.md, "Proxies"). The API must be reachable only through the
  proxy: it believes the headers.
- **In its own process** (``create_app(guard)``): ``tessera.guard`` asks Tessera itself, with a
  cache that Tessera's revocation stream keeps current; no proxy.

Either way each endpoint names the endpoint tag it needs, and ``routes.toml`` beside this file
is the route table Tessera enforces, written from these declarations
(``python -m examples.helpdesk.app routes``; a test checks they agree). Run from the
repository's root, with Tessera serving that table
(``tessera serve --routes examples/helpdesk/routes.toml``):

    # behind a proxy: the API on 127.0.0.1:8001, the proxy in front (examples/guard/)
    .venv/bin/uvicorn --factory examples.helpdesk.app:behind_proxy --port 8001

    # in process: TESSERA_AUTHZ_MAX_AGE_SECONDS=10 on Tessera, and a key tagged authz.changes.get
    TESSERA_URL=http://127.0.0.1:8000 TESSERA_GUARD_KEY=<ID:CODE> \\
        .venv/bin/uvicorn --factory examples.helpdesk.app:in_process --port 8001
"""

import os
import sys
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel, Field

from tessera.guard import Guard, Identity
from tessera.guard.answers import identity_from_headers
from tessera.guard.fastapi import install, require, route_table

#: The endpoint tags of this API, as Deskpro names its own: general to specific.
LIST, VIEW, OPEN, CLOSE = (
    "tickets.tickets.list",
    "tickets.tickets.get",
    "tickets.tickets.post",
    "tickets.tickets.delete",
)


class NewTicket(BaseModel):
    subject: str = Field(min_length=1, max_length=200)


def from_proxy(request: Request) -> Identity:
    """The caller the proxy vouched for; none means the proxy is not in front (a fault)."""
    try:
        return identity_from_headers(dict(request.headers.items()))
    except (KeyError, ValueError):
        raise HTTPException(
            status_code=401, detail="No caller: this API must be reached through its proxy."
        ) from None


def create_app(guard: Guard | None = None) -> FastAPI:
    """The API: behind a proxy without ``guard``, checking each request itself with one."""
    app = FastAPI(title="Helpdesk (a Tessera example)")
    if guard is not None:
        install(app, guard)

    def caller_with(tag: str) -> Callable[..., Any]:
        return require(tag) if guard is not None else from_proxy

    tickets: dict[int, dict[str, Any]] = {}
    numbers = iter(range(1, sys.maxsize))

    def caller(who: Identity) -> dict[str, Any]:
        return {
            "person_id": who.person_id,
            "email": who.email,
            "name": who.name,
            "auth_method": who.auth_method,
            "credential": who.credential,
        }

    @app.get("/tickets")
    async def list_tickets(
        who: Annotated[Identity, Depends(caller_with(LIST))],
    ) -> dict[str, Any]:
        return {"data": list(tickets.values()), "caller": caller(who)}

    @app.get("/tickets/{ticket_id}")
    async def get_ticket(
        ticket_id: int, who: Annotated[Identity, Depends(caller_with(VIEW))]
    ) -> dict[str, Any]:
        if ticket_id not in tickets:
            raise HTTPException(status_code=404, detail="No such ticket.")
        return {"data": tickets[ticket_id], "caller": caller(who)}

    @app.post("/tickets", status_code=201)
    async def open_ticket(
        new: NewTicket, who: Annotated[Identity, Depends(caller_with(OPEN))]
    ) -> dict[str, Any]:
        number = next(numbers)
        ticket = {"id": number, "subject": new.subject, "by": who.person_id}
        tickets[number] = ticket
        return {"data": ticket, "caller": caller(who)}

    @app.delete("/tickets/{ticket_id}")
    async def close_ticket(
        ticket_id: int, who: Annotated[Identity, Depends(caller_with(CLOSE))]
    ) -> dict[str, Any]:
        return {"data": tickets.pop(ticket_id, None), "caller": caller(who)}

    return app


def behind_proxy() -> FastAPI:
    """The API for a proxy that asks Tessera (``uvicorn --factory``)."""
    return create_app()


def in_process() -> FastAPI:
    """The API guarded by the Tessera named in ``TESSERA_URL`` (``uvicorn --factory``)."""
    guard = Guard(os.environ["TESSERA_URL"], stream_key=os.environ.get("TESSERA_GUARD_KEY"))
    return create_app(guard)


if __name__ == "__main__" and sys.argv[1:] == ["routes"]:
    with Guard("http://127.0.0.1:9") as unused:
        print(route_table(create_app(unused)), end="")
