"""The guard reads scopes as Tessera grants them: endpoint tag patterns (ADR 0042)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tessera.core.tags import TagPolicy, pattern_within, patterns_overlap
from tessera.guard.scopes import holds, missing

segment = st.text(alphabet="abc_", min_size=1, max_size=4)
tags = st.lists(segment, min_size=1, max_size=3).map(".".join)
patterns = st.lists(st.sampled_from(["*", *"abc_."]), min_size=1, max_size=8).map("".join)


@pytest.mark.parametrize(
    ("granted", "asked", "held"),
    [
        ("tickets.*", "tickets.list", True),
        ("tickets.*", "tickets.tickets.list", True),
        ("session", "tickets.tickets.delete", True),
        ("tickets.* -*.delete", "tickets.tickets.delete", False),
        ("tickets.* -*.delete", "tickets.tickets.list", True),
        ("tickets.tickets.list", "tickets.*", False),  # a pattern asked: all it names
        ("tickets.*", "tickets.*", True),
        ("tickets.* -*.delete", "tickets.*", False),  # some of it taken away
        ("session", "session", True),
        ("tickets.*", "session", False),
        ("client", "tickets.tickets.list", False),  # a word, not a pattern
        ("client", "client", True),
        ("openid profile", "profile", True),
        ("session", "openid", False),  # OpenID's words are never patterns
        ("session", "admin:read", False),  # not a pattern: literal
        ("admin:read", "admin:read", True),
        ("", "tickets.tickets.list", False),
    ],
)
def test_examples(granted: str, asked: str, held: bool) -> None:
    assert holds(granted.split(), asked) is held


def test_missing_lists_what_is_not_held_in_order() -> None:
    granted = ["tickets.*", "-*.delete", "openid"]

    assert missing(granted, ["email", "tickets.tickets.list", "tickets.x.delete"]) == [
        "email",
        "tickets.x.delete",
    ]


@given(st.lists(patterns, max_size=3), st.lists(patterns, max_size=2), tags)
def test_a_tag_is_held_exactly_when_tessera_would_allow_it(
    allow: list[str], deny: list[str], tag: str
) -> None:
    granted = [*allow, *(f"-{pattern}" for pattern in deny)]
    policy = TagPolicy(tuple(allow), tuple(deny))

    assert holds(granted, tag) is policy.allows(tag)


@given(patterns, patterns)
def test_pattern_rules_agree_with_the_core(first: str, second: str) -> None:
    # The guard stands alone, so its copies of within/overlap must give the core's answers.
    assert holds([second], first) is pattern_within(first, second)
    assert holds(["*", f"-{second}"], first) is not patterns_overlap(first, second)
