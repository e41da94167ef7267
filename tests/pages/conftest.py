"""Fixtures for the browser tests: Debian's Chromium through Playwright, and an app's callback.

The browser is Debian's (``/usr/bin/chromium``, installed by ``scripts/test-tools``), never one
that Playwright downloads: the machines that run the suite reach no browser CDN, and a pinned
system package is what the operators patch. One fresh context per test (cookies never leak
from one test into another) in a browser shared by the module's tests.

Why per module and not per session: Playwright's sync API keeps its asyncio loop marked as
running in the main thread between calls. While it lives, every other test that starts an
event loop there (``anyio.run`` in the command line's tests, say) fails with "Already running
asyncio in this thread". Module scope ends the driver before pytest moves on to another
module; the browser starts once or twice a run (once per database backend), in about a second.
"""

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    ViewportSize,
    sync_playwright,
)

from tests.external_tools import AXE, CHROMIUM, require

CHROMIUM_ARGS = [
    # The suite runs as root in a container: Chromium's sandbox needs user namespaces.
    "--no-sandbox",
    "--disable-gpu",
    # Nothing but the two loopback servers of a test: no update checks, no sync, no QUIC probes.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
#: A fixed window, so that the screenshots in docs/screenshots/ are stable.
VIEWPORT = ViewportSize(width=800, height=640)
CALLBACK_PATH = "/callback"
CALLBACK_PAGE = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Example App</title>"
    "</head><body><h1>Example App</h1><p>You can close this window.</p></body></html>"
)


@dataclass
class Callback:
    """A tiny app on 127.0.0.1: records what reaches its redirect URI, serves one HTML page.

    The query string (or, for ``response_mode=form_post``, the POSTed form) is read from what
    this server received, not from the browser's address bar: that is what a real app would see.
    """

    url: str
    #: What ``/callback`` answers (a test may serve, say, a page that frames Tessera).
    page: str = CALLBACK_PAGE
    _queries: list[dict[str, list[str]]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, query: str) -> None:
        with self._lock:
            self._queries.append(parse_qs(query, keep_blank_values=True))

    @property
    def queries(self) -> list[dict[str, list[str]]]:
        with self._lock:
            return list(self._queries)

    def only_query(self) -> dict[str, str]:
        """The one redirect the callback received, each parameter exactly once."""
        queries = self.queries
        assert len(queries) == 1, queries
        single = {name: values[0] for name, values in queries[0].items()}
        assert all(len(values) == 1 for values in queries[0].values()), queries[0]
        return single


class _CallbackHandler(BaseHTTPRequestHandler):
    server: "_CallbackServer"

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != CALLBACK_PATH:
            # Chromium asks for /favicon.ico, for one: not a redirect, not recorded.
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        self.server.callback.record(parts.query)
        body = self.server.callback.page.encode()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        # response_mode=form_post: the answer arrives as a form body, recorded like a query.
        if urlsplit(self.path).path != CALLBACK_PATH:
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        length = int(self.headers.get("Content-Length") or 0)
        self.server.callback.record(self.rfile.read(length).decode("ascii"))
        body = self.server.callback.page.encode()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        # The request line holds the authorization code: it is written nowhere.
        return


class _CallbackServer(ThreadingHTTPServer):
    daemon_threads = True
    callback: Callback


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, headless, with axe-core at hand (tests/external_tools.py)."""
    require(CHROMIUM, AXE)
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM.path), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh profile per test: no cookie or session survives from the previous one."""
    context = browser.new_context(viewport=VIEWPORT, locale="en-GB")
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def callback() -> Iterator[Callback]:
    """The app's redirect URI, ``http://127.0.0.1:<port>/callback`` (loopback, RFC 8252)."""
    server = _CallbackServer(("127.0.0.1", 0), _CallbackHandler)
    port = server.server_address[1]
    server.callback = Callback(url=f"http://127.0.0.1:{port}{CALLBACK_PATH}")
    thread = threading.Thread(target=server.serve_forever, name="app-callback", daemon=True)
    thread.start()
    try:
        yield server.callback
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
