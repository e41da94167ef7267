"""``tessera clients initial-tokens``: made once and shown once, listed without values, revoked."""

import re

from tessera.services.client_registration import usable_initial_token
from tessera.services.container import Services
from tests.cli.conftest import Cli
from tests.clock import ManualClock
from tests.secrets_seen import remember

TOKEN_LINE = re.compile(r"^Token: (TSRQ[23456789ABCDGHJKMNPQRSTWXYZ]{47})$", re.MULTILINE)


def test_a_token_is_printed_once_works_and_is_revoked(
    cli: Cli, services: Services, clock: ManualClock
) -> None:
    made = cli("clients", "initial-tokens", "create", "--note", "MCP tools", "--single-use")

    assert made.exit_code == 0, made.output
    (token,) = TOKEN_LINE.findall(made.stdout)
    remember(token)
    registration = services.client_registration
    with registration._database.read() as session:
        found = usable_initial_token(session, registration._hasher, token, clock)
    assert found is not None
    assert found.single_use

    listed = cli("clients", "initial-tokens", "list")
    assert listed.exit_code == 0, listed.output
    assert "MCP tools" in listed.stdout
    assert "usable" in listed.stdout
    assert token not in listed.stdout

    revoked = cli.json("clients", "initial-tokens", "revoke", str(found.id))
    assert revoked["revoked_at"] is not None
    with registration._database.read() as session:
        assert usable_initial_token(session, registration._hasher, token, clock) is None
    assert "revoked" in cli("clients", "initial-tokens", "list").stdout


def test_revoking_an_unknown_token_says_so(cli: Cli, services: Services) -> None:
    result = cli("clients", "initial-tokens", "revoke", "987654")

    assert result.exit_code != 0
    assert "no initial access token has id 987654" in result.output
