"""A real OpenID provider on loopback for the user-source tests (provider.mjs, oidc-provider 8.x).

``running_provider`` starts Node with the clients and accounts a test needs and stops it after;
``MISBEHAVE`` makes the provider sign ID tokens with a wrong audience or nonce, so that only
Tessera's checks stand between the person and a forged sign-in.
"""

import json
import os
import select
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.external_tools import IDENTITY_PROVIDER, NODE, require

FOLDER = Path(__file__).resolve().parent
#: How long Node may take to start and print its address.
START_SECONDS = 20


@dataclass(frozen=True, slots=True)
class ProviderClient:
    client_id: str
    client_secret: str | None
    redirect_uris: Sequence[str]

    def as_json(self) -> dict[str, Any]:
        client: dict[str, Any] = {
            "client_id": self.client_id,
            "redirect_uris": list(self.redirect_uris),
        }
        if self.client_secret is not None:
            client["client_secret"] = self.client_secret
        return client


@contextmanager
def running_provider(
    clients: Sequence[ProviderClient],
    accounts: Mapping[str, Mapping[str, Any]],
    *,
    misbehave: str = "",
) -> Iterator[str]:
    """The provider's issuer URL while it runs."""
    require(NODE, IDENTITY_PROVIDER)
    node = shutil.which("node") or str(NODE.path)
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),  # noqa: S108 - Node wants a home; none written
        "CLIENTS": json.dumps([client.as_json() for client in clients]),
        "ACCOUNTS": json.dumps(accounts),
        "MISBEHAVE": misbehave,
        "NODE_ENV": "test",
    }
    process = subprocess.Popen(  # noqa: S603 - our own script, no shell
        [node, str(FOLDER / "provider.mjs")],
        cwd=FOLDER,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], START_SECONDS)
        line = process.stdout.readline() if ready else ""
        if not line.startswith("listening "):
            raise RuntimeError(f"the OpenID provider did not start: {line!r}")
        yield line.split(" ", 1)[1].strip()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
