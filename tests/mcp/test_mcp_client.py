"""A real MCP client (the ``mcp`` SDK) authorizes against Tessera and calls a guarded tool.

Everything is real and on loopback: Tessera (its issuer its own address, its route table naming
the MCP server as its resource), the example MCP server of ``examples/mcp_server.py`` (the SDK's
MCPServer, its tokens checked by ``tessera.guard``), and the SDK's client with its OAuth support.
The client gets the 401, reads the server's RFC 9728 metadata, discovers Tessera, registers
itself (RFC 7591), runs the code flow with PKCE and ``resource``; the person signs in and
consents in a browser (``tests.oauth.flows.Browser``), the callback goes back to the SDK, and
the tool answers. Only the person's part is played by the test.
"""

import asyncio
import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import anyio
import httpx
import httpx2
import pytest
from examples.mcp_server import build_server
from mcp.client.auth import OAuthClientProvider
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)
from pydantic import AnyUrl

from tessera.app import create_app
from tessera.services.container import Services
from tests.conftest import extra_runtime
from tests.document_server import Answer, DocumentServer, document_server
from tests.factories import make_oauth_client
from tests.live import loopback_socket, serving
from tests.oauth.flows import (
    INTROSPECT,
    WEB_CALLBACK,
    Account,
    Browser,
    code_for,
    make_account,
    signed_in,
    token_request,
    tokens_of,
)

OTHER_RESOURCE = "https://other.example.test/api"


@dataclass(frozen=True, slots=True)
class Deployment:
    tessera: str
    services: Services
    #: The MCP server's resource URI, which is also its MCP endpoint.
    resource: str


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DocumentServer]:
    """Where an MCP client publishes its client ID metadata document (HTTPS, its own CA)."""
    with document_server(tmp_path_factory.mktemp("documents")) as server:
        yield server


@pytest.fixture
def deployment(
    database_url: str, tmp_path: Path, documents: DocumentServer
) -> Iterator[Deployment]:
    mcp_socket, mcp_url = loopback_socket()
    resource = f"{mcp_url}/mcp"
    routes = tmp_path / "routes.toml"
    routes.write_text(
        f'resource = "{resource}"\n\n[[route]]\nmethod = "*"\npath = "/mcp/**"\ntags = []\n'
    )
    tessera_socket, tessera_url = loopback_socket()
    with extra_runtime(
        database_url,
        public_url=tessera_url,
        routes_file=routes,
        oauth_registration="open",
        oauth_registration_rate_per_address="1000/minute",
        # The documents are served on loopback, which Tessera refuses to fetch unless told.
        oauth_client_document_networks="127.0.0.1/32",
        oauth_client_document_ca_file=str(documents.ca_file),
    ) as runtime:
        services = runtime.services
        services.resources.create(resource, "Example MCP server")
        services.resources.create(OTHER_RESOURCE, "Another API")
        with (
            serving(create_app(runtime=runtime), bound=tessera_socket) as served,
            serving(build_server(tessera_url, resource), bound=mcp_socket),
        ):
            assert served == tessera_url
            yield Deployment(tessera_url, services, resource)


@pytest.fixture
def account(deployment: Deployment) -> Account:
    return make_account(deployment.services)


@pytest.fixture
def browser(deployment: Deployment, account: Account) -> Iterator[Browser]:
    opened = Browser(deployment.tessera)
    try:
        yield signed_in(opened, account)
    finally:
        opened.close()


@dataclass
class MemoryStorage:
    """The SDK's ``TokenStorage``, in memory: what it registered and the tokens it got."""

    tokens: OAuthToken | None = None
    client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


