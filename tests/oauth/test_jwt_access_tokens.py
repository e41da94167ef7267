"""RFC 9068 JWT access tokens for the clients an operator opted in (ADR 0051).

A resource server's library (Authlib's ``JWTBearerTokenValidator``, joserfc underneath) checks
the token against the published JWKS with nothing of Tessera's; Tessera itself accepts it at
``/api/v2``, UserInfo, introspection, revocation and refresh, and refuses it the moment it is
revoked (by the app, an admin, the person being disabled), because the JWT still names a row of
the token store and every request is checked against that row.
"""

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from authlib.oauth2.rfc6750.errors import InvalidTokenError
from authlib.oauth2.rfc9068 import JWTBearerTokenValidator
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from tessera.bootstrap import Runtime
from tessera.core.errors import InvalidApiToken
from tessera.core.oauth_clients import AccessTokenFormat
from tessera.services.authenticate import PresentedRequest
from tessera.services.container import Services
from tessera.services.oauth_clients import IssuedOAuthClient, OAuthClientChanges
from tests.clock import ManualClock
from tests.conftest import extra_runtime
from tests.factories import make_oauth_client
from tests.oauth.flows import (
    INTROSPECT,
    REVOKE,
    TOKEN,
    WEB_CALLBACK,
    Account,
    Browser,
    code_for,
    issue_tokens,
    me,
    post_as,
    received,
    refresh,
    token_request,
    tokens_of,
)
from tests.oauth.test_openid import JWKS, USERINFO, openid_tokens
from tests.web.envelopes import INVALID_API_TOKEN, assert_error, data_of

#: The tests' public URL: the issuer, and Tessera's own API as a resource (ADR 0043).
ISSUER = "http://helpdesk.test"
MCP = "https://mcp.example.test/mcp"


@pytest.fixture(scope="module")
def other_node(database_url: str) -> Iterator[Runtime]:
    """A second runtime on the session's database: another process, as far as the feed knows."""
    with extra_runtime(database_url) as runtime:
        yield runtime


@pytest.fixture
def jwt_app(services: Services) -> IssuedOAuthClient:
    """A confidential web app opted into JWT access tokens."""
    return make_oauth_client(
        services,
        name="JWT App",
        redirect_uris=[WEB_CALLBACK],
        access_token_format=AccessTokenFormat.JWT,
    )


class _ResourceServer(JWTBearerTokenValidator):  # type: ignore[misc]
    """What an API that reads JWT access tokens itself runs: Authlib's RFC 9068 validator."""

    def __init__(self, api: httpx.Client, resource: str) -> None:
        super().__init__(issuer=ISSUER, resource_server=resource)
        self._api = api

    def get_jwks(self) -> KeySet:
        return KeySet.import_key_set(self._api.get(JWKS).json())


def validated(api: httpx.Client, token: str, resource: str = ISSUER) -> dict[str, Any]:
    """The claims of a JWT access token, as a resource server's library accepts them."""
    server = _ResourceServer(api, resource)
    claims = server.authenticate_token(token)
    server.validate_token(claims, None, None)
    return dict(claims)


def header_of(token: str) -> dict[str, Any]:
    segment = token.split(".")[0]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    )
    return decoded


def introspected(api: httpx.Client, app: IssuedOAuthClient, token: str) -> dict[str, Any]:
    answer = post_as(api, app, INTROSPECT, {"token": token})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_an_opted_in_client_gets_an_rfc_9068_token_a_resource_server_library_accepts(
    api: httpx.Client, browser: Browser, account: Account, jwt_app: IssuedOAuthClient
) -> None:
    tokens = issue_tokens(browser, api, jwt_app)

    claims = validated(api, tokens.access)
    header = header_of(tokens.access)

    assert header["typ"] == "at+jwt"
    assert header["alg"] == "RS256"
    assert header["kid"] in {key["kid"] for key in api.get(JWKS).json()["keys"]}
    assert claims["iss"] == ISSUER
    assert claims["aud"] == ISSUER  # no resource asked for: Tessera's own API
    assert claims["sub"] == str(account.person.id)
    assert claims["client_id"] == jwt_app.client.client_id
    assert claims["scope"] == "session"
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["jti"].isdigit()
    assert isinstance(claims["auth_time"], int)
    # The refresh token stays Tessera's own opaque kind.
    assert not tokens.refresh.startswith("eyJ")


