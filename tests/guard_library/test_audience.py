"""The library as an OAuth resource: a ``Guard`` with its API's ``resource`` refuses OAuth
tokens meant for another resource, and serves its RFC 9728 metadata (ADR 0043).

A real ``tessera serve`` whose route table names the same resource (as docs/guard.md says to:
a table that names none refuses every audience-bound token), a FastAPI app with the middleware
on loopback, tokens from the whole code flow over HTTP.
"""

import base64
import json
from collections.abc import Iterator

import httpx
import pytest

from tessera.core.oauth_clients import AccessTokenFormat
from tessera.guard import Guard
from tessera.services.container import Services
from tests.factories import key_header, make_key, make_oauth_client, make_person
from tests.guard_library.apps import asgi_app
from tests.guard_library.tessera_node import HELPDESK_ROUTES, TesseraNode, tessera_node
from tests.guard_library.waiting import until
from tests.live import serving
from tests.oauth.flows import (
    WEB_CALLBACK,
    Browser,
    code_for,
    make_account,
    signed_in,
    token_request,
    tokens_of,
)

API = "https://api.example.test/v1"
MCP = "https://mcp.example.test/mcp"
METADATA = "/.well-known/oauth-protected-resource/v1"
#: A bound for a loaded machine (the feed is polled every 0.25 s), not a speed target.
PROPAGATION_BOUND = 5.0


@pytest.fixture(scope="module")
def node(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TesseraNode]:
    """Tessera guarding the helpdesk's table, which names the API as its resource."""
    routes = f'resource = "{API}"\n' + HELPDESK_ROUTES.read_text()
    with tessera_node(
        database_url, tmp_path_factory.mktemp("tessera"), routes_toml=routes
    ) as served:
        yield served


@pytest.fixture
def api(node: TesseraNode) -> Iterator[httpx.Client]:
    with Guard(node.url, resource=API, resource_name="Helpdesk API", cache_size=0) as guard:
        app = asgi_app(guard)
        with serving(app) as url, httpx.Client(base_url=url, timeout=30) as client:
            yield client


def oauth_token(node: TesseraNode, services: Services, *resources: str, jwt: bool = False) -> str:
    for resource in resources:
        if services.resources.find(resource) is None:
            services.resources.create(resource, resource)
    token_format = AccessTokenFormat.JWT if jwt else AccessTokenFormat.OPAQUE
    app = make_oauth_client(
        services, redirect_uris=[WEB_CALLBACK], access_token_format=token_format
    )
    browser = signed_in(Browser(node.url), make_account(services))
    try:
        code, verifier = code_for(browser, app, *resources)
        with httpx.Client(base_url=node.url, timeout=30) as http:
            return tokens_of(token_request(http, app, code, verifier)).access
    finally:
        browser.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_for_this_api_is_let_in(
    api: httpx.Client, node: TesseraNode, services: Services
) -> None:
    answer = api.get("/tickets", headers=bearer(oauth_token(node, services, API)))

    assert answer.status_code == 200, answer.text


def test_a_jwt_access_token_is_let_in_until_it_is_revoked(
    api: httpx.Client, node: TesseraNode, services: Services
) -> None:
    # The library asks Tessera's door (no cache here): the JWT's row decides, as for any token.
    token = oauth_token(node, services, API, jwt=True)
    allowed = api.get("/tickets", headers=bearer(token))

    services.api_tokens.revoke(int(str(_claims(token)["jti"])))

    assert token.startswith("eyJ")
    assert allowed.status_code == 200, allowed.text
    # Revoked by another process: Tessera's node hears of it on its next poll of the feed.
    assert until(PROPAGATION_BOUND, lambda: refused(api, token))


def refused(api: httpx.Client, token: str) -> bool:
    answer = api.get("/tickets", headers=bearer(token))
    return answer.status_code == 401 and answer.json()["code"] == "invalid_api_token"


def _claims(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    claims: dict[str, object] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


def test_a_token_for_another_resource_is_refused(
    api: httpx.Client, node: TesseraNode, services: Services
) -> None:
    answer = api.get("/tickets", headers=bearer(oauth_token(node, services, MCP)))

    assert (answer.status_code, answer.json()["code"]) == (401, "invalid_api_token")
    assert answer.headers.get_list("www-authenticate") == [
        'session,token,key realm="DeskPRO API"',
        'Bearer realm="DeskPRO API", error="invalid_token", '
        'error_description="The token is meant for another resource.", '
        f'resource_metadata="https://api.example.test{METADATA}"',
    ]


def test_the_library_alone_refuses_a_token_for_another_resource(
    node: TesseraNode, services: Services
) -> None:
    # Asked about another API's path prefix, with a resource the table does not name: the
    # door lets a token for the table's resource through; this guard's own resource decides.
    token = oauth_token(node, services, API)
    with Guard(node.url, resource=MCP, cache_size=0) as guard:
        answer = guard.check("GET", "/tickets", [(b"authorization", f"Bearer {token}".encode())])

    assert getattr(answer, "status", None) == 401
    assert getattr(answer, "code", None) == "invalid_api_token"


def test_an_unbound_oauth_token_is_refused_but_a_key_is_not(
    api: httpx.Client, node: TesseraNode, services: Services
) -> None:
    unbound = api.get("/tickets", headers=bearer(oauth_token(node, services)))
    key = make_key(services, make_person(services), tags="tickets.*")
    keyed = api.get("/tickets", headers=key_header(key))

    assert unbound.status_code == 401
    assert keyed.status_code == 200, keyed.text


def test_the_api_serves_its_metadata_and_names_it_in_every_401(
    api: httpx.Client, node: TesseraNode
) -> None:
    served = api.get(METADATA)
    refused = api.get("/tickets")

    assert served.json() == {
        "resource": API,
        "authorization_servers": [node.url],
        "scopes_supported": ["session"],
        "bearer_methods_supported": ["header"],
        "resource_name": "Helpdesk API",
    }
    assert refused.headers.get_list("www-authenticate")[-1] == (
        f'Bearer resource_metadata="https://api.example.test{METADATA}"'
    )