@dataclass
class Person:
    """The person at the browser: opens the URL the SDK hands over, consents, and gives the
    redirect back to the SDK's callback."""

    browser: Browser
    redirect_uri: str
    authorization_urls: list[str] = field(default_factory=list)
    callbacks: list[dict[str, str]] = field(default_factory=list)

    async def open(self, url: str) -> None:
        self.authorization_urls.append(url)
        # The browser is synchronous; the servers run in threads of their own.
        location = await anyio.to_thread.run_sync(self.browser.approve, url)
        base, _, query = location.partition("?")
        assert base == self.redirect_uri, location
        self.callbacks.append(dict(parse_qsl(query, strict_parsing=True)))

    async def callback(self) -> AuthorizationCodeResult:
        received = self.callbacks[-1]
        return AuthorizationCodeResult(
            code=received["code"], state=received.get("state"), iss=received.get("iss")
        )


def oauth_provider(
    deployment: Deployment,
    person: Person,
    storage: MemoryStorage,
    auth_method: str,
    *,
    document: str | None = None,
) -> OAuthClientProvider:
    """The SDK's OAuth support, as an MCP client sets it up: its metadata for registration."""
    return OAuthClientProvider(
        server_url=deployment.resource,
        client_metadata=OAuthClientMetadata(
            client_name="An MCP client",
            redirect_uris=[AnyUrl(person.redirect_uri)],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method=auth_method,
        ),
        storage=storage,
        redirect_handler=person.open,
        callback_handler=person.callback,
        client_metadata_url=document,
    )


async def call_whoami(deployment: Deployment, provider: OAuthClientProvider) -> dict[str, object]:
    """Connect with the SDK's client over streamable HTTP, its OAuth provider doing the rest."""
    async with (
        httpx2.AsyncClient(auth=provider, timeout=60) as http,
        Client(streamable_http_client(deployment.resource, http_client=http)) as client,
    ):
        result = await client.call_tool("whoami", {})
    assert not result.is_error, result
    assert isinstance(result.structured_content, dict), result
    return result.structured_content


def introspect(deployment: Deployment, client: OAuthClientInformationFull, token: str) -> Any:
    assert client.client_secret is not None
    with httpx.Client(base_url=deployment.tessera, timeout=30) as http:
        answer = http.post(
            INTROSPECT, data={"token": token}, auth=(client.client_id, client.client_secret)
        )
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.mark.parametrize(
    ("auth_method", "redirect_uri"),
    [
        # A public client on localhost, as desktop MCP clients register themselves,
        ("none", "http://localhost:33418/callback"),
        # and a confidential one, which may introspect its own tokens.
        ("client_secret_basic", "http://127.0.0.1:33418/callback"),
    ],
)
def test_the_sdk_client_registers_authorizes_and_calls_the_tool(
    deployment: Deployment, browser: Browser, account: Account, auth_method: str, redirect_uri: str
) -> None:
    person = Person(browser, redirect_uri)
    storage = MemoryStorage()

    provider = oauth_provider(deployment, person, storage, auth_method)

    answer = asyncio.run(call_whoami(deployment, provider))

    assert answer["person_id"] == account.person.id
    assert answer["email"] == account.email
    assert answer["audience"] == [deployment.resource]
    # The client registered itself, asked for the MCP server by its resource, got iss back.
    assert storage.client is not None
    assert storage.tokens is not None
    assert answer["client_id"] == storage.client.client_id
    (url,) = person.authorization_urls
    asked = dict(parse_qsl(urlsplit(url).query))
    assert asked["resource"] == deployment.resource
    assert asked["code_challenge_method"] == "S256"
    assert person.callbacks[0]["iss"] == deployment.tessera
    assert storage.client.token_endpoint_auth_method == auth_method
    if auth_method == "client_secret_basic":  # public clients cannot introspect
        introspected = introspect(deployment, storage.client, storage.tokens.access_token)
        assert introspected["active"] is True
        assert introspected["aud"] == deployment.resource
        assert introspected["client_id"] == storage.client.client_id


