"""``tessera serve`` says where it is, truthfully, in a few lines; real processes on port 0."""

import json
import re
import socket
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.cli.conftest import Cli, cli_environment
from tests.conftest import SECRET_KEY
from tests.secrets_seen import remember
from tests.served import clean_environment, serving
from tests.web.guard import write_routes

#: Bound by the test's own server, which only it talks to, on a machine without neighbours.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104
SETUP_LINK = re.compile(r"(http://\S+)/setup/([A-Za-z0-9_-]+)")


def _urls_served(url: str) -> list[str]:
    discover = httpx.get(f"{url}/api/v2/helpdesk/discover").json()["data"]
    metadata = httpx.get(f"{url}/.well-known/oauth-authorization-server").json()
    return [
        discover["helpdesk_url"],
        discover["base_api_url"],
        metadata["issuer"],
        metadata["authorization_endpoint"],
        metadata["token_endpoint"],
    ]


def test_without_a_public_url_every_url_names_the_address_bound(tmp_path: Path) -> None:
    """The README's first command on another port: a fresh folder, the embedded default."""
    with serving(
        "--workers", "2", environment=clean_environment(), log=tmp_path / "out", cwd=tmp_path
    ) as served:
        port = urlsplit(served.url).port
        # Two worker processes, each with its own settings: ask often enough to meet both.
        served_urls = {url for _ in range(12) for url in _urls_served(served.url)}
        output = served.output()
        link = SETUP_LINK.search(output)
        assert link is not None, output
        remember(link.group(2))
        setup_page = httpx.get(link.group(0))

    assert served.url == f"http://127.0.0.1:{port}"
    assert port not in (None, 8000)
    assert {urlsplit(url).netloc for url in served_urls} == {f"127.0.0.1:{port}"}
    assert link.group(1) == served.url
    assert setup_page.status_code == 200
    assert f"Tessera 0.1.0 listening on {served.url} (2 workers)" in output
    assert "Database: sqlite:///tessera.db (schema " in output
    # A few lines a person reads: no migration steps, no server-process chatter.
    assert "alembic" not in output
    assert "Running upgrade" not in output
    assert "Started server process" not in output
    assert "Application startup complete" not in output
    assert "without a public URL" not in output


def test_verbose_shows_the_start_up_detail(tmp_path: Path) -> None:
    with serving(
        "--verbose", environment=clean_environment(), log=tmp_path / "out", cwd=tmp_path
    ) as served:
        output = served.output()

    assert "Running upgrade" in output
    assert "Application startup complete" in output
    remember_setup_code(output)


def test_a_wildcard_bind_without_a_public_url_warns_once(tmp_path: Path) -> None:
    environment = clean_environment()
    with serving(
        "--host", ALL_INTERFACES, environment=environment, log=tmp_path / "out", cwd=tmp_path
    ) as served:
        urls = _urls_served(served.url)
        output = served.output()

    assert output.count("without a public URL") == 1, output
    assert served.url.startswith("http://127.0.0.1:")
    assert all(url.startswith(served.url) for url in urls)
    remember_setup_code(output)


def test_a_configured_public_url_is_what_clients_are_told(tmp_path: Path) -> None:
    environment = clean_environment(TESSERA_PUBLIC_URL="https://auth.example.com")
    with serving(environment=environment, log=tmp_path / "out", cwd=tmp_path) as served:
        urls = _urls_served(served.url)
        output = served.output()

    assert "Clients reach it at https://auth.example.com" in output
    assert all(url.startswith("https://auth.example.com") for url in urls)
    assert "https://auth.example.com/setup/" in output
    remember_setup_code(output)


