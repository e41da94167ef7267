"""Which grants exist (decision 11.11), client authentication, and the metadata document."""

from urllib.parse import urlsplit

import httpx
import pytest

from tessera.core.oauth_clients import GrantType
from tessera.services.container import Services
from tessera.services.oauth_clients import IssuedOAuthClient, OAuthClientChanges
from tests.factories import make_oauth_client
from tests.oauth.flows import (
    INTROSPECT,
    REVOKE,
    TOKEN,
    WEB_CALLBACK,
    Browser,
    code_request,
    exchange,
    is_error_page,
    issue_code,
    issue_tokens,
    pkce_pair,
    post_as,
    refresh,
)
from tests.secrets_seen import remember

NOT_SUPPORTED = {
    "error": "unauthorized_client",
    "error_description": "This grant type is not supported",
}


def assert_refused_without_a_token(answer: httpx.Response, redirect_uri: str) -> None:
    """Either our error page, or an error sent back to the app: never a code or a token."""
    if answer.status_code == 302:
        location = answer.headers["location"]
        assert location.startswith(redirect_uri), location
        assert "error=unauthorized_client" in location, location
        assert "code=" not in location, location
        assert "access_token=" not in location, location
    else:
        assert is_error_page(answer), answer.text


@pytest.mark.parametrize(
    "data",
    [
        {"grant_type": "client_credentials"},
        {"grant_type": "password", "username": "someone@example.test", "password": "x"},
    ],
    ids=["client_credentials", "password"],
)
@pytest.mark.parametrize("public", [False, True], ids=["confidential", "public"])
def test_client_credentials_and_password_grants_are_not_supported(
    api: httpx.Client, services: Services, data: dict[str, str], public: bool
) -> None:
    app = make_oauth_client(services, redirect_uris=[WEB_CALLBACK], public=public)

    answer = post_as(api, app, TOKEN, data)

    assert (answer.status_code, answer.json()) == (400, NOT_SUPPORTED)
    assert answer.headers["Cache-Control"] == "no-store"


def test_an_unknown_grant_type_is_unsupported(
    api: httpx.Client, web_app: IssuedOAuthClient
) -> None:
    answer = post_as(api, web_app, TOKEN, {"grant_type": "urn:example:nothing"})

    assert (answer.status_code, answer.json()["error"]) == (400, "unsupported_grant_type")


