"""Read ``GET /authz/changes`` as a subscriber does: events, one ``data`` line each."""

from collections.abc import Iterator
from contextlib import contextmanager

import httpx


class EventReader:
    """The lines of an open stream, grouped into events."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.iter_lines()

    def next_data(self) -> str | None:
        """The next event's data; None when the stream ends. A read stalled longer than the
        client's read timeout raises ``httpx.ReadTimeout``."""
        data: list[str] = []
        for line in self._lines:
            if line.startswith("data:"):
                data.append(line[5:].strip())
            elif not line and data:
                return "\n".join(data)
        return None

    def next_comment(self) -> str | None:
        """The next comment line's text (events on the way are dropped); None at the end."""
        for line in self._lines:
            if line.startswith(":"):
                return line[1:].strip()
        return None

    def until(self, wanted: str) -> list[str]:
        """Every event's data up to and including ``wanted``."""
        seen: list[str] = []
        while (data := self.next_data()) is not None:
            seen.append(data)
            if data == wanted:
                return seen
        raise AssertionError(f"the stream ended before {wanted!r}; it sent {seen}")


@contextmanager
def subscribed(
    base_url: str, headers: dict[str, str], *, read_seconds: float
) -> Iterator[EventReader]:
    """An open ``GET /authz/changes``; reads that wait longer than ``read_seconds`` fail."""
    timeout = httpx.Timeout(30, read=read_seconds)
    with (
        httpx.Client(base_url=base_url, timeout=timeout) as client,
        client.stream("GET", "/authz/changes", headers=headers) as response,
    ):
        yield EventReader(response)
