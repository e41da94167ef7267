import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tessera.core.tags import InvalidTagPattern, TagPolicy

segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
tags = st.lists(segment, min_size=1, max_size=4).map(".".join)
patterns = st.lists(st.sampled_from(["*", *"abc_."]), min_size=1, max_size=10).map("".join)


@pytest.mark.parametrize(
    ("patterns", "tag", "allowed"),
    [
        ("*", "tickets.tickets.list", True),
        ("*, -tickets.*", "tickets.tickets.list", False),  # documented, unlike Deskpro's code
        ("*, -tickets.*", "people.people.list", True),
        ("tickets.*, -*.delete", "tickets.tickets.list", True),
        ("tickets.*, -*.delete", "tickets.tickets.delete", False),
        ("tickets.*, -*.delete", "people.people.list", False),
        ("tickets.tickets.list", "tickets.tickets.list", True),
        ("tickets.tickets.list", "tickets.tickets.get", False),
        ("tickets.tickets", "tickets.tickets.list", False),  # whole-string match
        ("Tickets.*", "tickets.tickets.list", False),  # case-sensitive
        ("*.list", "tickets.tickets.list", True),  # * spans dots
        ("  tickets.* ,  -*.delete  ", "tickets.tickets.delete", False),  # blanks ignored
        ("", "tickets.tickets.list", False),  # an empty list allows nothing
        ("-*", "tickets.tickets.list", False),
        ("*, -*", "tickets.tickets.list", False),
        ("a.*.c", "a.b.c", True),
        ("a.*.c", "a.c", False),
    ],
)
def test_documented_examples(patterns: str, tag: str, allowed: bool) -> None:
    assert TagPolicy.parse(patterns).allows(tag) is allowed


def test_every_tag_of_an_endpoint_must_be_allowed() -> None:
    policy = TagPolicy.parse("tickets.*")

    assert policy.allows_all(["tickets.tickets.list"])
    assert not policy.allows_all(["tickets.tickets.list", "people.people.list"])


@pytest.mark.parametrize("text", ["tickets.*; drop", "ti ckets", "tickets?", "--x", "-"])
def test_patterns_outside_the_tag_alphabet_are_refused(text: str) -> None:
    with pytest.raises(InvalidTagPattern):
        TagPolicy.parse(text)


def _reference(pattern: str, tag: str) -> bool:
    # An independent oracle: fnmatch-like semantics spelled out with a regex per character.
    regex = "".join(".*" if c == "*" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, tag, re.DOTALL) is not None


@given(st.lists(patterns, max_size=4), st.lists(patterns, max_size=3), tags)
def test_allowed_iff_some_allow_matches_and_no_deny_matches(
    allow: list[str], deny: list[str], tag: str
) -> None:
    policy = TagPolicy.parse(", ".join([*allow, *(f"-{p}" for p in deny)]))

    expected = any(_reference(p, tag) for p in allow) and not any(_reference(p, tag) for p in deny)
    assert policy.allows(tag) is expected


@given(tags)
def test_star_allows_every_tag_and_star_deny_refuses_it(tag: str) -> None:
    assert TagPolicy.parse("*").allows(tag)
    assert not TagPolicy.parse("*, -*").allows(tag)


@given(st.lists(patterns, max_size=4), st.lists(patterns, max_size=3))
def test_normalized_text_parses_to_the_same_policy(allow: list[str], deny: list[str]) -> None:
    policy = TagPolicy.parse(",".join([*allow, *(f"-{p}" for p in deny)]))

    assert TagPolicy.parse(str(policy)) == policy
