"""``tessera secret-keys``: a rotation from the command line, and what it refuses."""

import json
import re
import secrets
from pathlib import Path

from tessera.core.secret_keys import SecretKeyRing
from tessera.core.user_sources import open_client_secret
from tessera.services.container import Services
from tessera.services.user_source_settings import SourceSettings
from tests.cli.conftest import Cli
from tests.conftest import SECRET_KEY
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


def test_reseal_moves_sealed_values_to_the_active_key_with_keys_in_the_environment(
    cli: Cli, services: Services
) -> None:
    """With the keys in TESSERA_SECRET_KEY the commands cannot edit them: ``reseal 1`` seals
    under the active key what key 1 sealed, so that the operator may then drop key 1's line."""
    secret = secrets.token_urlsafe(24)
    remember(secret)
    source = services.user_sources.create(
        SourceSettings(
            title="Staff", issuer="https://login.example.test", client_id="c", client_secret=secret
        )
    )
    assert source.secret_key_version == 1
    newer = secrets.token_urlsafe(36)
    remember(newer)
    both = f"1 verify {SECRET_KEY}\n2 active {newer}\n"

    resealed = cli("secret-keys", "reseal", "1", "--json", env={"TESSERA_SECRET_KEY": both})
    listed = cli("secret-keys", "list", "--json", env={"TESSERA_SECRET_KEY": both})

    assert resealed.exit_code == 0, resealed.output
    assert json.loads(resealed.stdout)["resealed"]["identity provider secrets"] == 1
    keys = json.loads(listed.stdout)["keys"]
    assert keys[0]["sealed"] == {}
    assert keys[1]["sealed"]["identity provider secrets"] == 1
    moved = services.user_sources.get(source.id)
    assert moved.secret_key_version == 2
    only_new = SecretKeyRing.parse(f"2 active {newer}\n")
    assert open_client_secret(only_new, moved) == secret
    assert newer not in resealed.output + listed.output
