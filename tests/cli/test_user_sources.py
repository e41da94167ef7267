"""``tessera user-sources``: connect, list, change and remove identity providers."""

import json
import secrets

from tessera.bootstrap import Runtime
from tessera.core.audit import AuditFilters
from tessera.core.paging import PageRequest
from tests.cli.conftest import Cli

ISSUER = "https://login.example.test/realms/staff"


def test_add_list_update_delete_each_audited_and_the_secret_never_shown(
    cli: Cli, runtime: Runtime
) -> None:
    secret = secrets.token_urlsafe(24)

    added = cli(
        "user-sources",
        "add",
        "--title",
        "Staff login",
        "--issuer",
        ISSUER,
        "--client-id",
        "tessera",
        "--client-secret",
        "--groups-claim",
        "groups",
        "--agent-group",
        "support",
        "--admin-group",
        "it-admins",
        "--create-unknown",
        "--offered-to",
        "both",
        input=secret + "\n",
    )
    listed = cli("user-sources", "list", "--json")
    source_id = str(json.loads(listed.stdout)[0]["id"])
    updated = cli("user-sources", "update", source_id, "--disabled", "--order", "3", "--json")
    deleted = cli("user-sources", "delete", source_id)

    assert added.exit_code == 0, added.output
    assert secret not in added.output
    assert f"/login/sources/{source_id}/callback" in added.output
    assert json.loads(listed.stdout)[0]["has_client_secret"] is True
    assert json.loads(listed.stdout)[0]["admin_groups"] == ["it-admins"]
    assert json.loads(updated.stdout)["is_enabled"] is False
    assert json.loads(updated.stdout)["display_order"] == 3
    assert deleted.exit_code == 0, deleted.output
    assert runtime.services.user_sources.list() == []
    kinds = [e.kind for e in runtime.services.audit.list(AuditFilters(), PageRequest(1, 50)).items]
    for kind in ("created", "changed", "deleted"):
        assert f"user_source.{kind}" in kinds


def test_a_plain_http_issuer_and_a_missing_client_id_are_refused_per_field(cli: Cli) -> None:
    answer = cli("user-sources", "add", "--title", "X", "--issuer", "http://idp.example.test")

    assert answer.exit_code != 0
    assert "issuer" in answer.output, answer.output
    assert "client_id" in answer.output, answer.output


def test_an_unknown_source_is_a_clear_failure(cli: Cli) -> None:
    answer = cli("user-sources", "delete", "424242")

    assert answer.exit_code != 0
    assert "no user source has id 424242" in answer.output
