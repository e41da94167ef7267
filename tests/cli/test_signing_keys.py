"""``tessera signing-keys``: list and rotate the ID token signing keys from the command line."""

import json

from tessera.bootstrap import Runtime
from tests.cli.conftest import Cli


def test_rotate_then_list(cli: Cli, runtime: Runtime) -> None:
    runtime.oauth.context.signing_keys.ensure()

    rotated = cli("signing-keys", "rotate", "--json")
    listed = cli("signing-keys", "list", "--json")
    text = cli("signing-keys", "list")

    assert rotated.exit_code == 0, rotated.output
    made = {key["kid"] for key in json.loads(rotated.stdout)["made"]}
    assert len(made) == 2
    assert listed.exit_code == 0, listed.output
    keys = json.loads(listed.stdout)["keys"]
    assert {key["kid"] for key in keys if key["signing"]} == made
    retired = [key for key in keys if not key["signing"]]
    assert len(retired) == 2
    assert all(key["published_until"] for key in retired)
    assert json.loads(listed.stdout)["problems"] == []
    assert "signing" in text.stdout
    assert "PRIVATE" not in text.stdout + listed.stdout
