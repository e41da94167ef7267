"""``tessera migrate``, ``serve`` and ``config check``: running and checking a deployment."""

import json
from datetime import timedelta
from pathlib import Path

import pytest

from tessera.cli import serve as serve_command
from tessera.cli.output import EXIT_CODES
from tessera.core.errors import WIRE_STATUS, ErrorKind
from tessera.core.paging import PageRequest
from tessera.services.container import Services
from tessera.store import schema
from tessera.store.database import make_engine
from tests.cli.conftest import Cli, cli_environment
from tests.clock import ManualClock
from tests.conftest import SECRET_KEY
from tests.factories import make_person, make_token


@pytest.fixture
def fresh_cli(tmp_path: Path) -> Cli:
    """The CLI on a SQLite file of this test's own, which does not exist yet."""
    return Cli(cli_environment(f"sqlite:///{tmp_path}/fresh.db"))


def test_migrate_from_nothing_then_again(fresh_cli: Cli, tmp_path: Path) -> None:
    first = fresh_cli("migrate")
    second = fresh_cli.json("migrate")

    engine = make_engine(f"sqlite:///{tmp_path}/fresh.db")
    head = schema.head_revision(engine)
    assert schema.is_current(engine)
    engine.dispose()
    assert first.exit_code == 0, first.output
    assert f"Migrated the database from revision (empty) to {head}." in first.stdout
    assert second == {"from_revision": head, "to_revision": head}


def test_migrate_leaves_a_current_database_as_it_is(cli: Cli) -> None:
    result = cli("migrate")

    assert result.exit_code == 0, result.output
    assert "The database is already at revision" in result.stdout


def test_exit_statuses_cover_every_error_kind() -> None:
    assert set(EXIT_CODES) == set(ErrorKind)
    assert set(WIRE_STATUS) == set(ErrorKind)
    assert EXIT_CODES[ErrorKind.INVALID_INPUT] == 2
    assert EXIT_CODES[ErrorKind.NOT_FOUND] == 3
    assert EXIT_CODES[ErrorKind.FORBIDDEN] == 4


# -- config check -----------------------------------------------------------------------------


