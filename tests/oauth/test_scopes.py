"""Scopes (RFC 6749 §3.3, §5.1, §6; ADR 0019): one rule at authorize, token and refresh.

Tessera defines one scope, ``session`` (Deskpro's). A value it does not define is ignored
wherever it appears; what is granted is always named in the token response, never ``""``;
a refresh that repeats the scope the client first asked for keeps working. Proven with the
client libraries people use, which know nothing of Tessera.
"""

import warnings
from typing import Any

import httpx
import pytest
from requests_oauthlib import OAuth2Session
from sqlalchemy import update

from tessera.bootstrap import Runtime
from tessera.core.oauth_clients import GrantType
from tessera.services.container import Services
from tessera.services.oauth_clients import IssuedOAuthClient
from tessera.store.tables import OAuthGrantRow
from tests.factories import make_oauth_client
from tests.oauth.flows import (
    AUTHORIZE,
    INTROSPECT,
    ME,
    TOKEN,
    WEB_CALLBACK,
    Browser,
    authlib_client,
    callback_fragment,
    callback_query,
    code_request,
    exchange,
    pkce_pair,
    post_as,
    received,
    refresh,
    tokens_of,
)
from tests.secrets_seen import remember

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.base_client import OAuthError


def remembered(token: dict[str, Any]) -> dict[str, Any]:
    remember(str(token.get("access_token") or ""), str(token.get("refresh_token") or ""))
    return token


def authlib_flow_with_scope(
    server: str, browser: Browser, app: IssuedOAuthClient, scope: str
) -> list[dict[str, Any]]:
    """Authlib's client asking for ``scope``: code + PKCE, then two refreshes (each repeats it)."""
    client = authlib_client(app)
    client.scope = scope
    verifier, _ = pkce_pair()
    with client:
        url, state = client.create_authorization_url(server + AUTHORIZE, code_verifier=verifier)
        assert callback_query(url, server + AUTHORIZE)["scope"] == scope
        location = browser.approve(url)
        first = remembered(
            client.fetch_token(
                server + TOKEN, authorization_response=location, state=state, code_verifier=verifier
            )
        )
        second = remembered(client.refresh_token(server + TOKEN))
        third = remembered(client.refresh_token(server + TOKEN))
        answer = client.get(server + ME)
    assert answer.status_code == 200, answer.text
    return [dict(first), dict(second), dict(third)]


# OpenID Connect's profile and email count only beside openid (tests/oauth/test_openid.py).
@pytest.mark.parametrize("scope", ["read write", "profile email", "Basic"])
def test_authlib_asking_for_scopes_tessera_does_not_define_keeps_refreshing(
    server: str, browser: Browser, web_app: IssuedOAuthClient, scope: str
) -> None:
    tokens = authlib_flow_with_scope(server, browser, web_app, scope)

    assert [token["scope"] for token in tokens] == ["session"] * 3


