"""A TCP hop between Tessera and a real service that a test can make misbehave.

``FaultyLink`` listens on a loopback port and, by its ``mode``, forwards each connection to the
real service (``forward``), accepts and closes it at once (``reset``: a service that refuses),
or accepts it and never answers (``silent``: a service that hangs). Changing the mode closes the
connections already open, as a service restart would, so clients must reconnect.
"""

import selectors
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Literal

Mode = Literal["forward", "reset", "silent"]


class FaultyLink:
    def __init__(self, target: tuple[str, int]) -> None:
        self._target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self._mode: Mode = "forward"
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="faulty-link", daemon=True)
        self._thread.start()

    @property
    def mode(self) -> Mode:
        return self._mode

    @mode.setter
    def mode(self, mode: Mode) -> None:
        with self._lock:
            self._mode = mode
            open_now, self._open = self._open, []
        for connection in open_now:
            _close(connection)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.mode = self._mode  # closes what is open
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            with self._lock:
                mode = self._mode
                if mode == "reset":
                    _close(client)
                    continue
                self._open.append(client)
            if mode == "forward":
                threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self._target, timeout=5)
        except OSError:
            _close(client)
            return
        with self._lock:
            self._open.append(upstream)
        peers = {client: upstream, upstream: client}
        with selectors.DefaultSelector() as selector:
            for end in peers:
                selector.register(end, selectors.EVENT_READ, data=end)
            while True:
                try:
                    ready = selector.select(timeout=0.5)
                    if self._stop.is_set():
                        break
                    ends: list[socket.socket] = [key.data for key, _ in ready]
                    chunks = [(end, end.recv(65536)) for end in ends]
                    if any(not chunk for _, chunk in chunks):
                        break
                    for end, chunk in chunks:
                        peers[end].sendall(chunk)
                except (OSError, ValueError):
                    break  # closed by a mode change, or by either side
        _close(client)
        _close(upstream)


def _close(connection: socket.socket) -> None:
    with suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)
    connection.close()


@contextmanager
def faulty_link(host: str, port: int) -> Iterator[FaultyLink]:
    link = FaultyLink((host, port))
    try:
        yield link
    finally:
        link.close()
