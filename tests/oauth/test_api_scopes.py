"""API scopes are endpoint tag patterns (ADR 0042), against a real server on both databases.

A token granted ``me.*`` may do what a key tagged ``me.*`` may do, no more: the same general
check refuses the rest with Deskpro's 403 and RFC 6750's ``insufficient_scope`` challenge
naming the tag it lacks. A refresh narrows, never widens; a client's ``allowed_scopes`` bound
what it may be granted; introspection and every token answer name what was granted.
"""

import html
import re
from collections.abc import Callable

import httpx
import pytest

from tessera.services.container import Services
from tessera.services.oauth_clients import IssuedOAuthClient, OAuthClientChanges
from tests.factories import key_header, make_key, make_oauth_client, make_person, new_password
from tests.oauth.device_flows import answer, enter_code, make_device_client, poll, start
from tests.oauth.flows import (
    INTROSPECT,
    TOKEN,
    WEB_CALLBACK,
    Account,
    Browser,
    bearer,
    callback_query,
    code_request,
    granted,
    pkce_pair,
    post_as,
    received,
    signed_in,
)
from tests.web.envelopes import envelope


def refreshed(
    api: httpx.Client, app: IssuedOAuthClient, refresh_token: str, scope: str | None
) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    if scope is not None:
        data["scope"] = scope
    answer = post_as(api, app, TOKEN, data)
    received(answer)
    return answer


def assert_lacks_scope(answer: httpx.Response, needed: str) -> None:
    """Deskpro's 403, and RFC 6750 §3.1's challenge naming the scope that would do."""
    assert (answer.status_code, answer.json()) == (403, envelope(403, "forbidden")), answer.text
    assert answer.headers.get_list("WWW-Authenticate") == [
        f'Bearer realm="DeskPRO API", error="insufficient_scope", scope="{needed}"'
    ]


@pytest.fixture
def admin(services: Services) -> Account:
    """An admin: the refusals below are the scope's, never the admin rule's."""
    password = new_password()
    return Account(make_person(services, admin=True, password=password), password)


@pytest.fixture
def admin_browser(new_browser: Callable[[], Browser], admin: Account) -> Browser:
    return signed_in(new_browser(), admin)


def test_a_token_granted_me_calls_me_and_is_refused_the_rest_with_the_scope_it_lacks(
    api: httpx.Client, admin_browser: Browser, web_app: IssuedOAuthClient
) -> None:
    body = granted(admin_browser, api, web_app, "me.*")
    token = body["access_token"]

    assert body["scope"] == "me.*"
    assert api.get("/api/v2/me", headers=bearer(token)).status_code == 200
    assert api.get("/api/v2/me/profile", headers=bearer(token)).status_code == 200
    assert_lacks_scope(api.get("/api/v2/people", headers=bearer(token)), "people.people.list")
    assert_lacks_scope(
        api.get("/api/v2/oauth_clients", headers=bearer(token)),
        "oauth_clients.oauth_clients.list",
    )
    # Deskpro's own scheme, the same token, the same limit.
    refused = api.get("/api/v2/api_keys", headers={"Authorization": f"token {token}"})
    assert_lacks_scope(refused, "api_keys.api_keys.list")


def test_a_scope_limits_a_token_exactly_as_the_same_tags_limit_a_key(
    api: httpx.Client,
    services: Services,
    admin_browser: Browser,
    admin: Account,
    web_app: IssuedOAuthClient,
) -> None:
    token = granted(admin_browser, api, web_app, "me.* people.* -*.delete -me.password.*")
    key = make_key(services, admin.person, tags="me.*, people.*, -*.delete, -me.password.*")
    calls = [
        ("GET", "/api/v2/me"),
        ("GET", "/api/v2/people"),
        ("GET", "/api/v2/api_keys"),
        ("GET", "/api/v2/audit_events"),
        ("DELETE", "/api/v2/me/sessions"),
        ("PUT", "/api/v2/me/password"),
        ("GET", "/api/v2/me/sign_ins"),
    ]

    outcomes = []
    for method, path in calls:
        by_token = api.request(method, path, headers=bearer(token["access_token"]), json={})
        by_key = api.request(method, path, headers=key_header(key), json={})
        assert (by_token.status_code == 403) == (by_key.status_code == 403), (method, path)
        outcomes.append(by_token.status_code == 403)
    assert outcomes == [False, False, True, True, True, True, False]


