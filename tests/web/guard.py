"""What the guard's tests share: a server guarding a route table, and each proxy's way of asking.

``ask`` sends what each proxy sends to its door (forward-notes §1): Traefik and Caddy a GET
with ``X-Forwarded-Method``/``-Proto``/``-Host``/``-Uri``; nginx ``X-Original-Method`` with
``X-Original-URL`` (ingress-nginx) or ``X-Original-URI`` (the module's documented example);
Envoy the original method on the door's prefix plus the original path. All of them pass the
client's own headers along.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tessera.app import create_app
from tessera.bootstrap import Runtime
from tessera.services.container import Services
from tests.conftest import extra_runtime
from tests.guard_library.tessera_node import HELPDESK_ROUTES
from tests.live import serving

ROUTES = HELPDESK_ROUTES.read_text()
API_HOST = "api.example.test"
#: Every way a proxy asks, by the name tests use for it.
DOORS = ("forward-auth", "auth-request-url", "auth-request-uri", "ext-authz")
EVERY_DOOR = pytest.mark.parametrize("door", DOORS)


@dataclass(frozen=True, slots=True)
class Guard:
    """A real server guarding ``ROUTES``, its runtime, and a client of it."""

    runtime: Runtime
    http: httpx.Client

    @property
    def services(self) -> Services:
        return self.runtime.services

    def ask(
        self, door: str, method: str, target: str, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """Ask ``door`` about ``method target`` as its proxy would, with the client's headers."""
        own = dict(headers or {})
        if door == "forward-auth":
            forwarded = {
                "X-Forwarded-Method": method,
                "X-Forwarded-Proto": "https",
                "X-Forwarded-Host": API_HOST,
                "X-Forwarded-Uri": target,
            }
            return self.http.get("/authz/forward-auth", headers={**own, **forwarded})
        if door == "auth-request-url":
            original = {
                "X-Original-Method": method,
                "X-Original-URL": f"https://{API_HOST}{target}",
            }
            return self.http.get("/authz/auth-request", headers={**own, **original})
        if door == "auth-request-uri":
            original = {"X-Original-Method": method, "X-Original-URI": target}
            return self.http.get("/authz/auth-request", headers={**own, **original})
        assert door == "ext-authz", door
        return self.http.request(method, f"/authz/ext-authz{target}", headers=own)


def write_routes(folder: Path, text: str = ROUTES) -> Path:
    path = folder / "routes.toml"
    path.write_text(text, encoding="utf-8")
    return path


@contextmanager
def guard_server(database_url: str, routes: Path, **settings: Any) -> Iterator[Guard]:
    """A server on the session's database guarding the table in ``routes``."""
    with (
        extra_runtime(database_url, routes_file=str(routes), **settings) as runtime,
        serving(create_app(runtime=runtime)) as url,
        httpx.Client(base_url=url, timeout=60) as http,
    ):
        yield Guard(runtime, http)