def test_a_code_client_may_not_use_the_implicit_grant(
    services: Services, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    mobile = make_oauth_client(services, redirect_uris=[WEB_CALLBACK], public=True)

    for app in (web_app, mobile):
        answer = browser.authorize(code_request(app, response_type="token"))

        assert_refused_without_a_token(answer, WEB_CALLBACK)


def test_an_implicit_client_may_not_use_the_code_grant(
    api: httpx.Client, services: Services, browser: Browser
) -> None:
    spa = make_oauth_client(services, redirect_uris=[WEB_CALLBACK], grant=GrantType.IMPLICIT)
    _, challenge = pkce_pair()

    answer = browser.authorize(code_request(spa, challenge=challenge))

    assert_refused_without_a_token(answer, WEB_CALLBACK)
    exchanged = exchange(api, spa, "any-code")
    assert (exchanged.status_code, exchanged.json()["error"]) == (400, "unauthorized_client")


@pytest.mark.parametrize("how", ["basic", "post"])
def test_a_wrong_secret_is_invalid_client(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient, how: str
) -> None:
    verifier, challenge = pkce_pair()
    code = issue_code(browser, web_app, challenge=challenge)
    wrong = "WRONG" + (web_app.secret or "")[5:]
    remember(wrong)
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": WEB_CALLBACK}
    data["code_verifier"] = verifier
    client_id = web_app.client.client_id
    if how == "basic":
        answer = api.post(TOKEN, data=data, auth=(client_id, wrong))
    else:
        answer = api.post(TOKEN, data=data | {"client_id": client_id, "client_secret": wrong})

    assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client")
    assert "access_token" not in answer.json()


def test_a_confidential_client_must_authenticate(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    verifier, challenge = pkce_pair()
    code = issue_code(browser, web_app, challenge=challenge)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": WEB_CALLBACK,
        "code_verifier": verifier,
        "client_id": web_app.client.client_id,
    }

    answer = api.post(TOKEN, data=data)

    assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client")


def test_a_disabled_client_is_unknown(
    api: httpx.Client, services: Services, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    tokens = issue_tokens(browser, api, web_app)
    verifier, challenge = pkce_pair()
    code = issue_code(browser, web_app, challenge=challenge)

    services.oauth_clients.change(web_app.client.id, OAuthClientChanges(is_enabled=False))

    assert is_error_page(browser.authorize(code_request(web_app)))
    for answer in (
        exchange(api, web_app, code, verifier=verifier),
        refresh(api, web_app, tokens.refresh),
        post_as(api, web_app, INTROSPECT, {"token": tokens.access}),
        post_as(api, web_app, REVOKE, {"token": tokens.access}),
    ):
        assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client")


def test_the_metadata_lists_exactly_what_is_supported(api: httpx.Client, server: str) -> None:
    answer = api.get("/.well-known/oauth-authorization-server")

    assert answer.status_code == 200
    issuer = "http://helpdesk.test"
    methods = ["client_secret_basic", "client_secret_post", "none", "private_key_jwt"]
    # ADR 0052: what a client assertion may be signed with, never none or HS*.
    algs = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
    assert answer.json() == {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth/authorize",
        "token_endpoint": f"{issuer}/oauth/token",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "introspection_endpoint": f"{issuer}/oauth/introspect",
        "device_authorization_endpoint": f"{issuer}/oauth/device_authorization",
        "response_types_supported": ["code", "token"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "grant_types_supported": [
            "authorization_code",
            "refresh_token",
            "implicit",
            "urn:ietf:params:oauth:grant-type:device_code",
        ],
        "token_endpoint_auth_methods_supported": methods,
        "token_endpoint_auth_signing_alg_values_supported": algs,
        "revocation_endpoint_auth_methods_supported": methods,
        "revocation_endpoint_auth_signing_alg_values_supported": algs,
        "introspection_endpoint_auth_methods_supported": [*methods[:2], "private_key_jwt"],
        "introspection_endpoint_auth_signing_alg_values_supported": algs,
        "code_challenge_methods_supported": ["S256"],
        "client_id_metadata_document_supported": True,
        "authorization_response_iss_parameter_supported": True,
        # OpenID's, session, then the groups of Tessera's own endpoint tags (ADR 0042).
        "scopes_supported": [
            "openid",
            "profile",
            "email",
            "offline_access",
            "session",
            "api_keys.*",
            "api_tokens.*",
            "audit.*",
            "authz.*",
            "helpdesk.*",
            "me.*",
            "oauth_clients.*",
            "people.*",
            "user_sources.*",
        ],
        "service_documentation": f"{issuer}/docs",
        "userinfo_endpoint": f"{issuer}/oauth/userinfo",
        "jwks_uri": f"{issuer}/oauth/jwks",
        "end_session_endpoint": f"{issuer}/oauth/logout",
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "claims_supported": [
            *("sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "acr", "amr"),
            *("name", "given_name", "family_name", "preferred_username", "zoneinfo"),
            *("updated_at", "email", "email_verified"),
        ],
        "acr_values_supported": [
            "urn:tessera:acr:password",
            "urn:tessera:acr:identity-provider",
            "urn:tessera:acr:magic-link",
        ],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
    }


def test_every_endpoint_in_the_metadata_is_served(api: httpx.Client) -> None:
    document = api.get("/.well-known/oauth-authorization-server").json()

    for name, url in document.items():
        if not name.endswith("_endpoint"):
            continue
        path = urlsplit(url).path
        answer = api.get(path) if name == "authorization_endpoint" else api.post(path)

        assert answer.status_code in (303, 400, 401), (name, answer.status_code)
