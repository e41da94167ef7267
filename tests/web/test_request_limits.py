"""Bounded requests (issue #16 §1, ADR 0032): bodies by size and time, headers by count, size
and time, each refused early with a clear answer, and a flood of trickling clients costing the
server nothing it cannot spare.
"""

import json
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tessera.app import create_app
from tessera.bootstrap import Runtime
from tessera.web.body_limits import CREDENTIAL_BODY_BYTES
from tessera.web.http_protocol import LimitedHttpProtocol
from tests.cli.test_serve import remember_setup_code
from tests.conftest import extra_runtime
from tests.factories import key_header, make_key, make_person
from tests.live import read_all, read_response, serving
from tests.served import clean_environment
from tests.served import serving as serving_tessera
from tests.web.envelopes import assert_error

TOO_LARGE = {
    "status": 413,
    "code": "payload_too_large",
    "message": "The request body is larger than this endpoint accepts.",
}
QUICK = LimitedHttpProtocol.configured(header_seconds=1.0, max_headers=100, max_header_bytes=32768)


@pytest.fixture
def limited(database_url: str) -> Iterator[tuple[Runtime, str]]:
    """A server of its own: 1 s for headers and for a body, bodies up to 64 KiB."""
    with (
        extra_runtime(database_url, http_body_timeout_seconds=1, max_body_kib=64) as runtime,
        serving(create_app(runtime=runtime), http=QUICK) as url,
    ):
        yield runtime, url


def raw(url: str) -> socket.socket:
    address = urlsplit(url)
    connection = socket.create_connection((address.hostname, address.port), timeout=10)
    return connection


def test_a_declared_body_over_the_limit_is_refused_before_it_is_read(
    limited: tuple[Runtime, str],
) -> None:
    _, url = limited
    password = "x" * (CREDENTIAL_BODY_BYTES + 1)
    answer = httpx.post(
        f"{url}/api/v2/api_tokens", json={"email": "a@b.test", "password": password}
    )

    assert_error(answer, TOO_LARGE)
    assert answer.headers["Connection"] == "close"

    with raw(url) as connection:  # a length far beyond anything: answered, nothing read
        connection.sendall(
            b"POST /api/v2/people HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Content-Length: 200000000\r\n\r\n{"
        )
        reply = read_all(connection)
    assert reply.startswith(b"HTTP/1.1 413 ")
    assert json.loads(reply.split(b"\r\n\r\n", 1)[1])["code"] == "payload_too_large"


def test_a_chunked_body_is_counted_and_refused_the_moment_it_passes(
    limited: tuple[Runtime, str],
) -> None:
    runtime, url = limited
    admin = key_header(make_key(runtime.services, make_person(runtime.services, admin=True)))
    head = (
        b"POST /api/v2/people HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Authorization: " + admin["Authorization"].encode() + b"\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"400\r\n" + b" " * 1024 + b"\r\n"  # 1 KiB a chunk, no Content-Length anywhere
    sent = 0
    with raw(url) as connection:
        connection.sendall(head)
        while sent < 1000 and not select.select([connection], [], [], 0.01)[0]:
            connection.sendall(chunk)  # up to 1 MB, as long as no answer has come
            sent += 1
        reply = read_all(connection)

    assert reply.startswith(b"HTTP/1.1 413 "), reply[:200]
    assert json.loads(reply.split(b"\r\n\r\n", 1)[1]) == TOO_LARGE
    assert 64 <= sent < 1000  # answered once past 64 KiB, long before the client was done


def test_a_body_that_stops_arriving_is_given_up(limited: tuple[Runtime, str]) -> None:
    _, url = limited
    with raw(url) as connection:
        connection.sendall(
            b"POST /api/v2/api_tokens HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"email": '
        )
        started = time.monotonic()
        reply = read_all(connection)
        waited = time.monotonic() - started

    assert reply.startswith(b"HTTP/1.1 408 "), reply[:200]
    assert json.loads(reply.split(b"\r\n\r\n", 1)[1])["code"] == "request_timeout"
    assert 0.8 < waited < 5


@pytest.mark.parametrize(
    "start",
    [b"", b"GET /healthz HTTP/1.1\r\nHost: t\r\n", b"GET /heal"],
    ids=["nothing-sent", "headers-never-end", "request-line-half-sent"],
)
def test_headers_must_arrive_in_time(limited: tuple[Runtime, str], start: bytes) -> None:
    _, url = limited
    with raw(url) as connection:
        connection.sendall(start)
        started = time.monotonic()
        reply = read_all(connection)
        waited = time.monotonic() - started

    assert reply.startswith(b"HTTP/1.1 408 Request Timeout"), reply
    assert 0.8 < waited < 5


def test_a_trickling_client_is_cut_off_even_while_it_sends(limited: tuple[Runtime, str]) -> None:
    _, url = limited
    with raw(url) as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")
        started = time.monotonic()
        closed = False
        for number in range(30):  # a header line every 0.1 s: data keeps coming, headers never end
            try:
                connection.sendall(b"X-Slow-%d: 1\r\n" % number)
            except OSError:
                closed = True
                break
            time.sleep(0.1)
        reply = read_all(connection)

    assert reply.startswith(b"HTTP/1.1 408 "), reply
    assert closed or time.monotonic() - started < 5


def test_a_kept_alive_connection_gets_a_new_clock_per_request(limited: tuple[Runtime, str]) -> None:
    _, url = limited
    with raw(url) as connection:
        for _ in range(3):  # each complete in time, 0.6 s apart: 1.8 s in all, never refused
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            assert read_response(connection).startswith(b"HTTP/1.1 200 ")
            time.sleep(0.6)


@pytest.mark.parametrize(
    "headers",
    [
        b"".join(b"X-Many-%d: 1\r\n" % n for n in range(150)),
        b"X-Large: " + b"a" * 40000 + b"\r\n",
    ],
    ids=["too-many", "too-large"],
)
def test_too_many_or_too_large_headers_are_431(
    limited: tuple[Runtime, str], headers: bytes
) -> None:
    _, url = limited
    with raw(url) as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n" + headers + b"\r\n")
        reply = read_all(connection)

    assert reply.startswith(b"HTTP/1.1 431 Request Header Fields Too Large"), reply[:100]


def test_hundreds_of_half_sent_requests_are_all_closed_and_others_are_served(
    limited: tuple[Runtime, str],
) -> None:
    _, url = limited
    address = urlsplit(url)
    stuck = []
    for _ in range(300):
        connection = socket.create_connection((address.hostname, address.port), timeout=10)
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Half")
        stuck.append(connection)
    try:
        assert httpx.get(f"{url}/healthz").status_code == 200  # served meanwhile
        time.sleep(1.5)
        replies = [read_all(connection) for connection in stuck]
    finally:
        for connection in stuck:
            connection.close()

    assert all(reply.startswith(b"HTTP/1.1 408 ") for reply in replies)


def test_tessera_serve_applies_the_limits(tmp_path: Path) -> None:
    environment = {
        **clean_environment(),
        "TESSERA_HTTP_HEADER_TIMEOUT_SECONDS": "1",
        "TESSERA_MAX_BODY_KIB": "1",
    }
    with serving_tessera(environment=environment, log=tmp_path / "out", cwd=tmp_path) as served:
        remember_setup_code(served.output())
        with raw(served.url) as connection:
            connection.sendall(b"GET /healthz HTTP/1.1\r\n")
            slow = read_all(connection)
        large = httpx.post(f"{served.url}/api/v2/people", content=b"{" + b" " * 2000 + b"}")

    assert slow.startswith(b"HTTP/1.1 408 ")
    assert large.status_code == 413
