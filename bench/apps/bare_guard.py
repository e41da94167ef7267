"""The ideal guard and the ideal API for bench/guard_http.py: plain Starlette, no check.

``/authz/…`` answers 200 with an empty body at once (a forward-auth service that allows
everything without looking); ``/api/v2/me`` answers bare_starlette's body; any other path a
small fixed JSON body (the API behind the proxy).
"""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

ME: dict[str, object] = {"data": {"person_id": 1, "auth_method": "none"}, "meta": {}, "linked": {}}
TICKETS: dict[str, object] = {"data": [], "meta": {}, "linked": {}}
ANY = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


async def allow(request: Request) -> Response:
    return Response(status_code=200)


async def me(request: Request) -> JSONResponse:
    return JSONResponse(ME)


async def tickets(request: Request) -> JSONResponse:
    return JSONResponse(TICKETS)


app = Starlette(
    routes=[
        Route("/authz/{rest:path}", allow, methods=ANY),
        Route("/api/v2/me", me, methods=["GET"]),
        Route("/{rest:path}", tickets, methods=ANY),
    ]
)
