"""The doors refuse an OAuth token meant for another resource (RFC 8707, ADR 0043).

A route table that names its API's ``resource`` lets through OAuth tokens bound to it, and
refuses tokens bound elsewhere and, unless ``accept_unbound_tokens``, tokens asked for without
``resource`` (they are for Tessera's own API). API keys and Deskpro's tokens have no audience
and pass as before. A table that names no resource keeps the old rule and refuses bound tokens.
"""

import base64
import json
from collections.abc import Iterator

import pytest

from tessera.core.errors import InvalidInput
from tessera.core.oauth_clients import AccessTokenFormat
from tessera.core.routes import parse_route_table
from tessera.services.oauth_clients import IssuedOAuthClient
from tests.conftest import wipe
from tests.factories import key_header, make_key, make_oauth_client, make_person
from tests.oauth.flows import (
    WEB_CALLBACK,
    Browser,
    code_for,
    make_account,
    signed_in,
    token_request,
    tokens_of,
)
from tests.web.envelopes import CHALLENGE, envelope
from tests.web.guard import EVERY_DOOR, ROUTES, Guard, guard_server, write_routes

API = "https://api.example.test"
MCP = "https://mcp.example.test/mcp"
API_METADATA = f"{API}/.well-known/oauth-protected-resource"


def table(**top: str | bool) -> str:
    lines = [
        f"{name} = {'true' if value is True else 'false' if value is False else repr(value)}"
        for name, value in top.items()
    ]
    return "\n".join(lines) + "\n" + ROUTES


@pytest.fixture(scope="module")
def strict(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guard]:
    routes = write_routes(tmp_path_factory.mktemp("strict"), table(resource=API))
    with guard_server(database_url, routes, trusted_proxies="127.0.0.0/8") as guard:
        yield guard


@pytest.fixture(scope="module")
def lenient(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guard]:
    text = table(resource=API, accept_unbound_tokens=True)
    routes = write_routes(tmp_path_factory.mktemp("lenient"), text)
    with guard_server(database_url, routes, trusted_proxies="127.0.0.0/8") as guard:
        yield guard


@pytest.fixture(scope="module")
def undeclared(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guard]:
    routes = write_routes(tmp_path_factory.mktemp("undeclared"))
    with guard_server(database_url, routes, trusted_proxies="127.0.0.0/8") as guard:
        yield guard


@pytest.fixture
def guard(strict: Guard) -> Iterator[Guard]:
    yield strict
    wipe(strict.runtime)


def oauth_token(guard: Guard, *resources: str, jwt: bool = False) -> str:
    """An access token of the whole code flow on this server, for these resources (a JWT
    access token with ``jwt``, ADR 0051)."""
    services = guard.services
    for resource in resources:
        if services.resources.find(resource) is None:
            services.resources.create(resource, resource)
    token_format = AccessTokenFormat.JWT if jwt else AccessTokenFormat.OPAQUE
    app: IssuedOAuthClient = make_oauth_client(
        services, redirect_uris=[WEB_CALLBACK], access_token_format=token_format
    )
    browser = signed_in(Browser(str(guard.http.base_url)), make_account(services))
    try:
        code, verifier = code_for(browser, app, *resources)
        return tokens_of(token_request(guard.http, app, code, verifier)).access
    finally:
        browser.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@EVERY_DOOR
def test_a_token_for_this_api_is_allowed_and_its_audience_named(guard: Guard, door: str) -> None:
    token = oauth_token(guard, API, MCP)

    answer = guard.ask(door, "GET", "/tickets", bearer(token))

    assert answer.status_code == 200, answer.text
    assert set(answer.headers["X-Tessera-Audience"].split()) == {API, MCP}


@EVERY_DOOR
def test_a_jwt_access_token_passes_the_doors_until_it_is_revoked(guard: Guard, door: str) -> None:
    token = oauth_token(guard, API, jwt=True)
    allowed = guard.ask(door, "GET", "/tickets", bearer(token))
    for_another = guard.ask(door, "GET", "/tickets", bearer(oauth_token(guard, MCP, jwt=True)))

    assert token.startswith("eyJ")
    assert allowed.status_code == 200, allowed.text
    assert allowed.headers["X-Tessera-Audience"] == API
    assert for_another.status_code == 401
    guard.services.api_tokens.revoke(int(_jti(token)))
    refused = guard.ask(door, "GET", "/tickets", bearer(token))
    assert (refused.status_code, refused.json()) == (401, envelope(401, "invalid_api_token"))


def _jti(token: str) -> str:
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["jti"])


@EVERY_DOOR
def test_a_token_for_another_resource_is_refused(guard: Guard, door: str) -> None:
    token = oauth_token(guard, MCP)

    answer = guard.ask(door, "GET", "/tickets", bearer(token))

    assert (answer.status_code, answer.json()) == (401, envelope(401, "invalid_api_token"))
    assert answer.headers.get_list("WWW-Authenticate") == [
        CHALLENGE,
        'Bearer realm="DeskPRO API", error="invalid_token", '
        'error_description="The token is meant for another resource.", '
        f'resource_metadata="{API_METADATA}"',
    ]


@EVERY_DOOR
def test_an_unbound_oauth_token_is_refused_where_the_api_names_itself(
    guard: Guard, door: str
) -> None:
    answer = guard.ask(door, "GET", "/tickets", bearer(oauth_token(guard)))

    assert (answer.status_code, answer.json()["code"]) == (401, "invalid_api_token")


@EVERY_DOOR
def test_keys_have_no_audience_and_pass_as_before(guard: Guard, door: str) -> None:
    issued = make_key(guard.services, make_person(guard.services), tags="tickets.*")

    answer = guard.ask(door, "GET", "/tickets", key_header(issued))

    assert answer.status_code == 200, answer.text
    assert "X-Tessera-Audience" not in answer.headers
    no_credential = guard.ask(door, "GET", "/tickets")
    assert no_credential.headers.get_list("WWW-Authenticate") == [
        CHALLENGE,
        f'Bearer resource_metadata="{API_METADATA}"',
    ]


def test_the_compat_switch_lets_unbound_tokens_through(lenient: Guard) -> None:
    try:
        unbound = lenient.ask("ext-authz", "GET", "/tickets", bearer(oauth_token(lenient)))
        elsewhere = lenient.ask("ext-authz", "GET", "/tickets", bearer(oauth_token(lenient, MCP)))
    finally:
        wipe(lenient.runtime)

    assert unbound.status_code == 200, unbound.text
    assert elsewhere.status_code == 401


def test_a_table_without_resource_refuses_bound_tokens_only(undeclared: Guard) -> None:
    try:
        unbound = undeclared.ask("ext-authz", "GET", "/tickets", bearer(oauth_token(undeclared)))
        bound = undeclared.ask("ext-authz", "GET", "/tickets", bearer(oauth_token(undeclared, API)))
    finally:
        wipe(undeclared.runtime)

    assert unbound.status_code == 200, unbound.text
    assert bound.status_code == 401
    # No resource declared: no metadata to name, only RFC 6750's error.
    assert bound.headers.get_list("WWW-Authenticate")[1:] == [
        'Bearer realm="DeskPRO API", error="invalid_token", '
        'error_description="The token is meant for another resource."'
    ]


def test_the_table_refuses_a_resource_that_is_not_a_url() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_route_table(table(resource="api.example.test#x"), origin="routes.toml")

    assert refused.value.problems.as_json()["fields"]["resource"]["errors"][0]["code"] == (
        "invalid_resource_uri"
    )
