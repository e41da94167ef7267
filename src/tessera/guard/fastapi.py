"""FastAPI: the caller as a dependency, endpoint tags declared where the endpoint is.

::

    guard = Guard("https://auth.example.com", stream_key=...)
    install(app, guard)

    Closer = Annotated[Identity, Depends(require("tickets.tickets.delete"))]

    @app.delete("/tickets/{ticket_id}")
    async def close(ticket_id: int, who: Closer): ...

    @app.get("/reports")
    async def reports(who: Annotated[Identity, Security(caller, scopes=["session"])]): ...

``require(*tags)`` checks the request with Tessera (through ``TesseraMiddleware`` when it is
installed, else itself) and hands the endpoint the ``Identity``. Tessera decides with its
route table: the tags named here are what ``route_table(app)`` writes into that table
(``tessera serve --routes``), so the code is the one place where an endpoint's tags are
written. ``Security(caller, scopes=[...])``: OAuth scopes, checked here against the token's
(``X-Tessera-Scopes``) as Tessera reads scopes, tag patterns (``tessera.guard.scopes``: a token
granted ``tickets.*`` holds ``tickets.tickets.list``); a missing one is RFC 6750's 403
``insufficient_scope``. API keys carry
no scopes; their endpoint tags limit them instead (Tessera's rule: tags limit keys, scopes
limit tokens), so a scope requirement does not refuse a key that the route's tags allowed.

A refusal is answered as Tessera answered it (``install`` adds the exception handler).
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, SecurityScopes
from starlette.responses import Response

from tessera.guard.answers import Identity, Refusal, envelope
from tessera.guard.asgi import GuardLifespan, attach, identity_of
from tessera.guard.client import Guard
from tessera.guard.scopes import missing

#: Shown in the OpenAPI description: how a caller presents its credential.
credential_scheme = APIKeyHeader(
    name="Authorization",
    scheme_name="Tessera",
    description="`key ID:CODE`, `token ID:CODE` or `Bearer …`, as Tessera issued it.",
    auto_error=False,
)
STATE_KEY = "tessera_guard"


class Refused(Exception):
    """Raised by the dependencies; ``install``'s handler answers it as Tessera answered."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.code)
        self.refusal = refusal


def install(app: FastAPI, guard: Guard) -> None:
    """Let the dependencies find ``guard`` and answer its refusals; start its stream."""
    setattr(app.state, STATE_KEY, guard)
    app.add_middleware(GuardLifespan, guard=guard)
    guard.start()

    async def answer(request: Request, error: Exception) -> Response:
        if not isinstance(error, Refused):  # registered for this class only
            raise error
        refusal = error.refusal
        response = Response(refusal.body, status_code=refusal.status)
        for name, value in refusal.headers:
            response.headers.append(name, value)
        return response

    app.add_exception_handler(Refused, answer)


async def _identity(request: Request) -> Identity:
    found = identity_of(request.scope)
    if found is not None:
        return found
    guard: Guard | None = getattr(request.app.state, STATE_KEY, None)
    if guard is None:
        raise RuntimeError("tessera.guard.fastapi.install(app, guard) was not called")
    raw = request.scope.get("raw_path") or request.url.path.encode()
    path = raw.decode("latin-1").partition("?")[0]
    answer = await guard.check_async(request.method, path, request.scope["headers"])
    if isinstance(answer, Refusal):
        raise Refused(answer)
    attach(request.scope, answer)
    return answer


class _Requirement:
    """The dependency ``require`` returns; its tags are read back by ``route_table``."""

    def __init__(self, tags: tuple[str, ...]) -> None:
        self.tags = tags

    async def __call__(
        self,
        request: Request,
        _credential: Annotated[str | None, Depends(credential_scheme)] = None,
    ) -> Identity:
        return await _identity(request)


def require(*tags: str) -> Callable[..., Awaitable[Identity]]:
    """A dependency: the request allowed by Tessera, for an endpoint needing these tags."""
    return _Requirement(tags)


async def caller(
    request: Request,
    security_scopes: SecurityScopes,
    _credential: Annotated[str | None, Depends(credential_scheme)] = None,
) -> Identity:
    """For ``Security(caller, scopes=[...])``: the caller, holding every scope named."""
    identity = await _identity(request)
    if identity.auth_method == "api_key":
        return identity
    if missing(identity.scopes, security_scopes.scopes):
        message = "The access token does not have the scope this request needs."
        challenge = f'Bearer error="insufficient_scope", scope="{security_scopes.scope_str}"'
        raise Refused(
            Refusal(
                status=403,
                code="insufficient_scope",
                message=message,
                body=envelope(403, "insufficient_scope", message),
                headers=(("content-type", "application/json"), ("www-authenticate", challenge)),
            )
        )
    return identity


def route_table(app: FastAPI, *, default: str = "refuse") -> str:
    """Tessera's route table (TOML) for the endpoints that ``require`` tags, in route order."""
    lines = [
        f"# Made by tessera.guard.fastapi.route_table from {app.title!r}: edit the code instead.",
        f'default = "{default}"',
    ]
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        tags = _required_tags(route.dependant)
        if not tags:
            continue
        methods = sorted(route.methods - {"HEAD"}) if route.methods else ["*"]
        method = f'"{methods[0]}"' if len(methods) == 1 else str(methods).replace("'", '"')
        lines += [
            "",
            "[[route]]",
            f"method = {method}",
            f'path = "{route.path}"',
            "tags = [" + ", ".join(f'"{tag}"' for tag in tags) + "]",
        ]
    return "\n".join(lines) + "\n"


def _required_tags(dependant: Any) -> list[str]:
    found: list[str] = []
    for sub in dependant.dependencies:
        if isinstance(sub.call, _Requirement):
            found += [tag for tag in sub.call.tags if tag not in found]
        found += [tag for tag in _required_tags(sub) if tag not in found]
    return found
