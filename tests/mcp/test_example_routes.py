"""The example MCP server's route table (examples/mcp_routes.toml), as docs/mcp.md uses it."""

from examples.mcp_server import build_server

from tessera.core.routes import parse_route_table
from tests.external_tools import ROOT

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
