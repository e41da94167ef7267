"""prompt and max_age read, judged, and taken out once a fresh sign-in has met them."""

from datetime import UTC, datetime, timedelta

import pytest

from tessera.core.authorization_prompts import (
    InvalidDemand,
    Prompt,
    SignInDemands,
    after_sign_in,
    read_demands,
)

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        (None, frozenset()),
        ("", frozenset()),
        ("none", {Prompt.NONE}),
        ("login consent", {Prompt.LOGIN, Prompt.CONSENT}),
        ("select_account", {Prompt.SELECT_ACCOUNT}),
        ("create login", {Prompt.LOGIN}),  # an unknown value is ignored
        ("NONE", frozenset()),  # values are case-sensitive: this is an unknown one
    ],
)
def test_prompt_values_are_read(prompt: str | None, expected: set[Prompt]) -> None:
    assert read_demands(prompt, None).prompts == expected


@pytest.mark.parametrize("prompt", ["none login", "consent none", "none create"])
def test_none_with_anything_else_is_an_error(prompt: str) -> None:
    with pytest.raises(InvalidDemand):
        read_demands(prompt, None)


def test_none_twice_is_still_none() -> None:
    assert read_demands("none none", None).silent


@pytest.mark.parametrize("max_age", ["-1", "1.5", "ten", "١٢", " 5", "9" * 13])
def test_a_max_age_that_is_not_whole_seconds_is_an_error(max_age: str) -> None:
    with pytest.raises(InvalidDemand):
        read_demands(None, max_age)


def test_a_huge_max_age_means_whenever() -> None:
    demands = read_demands(None, "999999999999")

    assert not demands.sign_in_required(NOW - timedelta(days=3650), NOW)


@pytest.mark.parametrize(
    ("demands", "signed_in_ago", "again"),
    [
        (SignInDemands(), timedelta(days=30), False),
        (SignInDemands(max_age=10), timedelta(seconds=10), False),
        (SignInDemands(max_age=10), timedelta(seconds=11), True),
        (SignInDemands(max_age=0), timedelta(), True),
        (SignInDemands(frozenset({Prompt.LOGIN})), timedelta(), True),
        (SignInDemands(frozenset({Prompt.SELECT_ACCOUNT})), timedelta(), True),
        (SignInDemands(frozenset({Prompt.CONSENT})), timedelta(days=1), False),
        (SignInDemands(frozenset({Prompt.NONE})), timedelta(days=1), False),
    ],
)
def test_when_a_fresh_sign_in_is_needed(
    demands: SignInDemands, signed_in_ago: timedelta, again: bool
) -> None:
    assert demands.sign_in_required(NOW - signed_in_ago, NOW) is again


def test_after_a_sign_in_what_asked_for_it_is_gone_and_the_rest_stays_in_order() -> None:
    sent = [
        ("client_id", "7_abc"),
        ("prompt", "login consent"),
        ("max_age", "0"),
        ("state", "s"),
        ("id_token_hint", "eyJ"),
    ]

    assert after_sign_in(sent) == [
        ("client_id", "7_abc"),
        ("prompt", "consent"),
        ("state", "s"),
        ("id_token_hint", "eyJ"),
    ]
    assert after_sign_in([("prompt", "select_account login")]) == []
