"""The scope rule (ADR 0019): unknown values ignored, the default when nothing is left."""

import pytest

from tessera.core.oauth_scopes import (
    DEFAULT_SCOPE,
    granted_scope,
    scope_to_grant,
    scope_to_refresh,
    scope_values,
)


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
