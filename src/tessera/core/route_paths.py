"""Paths as the route table reads them: split into segments, decoded, and refused if ambiguous.

A guarded API and the route table must agree on which endpoint a path names, or a request could
be checked as one endpoint and served as another. Servers disagree on the corner cases — an
encoded ``/`` (``%2F``), dot segments, doubled slashes, a backslash — so a path that has any of
them is refused whatever the table says (``AmbiguousPath``), rather than guessed at. Percent
escapes are decoded (UTF-8) so that ``/tickets/caf%C3%A9`` is the segment ``café``, as
frameworks route it. A trailing slash is kept as an empty last segment: ``/tickets/`` is not
``/tickets`` (Django routes one, Starlette the other), and a table names the one its API uses.
"""

from urllib.parse import unquote

#: More segments than this is no API's path: refused rather than walked.
MAX_SEGMENTS = 64


class AmbiguousPath(ValueError):
    """The path could name different endpoints depending on how the guarded API decodes it."""


def path_segments(path: str) -> list[str]:
    """The decoded segments of a path (no query), ``/`` → ``[""]``.

    Raises:
        AmbiguousPath: not absolute, an encoded or doubled ``/``, a ``.`` or ``..`` segment, a
            backslash, a control character or ``%`` after decoding, bad UTF-8, or too long.
    """
    if not path.startswith("/"):
        raise AmbiguousPath(path)
    segments = path[1:].split("/")
    if len(segments) > MAX_SEGMENTS:
        raise AmbiguousPath(path)
    if "%" in path:
        segments = [_decoded(segment) for segment in segments]
    last = len(segments) - 1
    for index, segment in enumerate(segments):
        if not _plain(segment) or (not segment and index != last):
            raise AmbiguousPath(path)
    return segments


def _decoded(segment: str) -> str:
    if "%" not in segment:
        return segment
    try:
        decoded = unquote(segment, errors="strict")
    except UnicodeDecodeError:
        raise AmbiguousPath(segment) from None
    # An encoded slash is a separator to some servers and not to others; an encoded percent
    # is another segment to a server that decodes twice.
    if "/" in decoded or "%" in decoded:
        raise AmbiguousPath(segment)
    return decoded


#: Never part of a path a client meant: a header or log line could be split by them.
_CONTROL = frozenset(chr(code) for code in (*range(32), 127))


def _plain(segment: str) -> bool:
    if segment in (".", "..") or "\\" in segment:
        return False
    # isprintable() is one C loop and true for nearly every segment; only others are searched.
    return segment.isprintable() or _CONTROL.isdisjoint(segment)
