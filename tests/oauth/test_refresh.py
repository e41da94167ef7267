"""Refresh tokens (RFC 9700 §4.14): rotated on every use, a replay revokes the whole family.

The refresh token just rotated away stays usable once for a grace period (default 60 s), for a
response lost on the way or two tabs refreshing at once.
"""

from datetime import timedelta

import httpx

from tessera.services.container import Services
from tessera.services.oauth_clients import IssuedOAuthClient
from tests.clock import ManualClock
from tests.factories import make_oauth_client
from tests.oauth.flows import (
    WEB_CALLBACK,
    Browser,
    Tokens,
    issue_tokens,
    me,
    refresh,
    tokens_of,
)
from tests.web.envelopes import INVALID_API_TOKEN, assert_error, data_of

AFTER_GRACE = timedelta(seconds=61)


def assert_invalid_grant(response: httpx.Response) -> None:
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant"), response.text


def assert_family_revoked(api: httpx.Client, app: IssuedOAuthClient, *family: Tokens) -> None:
    for tokens in family:
        assert_error(me(api, tokens.access), INVALID_API_TOKEN)
        assert_invalid_grant(refresh(api, app, tokens.refresh))


def test_each_refresh_rotates_the_refresh_token(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    chain = [issue_tokens(browser, api, web_app)]
    for _ in range(3):
        chain.append(tokens_of(refresh(api, web_app, chain[-1].refresh)))

    assert len({tokens.refresh for tokens in chain}) == len(chain)
    assert len({tokens.access for tokens in chain}) == len(chain)
    for tokens in chain:
        data = data_of(me(api, tokens.access))
        assert data["app_id"] == web_app.client.client_id


def test_a_rotated_refresh_token_is_refused_after_the_grace_period(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient, clock: ManualClock
) -> None:
    first = issue_tokens(browser, api, web_app)
    tokens_of(refresh(api, web_app, first.refresh))

    clock.advance(AFTER_GRACE)

    assert_invalid_grant(refresh(api, web_app, first.refresh))


def test_replaying_a_rotated_refresh_token_revokes_the_whole_family(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient, clock: ManualClock
) -> None:
    first = issue_tokens(browser, api, web_app)
    second = tokens_of(refresh(api, web_app, first.refresh))
    latest = tokens_of(refresh(api, web_app, second.refresh))
    clock.advance(AFTER_GRACE)
    data_of(me(api, latest.access))

    assert_invalid_grant(refresh(api, web_app, first.refresh))

    assert_family_revoked(api, web_app, first, second, latest)


def test_the_preceding_refresh_token_works_once_within_the_grace_period(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient, clock: ManualClock
) -> None:
    first = issue_tokens(browser, api, web_app)
    lost = tokens_of(refresh(api, web_app, first.refresh))
    clock.advance(timedelta(seconds=59))

    retried = tokens_of(refresh(api, web_app, first.refresh))

    assert retried.refresh not in (first.refresh, lost.refresh)
    data_of(me(api, retried.access))
    assert_invalid_grant(refresh(api, web_app, first.refresh))


def test_a_retry_within_the_grace_ends_the_first_successor_so_one_chain_lives(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    first = issue_tokens(browser, api, web_app)
    lost = tokens_of(refresh(api, web_app, first.refresh))  # its answer never arrived

    retried = tokens_of(refresh(api, web_app, first.refresh))

    # The first successor and its access token ended: no second, independent chain.
    assert_error(me(api, lost.access), INVALID_API_TOKEN)
    data_of(me(api, retried.access))
    onward = tokens_of(refresh(api, web_app, retried.refresh))
    data_of(me(api, onward.access))


def test_a_stolen_refresh_token_used_in_the_grace_does_not_outlive_the_family(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    first = issue_tokens(browser, api, web_app)
    owners = tokens_of(refresh(api, web_app, first.refresh))  # the app refreshes as usual…
    thiefs = tokens_of(refresh(api, web_app, first.refresh))  # …a copy of the old one, in time

    # The app's next refresh presents its ended successor: a second use, so the family goes,
    # the thief's chain with it.
    assert_invalid_grant(refresh(api, web_app, owners.refresh))

    assert_family_revoked(api, web_app, owners, thiefs)


def test_a_third_use_of_a_refresh_token_revokes_the_family(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    first = issue_tokens(browser, api, web_app)
    second = tokens_of(refresh(api, web_app, first.refresh))
    retried = tokens_of(refresh(api, web_app, first.refresh))

    assert_invalid_grant(refresh(api, web_app, first.refresh))

    assert_family_revoked(api, web_app, second, retried)


def test_an_older_refresh_token_within_the_grace_period_revokes_the_family(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    # Only the immediately preceding token has a grace period; an older one is a replay.
    first = issue_tokens(browser, api, web_app)
    second = tokens_of(refresh(api, web_app, first.refresh))
    latest = tokens_of(refresh(api, web_app, second.refresh))

    assert_invalid_grant(refresh(api, web_app, first.refresh))

    assert_family_revoked(api, web_app, latest)


def test_a_refresh_token_is_useless_to_another_client(
    api: httpx.Client, services: Services, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    tokens = issue_tokens(browser, api, web_app)

    for public in (False, True):
        thief = make_oauth_client(services, redirect_uris=[WEB_CALLBACK], public=public)
        assert_invalid_grant(refresh(api, thief, tokens.refresh))

    renewed = tokens_of(refresh(api, web_app, tokens.refresh))
    data_of(me(api, renewed.access))


def test_an_expired_refresh_token_is_refused(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient, clock: ManualClock
) -> None:
    tokens = issue_tokens(browser, api, web_app)

    clock.advance(timedelta(days=14, seconds=1))

    assert_invalid_grant(refresh(api, web_app, tokens.refresh))


def test_an_access_token_expires_after_an_hour_and_a_refresh_replaces_it(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient, clock: ManualClock
) -> None:
    tokens = issue_tokens(browser, api, web_app)

    clock.advance(timedelta(seconds=3601))

    assert_error(me(api, tokens.access), INVALID_API_TOKEN)
    data_of(me(api, tokens_of(refresh(api, web_app, tokens.refresh)).access))


def test_a_made_up_refresh_token_is_invalid_grant(
    api: httpx.Client, web_app: IssuedOAuthClient
) -> None:
    for made_up in ("x", "A" * 48, "1:ABCDEFGHJKMNPQRSTWXYZ23456"):
        assert_invalid_grant(refresh(api, web_app, made_up))


def test_a_refresh_token_is_not_an_access_token(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    tokens = issue_tokens(browser, api, web_app)

    for scheme in ("Bearer", "token"):
        assert_error(me(api, tokens.refresh, scheme), INVALID_API_TOKEN)