def test_a_client_not_opted_in_keeps_deskpro_tokens(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    tokens = issue_tokens(browser, api, web_app)

    assert web_app.client.access_token_format is AccessTokenFormat.OPAQUE
    identifier, _, code = tokens.access.partition(":")
    assert identifier.isdigit()
    assert code


def test_the_jwt_calls_the_api_until_the_app_revokes_it_then_never_again(
    api: httpx.Client, browser: Browser, account: Account, jwt_app: IssuedOAuthClient
) -> None:
    tokens = issue_tokens(browser, api, jwt_app)
    for _ in range(2):  # the second is a hit of the credential cache
        assert data_of(me(api, tokens.access))["person_id"] == account.person.id
    assert introspected(api, jwt_app, tokens.access)["active"] is True

    revoked = post_as(api, jwt_app, REVOKE, {"token": tokens.access})

    assert revoked.status_code == 200, revoked.text
    for _ in range(2):
        assert_error(me(api, tokens.access), INVALID_API_TOKEN)
    assert introspected(api, jwt_app, tokens.access) == {"active": False}
    # The library alone still finds the signature good: only the issuer knows it is revoked.
    assert validated(api, tokens.access)["jti"]


def test_introspection_describes_the_jwt_like_any_access_token(
    api: httpx.Client, browser: Browser, account: Account, jwt_app: IssuedOAuthClient
) -> None:
    tokens = issue_tokens(browser, api, jwt_app)
    claims = validated(api, tokens.access)

    answer = introspected(api, jwt_app, tokens.access)

    assert answer["active"] is True
    assert answer["client_id"] == jwt_app.client.client_id
    assert answer["sub"] == claims["sub"]
    assert (answer["iat"], answer["exp"]) == (claims["iat"], claims["exp"])


@pytest.mark.parametrize("how", ["admin revokes the token", "person disabled", "app disabled"])
def test_every_way_of_ending_a_token_refuses_the_jwt_on_the_next_request(
    api: httpx.Client,
    browser: Browser,
    account: Account,
    jwt_app: IssuedOAuthClient,
    services: Services,
    how: str,
) -> None:
    tokens = issue_tokens(browser, api, jwt_app)
    data_of(me(api, tokens.access))  # cached now

    if how == "admin revokes the token":
        services.api_tokens.revoke(int(validated(api, tokens.access)["jti"]))
    elif how == "person disabled":
        services.people.set_disabled(account.person.id, True)
    else:
        services.oauth_clients.change(jwt_app.client.id, OAuthClientChanges(is_enabled=False))

    assert_error(me(api, tokens.access), INVALID_API_TOKEN)


def test_a_refresh_gives_a_new_jwt_and_both_are_checked_by_their_rows(
    api: httpx.Client, browser: Browser, jwt_app: IssuedOAuthClient
) -> None:
    first = issue_tokens(browser, api, jwt_app)

    second = tokens_of(refresh(api, jwt_app, first.refresh))

    assert second.access.startswith("eyJ")
    assert validated(api, second.access)["jti"] != validated(api, first.access)["jti"]
    data_of(me(api, second.access))
    # Revoking the refresh token ends the whole connection, the new JWT with it.
    assert post_as(api, jwt_app, REVOKE, {"token": second.refresh}).status_code == 200
    assert_error(me(api, second.access), INVALID_API_TOKEN)


def test_a_tampered_or_foreign_jwt_is_refused_with_the_bearer_challenge(
    api: httpx.Client, browser: Browser, jwt_app: IssuedOAuthClient
) -> None:
    tokens = issue_tokens(browser, api, jwt_app)
    header, _payload, signature = tokens.access.split(".")
    claims = validated(api, tokens.access)
    widened = base64.urlsafe_b64encode(
        json.dumps({**claims, "scope": "session admin"}).encode()
    ).rstrip(b"=")
    tampered = f"{header}.{widened.decode()}.{signature}"
    stranger = RSAKey.generate_key(2048, private=True)
    foreign = jwt.encode(
        {"alg": "RS256", "typ": "at+jwt", "kid": header_of(tokens.access)["kid"]},
        claims,
        stranger,
    )
    received(httpx.Response(200, json={"access_token": foreign}))

    for refused in (tampered, foreign, tokens.access[:-4] + "AAAA", "eyJ.not.a.jwt"):
        answer = me(api, refused)
        assert_error(answer, INVALID_API_TOKEN)
        assert any(
            'error="invalid_token"' in value
            for value in answer.headers.get_list("WWW-Authenticate")
        )
    with pytest.raises(InvalidTokenError):
        validated(api, foreign)


def test_userinfo_accepts_the_jwt(
    api: httpx.Client, browser: Browser, account: Account, jwt_app: IssuedOAuthClient
) -> None:
    access = openid_tokens(browser, api, jwt_app)["access_token"]

    answer = api.get(USERINFO, headers={"Authorization": f"Bearer {access}"})

    assert answer.status_code == 200, answer.text
    assert answer.json()["sub"] == str(account.person.id)


def test_a_token_for_a_resource_names_it_as_its_audience_and_the_api_refuses_it(
    api: httpx.Client, browser: Browser, services: Services, jwt_app: IssuedOAuthClient
) -> None:
    services.resources.create(MCP, "Example MCP server")
    code, verifier = code_for(browser, jwt_app, MCP, ISSUER)
    both = tokens_of(token_request(api, jwt_app, code, verifier))

    only_mcp = tokens_of(refresh_to(api, jwt_app, both.refresh, MCP))

    assert set(validated(api, both.access, MCP)["aud"]) == {MCP, ISSUER}
    data_of(me(api, both.access))
    assert validated(api, only_mcp.access, MCP)["aud"] == MCP
    with pytest.raises(InvalidTokenError):
        validated(api, only_mcp.access, ISSUER)  # the library refuses it for another API too
    assert_error(me(api, only_mcp.access), INVALID_API_TOKEN)


def refresh_to(
    api: httpx.Client, app: IssuedOAuthClient, refresh_token: str, resource: str
) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, "resource": resource}
    answer = post_as(api, app, TOKEN, data)
    received(answer)
    return answer