def test_session_is_every_right_of_the_person_as_before(
    api: httpx.Client, admin_browser: Browser, web_app: IssuedOAuthClient
) -> None:
    token = granted(admin_browser, api, web_app, "session")["access_token"]

    for path in ("/api/v2/me", "/api/v2/people", "/api/v2/api_keys", "/api/v2/oauth_clients"):
        assert api.get(path, headers=bearer(token)).status_code == 200, path


def test_the_admin_rule_still_answers_a_plain_forbidden(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    # An agent who is no admin, with a scope that does allow the tag: the admin rule refuses,
    # and no scope could help, so no step-up challenge is offered.
    token = granted(browser, api, web_app, "people.*")["access_token"]

    refused = api.get("/api/v2/people", headers=bearer(token))

    assert (refused.status_code, refused.json()) == (403, envelope(403, "forbidden"))
    assert "WWW-Authenticate" not in refused.headers


def test_a_refresh_narrows_and_introspection_tells_each_tokens_scope(
    api: httpx.Client, admin_browser: Browser, web_app: IssuedOAuthClient
) -> None:
    first = granted(admin_browser, api, web_app, "me.* people.*")

    narrowed = refreshed(api, web_app, first["refresh_token"], "me.me.get")
    assert narrowed.status_code == 200, narrowed.text
    body = narrowed.json()
    token = body["access_token"]
    assert body["scope"] == "me.me.get"
    assert api.get("/api/v2/me", headers=bearer(token)).status_code == 200
    assert_lacks_scope(api.get("/api/v2/me/profile", headers=bearer(token)), "me.profile.get")
    assert_lacks_scope(api.get("/api/v2/people", headers=bearer(token)), "people.people.list")
    described = post_as(api, web_app, INTROSPECT, {"token": token}).json()
    assert (described["active"], described["scope"]) == (True, "me.me.get")
    # The refresh token keeps the grant's scope (RFC 6749 §6): the next refresh may ask again.
    kept = post_as(api, web_app, INTROSPECT, {"token": body["refresh_token"]}).json()
    assert kept["scope"] == "me.* people.*"
    again = refreshed(api, web_app, body["refresh_token"], None)
    assert again.json()["scope"] == "me.* people.*"


@pytest.mark.parametrize("wider", ["session", "api_keys.*", "me.* api_keys.*", "*"])
def test_a_refresh_asking_for_more_than_the_grant_is_refused(
    api: httpx.Client, admin_browser: Browser, web_app: IssuedOAuthClient, wider: str
) -> None:
    first = granted(admin_browser, api, web_app, "me.*")

    refused = refreshed(api, web_app, first["refresh_token"], wider)

    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_scope"
    # Refused, not spent: the refresh token still works for what was granted.
    assert refreshed(api, web_app, first["refresh_token"], "me.*").json()["scope"] == "me.*"


def test_a_client_is_granted_no_more_than_its_allowed_scopes(
    api: httpx.Client, services: Services, admin_browser: Browser
) -> None:
    app = make_oauth_client(
        services, redirect_uris=[WEB_CALLBACK], allowed_scopes="me.* people.* -*.delete"
    )

    # Deskpro's session (or no scope) is narrowed to what the client may have (RFC 6749 §3.3).
    assert granted(admin_browser, api, app, "session")["scope"] == "me.* people.* -*.delete"
    assert granted(admin_browser, api, app, None)["scope"] == "me.* people.* -*.delete"
    assert granted(admin_browser, api, app, "people.*")["scope"] == "people.* -*.delete"
    body = granted(admin_browser, api, app, "api_keys.*")  # nothing of it allowed: the default
    assert body["scope"] == "me.* people.* -*.delete"
    assert_lacks_scope(
        api.get("/api/v2/api_keys", headers=bearer(body["access_token"])),
        "api_keys.api_keys.list",
    )

    # Narrowed later: each connection is narrowed at its next refresh.
    services.oauth_clients.change(app.client.id, OAuthClientChanges(allowed_scopes="me.*"))
    renewed = refreshed(api, app, body["refresh_token"], None)
    assert renewed.json()["scope"] == "me.* -*.delete"  # the grant's deny stays


def test_with_openid_only_offline_access_brings_a_refresh_token(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    online = granted(browser, api, web_app, "openid me.*")
    offline = granted(browser, api, web_app, "openid offline_access me.*")
    deskpro = granted(browser, api, web_app, "me.*")

    assert "refresh_token" not in online
    assert online["scope"] == "openid me.*"
    assert "id_token" in online
    assert offline["scope"] == "openid offline_access me.*"
    renewed = refreshed(api, web_app, offline["refresh_token"], None)
    assert renewed.status_code == 200, renewed.text
    assert "refresh_token" in renewed.json()
    # Without openid, Deskpro's flow: every grant has a refresh token.
    assert "refresh_token" in deskpro


def page_text(page: httpx.Response) -> str:
    """The page's words, markup gone and entities read, as a person sees them."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.text)).split())


def test_the_consent_page_says_in_words_what_each_scope_allows(
    browser: Browser, services: Services
) -> None:
    app = make_oauth_client(services, redirect_uris=[WEB_CALLBACK])
    challenge = pkce_pair()[1]

    everything = page_text(browser.consent_page(code_request(app, challenge=challenge)))
    narrowed = page_text(
        browser.consent_page(
            code_request(app, challenge=challenge, scope="openid me.* -*.delete -me.password.*")
        )
    )

    assert "Everything you can do through the API session" in everything
    assert "Know who you are" in narrowed
    assert "read and change your profile" in narrowed
    assert "Except deleting anything -*.delete" in narrowed
    assert "Except: change your password -me.password.*" in narrowed
    assert "Everything you can do" not in narrowed


def test_the_consent_page_shows_what_will_be_granted_not_what_was_asked(
    browser: Browser, services: Services
) -> None:
    app = make_oauth_client(services, redirect_uris=[WEB_CALLBACK], allowed_scopes="me.me.get")

    text = page_text(
        browser.consent_page(code_request(app, challenge=pkce_pair()[1], scope="session"))
    )

    assert "Read who you are me.me.get" in text
    assert "Everything you can do" not in text


def test_userinfo_follows_a_refresh_that_narrowed_the_claims(
    api: httpx.Client, browser: Browser, account: Account, web_app: IssuedOAuthClient
) -> None:
    first = granted(browser, api, web_app, "openid profile email offline_access me.*")
    renewed = refreshed(api, web_app, first["refresh_token"], "openid email")
    assert renewed.status_code == 200, renewed.text
    body = renewed.json()

    claims = api.get("/oauth/userinfo", headers=bearer(body["access_token"])).json()
    before = api.get("/oauth/userinfo", headers=bearer(first["access_token"])).json()

    assert body["scope"] == "openid email me.*"
    assert set(claims) == {"sub", "email", "email_verified"}
    assert "name" in before


def test_a_device_is_granted_a_narrowed_scope_and_the_person_is_told_what_it_allows(
    api: httpx.Client, services: Services, browser: Browser
) -> None:
    device = make_device_client(services, allowed_scopes="me.* -me.password.*")
    started = start(api, device, scope="session")

    confirmation = enter_code(browser, started["user_code"])
    text = page_text(confirmation)
    assert "Except: change your password -me.password.*" in text
    assert "Everything you can do" not in text
    assert answer(browser, confirmation, "accept").status_code == 200
    polled = poll(api, device, started["device_code"])
    assert polled.status_code == 200, polled.text
    body = polled.json()

    assert body["scope"] == "me.* -me.password.*"
    assert api.get("/api/v2/me", headers=bearer(body["access_token"])).status_code == 200
    assert_lacks_scope(
        api.put("/api/v2/me/password", headers=bearer(body["access_token"]), json={}),
        "me.password.put",
    )


def test_a_connection_whose_scope_the_app_may_no_longer_have_cannot_refresh(
    api: httpx.Client, services: Services, admin_browser: Browser
) -> None:
    app = make_oauth_client(services, redirect_uris=[WEB_CALLBACK])
    first = granted(admin_browser, api, app, "people.*")
    services.oauth_clients.change(app.client.id, OAuthClientChanges(allowed_scopes="me.*"))

    refused = refreshed(api, app, first["refresh_token"], None)

    # Never an empty scope (which would read as session): no token at all.
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_scope")


def test_a_scope_too_long_to_store_is_refused_at_the_authorization(
    admin_browser: Browser, web_app: IssuedOAuthClient
) -> None:
    denies = " ".join(f"-me.n{index}.*" for index in range(80))
    params = code_request(web_app, challenge=pkce_pair()[1], scope=f"me.* {denies}")

    answer = admin_browser.authorize(params)

    assert answer.status_code == 302
    assert callback_query(answer.headers["location"], WEB_CALLBACK)["error"] == "invalid_scope"
