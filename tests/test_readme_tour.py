"""The README's five-minute tour, step by step, as a newcomer runs it: on another port.

A fresh folder, the embedded default (SQLite and a generated secret key made in that folder),
``tessera serve`` on a port of its own choosing, the ``tessera`` command line in another process,
and HTTP for what the README does with curl. If a step here changes, the README's tour must
change with it.
"""

import re
import subprocess
from pathlib import Path

import httpx

from tests.feed.nodes import PROPAGATION_BOUND_SECONDS, refused_within
from tests.secrets_seen import remember
from tests.served import TESSERA, clean_environment, serving

CREDENTIAL = re.compile(r"^API key: (\d+:[23456789ABCDGHJKMNPQRSTWXYZ]+)$", re.MULTILINE)


def tessera(folder: Path, *arguments: str, stdin: str | None = None) -> str:
    """One ``tessera`` command in the tour's folder, as the README types it; its stdout."""
    # Our own entry point, with the README's arguments: no untrusted input.
    done = subprocess.run(  # noqa: S603
        [str(TESSERA), *arguments],
        cwd=folder,
        env=clean_environment(),
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def printed_credential(output: str) -> str:
    found = CREDENTIAL.search(output)
    assert found is not None, output
    remember(found.group(1))
    return found.group(1)


def test_the_tour_works_as_written_on_another_port(tmp_path: Path) -> None:
    with (
        serving(
            environment=clean_environment(), log=tmp_path / "serve.log", cwd=tmp_path
        ) as served,
        httpx.Client(base_url=served.url, timeout=30) as api,
    ):
        tessera(
            tmp_path,
            *("people", "add", "ann@example.com", "--name", "Ann Admin", "--admin"),
            "--password-stdin",
            stdin="a long passphrase\n",
        )
        tessera(tmp_path, "people", "add", "bob@example.com", "--name", "Bob Agent", "--agent")
        assert (tmp_path / "tessera.db").is_file()
        assert (tmp_path / "tessera.secret").is_file()

        # Exchange a password for a token, then ask who you are.
        exchanged = api.post(
            "/api/v2/api_tokens", json={"email": "ann@example.com", "password": "a long passphrase"}
        )
        assert exchanged.status_code == 201
        assert exchanged.json()["data"]["person_id"] == 1
        token = exchanged.json()["data"]["token"]
        remember(token)
        me = api.get("/api/v2/me", headers={"Authorization": f"token {token}"}).json()["data"]
        assert (me["auth_method"], me["person_id"]) == ("api_token", 1)

        # An API key for Bob, and a superuser key that may act as any agent.
        bob_key = printed_credential(
            tessera(
                tmp_path,
                "keys",
                "create",
                "--note",
                "Bob's integration",
                "--agent",
                "bob@example.com",
            )
        )
        as_bob = api.get("/api/v2/me", headers={"Authorization": f"key {bob_key}"}).json()["data"]
        assert (as_bob["auth_method"], as_bob["person_id"]) == ("api_key", 2)
        super_key = printed_credential(
            tessera(
                tmp_path,
                *("keys", "create", "--note", "Automation", "--superuser"),
                *("--tags", "me.*, tickets.*, -*.delete"),
            )
        )
        acting = {"Authorization": f"key {super_key}", "X-DeskPRO-Agent-ID": "2"}
        assert api.get("/api/v2/me", headers=acting).json()["data"]["person_id"] == 2
        people = api.get("/api/v2/people", headers=acting)
        assert (people.status_code, people.json()["code"]) == (403, "forbidden")

        # Revoke, and see the next request refused.
        tessera(tmp_path, "keys", "revoke", bob_key.split(":")[0])
        # Revoked by another process (the command line): the server hears of it within a poll.
        assert refused_within(
            PROPAGATION_BOUND_SECONDS,
            lambda: api.get("/api/v2/me", headers={"Authorization": f"key {bob_key}"}),
        )
        revoked = api.get("/api/v2/me", headers={"Authorization": f"key {bob_key}"})
        assert revoked.status_code == 401
        assert revoked.json() == {
            "status": 401,
            "code": "invalid_api_key",
            "message": "Invalid API key.",
        }

        # Connect a phone: the setup URL names this server's own port.
        setup = api.get(
            "/api/v2/me/device-setup-token", headers={"Authorization": f"token {token}"}
        )
        setup_url = setup.json()["data"]["setup_token"].removeprefix("dp_device_setup:")
        remember(setup_url.rsplit("/", 1)[1])
        assert setup_url.startswith(f"{served.url}/api/v2/api_tokens/device_setup/")
        phone = api.get(setup_url)
        assert phone.status_code == 201
        remember(phone.json()["data"]["token"])

        # Register an OAuth app.
        registered = tessera(
            tmp_path,
            *("clients", "create", "--name", "Example app"),
            *("--redirect-uri", "http://127.0.0.1/callback"),
        )
        secret = re.search(r"Client secret: (\S+)", registered)
        assert secret is not None, registered
        remember(secret.group(1))
        assert "Created OAuth client 1: Example app" in registered
