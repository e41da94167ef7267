"""``tessera user-sources``: connect, list, change and remove identity providers."""

import json
import secrets
from pathlib import Path

from tessera.bootstrap import Runtime
from tessera.core.audit import AuditFilters
from tessera.core.paging import PageRequest
from tests.cli.conftest import Cli
from tests.identity_providers.saml_idp import running_saml_idp

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


# -- SAML 2.0 sources (ADR 0049) ------------------------------------------------------------


def test_add_saml_fetches_the_metadata_and_says_what_to_give_the_idp(
    cli: Cli, runtime: Runtime
) -> None:
    with running_saml_idp({}) as idp:
        added = cli(
            "user-sources",
            "add-saml",
            "--title",
            "Staff SAML",
            "--idp-metadata-url",
            f"{idp.base_url}/metadata",
            "--email-attribute",
            "mail",
            "--create-unknown",
        )
        described = cli.json("user-sources", "list")[0]

    assert added.exit_code == 0, added.output
    source_id = described["id"]
    assert described["kind"] == "saml"
    assert described["issuer"] == idp.entity_id
    assert described["email_claim"] == "mail"
    assert described["sp_entity_id"].endswith(f"/login/sources/{source_id}/metadata")
    assert described["sp_entity_id"] == described["sp_metadata_url"]
    assert len(described["acs_urls"]) == 4
    for line in ("IdP entity id:", "SP entity id:", "ACS URL:", "NameID format:"):
        assert line in added.output
    assert f"{idp.base_url}/sso" in added.output


def test_refreshing_from_an_idp_that_is_down_fails_clearly_and_keeps_the_metadata(
    cli: Cli, runtime: Runtime
) -> None:
    with running_saml_idp({}) as idp:
        source_id = cli.json(
            "user-sources",
            "add-saml",
            "--title",
            "S",
            "--idp-metadata-url",
            idp.base_url + "/metadata",
        )["id"]
    before = runtime.services.user_sources.get(source_id)

    refreshed = cli("user-sources", "update", str(source_id), "--refresh-metadata")

    assert refreshed.exit_code != 0
    assert "could not be reached" in refreshed.output, refreshed.output
    after = runtime.services.user_sources.get(source_id)
    assert after.idp_metadata == before.idp_metadata
    assert after.updated_at == before.updated_at


def test_metadata_that_cannot_work_is_refused_with_the_reason(cli: Cli, tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "a">]><r>&a;</r>')
    not_saml = tmp_path / "other.xml"
    not_saml.write_text("<html/>")

    exploded = cli("user-sources", "add-saml", "--title", "S", "--idp-metadata-file", str(bomb))
    other = cli("user-sources", "add-saml", "--title", "S", "--idp-metadata-file", str(not_saml))

    assert exploded.exit_code != 0
    assert "DOCTYPE" in exploded.output, exploded.output
    assert other.exit_code != 0
    assert "no EntityDescriptor" in other.output, other.output


def test_config_check_says_when_a_saml_source_has_no_xmlsec1(cli: Cli) -> None:
    with running_saml_idp({}) as idp:
        cli.json(
            "user-sources",
            "add-saml",
            "--title",
            "S",
            "--idp-metadata-url",
            idp.base_url + "/metadata",
        )

    checked = cli("config", "check", env={"PATH": "/nonexistent"})
    with_it = cli("config", "check")

    assert "xmlsec1 is not installed" in checked.output, checked.output
    assert "xmlsec1" not in with_it.output
