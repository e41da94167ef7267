"""RFC 8707 resource indicators: tokens audience-bound to the resources asked for (ADR 0043).

A registered resource (an MCP server, a guarded API) gets tokens only when the client names it
on the authorization request (and may narrow on the token request); such a token is refused by
Tessera's own API, and introspection names its audience. Without ``resource`` everything is as
it was: the token is for ``/api/v2``.
"""

import secrets

import httpx
import pytest

from tessera.core.resources import ProtectedResource
from tessera.services.container import Services
from tessera.services.oauth_clients import IssuedOAuthClient
from tests.factories import make_oauth_client
from tests.oauth.device_flows import (
    DEVICE_AUTHORIZATION,
    approve,
    error_of,
    make_device_client,
    poll,
    start,
)
from tests.oauth.flows import (
    AUTHORIZE,
    INTROSPECT,
    TOKEN,
    WEB_CALLBACK,
    Browser,
    authlib_client,
    authorization_url,
    callback_query,
    code_for,
    code_request,
    exchange,
    me,
    pkce_pair,
    post_as,
    received,
    refresh,
    token_request,
    tokens_of,
)
from tests.secrets_seen import remember
from tests.web.envelopes import CHALLENGE, INVALID_API_TOKEN, assert_error, data_of

#: Tessera's own API as a resource: the tests' public URL.
OWN = "http://helpdesk.test"
OWN_METADATA = "http://helpdesk.test/.well-known/oauth-protected-resource"
MCP = "https://mcp.example.test/mcp"
TICKETS = "https://tickets.example.test"


@pytest.fixture
def mcp(services: Services) -> ProtectedResource:
    return services.resources.create(MCP, "Example MCP server")


@pytest.fixture
def tickets(services: Services) -> ProtectedResource:
    return services.resources.create(TICKETS, "Tickets API")


def introspected(api: httpx.Client, issued: IssuedOAuthClient, token: str) -> dict[str, object]:
    answer = post_as(api, issued, INTROSPECT, {"token": token})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert isinstance(body, dict)
    return body


def audience(introspection: dict[str, object]) -> set[str]:
    """``aud`` as a set: one resource is a string, several a list (in no promised order)."""
    aud = introspection["aud"]
    if isinstance(aud, str):
        return {aud}
    assert isinstance(aud, list)
    return {str(value) for value in aud}


def assert_invalid_target(answer: httpx.Response) -> None:
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_target"), answer.text


def test_a_real_client_gets_a_token_bound_to_the_resource_it_names(
    server: str,
    api: httpx.Client,
    browser: Browser,
    web_app: IssuedOAuthClient,
    mcp: ProtectedResource,
) -> None:
    client = authlib_client(web_app)
    verifier, _ = pkce_pair()
    with client:
        url, state = client.create_authorization_url(
            server + AUTHORIZE, code_verifier=verifier, resource=MCP
        )
        location = browser.approve(url)
        token = client.fetch_token(
            server + TOKEN,
            authorization_response=location,
            state=state,
            code_verifier=verifier,
            resource=MCP,
        )
    received(httpx.Response(200, json=dict(token)))

    assert introspected(api, web_app, token["access_token"])["aud"] == MCP
    refused = me(api, token["access_token"])
    assert_error(refused, INVALID_API_TOKEN)
    assert refused.headers.get_list("WWW-Authenticate") == [
        CHALLENGE,
        'Bearer realm="DeskPRO API", error="invalid_token", '
        'error_description="The token is meant for another resource.", '
        f'resource_metadata="{OWN_METADATA}"',
    ]


def test_the_consent_page_names_the_resources(
    browser: Browser, web_app: IssuedOAuthClient, mcp: ProtectedResource
) -> None:
    _, challenge = pkce_pair()

    named = browser.consent_page(authorization_url(web_app, challenge, MCP))
    plain = browser.consent_page(code_request(web_app, challenge=challenge))

    assert f'<li class="mono">{MCP}</li>' in named.text
    assert "through the API" in plain.text
    assert MCP not in plain.text


