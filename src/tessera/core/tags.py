"""Endpoint tag patterns that limit what an API key may call (decision 11.5).

A tag names an endpoint, general to specific: ``api_keys.api_keys.list``. A key holds patterns
such as ``*`` or ``tickets.*, -*.delete``. A tag is allowed when at least one allow pattern
matches it and no deny (``-``) pattern does; ``*`` matches any run of characters, dots
included; matching is whole-string and case-sensitive; an empty list allows nothing. This is
Deskpro's *documented* meaning, not its code's short-circuit on a literal ``*`` (§10.6).
"""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache, lru_cache

#: What a pattern may contain, besides an optional leading ``-``.
_PATTERN = re.compile(r"-?[A-Za-z0-9_.*]+")
_LIST_SEPARATOR = re.compile(r"\s*,\s*")


class InvalidTagPattern(ValueError):
    """A pattern uses characters that no tag has."""


@dataclass(frozen=True, slots=True)
class TagPolicy:
    allow: tuple[str, ...]
    deny: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> "TagPolicy":
        """Read a comma-separated pattern list; blanks around commas and empty items are ignored.

        Raises:
            InvalidTagPattern: an item is not a pattern.
        """
        allow: list[str] = []
        deny: list[str] = []
        for item in _LIST_SEPARATOR.split(text.strip()):
            if not item:
                continue
            if _PATTERN.fullmatch(item) is None:
                raise InvalidTagPattern(item)
            if item.startswith("-"):
                deny.append(item[1:])
            else:
                allow.append(item)
        return cls(tuple(allow), tuple(deny))

    def allows(self, tag: str) -> bool:
        return any(_matcher(p)(tag) for p in self.allow) and not any(
            _matcher(p)(tag) for p in self.deny
        )

    def explain(self, tag: str) -> "TagVerdict":
        """Which pattern allows the tag (the first that matches) and which denies it, if any."""
        allowed_by = next((p for p in self.allow if _matcher(p)(tag)), None)
        denied_by = next((p for p in self.deny if _matcher(p)(tag)), None)
        return TagVerdict(tag, allowed_by, None if denied_by is None else f"-{denied_by}")

    def allows_all(self, tags: Iterable[str]) -> bool:
        """An endpoint with several tags needs every one of them allowed."""
        return _allows_all(self, tuple(tags))

    def __str__(self) -> str:
        return ", ".join([*self.allow, *(f"-{p}" for p in self.deny)])


@dataclass(frozen=True, slots=True)
class TagVerdict:
    """``TagPolicy.explain``'s answer: allowed when a pattern allows and none denies."""

    tag: str
    allowed_by: str | None
    #: The deny pattern as written, with its ``-``.
    denied_by: str | None

    @property
    def allowed(self) -> bool:
        return self.allowed_by is not None and self.denied_by is None


ALLOW_EVERYTHING = TagPolicy(("*",), ())


@lru_cache(maxsize=65_536)
def _allows_all(policy: TagPolicy, tags: tuple[str, ...]) -> bool:
    # Asked on every request made with a key: policies come from the stored keys and tags
    # from the endpoints, so the answers are few, and a dictionary lookup beats the matching.
    return all(policy.allows(tag) for tag in tags)


@cache
def _matcher(pattern: str) -> Callable[[str], re.Match[str] | None]:
    # Patterns come from a bounded set (stored keys, fixed endpoint tags), so caching is safe.
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.compile(regex, re.DOTALL).fullmatch


# -- comparing patterns (OAuth scopes narrow and are narrowed by them: core.oauth_scopes) -----

#: Stands for a ``*`` of the inner pattern in ``pattern_within``: no tag holds it.
_ANY = "\x00"


def pattern_within(inner: str, outer: str) -> bool:
    """Whether every tag ``inner`` matches, ``outer`` matches too, whatever tags exist.

    Each ``*`` of ``inner`` is read as a character no tag has: ``outer`` can match that only
    with a ``*`` of its own, which matches anything the ``*`` of ``inner`` could. So ``outer``
    matching the result is both enough and needed (``tickets.*`` lies within ``*`` and within
    ``tickets.*``, not within ``*.list``).
    """
    if inner == outer:
        return True
    return _matcher(outer)(inner.replace("*", _ANY)) is not None


def patterns_overlap(first: str, second: str) -> bool:
    """Whether some tag (existing or not) matches both patterns (``*.delete``, ``tickets.*``)."""
    return _overlap(first, second)


@lru_cache(maxsize=4096)
def _overlap(first: str, second: str) -> bool:
    @cache
    def meets(i: int, j: int) -> bool:
        # Whether first[i:] and second[j:] can match one same string.
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
