"""A client that names itself by a metadata document's URL, end to end (ADR 0044).

A real HTTPS server on 127.0.0.1 serves the document (its CA made by the test, trusted through
``TESSERA_OAUTH_CLIENT_DOCUMENT_CA_FILE``, and 127.0.0.1 allowed through
``TESSERA_OAUTH_CLIENT_DOCUMENT_NETWORKS``); Authlib's OAuth2Client is the app, with the URL as
its client_id, PKCE and no secret; a person consents in a browser.
"""

import json
import secrets
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tessera.bootstrap import Runtime
from tests.conftest import served
from tests.document_server import Answer, DocumentServer, document_server
from tests.factories import make_person, new_password
from tests.oauth.flows import (
    Account,
    Browser,
    callback_query,
    hidden_fields,
    is_error_page,
    make_account,
    me,
    received,
    signed_in,
)
from tests.secrets_seen import remember

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import OAuth2Client

CALLBACK = "http://localhost/callback"
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DocumentServer]:
    with document_server(tmp_path_factory.mktemp("documents")) as server:
        yield server


@pytest.fixture(scope="module")
def tessera(database_url: str, documents: DocumentServer) -> Iterator[tuple[Runtime, httpx.Client]]:
    with served(
        database_url,
        oauth_client_document_networks="127.0.0.1/32",
        oauth_client_document_ca_file=str(documents.ca_file),
    ) as (runtime, api):
        yield runtime, api


def publish(documents: DocumentServer, path: str, **changes: Any) -> str:
    """Serve a document at ``path`` (made unique per call: the server outlives a test)."""
    path = f"/{secrets.token_hex(4)}{path}"
    url = f"{documents.url}{path}"
    values: dict[str, Any] = {
        "client_id": url,
        "client_name": "Example MCP Client",
        "redirect_uris": [CALLBACK],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "none",
    }
    values.update(changes)
    documents.serve(path, Answer(body=json.dumps(values).encode(), headers=JSON))
    return url


def base(api: httpx.Client) -> str:
    return str(api.base_url).rstrip("/")


def document_client(url: str, port: int) -> OAuth2Client:
    return OAuth2Client(
        client_id=url,
        token_endpoint_auth_method="none",
        redirect_uri=f"http://localhost:{port}/callback",
        code_challenge_method="S256",
        timeout=60,
    )


def test_the_metadata_says_documents_are_accepted(
    tessera: tuple[Runtime, httpx.Client],
) -> None:
    _, api = tessera

    for path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
        metadata = api.get(path).json()
        assert metadata["client_id_metadata_document_supported"] is True
        assert "none" in metadata["token_endpoint_auth_methods_supported"]


def test_a_document_client_completes_the_code_flow_and_refreshes(
    tessera: tuple[Runtime, httpx.Client], documents: DocumentServer
) -> None:
    runtime, api = tessera
    url = publish(documents, "/flow/client.json")
    account = make_account(runtime.services)
    browser = signed_in(Browser(base(api)), account)
    client = document_client(url, 53682)
    verifier = secrets.token_urlsafe(48)
    remember(verifier)
    authorize_url, state = client.create_authorization_url(
        f"{base(api)}/oauth/authorize", code_verifier=verifier, state=secrets.token_urlsafe(8)
    )

    page = browser.consent_page(authorize_url)

    assert "Grant access to Example MCP Client" in page.text
    assert f"127.0.0.1:{documents.port}" in page.text  # the host the document came from
    assert "a program on your own computer" in page.text  # the localhost warning
    answer = browser.decide(page)
    assert answer.status_code == 302, answer.text
    location = answer.headers["location"]
    assert callback_query(location, "http://localhost:53682/callback")["state"] == state

    token = client.fetch_token(
        f"{base(api)}/oauth/token", authorization_response=location, code_verifier=verifier
    )
    received_token = dict(token)
    remember(received_token["access_token"], received_token["refresh_token"])

    assert me(api, received_token["access_token"]).json()["data"]["app_id"] == url
    refreshed = client.refresh_token(
        f"{base(api)}/oauth/token", refresh_token=received_token["refresh_token"]
    )
    remember(refreshed["access_token"], refreshed["refresh_token"])
    assert me(api, refreshed["access_token"]).status_code == 200
    revoked = api.post(
        "/oauth/revoke", data={"token": refreshed["refresh_token"], "client_id": url}
    )
    assert revoked.status_code == 200
    assert me(api, refreshed["access_token"]).status_code == 401
    assert len(documents.requests_for(url.removeprefix(documents.url))) == 1  # kept meanwhile
    browser.close()
    client.close()