def test_config_check_tells_sources_and_masks_secrets(fresh_cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "tessera.toml"
    config.write_text('port = 9000\npublic_url = "https://helpdesk.example"\n')
    url = "postgresql://tessera:hunter2-in-url@db.internal/tessera"
    environment = {"TESSERA_DATABASE_URL": url}

    body = fresh_cli("--config", str(config), "config", "check", "--json", env=environment)
    text = fresh_cli("--config", str(config), "config", "check", env=environment)

    assert body.exit_code == 0, body.output
    assert text.exit_code == 0, text.output
    for output in (body.output, text.output):
        assert SECRET_KEY not in output
        assert "hunter2" not in output
    report = json.loads(body.stdout)
    settings = {s["name"]: s for s in report["settings"]}
    assert report["config_file"] == str(config.resolve())
    assert settings["port"] == {"name": "port", "value": 9000, "source": "config file"}
    assert settings["secret_key"] == {
        "name": "secret_key",
        "value": "********",
        "source": "environment",
    }
    assert settings["database_url"]["value"] == "postgresql://tessera:********@db.internal/tessera"
    assert settings["database_url"]["source"] == "environment"
    assert settings["host"] == {"name": "host", "value": "127.0.0.1", "source": "default"}
    assert settings["redis_url"]["value"] is None
    assert any("no redis_url" in warning for warning in report["warnings"])
    assert "9000" in text.stdout
    assert "config file" in text.stdout


def test_a_safe_configuration_has_no_warnings(fresh_cli: Cli) -> None:
    result = fresh_cli("config", "check")

    assert result.exit_code == 0, result.output
    assert "Config file: none" in result.stdout
    assert result.stdout.rstrip().endswith("No warnings.")


@pytest.mark.parametrize(
    ("environment", "warning"),
    [
        ({"TESSERA_ALLOW_QUERY_CREDENTIALS": "true"}, "allow_query_credentials is on"),
        ({"TESSERA_EXCHANGE_ALLOW_USERS": "1"}, "exchange_allow_users is on"),
        (
            {"TESSERA_OAUTH_ALLOW_INSECURE_REDIRECTS": "true"},
            "oauth_allow_insecure_redirects is on",
        ),
        ({"TESSERA_PUBLIC_URL": "http://helpdesk.example"}, "public_url is http://"),
        ({"TESSERA_SECRET_KEY": None}, "no secret_key is set"),
        ({"TESSERA_WORKERS": "4"}, "rate limits are counted per process"),
        ({"TESSERA_WORKERS": "4"}, "SQLite with 4 workers"),
        ({"TESSERA_TOKEN_IDLE_DAYS": "0"}, "API tokens never expire"),
        ({"TESSERA_HOST": "192.0.2.10"}, "is there a TLS terminator in front?"),
        ({"TESSERA_HOST": "::"}, "public_url is not set: the URLs this server hands out"),
        ({"TESSERA_DATABSE_URL": "x"}, "TESSERA_DATABSE_URL is not a setting"),
        (
            {"TESSERA_FORWARDED_ALLOW_IPS": "10.0.0.1"},
            "forwarded_allow_ips is deprecated and is used; name the proxies in trusted_proxies",
        ),
        (
            {"TESSERA_FORWARDED_ALLOW_IPS": "10.0.0.1", "TESSERA_TRUSTED_PROXIES": "10.0.0.2"},
            "forwarded_allow_ips is deprecated and is ignored: trusted_proxies is set",
        ),
        ({"TESSERA_TRUSTED_PROXIES": "*"}, "trusted_proxies is *: any client can choose"),
        ({"TESSERA_REDIS_URL": "redis://127.0.0.1:1/0"}, "redis_url does not answer now"),
        ({"TESSERA_FORWARDED_ALLOW_IPS": "*"}, "trusted_proxies is *: any client can choose"),
        (
            {
                "TESSERA_SMTP_HOST": "smtp.example.test",
                "TESSERA_SMTP_FROM": "helpdesk@example.test",
                "TESSERA_SMTP_SECURITY": "none",
            },
            "smtp_security is none for smtp.example.test",
        ),
        (
            {
                "TESSERA_SMTP_HOST": "127.0.0.1",
                "TESSERA_SMTP_FROM": "helpdesk@example.test",
                "TESSERA_MAGIC_LINK_AGENTS": "true",
            },
            "magic_link_agents is on",
        ),
    ],
)
def test_config_check_warns_about_unsafe_choices(
    fresh_cli: Cli, environment: dict[str, str | None], warning: str
) -> None:
    result = fresh_cli("config", "check", env=environment)
    body = fresh_cli("config", "check", "--json", env=environment)

    assert result.exit_code == 0, result.output
    assert warning in result.stdout
    assert body.exit_code == 0
    assert any(warning in line for line in json.loads(body.stdout)["warnings"])


@pytest.mark.parametrize(
    ("environment", "problem"),
    [
        ({"TESSERA_TRUSTED_PROXIES": "10.0.0.0/8, proxy"}, "'proxy' is not an IP address"),
        ({"TESSERA_AUTHZ_MAX_AGE_SECONDS": "60"}, "cannot exceed credential_cache_seconds"),
        ({"TESSERA_IDENTITY_HEADERS": "oauth2-proxy"}, "identity_headers: Input should be"),
    ],
)
def test_guard_settings_that_do_not_validate_say_why(
    fresh_cli: Cli, environment: dict[str, str | None], problem: str
) -> None:
    result = fresh_cli("config", "check", env=environment)

    assert result.exit_code == 1
    assert problem in result.stderr


def test_settings_that_do_not_validate_fail_with_status_1(fresh_cli: Cli) -> None:
    text = fresh_cli("config", "check", env={"TESSERA_PORT": "70000"})
    body = fresh_cli("config", "check", "--json", env={"TESSERA_PORT": "70000"})

    assert text.exit_code == 1
    assert "error: The configuration is not valid." in text.stderr
    assert "port: Input should be less than or equal to 65535" in text.stderr
    assert body.exit_code == 1
    envelope = json.loads(body.stdout)
    assert envelope["code"] == "invalid_settings"
    assert "port" in envelope["errors"]["fields"]


@pytest.mark.usefixtures("restored_logging")
def test_an_unmigrated_database_is_reported_not_traced(
    fresh_cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    unmigrated = {"TESSERA_AUTO_MIGRATE": "false"}
    monkeypatch.setattr(serve_command, "_run", _must_not_serve)

    listing = fresh_cli("people", "list", env=unmigrated)
    body = fresh_cli("people", "list", "--json", env=unmigrated)
    serving = fresh_cli("serve", env=unmigrated)

    assert listing.exit_code == 1
    assert "error: the database could not be used: no such table" in listing.stderr
    assert "Traceback" not in listing.output
    assert body.exit_code == 1
    assert json.loads(body.stdout)["code"] == "database_error"
    assert serving.exit_code == 1
    assert "run `tessera migrate`" in serving.stderr


def _must_not_serve(*arguments: object) -> None:
    raise AssertionError("the server was started on an unmigrated database")


def test_prune_deletes_ended_rows_now_and_reports_per_table(
    cli: Cli, services: Services, clock: ManualClock
) -> None:
    person = make_person(services)
    clock.advance(-timedelta(days=30))
    ended = make_token(services, person).token
    services.api_tokens.revoke(ended.id)
    clock.reset()
    live = make_token(services, person).token

    pruned = cli.json("prune")
    text = cli("prune")

    assert pruned["deleted"]["api_tokens"] == 1
    assert set(pruned["deleted"]) >= {"api_tokens", "oauth_grants", "audit_events"}
    remaining = services.api_tokens.list(PageRequest(1, 10), include_revoked=True).items
    assert [token.id for token in remaining] == [live.id]
    assert text.exit_code == 0, text.output
    assert "api_tokens: 0" in text.stdout
