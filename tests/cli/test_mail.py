"""``tessera mail test``: the operator checks the SMTP settings against a real SMTP server."""

import json

from tests.cli.conftest import Cli
from tests.mail_server import closed_port, smtp_server


def smtp_environment(port: int) -> dict[str, str | None]:
    return {
        "TESSERA_SMTP_HOST": "127.0.0.1",
        "TESSERA_SMTP_PORT": str(port),
        "TESSERA_SMTP_SECURITY": "none",
        "TESSERA_SMTP_FROM": "helpdesk@example.test",
    }


def test_a_test_mail_reaches_the_server(cli: Cli) -> None:
    with smtp_server() as (inbox, port):
        result = cli("mail", "test", "--to", "Operator@Example.test", env=smtp_environment(port))

        [mail] = inbox.wait_for(1)
    assert result.exit_code == 0, result.output
    assert f"through 127.0.0.1:{port} (none)" in result.stdout
    assert mail["To"] == "operator@example.test"
    assert mail["From"] == "helpdesk@example.test"
    assert mail["Subject"] == "Test mail from Tessera"


def test_a_server_that_is_down_is_reported_with_its_error(cli: Cli) -> None:
    result = cli(
        "mail", "test", "--to", "ops@example.test", "--json", env=smtp_environment(closed_port())
    )

    assert result.exit_code == 1
    failure = json.loads(result.stdout)
    assert failure["code"] == "mail_not_sent"
    assert "ConnectionRefusedError" in failure["message"]


def test_without_settings_it_says_what_is_missing(cli: Cli) -> None:
    failure = cli.json("mail", "test", "--to", "ops@example.test", exit_code=1)

    assert failure["code"] == "mail_not_configured"
    assert "smtp_host" in failure["errors"]["fields"]


def test_a_malformed_address_is_refused(cli: Cli) -> None:
    failure = cli.json("mail", "test", "--to", "not an address", exit_code=2)

    assert failure["errors"]["fields"]["to"]["errors"][0]["code"] == "invalid_email"