def test_the_sdk_client_with_a_client_id_metadata_document(
    deployment: Deployment, browser: Browser, account: Account, documents: DocumentServer
) -> None:
    """Given its document's URL, the SDK uses it as its client_id (Tessera advertises
    ``client_id_metadata_document_supported``) and registers nothing."""
    redirect_uri = "http://localhost:33419/callback"
    path = f"/{secrets.token_hex(4)}/mcp-client.json"
    url = f"{documents.url}{path}"
    document = {
        "client_id": url,
        "client_name": "An MCP client with a document",
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    }
    documents.serve(
        path,
        Answer(body=json.dumps(document).encode(), headers={"Content-Type": "application/json"}),
    )
    person = Person(browser, redirect_uri)
    storage = MemoryStorage()
    provider = oauth_provider(deployment, person, storage, "none", document=url)

    answer = asyncio.run(call_whoami(deployment, provider))

    assert answer["person_id"] == account.person.id
    assert answer["client_id"] == url
    assert answer["audience"] == [deployment.resource]
    (authorization_url,) = person.authorization_urls
    assert dict(parse_qsl(urlsplit(authorization_url).query))["client_id"] == url
    assert any(seen.path == path for seen in documents.seen)
    assert storage.client is not None
    assert storage.client.client_id == url
    assert storage.client.client_secret is None


def test_the_sdk_client_refreshes_for_the_same_resource(
    deployment: Deployment, browser: Browser, account: Account
) -> None:
    """When its token has expired the SDK refreshes it, naming the resource again, and the new
    token is as bound as the first: no second sign-in."""
    person = Person(browser, "http://127.0.0.1:33418/callback")
    storage = MemoryStorage()
    provider = oauth_provider(deployment, person, storage, "client_secret_basic")
    asyncio.run(call_whoami(deployment, provider))
    first = storage.tokens
    assert first is not None
    assert first.refresh_token is not None

    provider.context.token_expiry_time = time.time() - 1  # as if an hour had gone by
    answer = asyncio.run(call_whoami(deployment, provider))

    assert answer["person_id"] == account.person.id
    assert len(person.authorization_urls) == 1
    refreshed = storage.tokens
    assert refreshed is not None
    assert refreshed.access_token != first.access_token
    assert refreshed.refresh_token not in (None, first.refresh_token)  # rotated
    assert storage.client is not None
    introspected = introspect(deployment, storage.client, refreshed.access_token)
    assert introspected["aud"] == deployment.resource


def token_for(deployment: Deployment, browser: Browser, *resources: str) -> str:
    """An access token from the code flow of an app of Tessera's own, for ``resources``."""
    app = make_oauth_client(deployment.services, redirect_uris=[WEB_CALLBACK])
    code, verifier = code_for(browser, app, *resources)
    with httpx.Client(base_url=deployment.tessera, timeout=30) as http:
        token = tokens_of(token_request(http, app, code, verifier, *resources)).access
        introspected = http.post(
            INTROSPECT, data={"token": token}, auth=(app.client.client_id, app.secret or "")
        ).json()
    assert introspected["active"] is True
    assert introspected.get("aud") == (resources[0] if resources else None)
    return token


def list_tools(deployment: Deployment, token: str) -> httpx.Response:
    """A bare MCP request, as any client would send it with a bearer token."""
    return httpx.post(
        deployment.resource,
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "bare", "version": "1"},
            },
        },
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/json, text/event-stream",
        },
        timeout=30,
    )


def test_a_token_for_this_server_is_let_in(deployment: Deployment, browser: Browser) -> None:
    """The control of the refusals below: the same kind of token, asked for this server."""
    answer = list_tools(deployment, token_for(deployment, browser, deployment.resource))

    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(
    "resources",
    [
        pytest.param((OTHER_RESOURCE,), id="another-resource"),
        pytest.param((), id="tessera-own-api"),
    ],
)
def test_a_token_for_another_resource_is_refused(
    deployment: Deployment, browser: Browser, resources: tuple[str, ...]
) -> None:
    answer = list_tools(deployment, token_for(deployment, browser, *resources))

    assert answer.status_code == 401, answer.text
    challenge = answer.headers["www-authenticate"]
    assert 'error="invalid_token"' in challenge
    assert f'resource_metadata="{deployment.resource.replace("/mcp", "")}' in challenge
    assert "/.well-known/oauth-protected-resource/mcp" in challenge
