"""``tessera resources``: the registry of protected resources from the command line."""

import json

from tessera.bootstrap import Runtime
from tessera.core.audit import AuditFilters
from tessera.core.paging import PageRequest
from tests.cli.conftest import Cli
from tests.factories import make_oauth_client

MCP = "https://mcp.example.test/mcp"


def test_add_list_update_delete_each_audited(cli: Cli, runtime: Runtime) -> None:
    client = make_oauth_client(runtime.services, name="MCP client")

    added = cli(
        "resources",
        "add",
        MCP,
        "--name",
        "MCP server",
        "--client",
        client.client.client_id,
        "--json",
    )
    listed = cli("resources", "list", "--json")
    resource_id = str(json.loads(added.stdout)["id"])
    updated = cli("resources", "update", resource_id, "--every-client", "--json")
    deleted = cli("resources", "delete", resource_id)

    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["client_ids"] == [client.client.id]
    assert json.loads(added.stdout)["metadata_url"] == (
        "https://mcp.example.test/.well-known/oauth-protected-resource/mcp"
    )
    assert [r["uri"] for r in json.loads(listed.stdout)["resources"]] == [MCP]
    assert json.loads(updated.stdout)["client_ids"] is None
    assert deleted.exit_code == 0, deleted.output
    assert runtime.services.resources.list() == []
    events = runtime.services.audit.list(AuditFilters(), PageRequest(1, 50))
    kinds = [event.kind for event in events.items]
    for kind in ("created", "changed", "deleted"):
        assert f"protected_resource.{kind}" in kinds


def test_a_bad_uri_or_an_unknown_client_is_refused_per_field(cli: Cli) -> None:
    answer = cli(
        "resources", "add", "http://mcp.example.test/mcp#x", "--name", "", "--client", "9_nope"
    )

    assert answer.exit_code != 0
    for field in ("uri", "name", "clients"):
        assert field in answer.output, answer.output
