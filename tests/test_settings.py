"""Settings that need more than a type: the apps of agent-client info, the helpdesk UUID."""

import secrets
from pathlib import Path

import pytest
from pydantic import ValidationError

from tessera.settings import Settings


@pytest.fixture(autouse=True)
def no_config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Read the environment only: no ./tessera.toml, no TESSERA_* of the caller's."""
    monkeypatch.chdir(tmp_path)
    for name in ("TESSERA_CONFIG", "TESSERA_AGENT_CLIENT_APPS", "TESSERA_HELPDESK_UUID"):
        monkeypatch.delenv(name, raising=False)


def test_apps_come_comma_separated_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESSERA_AGENT_CLIENT_APPS", "tickets, Chat ,crm")

    assert Settings().agent_client_apps == ["tickets", "chat", "crm"]


def test_apps_come_as_a_list_from_the_file(tmp_path: Path) -> None:
    (tmp_path / "tessera.toml").write_text('agent_client_apps = ["tasks", "publish"]\n')

    assert Settings().agent_client_apps == ["tasks", "publish"]


def test_no_apps_by_default() -> None:
    assert Settings().agent_client_apps == []


def test_an_unknown_app_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESSERA_AGENT_CLIENT_APPS", "tickets,billing")

    with pytest.raises(ValidationError, match="billing"):
        Settings()


def test_a_pinned_helpdesk_uuid_must_be_a_uuid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESSERA_HELPDESK_UUID", "not-a-uuid")

    with pytest.raises(ValidationError, match="helpdesk_uuid"):
        Settings()


def test_a_mail_server_needs_a_sender(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESSERA_SMTP_HOST", "smtp.example.test")

    with pytest.raises(ValidationError, match="smtp_from"):
        Settings()


def test_the_smtp_password_comes_from_one_place(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TESSERA_SMTP_PASSWORD", "pw-" + secrets.token_urlsafe(12))
    monkeypatch.setenv("TESSERA_SMTP_PASSWORD_FILE", str(tmp_path / "smtp_password"))

    with pytest.raises(ValidationError, match="not both"):
        Settings()
