"""``tessera secret-keys``: a rotation from the command line, and what it refuses."""

import re
import secrets
from pathlib import Path

from tessera.services.container import Services
from tests.cli.conftest import Cli
from tests.factories import make_person
from tests.secrets_seen import remember


def test_rotate_list_and_retire(cli: Cli, services: Services, tmp_path: Path) -> None:
    key_file = tmp_path / "keys"
    original = secrets.token_urlsafe(36)
    remember(original)
    key_file.write_text(original + "\n")
    on_file = {"TESSERA_SECRET_KEY": None, "TESSERA_SECRET_KEY_FILE": str(key_file)}
    agent = make_person(services)
    created = cli("keys", "create", "--note", "n", "--agent", agent.primary_email, env=on_file)
    assert created.exit_code == 0, created.output
    remember(created.stdout.split("API key: ")[1].split()[0])

    rotated = cli("secret-keys", "rotate", "--json", env=on_file)
    listed = cli("secret-keys", "list", "--json", env=on_file)
    refused = cli("secret-keys", "retire", "1", "--json", env=on_file)
    text = cli("secret-keys", "list", env=on_file)

    assert rotated.exit_code == 0, rotated.output
    assert '"version": 2' in rotated.stdout
    assert listed.exit_code == 0, listed.output
    assert '"state": "verify"' in listed.stdout
    assert '"api keys": 1' in listed.stdout
    assert refused.exit_code != 0
    assert '"code": "invalid_input"' in refused.stdout
    # The API key only: sealed values (ID token signing keys) never refuse, they are re-sealed.
    assert "Key 1 still checks 1 live credentials" in refused.stdout
    assert text.stdout.splitlines()[0].split()[:4] == ["1", "verify", "1", "api"]
    assert key_file.read_text().startswith("#")
    assert f"1 verify {original}" in key_file.read_text()
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    for result in (rotated, listed, refused, text):
        assert original not in result.output

    forced = cli("secret-keys", "retire", "1", "--force", env=on_file)
    assert forced.exit_code == 0, forced.output
    assert re.search(r"[1-9][0-9]* credentials or sessions no longer work", forced.stdout)
    assert original not in key_file.read_text()


def test_keys_from_the_environment_are_not_edited(cli: Cli) -> None:
    result = cli("secret-keys", "add", "--json")

    assert result.exit_code != 0
    assert "TESSERA_SECRET_KEY" in result.stdout
    # One key, active (what it checks depends on what the session's other tests made).
    listed = cli("secret-keys", "list").stdout.splitlines()
    assert len(listed) == 1
    assert listed[0].split()[:2] == ["1", "active"]