def test_without_resource_the_token_is_for_the_api_as_before(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient, mcp: ProtectedResource
) -> None:
    code, verifier = code_for(browser, web_app)
    tokens = tokens_of(token_request(api, web_app, code, verifier))

    assert data_of(me(api, tokens.access))["app_id"] == web_app.client.client_id
    assert "aud" not in introspected(api, web_app, tokens.access)
    assert "aud" not in introspected(api, web_app, tokens.refresh)


def test_a_token_for_the_api_itself_names_it_and_works_there(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    code, verifier = code_for(browser, web_app, OWN)
    tokens = tokens_of(token_request(api, web_app, code, verifier, OWN))

    assert data_of(me(api, tokens.access))["app_id"] == web_app.client.client_id
    assert introspected(api, web_app, tokens.access)["aud"] == OWN


def test_several_resources_and_a_narrower_token(
    api: httpx.Client,
    browser: Browser,
    web_app: IssuedOAuthClient,
    mcp: ProtectedResource,
    tickets: ProtectedResource,
) -> None:
    code, verifier = code_for(browser, web_app, MCP, TICKETS, OWN)
    narrow = tokens_of(token_request(api, web_app, code, verifier, OWN))

    assert introspected(api, web_app, narrow.access)["aud"] == OWN
    assert audience(introspected(api, web_app, narrow.refresh)) == {MCP, TICKETS, OWN}
    assert data_of(me(api, narrow.access))["app_id"] == web_app.client.client_id

    # A refresh without resource: the whole grant; with one: within it, never another.
    whole = tokens_of(refresh(api, web_app, narrow.refresh))
    assert audience(introspected(api, web_app, whole.access)) == {MCP, TICKETS, OWN}
    assert data_of(me(api, whole.access))["app_id"] == web_app.client.client_id
    form = {"grant_type": "refresh_token", "refresh_token": whole.refresh, "resource": TICKETS}
    subset = tokens_of(post_as(api, web_app, TOKEN, form))
    assert introspected(api, web_app, subset.access)["aud"] == TICKETS
    assert_error(me(api, subset.access), INVALID_API_TOKEN)


def test_a_refresh_may_not_ask_for_a_resource_outside_its_grant(
    api: httpx.Client,
    browser: Browser,
    web_app: IssuedOAuthClient,
    mcp: ProtectedResource,
    tickets: ProtectedResource,
) -> None:
    code, verifier = code_for(browser, web_app, MCP)
    tokens = tokens_of(token_request(api, web_app, code, verifier))

    for other in (TICKETS, OWN):
        form = {"grant_type": "refresh_token", "refresh_token": tokens.refresh, "resource": other}
        assert_invalid_target(post_as(api, web_app, TOKEN, form))


def test_a_grant_without_resources_covers_only_the_api(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient, mcp: ProtectedResource
) -> None:
    code, verifier = code_for(browser, web_app)

    assert_invalid_target(token_request(api, web_app, code, verifier, MCP))


@pytest.mark.parametrize(
    "resource",
    [
        "https://unknown.example.test/mcp",  # registered nowhere
        "https://mcp.example.test/mcp#part",  # RFC 8707 §2: no fragment
        "mcp.example.test/mcp",  # not absolute
        MCP + "/",  # audiences are exact strings
    ],
)
def test_an_unknown_or_malformed_resource_goes_back_as_invalid_target(
    browser: Browser, web_app: IssuedOAuthClient, mcp: ProtectedResource, resource: str
) -> None:
    _, challenge = pkce_pair()
    answer = browser.authorize(authorization_url(web_app, challenge, resource))

    assert answer.status_code == 302, answer.text
    params = callback_query(answer.headers["location"], WEB_CALLBACK)
    assert (params["error"], params["state"], params["iss"]) == ("invalid_target", "xyz", OWN)
    assert "code" not in params


def test_a_resource_for_other_clients_only_is_invalid_target(
    services: Services, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    other = make_oauth_client(services, name="Other App")
    services.resources.create(MCP, "Private MCP server", [other.client.client_id])
    _, challenge = pkce_pair()

    answer = browser.authorize(authorization_url(web_app, challenge, MCP))

    assert callback_query(answer.headers["location"], WEB_CALLBACK)["error"] == "invalid_target"
    assert browser.consent_page(authorization_url(other, challenge, MCP)).status_code == 200


def test_a_resource_removed_since_the_grant_is_refused_at_refresh(
    services: Services,
    api: httpx.Client,
    browser: Browser,
    web_app: IssuedOAuthClient,
    mcp: ProtectedResource,
) -> None:
    code, verifier = code_for(browser, web_app, MCP)
    tokens = tokens_of(token_request(api, web_app, code, verifier))

    services.resources.delete(mcp.id)

    assert_invalid_target(refresh(api, web_app, tokens.refresh))


def test_the_device_grant_binds_its_tokens_to_the_resource_asked_for(
    services: Services, api: httpx.Client, browser: Browser, mcp: ProtectedResource
) -> None:
    tv = make_device_client(services, public=False)
    assert_invalid_target(post_as(api, tv, DEVICE_AUTHORIZATION, {"resource": TICKETS}))
    codes = start(api, tv, resource=MCP)
    approve(browser, codes["user_code"])

    answer = poll(api, tv, codes["device_code"])

    assert answer.status_code == 200, answer.text
    access = answer.json()["access_token"]
    assert_error(me(api, access), INVALID_API_TOKEN)
    assert introspected(api, tv, access)["aud"] == MCP
    assert error_of(poll(api, tv, codes["device_code"])) == (400, "invalid_grant")


def test_every_authorization_response_names_the_issuer(
    browser: Browser, web_app: IssuedOAuthClient
) -> None:
    granted = callback_query(browser.approve(code_request(web_app)), WEB_CALLBACK)
    denied = browser.decide(browser.consent_page(code_request(web_app)), "deny")
    plain = code_request(
        web_app, challenge=secrets.token_urlsafe(43), code_challenge_method="plain"
    )
    invalid = browser.authorize(plain)

    assert granted["iss"] == OWN
    assert callback_query(denied.headers["location"], WEB_CALLBACK)["iss"] == OWN
    refused = callback_query(invalid.headers["location"], WEB_CALLBACK)
    assert (refused["error"], refused["iss"]) == ("invalid_request", OWN)


def test_the_metadata_says_authorization_responses_carry_iss(api: httpx.Client) -> None:
    for path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
        assert api.get(path).json()["authorization_response_iss_parameter_supported"] is True


def test_exchange_of_the_plain_flow_is_unchanged(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    verifier, challenge = pkce_pair()
    location = browser.approve(code_request(web_app, challenge=challenge))
    code = callback_query(location, WEB_CALLBACK)["code"]

    body = received(exchange(api, web_app, code, verifier=verifier))

    assert set(body) == {"token_type", "access_token", "expires_in", "scope", "refresh_token"}


def test_a_silent_request_is_answered_only_for_the_apis_agreed_to(
    api: httpx.Client,
    browser: Browser,
    web_app: IssuedOAuthClient,
    mcp: ProtectedResource,
    tickets: ProtectedResource,
) -> None:
    code, verifier = code_for(browser, web_app, MCP)  # the person agrees: MCP only
    received(token_request(api, web_app, code, verifier, MCP))
    _, challenge = pkce_pair()

    def silent(*resources: str) -> dict[str, str]:
        url = authorization_url(web_app, challenge, *resources) + "&prompt=none"
        answer = browser.authorize(url)
        assert answer.status_code == 302, answer.text
        return callback_query(answer.headers["location"], WEB_CALLBACK)

    same = silent(MCP)
    remember(same.get("code", ""))
    # The same scope, but another API, or Tessera's own (no resource): never without asking.
    assert "code" in same, same
    assert silent(TICKETS)["error"] == "consent_required"
    assert silent(MCP, TICKETS)["error"] == "consent_required"
    assert silent()["error"] == "consent_required"