def test_a_new_signing_key_is_read_when_a_token_names_it_and_old_tokens_still_work(
    api: httpx.Client, browser: Browser, runtime: Runtime, jwt_app: IssuedOAuthClient
) -> None:
    before = issue_tokens(browser, api, jwt_app).access
    data_of(me(api, before))

    runtime.oauth.context.signing_keys.rotate()
    after = issue_tokens(browser, api, jwt_app).access

    assert header_of(after)["kid"] != header_of(before)["kid"]
    data_of(me(api, after))
    data_of(me(api, before))  # its key is retired, still published, still trusted


def test_a_changed_format_counts_from_the_next_token(
    api: httpx.Client, browser: Browser, services: Services, web_app: IssuedOAuthClient
) -> None:
    opaque = issue_tokens(browser, api, web_app)

    changed = services.oauth_clients.change(
        web_app.client.id, OAuthClientChanges(access_token_format="jwt")
    )
    refreshed = tokens_of(refresh(api, web_app, opaque.refresh))

    assert changed.access_token_format is AccessTokenFormat.JWT
    assert refreshed.access.startswith("eyJ")
    validated(api, refreshed.access)
    data_of(me(api, opaque.access))  # issued before: still an ID:CODE token, still good


def test_another_process_refuses_a_revoked_jwt_after_its_next_poll(
    runtime: Runtime,
    other_node: Runtime,
    api: httpx.Client,
    browser: Browser,
    jwt_app: IssuedOAuthClient,
) -> None:
    other_node.changes.start()
    access = issue_tokens(browser, api, jwt_app).access
    presented = PresentedRequest(authorization=f"Bearer {access}")
    authenticator = other_node.services.authenticator
    authenticator.authenticate(presented)
    assert authenticator.try_cached(presented) is not None  # served from its cache now

    runtime.services.api_tokens.revoke(int(validated(api, access)["jti"]))
    other_node.changes.poll()

    with pytest.raises(InvalidApiToken):
        authenticator.authenticate(presented)


def test_a_jwt_used_before_is_still_refused_once_it_expires(
    api: httpx.Client, browser: Browser, jwt_app: IssuedOAuthClient, clock: ManualClock
) -> None:
    access = issue_tokens(browser, api, jwt_app).access
    data_of(me(api, access))  # verified once: the same text again skips the signature

    clock.advance(timedelta(seconds=3601))

    assert_error(me(api, access), INVALID_API_TOKEN)
    assert introspected(api, jwt_app, access) == {"active": False}
