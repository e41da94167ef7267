"""A real uvicorn server on 127.0.0.1, in a thread, for tests that speak HTTP."""

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp

from tessera.web.http_protocol import LimitedHttpProtocol


def loopback_socket() -> tuple[socket.socket, str]:
    """A socket bound to a free loopback port, and the URL a server on it will have.

    For an app that must know its own URL before it serves (an issuer that clients compare
    with the address they reached): build it with the URL, then ``serving(app, bound=...)``.
    """
    bound = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    bound.bind(("127.0.0.1", 0))
    return bound, f"http://127.0.0.1:{bound.getsockname()[1]}"


@contextmanager
def serving(
    app: ASGIApp,
    *,
    http: type[asyncio.Protocol] = LimitedHttpProtocol,
    bound: socket.socket | None = None,
) -> Iterator[str]:
    """Serve ``app`` on a free loopback port for the duration of the block; yield its URL.

    As ``tessera serve`` does: its HTTP protocol (``http``: one with other limits), and the app
    itself believes trusted proxies (web.forwarded). ``bound``: on this socket of
    ``loopback_socket`` (closed afterwards) instead of a port found now.
    """
    config = uvicorn.Config(
        app,
        http=http,
        host="127.0.0.1",
        port=0,
        log_config=None,
        access_log=True,
        lifespan="on",
        proxy_headers=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run,
        kwargs={"sockets": None if bound is None else [bound]},
        name="live-server",
        daemon=True,
    )
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        if bound is not None:
            bound.close()


def read_response(connection: socket.socket) -> bytes:
    """One whole HTTP/1.1 response with a Content-Length from a kept-alive connection.

    A response may arrive in several segments (head and body apart), so one recv is not one
    response; this reads the head, then exactly the body it declares.
    """
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = connection.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a whole response head: {received!r}")
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")[1:]
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed inside a response body: {received!r}")
        body += chunk
    assert len(body) == length, "more than one response arrived"
    return head + b"\r\n\r\n" + body


def read_all(connection: socket.socket) -> bytes:
    """Everything a raw connection receives until the server closes it."""
    chunks = []
    while chunk := connection.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)
