"""Small APIs guarded by ``tessera.guard`` inside their own process, served for real.

Each answers with what the guard told it about the caller, so that a test sees what the API saw.
"""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from fastapi import Depends, FastAPI, Request, Security

from tessera.guard import Guard, Identity
from tessera.guard.asgi import TesseraMiddleware
from tessera.guard.fastapi import caller, install, require
from tessera.guard.wsgi import ENVIRON_KEY, TesseraWSGIMiddleware, WSGIApp


def who(identity: Identity) -> dict[str, Any]:
    return {
        "person_id": identity.person_id,
        "auth_method": identity.auth_method,
        "credential": identity.credential,
        "email": identity.email,
        "name": identity.name,
        "client_id": identity.client_id,
        "scopes": list(identity.scopes),
    }


def asgi_app(guard: Guard) -> FastAPI:
    """Every request checked by the middleware; the endpoints read the identity it set."""
    app = FastAPI()
    app.add_middleware(TesseraMiddleware, guard=guard, exempt=["/health"])

    @app.get("/tickets")
    async def tickets(request: Request) -> dict[str, Any]:
        return who(request.state.tessera)

    @app.get("/tickets/{ticket_id}")
    async def ticket(request: Request, ticket_id: int) -> dict[str, Any]:
        return who(request.user)

    @app.delete("/tickets/{ticket_id}")
    async def close(request: Request, ticket_id: int) -> dict[str, Any]:
        return who(request.state.tessera)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def fastapi_app(guard: Guard) -> FastAPI:
    """No middleware: the dependencies check each request themselves."""
    app = FastAPI()
    install(app, guard)

    @app.get("/tickets")
    async def tickets(
        caller_: Annotated[Identity, Depends(require("tickets.tickets.list"))],
    ) -> dict[str, Any]:
        return who(caller_)

    @app.get("/tickets/{ticket_id}")
    async def ticket(
        ticket_id: int, caller_: Annotated[Identity, Security(caller)]
    ) -> dict[str, Any]:
        return who(caller_)

    @app.delete("/tickets/{ticket_id}")
    async def close(
        ticket_id: int,
        caller_: Annotated[Identity, Depends(require("tickets.tickets.delete"))],
    ) -> dict[str, Any]:
        return who(caller_)

    return app


def wsgi_app(guard: Guard) -> WSGIApp:

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = json.dumps(who(environ[ENVIRON_KEY])).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]

    return TesseraWSGIMiddleware(app, guard)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ThreadedServer(WSGIServer):
    """wsgiref's server, one thread per request (a test may hold a connection open)."""

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(target=self._handle, args=(request, client_address), daemon=True)
        thread.start()

    def _handle(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        finally:
            self.shutdown_request(request)


@contextmanager
def serving_wsgi(app: WSGIApp) -> Iterator[str]:
    server = make_server(
        "127.0.0.1", 0, app, server_class=_ThreadedServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, name="guarded-wsgi", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=30)
