"""Revocation (RFC 7009) through both client libraries, and introspection (RFC 7662)."""

from datetime import timedelta

import httpx
import pytest
from oauthlib.oauth2 import WebApplicationClient

from tessera.services.container import Services
from tessera.services.oauth_clients import IssuedOAuthClient
from tests.clock import ManualClock
from tests.factories import make_oauth_client
from tests.oauth.flows import (
    INTROSPECT,
    REVOKE,
    WEB_CALLBACK,
    Account,
    Browser,
    authlib_client,
    issue_tokens,
    me,
    post_as,
    refresh,
    tokens_of,
)
from tests.web.envelopes import INVALID_API_TOKEN, assert_error, data_of

INACTIVE = {"active": False}


def assert_invalid_grant(response: httpx.Response) -> None:
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


def introspect(api: httpx.Client, app: IssuedOAuthClient, token: str) -> object:
    answer = post_as(api, app, INTROSPECT, {"token": token})
    assert answer.status_code == 200, answer.text
    assert answer.headers["Cache-Control"] == "no-store"
    return answer.json()


# -- revocation -----------------------------------------------------------------------------


def test_revoking_an_access_token_with_authlib_ends_it(
    api: httpx.Client, server: str, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    tokens = issue_tokens(browser, api, web_app)
    data_of(me(api, tokens.access))

    with authlib_client(web_app) as client:
        answer = client.revoke_token(
            server + REVOKE, token=tokens.access, token_type_hint="access_token"
        )

    assert answer.status_code == 200, answer.text
    assert_error(me(api, tokens.access), INVALID_API_TOKEN)
    assert_error(me(api, tokens.access, "token"), INVALID_API_TOKEN)


def test_revoking_a_refresh_token_with_oauthlib_ends_the_whole_grant(
    api: httpx.Client,
    server: str,
    browser: Browser,
    web_app: IssuedOAuthClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # oauthlib refuses http:// endpoints outright, loopback included.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    first = issue_tokens(browser, api, web_app)
    latest = tokens_of(refresh(api, web_app, first.refresh))
    oauthlib_client = WebApplicationClient(web_app.client.client_id)
    url, headers, body = oauthlib_client.prepare_token_revocation_request(
        server + REVOKE, latest.refresh, token_type_hint="refresh_token"
    )
    secret = web_app.secret
    assert secret is not None

    answer = api.post(url, content=body, headers=headers, auth=(web_app.client.client_id, secret))

    assert answer.status_code == 200, answer.text
    for tokens in (first, latest):
        assert_error(me(api, tokens.access), INVALID_API_TOKEN)
        assert_invalid_grant(refresh(api, web_app, tokens.refresh))


@pytest.mark.parametrize(
    ("kind", "hint"),
    [
        ("access", None),
        ("access", "access_token"),
        ("access", "refresh_token"),
        ("refresh", None),
        ("refresh", "refresh_token"),
        ("refresh", "access_token"),
        # Unknown hints are ignored too, not refused (RFC 7009 §2.1: the server MAY ignore it).
        ("access", "id_token"),
        ("refresh", "Refresh_Token"),
        ("access", "bogus"),
    ],
)
def test_the_type_hint_is_only_a_hint(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient, kind: str, hint: str | None
) -> None:
    # RFC 7009 §2.1: a server that cannot find the token by its hint searches further.
    tokens = issue_tokens(browser, api, web_app)
    data = {"token": tokens.access if kind == "access" else tokens.refresh}
    if hint is not None:
        data["token_type_hint"] = hint

    assert post_as(api, web_app, REVOKE, data).status_code == 200

    if kind == "access":
        assert_error(me(api, tokens.access), INVALID_API_TOKEN)
    else:
        assert_invalid_grant(refresh(api, web_app, tokens.refresh))


@pytest.mark.parametrize("token", ["nonsense", "1:ABCDEFGHJKMNPQRSTWXYZ23456", "", "9" * 30 + ":X"])
def test_revoking_an_unknown_token_is_ok(
    api: httpx.Client, server: str, web_app: IssuedOAuthClient, token: str
) -> None:
    with authlib_client(web_app) as client:
        answer = client.revoke_token(server + REVOKE, token=token)

    assert answer.status_code == 200, answer.text


def test_a_client_cannot_revoke_another_clients_token(
    api: httpx.Client, services: Services, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    tokens = issue_tokens(browser, api, web_app)
    other = make_oauth_client(services, redirect_uris=[WEB_CALLBACK])

    for token in (tokens.access, tokens.refresh):
        assert post_as(api, other, REVOKE, {"token": token}).status_code == 400

    data_of(me(api, tokens.access))
    tokens_of(refresh(api, web_app, tokens.refresh))


def test_revocation_needs_the_clients_secret(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    tokens = issue_tokens(browser, api, web_app)

    answer = api.post(REVOKE, data={"token": tokens.access, "client_id": web_app.client.client_id})

    assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client")
    data_of(me(api, tokens.access))


def test_a_public_client_revokes_its_own_token(
    api: httpx.Client, services: Services, browser: Browser
) -> None:
    mobile = make_oauth_client(services, redirect_uris=[WEB_CALLBACK], public=True)
    tokens = issue_tokens(browser, api, mobile)

    assert post_as(api, mobile, REVOKE, {"token": tokens.refresh}).status_code == 200

    assert_error(me(api, tokens.access), INVALID_API_TOKEN)


# -- introspection --------------------------------------------------------------------------


def test_introspection_needs_client_authentication(
    api: httpx.Client, services: Services, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    tokens = issue_tokens(browser, api, web_app)
    mobile = make_oauth_client(services, redirect_uris=[WEB_CALLBACK], public=True)

    for answer in (
        api.post(INTROSPECT, data={"token": tokens.access}),
        api.post(INTROSPECT, data={"token": tokens.access, "client_id": web_app.client.client_id}),
        post_as(api, mobile, INTROSPECT, {"token": tokens.access}),
    ):
        assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client")
        assert "active" not in answer.json()


def test_introspecting_a_live_token_describes_it(
    api: httpx.Client,
    server: str,
    browser: Browser,
    account: Account,
    web_app: IssuedOAuthClient,
) -> None:
    tokens = issue_tokens(browser, api, web_app)

    with authlib_client(web_app) as client:
        answer = client.introspect_token(server + INTROSPECT, token=tokens.access)
    described = answer.json()

    assert isinstance(described, dict)
    assert described == {
        "active": True,
        "token_type": "Bearer",
        "client_id": web_app.client.client_id,
        "scope": "session",
        "sub": str(account.person.id),
        "username": account.email,
        "iat": described["iat"],
        "exp": described["iat"] + 3600,
    }
    refreshing = introspect(api, web_app, tokens.refresh)
    assert isinstance(refreshing, dict)
    assert (refreshing["active"], refreshing["sub"]) == (True, str(account.person.id))


@pytest.mark.parametrize("hint", ["id_token", "bogus", ""])
def test_introspection_ignores_a_hint_it_does_not_know(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient, hint: str
) -> None:
    tokens = issue_tokens(browser, api, web_app)

    for token, kind in ((tokens.access, "Bearer"), (tokens.refresh, "refresh_token")):
        answer = post_as(api, web_app, INTROSPECT, {"token": token, "token_type_hint": hint})

        assert answer.status_code == 200, answer.text
        assert (answer.json()["active"], answer.json()["token_type"]) == (True, kind)


def test_introspecting_a_dead_or_foreign_token_says_only_inactive(
    api: httpx.Client,
    services: Services,
    browser: Browser,
    web_app: IssuedOAuthClient,
    clock: ManualClock,
) -> None:
    revoked = issue_tokens(browser, api, web_app)
    assert post_as(api, web_app, REVOKE, {"token": revoked.refresh}).status_code == 200
    rotated = issue_tokens(browser, api, web_app)
    tokens_of(refresh(api, web_app, rotated.refresh))
    foreign = issue_tokens(browser, api, make_oauth_client(services, redirect_uris=[WEB_CALLBACK]))
    live = issue_tokens(browser, api, web_app)

    for token in (
        revoked.access,
        revoked.refresh,
        rotated.refresh,
        foreign.access,
        foreign.refresh,
    ):
        assert introspect(api, web_app, token) == INACTIVE
    for token in ("unknown", "1:ABCDEFGHJKMNPQRSTWXYZ23456", "x:y", ":", ""):
        assert introspect(api, web_app, token) == INACTIVE

    clock.advance(timedelta(seconds=3601))
    assert introspect(api, web_app, live.access) == INACTIVE
    clock.advance(timedelta(days=14))
    assert introspect(api, web_app, live.refresh) == INACTIVE
