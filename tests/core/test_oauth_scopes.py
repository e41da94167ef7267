"""The scope rules: unknown values ignored, the default when nothing is left (ADR 0019);
API scopes are endpoint tag patterns, narrowed, never widened (ADR 0042)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.core.errors import FieldErrors
from tessera.core.oauth_clients import check_allowed_scopes
from tessera.core.oauth_scopes import (
    DEFAULT_SCOPE,
    EVERYTHING,
    OWN_TAGS,
    ApiScope,
    ScopeCatalogue,
    granted_scope,
    refresh_token_due,
    scope_to_grant,
    scope_to_refresh,
    scope_values,
    tag_limit,
)
from tessera.core.tags import TagPolicy, pattern_within, patterns_overlap


@pytest.mark.parametrize(
    ("requested", "granted"),
    [
        (None, "session"),
        ("", "session"),
        ("   ", "session"),
        ("session", "session"),
        ("read write", "session"),
        ("read session", "session"),
        ("session session", "session"),
        ("SESSION", "session"),  # scope values are case-sensitive (RFC 6749 §3.3)
    ],
)
def test_an_authorization_is_granted_what_tessera_knows_of_it(
    requested: str | None, granted: str
) -> None:
    assert scope_to_grant(requested) == granted


def test_a_grant_without_a_recorded_scope_counts_as_the_default() -> None:
    assert granted_scope("") == DEFAULT_SCOPE == "session"
    assert granted_scope("session") == "session"


@pytest.mark.parametrize(
    ("requested", "granted", "answer"),
    [
        (None, "session", "session"),
        ("", "session", "session"),
        ("session", "session", "session"),
        ("read write", "session", "session"),  # what the client first asked for, repeated
        ("session", "", "session"),
        ("session", "openid", None),  # a known scope the grant does not hold
        ("read", "openid", "openid"),
    ],
)
def test_a_refresh_may_not_ask_for_more_than_was_granted(
    requested: str | None, granted: str, answer: str | None
) -> None:
    assert scope_to_refresh(requested, granted) == answer


def test_scope_values_split_on_blanks_and_keep_the_first_of_each() -> None:
    assert scope_values(" b  a\tb a ") == ["b", "a"]
    assert scope_values(None) == []


# -- API scopes: endpoint tag patterns (ADR 0042) ----------------------------------------------

CATALOGUE = ScopeCatalogue(
    [
        *OWN_TAGS,
        "tickets.tickets.list",
        "tickets.tickets.get",
        "tickets.tickets.put",
        "tickets.tickets.delete",
        "tickets.messages.list",
        "people.notes.delete",
    ]
)
TICKETS = ApiScope.parse("tickets.*")
SESSION_BUT_DELETING = ApiScope.parse("session -*.delete")


@pytest.mark.parametrize(
    ("requested", "allowed", "granted"),
    [
        ("tickets.*", EVERYTHING, "tickets.*"),
        ("tickets.* -*.delete", EVERYTHING, "tickets.* -*.delete"),
        ("-*.delete", EVERYTHING, "session -*.delete"),  # only a deny: session, less that
        ("*", EVERYTHING, "session"),
        ("tickets.** session", EVERYTHING, "session"),
        ("read tickets.*", EVERYTHING, "tickets.*"),  # "read" names no endpoint: ignored
        ("nothing.here", EVERYTHING, "session"),
        ("session", TICKETS, "tickets.*"),  # a Deskpro client, narrowed to what it may have
        (None, TICKETS, "tickets.*"),
        ("tickets.tickets.list", TICKETS, "tickets.tickets.list"),
        ("people.*", TICKETS, "tickets.*"),  # nothing it may have: as if it asked for nothing
        ("tickets.*", SESSION_BUT_DELETING, "tickets.* -*.delete"),
        ("me.me.get", SESSION_BUT_DELETING, "me.me.get"),  # the deny meets nothing asked for
        ("*.list", TICKETS, "tickets.*"),  # partly meeting patterns give nothing
        ("openid profile tickets.*", EVERYTHING, "openid profile tickets.*"),
        ("tickets.* openid offline_access", EVERYTHING, "openid offline_access tickets.*"),
        ("openid", TICKETS, "openid tickets.*"),
        ("profile tickets.*", EVERYTHING, "tickets.*"),  # profile counts only beside openid
    ],
)
def test_api_scopes_are_narrowed_to_what_the_client_may_have(
    requested: str | None, allowed: ApiScope, granted: str
) -> None:
    assert scope_to_grant(requested, allowed, CATALOGUE) == granted


@pytest.mark.parametrize(
    ("requested", "granted", "allowed", "answer"),
    [
        ("tickets.tickets.list", "tickets.*", EVERYTHING, "tickets.tickets.list"),
        ("tickets.tickets.list", "tickets.* -*.delete", EVERYTHING, "tickets.tickets.list"),
        ("tickets.*", "session -*.delete", EVERYTHING, "tickets.* -*.delete"),
        ("-*.delete", "tickets.*", EVERYTHING, "tickets.* -*.delete"),
        (None, "tickets.* -*.delete", EVERYTHING, "tickets.* -*.delete"),
        ("people.*", "tickets.*", EVERYTHING, None),  # wider: refused
        ("session", "tickets.*", EVERYTHING, None),
        ("tickets.* people.*", "tickets.*", EVERYTHING, None),
        ("tickets.*", "tickets.* -*.delete", EVERYTHING, "tickets.* -*.delete"),  # deny stays
        # What the client first asked for, repeated: narrowed again as at the authorization.
        ("session", "tickets.*", TICKETS, "tickets.*"),
        ("tickets.* people.*", "tickets.*", TICKETS, "tickets.*"),
        # The client's allowed scopes narrowed since: the refresh is narrowed with them.
        (None, "session", TICKETS, "tickets.*"),
        ("openid", "openid profile tickets.*", EVERYTHING, "openid tickets.*"),
        ("profile", "openid tickets.*", EVERYTHING, None),
    ],
)
def test_a_refresh_narrows_api_scopes_and_never_widens_them(
    requested: str | None, granted: str, allowed: ApiScope, answer: str | None
) -> None:
    assert scope_to_refresh(requested, granted, allowed, CATALOGUE) == answer


@pytest.mark.parametrize(
    ("scope", "limit"),
    [
        ("session", None),
        ("openid profile session", None),
        ("", None),  # a grant recorded before scopes: session
        ("tickets.*", "tickets.*"),
        ("openid tickets.* -*.delete", "tickets.*, -*.delete"),
        ("session -*.delete", "*, -*.delete"),
    ],
)
def test_a_tokens_scope_is_the_tag_limit_a_key_would_have(scope: str, limit: str | None) -> None:
    policy = tag_limit(scope)
    assert (None if policy is None else str(policy)) == limit


def test_a_limit_allows_exactly_what_key_tags_allow() -> None:
    limit = tag_limit("tickets.* -*.delete")
    key = TagPolicy.parse("tickets.*, -*.delete")
    assert limit is not None
    for tag in CATALOGUE.tags:
        assert limit.allows(tag) == key.allows(tag), tag


@pytest.mark.parametrize(
    ("inner", "outer", "within"),
    [
        ("tickets.*", "*", True),
        ("tickets.tickets.list", "tickets.*", True),
        ("tickets.tickets.list", "*.list", True),
        ("tickets.*", "tickets.*", True),
        ("*", "tickets.*", False),
        ("tickets.*", "*.list", False),
        ("tickets.*.list", "tickets.*", True),
        ("tickets.*", "tickets.*.list", False),
    ],
)
def test_a_pattern_lies_within_another_when_every_tag_it_matches_does(
    inner: str, outer: str, within: bool
) -> None:
    assert pattern_within(inner, outer) is within


#: Tags and patterns over a small alphabet, so that random ones meet often.
_tag_words = st.sampled_from(["a", "b", "ab", "list", "delete"])
tags = st.lists(_tag_words, min_size=1, max_size=4).map(".".join)
patterns = st.lists(
    st.sampled_from(["a", "b", "ab", "list", "*", "delete"]), min_size=1, max_size=4
).map(".".join) | st.sampled_from(["*", "a*", "*b", "*.delete"])


@settings(max_examples=400, deadline=None)
@given(patterns, patterns, tags)
def test_within_and_overlap_hold_for_every_tag(inner: str, outer: str, tag: str) -> None:
    inner_matches = TagPolicy((inner,), ()).allows(tag)
    outer_matches = TagPolicy((outer,), ()).allows(tag)
    if pattern_within(inner, outer) and inner_matches:
        assert outer_matches
    if inner_matches and outer_matches:
        assert patterns_overlap(inner, outer)


api_scopes = st.builds(
    lambda allow, deny: ApiScope(tuple(allow), tuple(deny)),
    st.lists(patterns, min_size=1, max_size=3),
    st.lists(patterns, max_size=2),
)


@settings(max_examples=300, deadline=None)
@given(api_scopes, api_scopes, st.lists(tags, min_size=1, max_size=8))
def test_narrowing_and_within_never_allow_more(
    asked: ApiScope, limit: ApiScope, sample: list[str]
) -> None:
    narrowed = asked.narrowed_to(limit)
    for tag in sample:
        if narrowed.policy().allows(tag):
            assert asked.policy().allows(tag), (narrowed, tag)
            assert limit.policy().allows(tag), (narrowed, tag)
        if asked.within(limit) and asked.policy().allows(tag):
            assert limit.policy().allows(tag), (asked, limit, tag)


def test_scopes_supported_names_the_words_and_the_tag_groups() -> None:
    supported = CATALOGUE.supported()
    assert supported[:5] == ["openid", "profile", "email", "offline_access", "session"]
    assert {"tickets.*", "people.*", "me.*"} <= set(supported[5:])


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("session", "session"),
        ("tickets.*, -*.delete", "tickets.* -*.delete"),
        ("tickets.* tickets.tickets.list", "tickets.*"),
        ("session tickets.*", "session"),
    ],
)
def test_a_clients_allowed_scopes_are_stored_one_way(text: str, stored: str) -> None:
    problems = FieldErrors()
    assert check_allowed_scopes(problems, text) == stored
    assert not problems


@pytest.mark.parametrize("text", ["", "-*.delete", "openid", "tickets/*", "x" * 1001])
def test_allowed_scopes_that_allow_nothing_or_are_not_patterns_are_refused(text: str) -> None:
    problems = FieldErrors()
    assert check_allowed_scopes(problems, text) is None
    assert "allowed_scopes" in problems.fields


def test_with_openid_a_refresh_token_needs_offline_access() -> None:
    assert refresh_token_due("session")
    assert refresh_token_due("tickets.*")
    assert not refresh_token_due("openid profile session")
    assert refresh_token_due("openid offline_access session")


def test_a_refresh_asking_for_nothing_the_client_may_have_gets_the_grant_narrowed() -> None:
    me = ApiScope.parse("me.*")
    assert scope_to_refresh("people.*", "session", me, CATALOGUE) == "me.*"
    # The client is now allowed only me.*, the grant was people.*: nothing is left, and an
    # empty scope would read as session. No token (invalid_scope), asked for or not.
    assert scope_to_refresh("people.*", "people.*", me, CATALOGUE) is None
    assert scope_to_refresh(None, "people.*", me, CATALOGUE) is None
    # OpenID's values alone: a token for UserInfo that calls no endpoint.
    assert scope_to_refresh(None, "openid people.*", me, CATALOGUE) == "openid"
    nothing = tag_limit("openid")
    assert nothing is not None
    assert not nothing.allows("me.me.get")


def test_an_unreadable_stored_scope_or_allowed_list_allows_nothing() -> None:
    # Only Tessera writes these; a damaged one fails closed.
    damaged = tag_limit("tickets/*")
    assert damaged is not None
    assert str(damaged) == ""
    assert not damaged.allows("tickets.tickets.list")


def test_an_openid_value_in_a_request_without_openid_is_not_a_pattern() -> None:
    assert scope_to_grant("email offline_access", EVERYTHING, CATALOGUE) == "session"
