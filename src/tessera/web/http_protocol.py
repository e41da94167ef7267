"""uvicorn's HTTP/1.1 protocol with the limits it lacks: a time to send the headers, and how
many headers, and how large, a request may have (issue #16 §1, ADR 0032).

uvicorn bounds an idle kept-alive connection (``timeout_keep_alive``) but not one that trickles:
a client sending a header line every few seconds (slowloris) held its connection for as long as
it liked, and thousands of them held that many sockets and parser states. Here a request's
headers must be complete within ``header_seconds`` of its first byte (or of the connection, for
the first request), else the answer is 408 and the connection is closed; more than
``max_headers`` headers, or more than ``max_header_bytes`` of request line and headers, is 431.
Everything else is uvicorn's own ``HttpToolsProtocol``. The limits are ``tessera serve``'s
settings (``configured``); the class attributes are the defaults.
"""

import asyncio
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

DEFAULT_HEADER_SECONDS = 10.0
DEFAULT_MAX_HEADERS = 100
DEFAULT_MAX_HEADER_BYTES = 32 * 1024

_REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


class _Refused(Exception):
    """Stops the parser once the connection has been answered and is closing."""


class LimitedHttpProtocol(HttpToolsProtocol):
    header_seconds: ClassVar[float] = DEFAULT_HEADER_SECONDS
    max_headers: ClassVar[int] = DEFAULT_MAX_HEADERS
    max_header_bytes: ClassVar[int] = DEFAULT_MAX_HEADER_BYTES

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._header_count = 0
        self._header_bytes = 0
        self._refused = False

    @classmethod
    def configured(
        cls, *, header_seconds: float, max_headers: int, max_header_bytes: int
    ) -> type["LimitedHttpProtocol"]:
        """A subclass with these limits, for ``uvicorn.Config(http=…)``."""
        return type(
            "ConfiguredHttpProtocol",
            (cls,),
            {
                "header_seconds": header_seconds,
                "max_headers": max_headers,
                "max_header_bytes": max_header_bytes,
            },
        )

    # -- the clock on the headers --------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_header_clock()  # a connection that never sends a request is one too

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_count = self._header_bytes = 0
        self._start_header_clock()

    def on_headers_complete(self) -> None:
        self._stop_header_clock()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_clock()
        super().connection_lost(exc)

    def _start_header_clock(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_seconds, self._too_slow)

    def _stop_header_clock(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a request is being answered: its headers were complete
        self._refuse(408)

    # -- how many headers, how large -----------------------------------------------------------

    def on_url(self, url: bytes) -> None:
        self._count_bytes(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        self._count_bytes(len(name) + len(value))
        if self._header_count > self.max_headers:
            self._refuse(431)
            raise _Refused()
        super().on_header(name, value)

    def _count_bytes(self, count: int) -> None:
        self._header_bytes += count
        if self._header_bytes > self.max_header_bytes:
            self._refuse(431)
            raise _Refused()

    # -- answering -------------------------------------------------------------------------

    def _refuse(self, status: int) -> None:
        if self._refused or self.transport.is_closing():
            return
        self._refused = True
        reason = _REASONS[status]
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s"
            % (status, reason, len(reason), reason)
        )
        self.transport.close()

    def send_400_response(self, msg: str) -> None:
        if self._refused:
            return  # the parser stopped because we answered: nothing more to say
        super().send_400_response(msg)
