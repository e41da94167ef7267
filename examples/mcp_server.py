"""An MCP server guarded by Tessera: the ``mcp`` SDK's MCPServer, Tessera's tokens only.

Tessera is the authorization server; this server is an OAuth resource server (MCP's
authorization spec, 2025-06-18 and later), identified by its ``resource`` URI (RFC 8707):

- the SDK serves RFC 9728 protected-resource metadata at
  ``/.well-known/oauth-protected-resource/mcp`` naming that resource and Tessera as its
  authorization server, and answers 401 with ``Bearer resource_metadata="…"``;
- each bearer token is checked by ``tessera.guard`` (Tessera's ``/authz/ext-authz`` door, with
  the guard's cache and revocation stream): only OAuth tokens whose audience names this
  resource are let in (``Guard(resource=...)``, and the SDK's ``validate_token_resource`` again);
- one tool, ``whoami``: the person the token acts for, as Tessera vouched for them.

Run it (docs/mcp.md has the whole walk-through)::

    tessera resources add http://127.0.0.1:8001/mcp --name "Example MCP server"
    python -m examples.mcp_server --tessera http://127.0.0.1:8000 \\
        --resource http://127.0.0.1:8001/mcp --port 8001

Tessera's route table (``TESSERA_ROUTES_FILE``) must name the same resource and a route for
``/mcp`` (``examples/mcp_routes.toml``).
"""

import argparse
import os
from typing import Any
from urllib.parse import urlsplit

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer

from tessera.guard import Guard, Identity
from tessera.guard.asgi import GuardLifespan

#: The scope Tessera grants an MCP client that asks for nothing narrower: the person's rights.
SCOPE = "session"


class TesseraUnavailableError(RuntimeError):
    """Tessera could not be asked. Not a 401: that would tell the client its token is bad."""


class TesseraTokenVerifier:
    """The SDK's ``TokenVerifier``, answered by Tessera through ``tessera.guard``.

    The guard asks Tessera about the MCP endpoint (``method``, ``path``) with the bearer token,
    as a proxy would; Tessera's answer names the person, the OAuth app, the scope and the
    token's audience. A token whose audience is another resource (or none: a token for
    Tessera's own API) is refused by the guard before it gets here.
    """

    def __init__(self, guard: Guard, *, path: str, method: str = "POST") -> None:
        self.guard = guard
        self.path = path
        self.method = method

    async def verify_token(self, token: str) -> AccessToken | None:
        # Starlette decoded the header as latin-1, so the token encodes back unchanged.
        header = (b"authorization", b"Bearer " + token.encode("latin-1"))
        self.guard.start()  # the revocation stream, once; idempotent
        answer = await self.guard.check_async(self.method, self.path, [header])
        if not isinstance(answer, Identity):
            if answer.status >= 500:
                raise TesseraUnavailableError(answer.message)
            return None
        if answer.client_id is None:
            return None  # an API key or a Deskpro session token: not an OAuth client's token
        resource = self.guard.resource
        return AccessToken(
            token=token,
            client_id=answer.client_id,
            scopes=list(answer.scopes),
            resource=resource if resource in answer.audience else None,
            subject=str(answer.person_id),
            claims={
                "iss": self.guard.base_url,
                "email": answer.email,
                "name": answer.name,
                "aud": list(answer.audience),
            },
        )


def whoami() -> dict[str, Any]:
    """Who the MCP client acts for: the person Tessera signed in, and the app."""
    token = get_access_token()
    if token is None:  # the SDK lets no unauthenticated request reach a tool
        raise RuntimeError("no access token")
    claims = token.claims or {}
    return {
        "person_id": int(token.subject or 0),
        "name": claims.get("name"),
        "email": claims.get("email"),
        "client_id": token.client_id,
        "audience": claims.get("aud", []),
    }


def build_server(
    tessera_url: str, resource: str, *, stream_key: str | None = None
) -> GuardLifespan:
    """The MCP server's ASGI app: streamable HTTP at ``resource``'s path, guarded by Tessera.

    ``tessera_url``: Tessera's public URL (its issuer); ``resource``: this server's URI as
    clients reach it and name it in ``resource`` (``https://mcp.example.com/mcp``);
    ``stream_key``: an API key with the tag ``authz.changes.get``, so that a revoked token is
    refused at once (without it, an answer lives until its max-age).
    """
    path = urlsplit(resource).path or "/"
    guard = Guard(
        tessera_url,
        resource=resource,
        resource_name="Example MCP server",
        stream_key=stream_key,
    )

    server: MCPServer[None] = MCPServer(
        name="Tessera example",
        token_verifier=TesseraTokenVerifier(guard, path=path),
        # Validated from strings, with the settings' own URL rules: ``AnyHttpUrl("http://h")``
        # would add a "/" to a path-less issuer, and clients compare issuers as strings.
        auth=AuthSettings.model_validate(
            {
                "issuer_url": tessera_url,
                "resource_server_url": resource,
                "required_scopes": [SCOPE],
                "validate_token_resource": True,
            }
        ),
    )
    server.tool()(whoami)
    host = urlsplit(resource).hostname or "127.0.0.1"
    app = server.streamable_http_app(streamable_http_path=path, host=host)
    # The guard's pool and stream are closed when the server shuts down, on its event loop.
    return GuardLifespan(app, guard)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--tessera", required=True, help="Tessera's public URL (its issuer)")
    parser.add_argument("--resource", required=True, help="this server's URI, as clients call it")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    arguments = parser.parse_args()
    app = build_server(
        arguments.tessera,
        arguments.resource,
        stream_key=os.environ.get("TESSERA_GUARD_KEY"),
    )
    import uvicorn  # the server only when run: the tests serve the app themselves

    uvicorn.run(app, host=arguments.host, port=arguments.port)


if __name__ == "__main__":
    main()