def test_without_refresh_token_in_its_grant_types_none_is_issued(
    tessera: tuple[Runtime, httpx.Client], documents: DocumentServer
) -> None:
    runtime, api = tessera
    url = publish(documents, "/flow/no-refresh.json", grant_types=["authorization_code"])
    browser = signed_in(Browser(base(api)), make_account(runtime.services))
    verifier = secrets.token_urlsafe(48)
    remember(verifier)
    client = document_client(url, 40000)
    authorize_url, _ = client.create_authorization_url(
        f"{base(api)}/oauth/authorize", code_verifier=verifier
    )

    location = browser.decide(browser.consent_page(authorize_url)).headers["location"]
    code = callback_query(location, "http://localhost:40000/callback")["code"]
    answer = api.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": url,
            "redirect_uri": "http://localhost:40000/callback",
            "code_verifier": verifier,
        },
    )

    assert answer.status_code == 200, answer.text
    assert "refresh_token" not in received(answer)
    browser.close()


def test_a_document_client_must_use_pkce(
    tessera: tuple[Runtime, httpx.Client], documents: DocumentServer
) -> None:
    runtime, api = tessera
    url = publish(documents, "/flow/pkce.json")
    browser = signed_in(Browser(base(api)), make_account(runtime.services))

    answer = browser.authorize(
        {"response_type": "code", "client_id": url, "redirect_uri": CALLBACK, "state": "s"}
    )

    assert answer.status_code == 302
    assert callback_query(answer.headers["location"], CALLBACK)["error"] == "invalid_request"
    browser.close()


@pytest.mark.parametrize(
    ("path", "answer", "expected"),
    [
        ("/bad/missing.json", None, "answered 404"),
        ("/bad/redirect.json", Answer(302, headers={"Location": "/x.json"}), "answered 302"),
        ("/bad/secret.json", "secret", "must not contain a client secret"),
    ],
)
def test_an_unusable_document_gets_the_error_page_never_a_redirect(
    tessera: tuple[Runtime, httpx.Client],
    documents: DocumentServer,
    path: str,
    answer: Answer | str | None,
    expected: str,
) -> None:
    _runtime, api = tessera
    url = f"{documents.url}{path}"
    if isinstance(answer, Answer):
        documents.serve(path, answer)
    elif answer == "secret":
        secret = secrets.token_urlsafe(16)
        remember(secret)
        url = publish(documents, path, client_secret=secret)
    browser = Browser(base(api))

    page = browser.authorize(
        {"response_type": "code", "client_id": url, "redirect_uri": CALLBACK, "state": "s"}
    )
    browser.close()

    assert is_error_page(page)
    assert "invalid_client" in page.text
    assert expected in page.text


def test_a_token_request_for_an_unusable_document_is_invalid_client(
    tessera: tuple[Runtime, httpx.Client], documents: DocumentServer
) -> None:
    _, api = tessera
    url = f"{documents.url}/bad/never-served.json"

    answer = api.post(
        "/oauth/token",
        data={"grant_type": "authorization_code", "code": "x", "client_id": url},
    )

    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_client"
    assert "404" in answer.json()["error_description"]


def test_switched_off_documents_are_neither_fetched_nor_advertised(
    database_url: str, documents: DocumentServer
) -> None:
    url = publish(documents, "/off/client.json")
    with served(
        database_url,
        oauth_client_documents=False,
        oauth_client_document_networks="127.0.0.1/32",
        oauth_client_document_ca_file=str(documents.ca_file),
    ) as (_, api):
        metadata = api.get("/.well-known/oauth-authorization-server").json()
        browser = Browser(base(api))
        page = browser.authorize(
            {"response_type": "code", "client_id": url, "redirect_uri": CALLBACK}
        )
        browser.close()

    assert metadata["client_id_metadata_document_supported"] is False
    assert is_error_page(page)
    assert "does not accept client metadata documents" in page.text
    assert documents.requests_for(url.removeprefix(documents.url)) == []


def test_consent_form_carries_the_url_client_id(
    tessera: tuple[Runtime, httpx.Client], documents: DocumentServer
) -> None:
    runtime, api = tessera
    url = publish(documents, "/flow/form.json")
    browser = signed_in(Browser(base(api)), make_account(runtime.services))
    verifier = secrets.token_urlsafe(48)
    remember(verifier)
    authorize_url, _ = document_client(url, 1234).create_authorization_url(
        f"{base(api)}/oauth/authorize", code_verifier=verifier
    )

    page = browser.consent_page(authorize_url)

    assert hidden_fields(page.text)["client_id"] == [url]
    browser.close()


def test_the_console_marks_metadata_document_clients(
    tessera: tuple[Runtime, httpx.Client], documents: DocumentServer
) -> None:
    runtime, api = tessera
    url = publish(documents, "/console/client.json", client_name="Doc Tool")
    password = new_password()
    admin = make_person(runtime.services, admin=True, password=password)
    browser = signed_in(Browser(base(api)), Account(admin, password))
    browser.authorize({"response_type": "code", "client_id": url, "redirect_uri": CALLBACK})
    client = runtime.services.oauth_clients.find_by_client_id(url)
    assert client is not None

    listing = browser.http.get("/console/apps")
    page = browser.http.get(f"/console/apps/{client.id}")
    browser.close()

    row = next(line for line in listing.text.splitlines() if "Doc Tool" in line)
    assert "metadata document" in row
    assert url in page.text
    assert "Describes itself at" in page.text
