"""A TCP relay on loopback between a guard and Tessera, that can go silent.

Not a fake Tessera: every byte is Tessera's own. ``silence()`` stops passing Tessera's bytes on
(as a dead network path does: the connection stays open, nothing arrives); ``speak()`` lets
new connections through again.
"""

import contextlib
import selectors
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit


class Relay:
    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._listener = socket.create_server(("127.0.0.1", 0))
        # accept() is not woken by close() from another thread: look at the flag now and then.
        self._listener.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._silent = threading.Event()
        self._closing = threading.Event()
        self._sockets: list[socket.socket] = []

    def silence(self) -> None:
        self._silent.set()

    def speak(self) -> None:
        self._silent.clear()

    def serve(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            upstream = socket.create_connection(self._target)
            self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        selector.register(client, selectors.EVENT_READ, upstream)
        selector.register(upstream, selectors.EVENT_READ, client)
        with contextlib.suppress(OSError):
            while not self._closing.is_set():
                for key, _ in selector.select(timeout=0.1):
                    source: socket.socket = key.fileobj  # type: ignore[assignment]
                    data = source.recv(65536)
                    if not data:
                        return
                    if source is upstream and self._silent.is_set():
                        continue  # swallowed: the guard hears nothing
                    key.data.sendall(data)
        selector.close()

    def close(self) -> None:
        self._closing.set()
        self._listener.close()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()


@contextmanager
def relaying(target: str) -> Iterator[Relay]:
    relay = Relay(target)
    thread = threading.Thread(target=relay.serve, name="relay", daemon=True)
    thread.start()
    try:
        yield relay
    finally:
        relay.close()
        thread.join(timeout=10)