@pytest.mark.usefixtures("restored_logging")
def test_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    cli = Cli(cli_environment(f"sqlite:///{tmp_path}/fresh.db"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        text = cli("serve", "--port", str(port))
        body = cli("serve", "--port", str(port), "--json")

    assert text.exit_code == 1
    assert f"error: Cannot listen on 127.0.0.1:{port}: Address already in use." in text.stderr
    assert "Traceback" not in text.output
    assert json.loads(body.stdout)["code"] == "cannot_listen"


@pytest.mark.parametrize(("trusted", "seen"), [("127.0.0.1", "203.0.113.7"), (None, "127.0.0.1")])
def test_forwarded_addresses_count_only_from_trusted_proxies(
    tmp_path: Path, trusted: str | None, seen: str
) -> None:
    database = f"sqlite:///{tmp_path}/tessera.db"
    cli = Cli(cli_environment(database))
    assert cli("migrate").exit_code == 0
    cli("people", "add", "bob@example.com", "--name", "Bob", "--agent")
    key = cli.json("keys", "create", "--note", "n", "--agent", "bob@example.com")["key_string"]
    remember(key)
    settings = {
        "TESSERA_DATABASE_URL": database,
        "TESSERA_SECRET_KEY": SECRET_KEY,
        "TESSERA_USAGE_FLUSH_SECONDS": "0.05",
    }
    if trusted is not None:
        settings["TESSERA_FORWARDED_ALLOW_IPS"] = trusted
    with serving(environment=clean_environment(**settings), log=tmp_path / "out") as served:
        me = httpx.get(
            f"{served.url}/api/v2/me",
            headers={"Authorization": f"key {key}", "X-Forwarded-For": "203.0.113.7"},
        )
    # Stopping the server flushes what it noted of the key's use.
    shown = cli.json("keys", "show", key.split(":")[0])

    assert me.status_code == 200
    assert shown["last_used_address"] == seen


def remember_setup_code(output: str) -> None:
    link = SETUP_LINK.search(output)
    if link is not None:
        remember(link.group(2))


def test_serve_guards_with_the_route_table_it_is_given(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path}/tessera.db"
    cli = Cli(cli_environment(database))
    assert cli("migrate").exit_code == 0
    cli("people", "add", "ann@example.com", "--name", "Ann", "--agent")
    key = cli.json(
        "keys",
        "create",
        "--note",
        "n",
        "--agent",
        "ann@example.com",
        "--tags",
        "tickets.*, -*.delete",
    )["key_string"]
    remember(key)
    routes = write_routes(tmp_path)
    settings = {
        "TESSERA_DATABASE_URL": database,
        "TESSERA_SECRET_KEY": SECRET_KEY,
        "TESSERA_TRUSTED_PROXIES": "127.0.0.1",
    }

    def ask(served_url: str, method: str, uri: str) -> int:
        headers = {
            "Authorization": f"key {key}",
            "X-Forwarded-Method": method,
            "X-Forwarded-Uri": uri,
        }
        return httpx.get(f"{served_url}/authz/forward-auth", headers=headers).status_code

    environment = clean_environment(**settings)
    with serving("--routes", str(routes), environment=environment, log=tmp_path / "out") as served:
        listed, deleted = (
            ask(served.url, "GET", "/tickets"),
            ask(served.url, "DELETE", "/tickets/1"),
        )

    assert (listed, deleted) == (200, 403)
    assert f"Guarding with 4 routes from {routes}" in served.output()


@pytest.mark.usefixtures("restored_logging")
def test_a_bad_route_table_stops_serve_before_it_listens(tmp_path: Path) -> None:
    cli = Cli(cli_environment(f"sqlite:///{tmp_path}/fresh.db"))
    bad = write_routes(tmp_path, '[[route]]\nmethod = "GET"\npath = "/a/**/b"\ntags = []\n')

    text = cli("serve", "--port", "0", "--routes", str(bad))
    body = cli("serve", "--port", "0", "--routes", str(bad), "--json")

    assert text.exit_code == 2
    assert "route.route_0.path: ** may only end a path pattern." in text.stderr
    assert "listening" not in text.output
    assert json.loads(body.stdout)["code"] == "invalid_input"


def test_json_log_lines_carry_the_request_and_no_secret(tmp_path: Path) -> None:
    environment = clean_environment(TESSERA_LOG_FORMAT="json", TESSERA_SECRET_KEY=SECRET_KEY)
    secret_path = "/api/v2/api_tokens/device_setup/ABCDEFGHJKMNPQRSTWXYZ23456"
    with serving(environment=environment, log=tmp_path / "out", cwd=tmp_path) as served:
        httpx.get(served.url + secret_path, headers={"X-DeskPRO-Client-Request-ID": "trace-1"})
        output = served.output()
    remember_setup_code(output)

    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "uvicorn.access"]
    assert access, output
    line = access[-1]
    assert set(line) >= {"time", "level", "logger", "request_id", "message", "method", "path"}
    assert (line["method"], line["status"], line["request_id"]) == ("GET", 404, "trace-1-c")
    assert line["path"].endswith("/device_setup/[redacted]")
    assert "ABCDEFGHJKMNPQRSTWXYZ23456" not in output