def test_authlib_asking_for_deskpros_session_scope_gets_exactly_that(
    server: str, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    tokens = authlib_flow_with_scope(server, browser, web_app, "session")

    assert [token["scope"] for token in tokens] == ["session"] * 3


def test_requests_oauthlib_with_the_session_scope_exchanges_and_refreshes(
    server: str,
    browser: Browser,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # oauthlib refuses http:// token endpoints outright, loopback included.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    monkeypatch.delenv("OAUTHLIB_RELAX_TOKEN_SCOPE", raising=False)
    app = make_oauth_client(services, redirect_uris=[WEB_CALLBACK])
    assert app.secret is not None
    basic = (app.client.client_id, app.secret)
    session = OAuth2Session(
        app.client.client_id, redirect_uri=WEB_CALLBACK, scope=["session"], pkce="S256"
    )
    with session:
        url, _ = session.authorization_url(server + AUTHORIZE)
        location = browser.approve(url)
        # oauthlib raises "Scope has changed" unless the answer names the scope it asked for.
        token = remembered(
            session.fetch_token(server + TOKEN, authorization_response=location, auth=basic)
        )
        renewed = remembered(session.refresh_token(server + TOKEN, auth=basic))
        answer = session.get(server + ME, timeout=60)

    assert token["scope"] == renewed["scope"] == ["session"]
    assert answer.status_code == 200, answer.text


def test_requests_oauthlib_is_told_which_scope_was_granted_instead(
    server: str,
    browser: Browser,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    app = make_oauth_client(services, redirect_uris=[WEB_CALLBACK])
    assert app.secret is not None
    basic = (app.client.client_id, app.secret)

    def exchange_asking_for(scope: list[str]) -> dict[str, Any]:
        session = OAuth2Session(
            app.client.client_id, redirect_uri=WEB_CALLBACK, scope=scope, pkce="S256"
        )
        with session:
            url, _ = session.authorization_url(server + AUTHORIZE)
            location = browser.approve(url)
            token = session.fetch_token(server + TOKEN, authorization_response=location, auth=basic)
        return remembered(dict(token))

    # oauthlib's way of reporting RFC 6749 §3.3's "scope differs": a Warning, unless relaxed.
    with pytest.raises(Warning, match='Scope has changed from "read" to "session"'):
        exchange_asking_for(["read"])
    monkeypatch.setenv("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")
    assert exchange_asking_for(["read"])["scope"] == ["session"]


@pytest.mark.parametrize(
    ("asked", "refresh_asks"),
    [
        (None, None),
        ("session", "session"),
        ("read session write", "read session write"),
        ("read", "write"),
        ("", ""),
    ],
    ids=["nothing", "session", "mixed", "unknown-then-other-unknown", "empty"],
)
def test_every_answer_names_the_scope_granted(
    api: httpx.Client,
    browser: Browser,
    web_app: IssuedOAuthClient,
    asked: str | None,
    refresh_asks: str | None,
) -> None:
    verifier, challenge = pkce_pair()
    extra = {} if asked is None else {"scope": asked}
    location = browser.approve(code_request(web_app, challenge=challenge, **extra))
    code = callback_query(location, WEB_CALLBACK)["code"]

    issued = received(exchange(api, web_app, code, verifier=verifier))
    data = {"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]}
    if refresh_asks is not None:
        data["scope"] = refresh_asks
    renewed = received(post_as(api, web_app, TOKEN, data))
    described = [
        post_as(api, web_app, INTROSPECT, {"token": renewed[name]}).json()
        for name in ("access_token", "refresh_token")
    ]

    assert issued["scope"] == renewed["scope"] == "session"
    assert [answer["scope"] for answer in described] == ["session", "session"]


def test_an_implicit_client_is_told_its_scope_too(services: Services, browser: Browser) -> None:
    spa = make_oauth_client(services, redirect_uris=[WEB_CALLBACK], grant=GrantType.IMPLICIT)

    location = browser.approve(code_request(spa, response_type="token", scope="read"))

    assert callback_fragment(location, WEB_CALLBACK)["scope"] == "session"


def test_a_grant_recorded_without_a_scope_refreshes_as_session(
    runtime: Runtime, api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    verifier, challenge = pkce_pair()
    location = browser.approve(code_request(web_app, challenge=challenge))
    tokens = tokens_of(
        exchange(api, web_app, callback_query(location, WEB_CALLBACK)["code"], verifier=verifier)
    )
    # What every grant made before scopes were recorded holds.
    with runtime.database.write() as session:
        session.execute(update(OAuthGrantRow).values(scope=""))

    renewed = refresh(api, web_app, tokens.refresh)
    again = refresh(api, web_app, tokens_of(renewed).refresh)

    assert renewed.json()["scope"] == "session"
    assert (again.status_code, again.json()["scope"]) == (200, "session")


def test_authlib_refresh_errors_are_not_hidden_by_the_scope_rule(
    server: str, api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    # The rule ignores unknown values; it does not make a revoked refresh token work.
    client = authlib_client(web_app)
    client.scope = "read"
    verifier, _ = pkce_pair()
    with client:
        url, state = client.create_authorization_url(server + AUTHORIZE, code_verifier=verifier)
        location = browser.approve(url)
        remembered(
            client.fetch_token(
                server + TOKEN, authorization_response=location, state=state, code_verifier=verifier
            )
        )
        token = client.token
        assert post_as(api, web_app, "/oauth/revoke", {"token": token["refresh_token"]}).is_success
        with pytest.raises(OAuthError, match="invalid_grant"):
            client.refresh_token(server + TOKEN)


def test_authlib_asking_for_tag_patterns_gets_them_at_every_refresh(
    server: str, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    # ADR 0042: patterns are scope values as they are; the client repeats them at each refresh.
    tokens = authlib_flow_with_scope(server, browser, web_app, "me.* -me.password.*")

    assert [token["scope"] for token in tokens] == ["me.* -me.password.*"] * 3


def test_requests_oauthlib_asking_for_tag_patterns_sees_no_scope_change(
    server: str,
    browser: Browser,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    monkeypatch.delenv("OAUTHLIB_RELAX_TOKEN_SCOPE", raising=False)
    app = make_oauth_client(services, redirect_uris=[WEB_CALLBACK])
    assert app.secret is not None
    basic = (app.client.client_id, app.secret)
    session = OAuth2Session(
        app.client.client_id, redirect_uri=WEB_CALLBACK, scope=["me.*", "-*.delete"], pkce="S256"
    )
    with session:
        url, _ = session.authorization_url(server + AUTHORIZE)
        location = browser.approve(url)
        token = remembered(
            session.fetch_token(server + TOKEN, authorization_response=location, auth=basic)
        )
        answer = session.get(server + ME, timeout=60)
        refused = session.get(server + "/api/v2/me/sessions", timeout=60)
        ended = session.delete(server + "/api/v2/me/sessions", timeout=60)

    assert token["scope"] == ["me.*", "-*.delete"]
    assert (answer.status_code, refused.status_code) == (200, 200)
    assert ended.status_code == 403
    assert 'scope="me.sessions.delete"' in ended.headers["WWW-Authenticate"]
