"""The example MCP server's files as docs/mcp.md uses them: its route table, its settings, and
what it answers while Tessera cannot be reached."""

import secrets

import httpx
import pytest
from examples.mcp_server import build_server

from tessera.core.routes import parse_route_table
from tests.external_tools import ROOT
from tests.live import loopback_socket, serving

ROUTES = ROOT / "examples" / "mcp_routes.toml"


def test_the_table_names_the_mcp_server_and_routes_its_endpoint() -> None:
    table = parse_route_table(ROUTES.read_text(), origin=str(ROUTES))

    assert table.audience.resource == "http://127.0.0.1:8001/mcp"
    assert table.audience.accept_unbound is False
    for method in ("POST", "GET", "DELETE"):
        route = table.match(method, "/mcp")
        assert route is not None, method
        assert route.tags == ()
    assert table.match("POST", "/other") is None


def test_the_example_server_builds_for_that_resource() -> None:
    # The documented command line's values: the app is made without reaching Tessera.
    app = build_server("http://127.0.0.1:8000", "http://127.0.0.1:8001/mcp")

    assert app.guard.resource == "http://127.0.0.1:8001/mcp"
    assert app.guard.metadata_path == "/.well-known/oauth-protected-resource/mcp"


def test_the_example_server_does_not_answer_401_while_tessera_is_away(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A 401 would tell the client to throw its token away: the verifier raises instead."""
    unused, tessera = loopback_socket()  # bound, never listening: connections are refused
    try:
        with serving(build_server(tessera, "http://127.0.0.1:8001/mcp")) as url:
            answer = httpx.post(
                f"{url}/mcp",
                json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                headers={"Authorization": f"Bearer 1:{secrets.token_urlsafe(24)}"},
                timeout=30,
            )
    finally:
        unused.close()

    assert answer.status_code == 500, answer.text
    assert "TesseraUnavailableError" in caplog.text
