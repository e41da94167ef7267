"""Whether a token's scope holds a scope an endpoint asks for, read as Tessera reads scopes.

Tessera grants API scopes as endpoint tag patterns (ADR 0042): ``tickets.*`` allows every tag
it matches, ``-*.delete`` takes away, ``session`` is everything (the pattern ``*``). So an
endpoint that asks for ``tickets.tickets.list`` is satisfied by a token granted ``tickets.*``
or ``session``, and not by one granted ``tickets.* -*.list``. An asked pattern
(``tickets.*``) is held when it lies within a granted allow pattern and no granted deny
pattern meets it: then every tag it names is allowed.

OpenID Connect's words (``openid``, ``profile``, ``email``, ``offline_access``), ``client``
(exchange and device-setup tokens) and anything that is not a pattern (``admin:read``,
a URL) are compared as they are written.

The guard stands alone (it runs inside other people's APIs), so the few lines that match
patterns are its own, not ``tessera.core.tags``; a test holds both to the same answers.
"""

import re
from collections.abc import Iterable
from functools import cache, lru_cache

#: Scope values that are words, never patterns.
WORDS = frozenset({"openid", "profile", "email", "offline_access", "client"})
#: Deskpro's name for a token with every right of its person: the pattern ``*``.
SESSION = "session"
_PATTERN = re.compile(r"[A-Za-z0-9_.*]+")
#: Stands for a ``*`` of the asked pattern: a character no tag holds (see ``_within``).
_ANY = "\x00"


def holds(granted: Iterable[str], asked: str) -> bool:
    """Whether a token granted the scope values ``granted`` may do what ``asked`` names."""
    values = tuple(granted)
    if asked in WORDS or _PATTERN.fullmatch(asked) is None:
        return asked in values
    needed = "*" if asked == SESSION else asked
    allow = [_as_pattern(value) for value in values if _is_allow(value)]
    deny = [value[1:] for value in values if value[:1] == "-" and _is_allow(value[1:])]
    return any(_within(needed, pattern) for pattern in allow) and not any(
        _overlap(needed, pattern) for pattern in deny
    )


def missing(granted: Iterable[str], asked: Iterable[str]) -> list[str]:
    """The asked scope values that ``granted`` does not hold, in the order asked."""
    values = tuple(granted)
    return [scope for scope in asked if not holds(values, scope)]


def _is_allow(value: str) -> bool:
    return value not in WORDS and _PATTERN.fullmatch(value) is not None


def _as_pattern(value: str) -> str:
    return "*" if value == SESSION else value


@cache
def _matcher(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


@lru_cache(maxsize=4096)
def _within(inner: str, outer: str) -> bool:
    """Every tag ``inner`` matches, ``outer`` matches: ``outer`` must match ``inner`` with each
    ``*`` read as a character no tag has (only a ``*`` of ``outer`` can match it)."""
    return inner == outer or _matcher(outer).fullmatch(inner.replace("*", _ANY)) is not None


@lru_cache(maxsize=4096)
def _overlap(first: str, second: str) -> bool:
    """Whether some tag matches both patterns (``tickets.*`` and ``*.delete`` do)."""

    @cache
    def meets(i: int, j: int) -> bool:
        if i == len(first) and j == len(second):
            return True
        first_star = i < len(first) and first[i] == "*"
        if first_star and (meets(i + 1, j) or (j < len(second) and meets(i, j + 1))):
            return True
        second_star = j < len(second) and second[j] == "*"
        if second_star and (meets(i, j + 1) or (i < len(first) and meets(i + 1, j))):
            return True
        return (
            i < len(first)
            and j < len(second)
            and first[i] == second[j] != "*"
            and meets(i + 1, j + 1)
        )

    return meets(0, 0)
