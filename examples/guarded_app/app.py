"""A small tickets API guarded by Tessera inside its own process (``tessera.guard``, no proxy).

Every endpoint names the endpoint tag it needs with ``require``; ``routes.toml`` beside this
file is the route table Tessera enforces, written from these declarations
(``python -m examples.guarded_app.app routes``, checked by the tests). Run it from the
repository's root, with Tessera serving that table:

    tessera serve --routes examples/guarded_app/routes.toml   # TESSERA_AUTHZ_MAX_AGE_SECONDS=10
    TESSERA_URL=http://127.0.0.1:8000 TESSERA_GUARD_KEY=<ID:CODE of a key tagged
    authz.changes.get> .venv/bin/uvicorn --factory examples.guarded_app.app:from_environment \\
        --port 8001
"""

import os
import sys
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from pydantic import BaseModel, Field

from tessera.guard import Guard, Identity
from tessera.guard.fastapi import install, require, route_table

Lister = Annotated[Identity, Depends(require("tickets.tickets.list"))]
Viewer = Annotated[Identity, Depends(require("tickets.tickets.get"))]
Opener = Annotated[Identity, Depends(require("tickets.tickets.post"))]
Closer = Annotated[Identity, Depends(require("tickets.tickets.delete"))]


class NewTicket(BaseModel):
    subject: str = Field(min_length=1, max_length=200)


def create_app(guard: Guard) -> FastAPI:
    app = FastAPI(title="Guarded tickets (a Tessera example)")
    install(app, guard)
    tickets: dict[int, dict[str, Any]] = {}

    def caller(who: Identity) -> dict[str, Any]:
        return {"person_id": who.person_id, "email": who.email, "credential": who.credential}

    @app.get("/tickets")
    async def list_tickets(who: Lister) -> dict[str, Any]:
        return {"data": list(tickets.values()), "caller": caller(who)}

    @app.get("/tickets/{ticket_id}")
    async def get_ticket(ticket_id: int, who: Viewer) -> dict[str, Any]:
        return {"data": tickets.get(ticket_id), "caller": caller(who)}

    @app.post("/tickets", status_code=201)
    async def open_ticket(new: NewTicket, who: Opener) -> dict[str, Any]:
        ticket_id = len(tickets) + 1
        ticket = {"id": ticket_id, "subject": new.subject, "by": who.person_id}
        tickets[ticket_id] = ticket
        return {"data": ticket, "caller": caller(who)}

    @app.delete("/tickets/{ticket_id}")
    async def close_ticket(ticket_id: int, who: Closer) -> dict[str, Any]:
        return {"data": tickets.pop(ticket_id, None), "caller": caller(who)}

    return app


def from_environment() -> FastAPI:
    """The app, guarded by the Tessera named in ``TESSERA_URL`` (``uvicorn --factory``)."""
    guard = Guard(os.environ["TESSERA_URL"], stream_key=os.environ.get("TESSERA_GUARD_KEY"))
    return create_app(guard)


if __name__ == "__main__" and sys.argv[1:] == ["routes"]:
    print(route_table(create_app(Guard("http://127.0.0.1:9"))), end="")
