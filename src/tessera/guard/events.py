"""The revocation stream's events, read from its lines (server-sent events, WHATWG HTML §9.2).

Only what ``GET /authz/changes`` sends is needed: ``data`` lines (one per event), comments
(keep-alives) and ``retry``; ``event`` and ``id`` fields are ignored. Each event's data names a
change: ``api_key 12``, ``api_token 34``, ``person 7``, ``oauth_client 3`` or ``everything``.
"""

from dataclasses import dataclass, field

EVERYTHING = "everything"
#: A change's kind as the stream names it → the prefix of the subject the cache indexes.
_SUBJECT_PREFIXES = {
    "api_key": "key",
    "api_token": "token",
    "person": "person",
    "oauth_client": "client",
}


@dataclass(slots=True)
class EventLines:
    """Collects lines into events; ``feed`` returns an event's data when a blank line ends it."""

    _data: list[str] = field(default_factory=list)

    def feed(self, line: str) -> str | None:
        if not line:
            if not self._data:
                return None
            data, self._data = "\n".join(self._data), []
            return data
        if line.startswith(":"):
            return None  # a comment: a keep-alive
        name, _, value = line.partition(":")
        if name == "data":
            self._data.append(value.removeprefix(" "))
        return None


def subject_of(data: str) -> str | None:
    """The cache subject an event names (``key:12``), ``everything``, or None if unknown."""
    if data == EVERYTHING:
        return EVERYTHING
    kind, _, subject_id = data.partition(" ")
    prefix = _SUBJECT_PREFIXES.get(kind)
    if prefix is None or not subject_id.isdigit():
        return None
    return f"{prefix}:{subject_id}"
