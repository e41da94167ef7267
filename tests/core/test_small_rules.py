from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tessera.core.client_info import parse_client_type
from tessera.core.paging import Page, PageRequest
from tessera.core.principals import TokenLifetime, TokenSource
from tessera.core.records import HOLDER_KINDS, HOLDER_NAMES
from tessera.core.site import SiteInfo


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, ("standard", "0")),
        ("", ("standard", "0")),
        ("iOS (v1.0.92)", ("ios", "1.0.92")),
        ("Android (v2)", ("android", "2")),
        ("SomeApp", ("someapp", "0")),
    ],
)
def test_client_type_header(header: str | None, expected: tuple[str, str]) -> None:
    assert parse_client_type(header) == expected


T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_idle_lifetime_counts_from_last_use() -> None:
    lifetime = TokenLifetime(idle=timedelta(days=90), max_age=None)

    assert lifetime.expiry(T0, None, None) == T0 + timedelta(days=90)
    assert lifetime.expiry(T0, T0 + timedelta(days=10), None) == T0 + timedelta(days=100)


def test_the_earliest_limit_wins() -> None:
    lifetime = TokenLifetime(idle=timedelta(days=90), max_age=timedelta(days=30))

    assert lifetime.expiry(T0, T0 + timedelta(days=20), None) == T0 + timedelta(days=30)
    assert lifetime.expiry(T0, None, T0 + timedelta(hours=1)) == T0 + timedelta(hours=1)
    assert TokenLifetime(idle=None, max_age=None).expiry(T0, None, None) is None


_DAYS = st.none() | st.integers(min_value=0, max_value=400).map(lambda days: timedelta(days=days))


@given(idle=_DAYS, max_age=_DAYS, used=_DAYS, expires=_DAYS)
def test_expiry_is_the_earliest_limit_that_applies(
    idle: timedelta | None,
    max_age: timedelta | None,
    used: timedelta | None,
    expires: timedelta | None,
) -> None:
    last_used = None if used is None else T0 + used
    expires_at = None if expires is None else T0 + expires
    limits = [expires_at] if expires_at is not None else []
    if idle is not None:
        limits.append((last_used or T0) + idle)
    if max_age is not None:
        limits.append(T0 + max_age)
    expected = min(limits) if limits else None

    assert TokenLifetime(idle, max_age).expiry(T0, last_used, expires_at) == expected


def test_pages() -> None:
    page = Page(items=[1, 2], total=101, request=PageRequest(page=2, per_page=50))

    assert page.request.offset == 50
    assert page.total_pages == 3
    with pytest.raises(ValueError, match="page"):
        PageRequest(page=0)


def test_site_urls() -> None:
    site = SiteInfo(public_url="https://help.example.com", version="1")

    assert site.helpdesk_url == "https://help.example.com/"
    assert site.base_api_url == "https://help.example.com/api/v2/"
    assert site.device_setup_url("C") == "https://help.example.com/api/v2/api_tokens/device_setup/C"


def test_every_token_source_has_a_holder_name_and_kind() -> None:
    # A new way to issue tokens must say what holds them in every listing.
    assert set(HOLDER_NAMES) == set(TokenSource)
    assert set(HOLDER_KINDS) == set(TokenSource)
    assert len(set(HOLDER_KINDS.values())) == len(TokenSource)
