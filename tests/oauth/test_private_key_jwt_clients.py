"""Where private_key_jwt clients come from (ADR 0052): an admin (API), dynamic registration
(RFC 7591 ``jwks``/``jwks_uri``) and client ID metadata documents (the MCP way).

A real server fetches documents and key sets from a real HTTPS server on loopback; each client
then authenticates with an assertion at the introspection endpoint.
"""

import json
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tessera.bootstrap import Runtime
from tessera.core.audit import AuditFilters
from tessera.core.paging import PageRequest
from tessera.services.container import Services
from tests.conftest import served
from tests.document_server import Answer, DocumentServer, document_server
from tests.oauth.flows import INTROSPECT
from tests.oauth.keys import ClientKey, assertion, assertion_form, ec_key, jwks, rsa_key
from tests.secrets_seen import remember
from tests.web.envelopes import admin_key, assert_error, data_of, field, invalid_input

JSON = {"Content-Type": "application/json"}
CALLBACK = "http://localhost/callback"


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DocumentServer]:
    with document_server(tmp_path_factory.mktemp("key-clients")) as server:
        yield server


@pytest.fixture(scope="module")
def tessera(database_url: str, documents: DocumentServer) -> Iterator[tuple[Runtime, httpx.Client]]:
    with served(
        database_url,
        oauth_client_document_networks="127.0.0.1/32",
        oauth_client_document_ca_file=str(documents.ca_file),
        oauth_registration="open",
        oauth_registration_rate_per_address="1000/minute",
    ) as pair:
        yield pair


def authenticated(api: httpx.Client, key: ClientKey, client_id: str, issuer: str) -> bool:
    value = assertion(key, client_id, issuer)
    answer = api.post(INTROSPECT, data={"token": "x", **assertion_form(value)})
    assert answer.status_code in (200, 400), answer.text
    return answer.status_code == 200


def serve_json(documents: DocumentServer, path: str, value: Any) -> str:
    path = f"/{secrets.token_hex(4)}{path}"
    return documents.serve(path, Answer(body=json.dumps(value).encode(), headers=JSON))


# -- the admin API -----------------------------------------------------------------------------


def test_an_admin_registers_a_key_client_without_a_secret(
    tessera: tuple[Runtime, httpx.Client],
) -> None:
    runtime, api = tessera
    admin = admin_key(runtime.services)
    key = ec_key()
    body = {
        "name": "Signed App",
        "redirect_uris": ["https://app.example.test/callback"],
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": jwks(key),
    }

    created = data_of(api.post("/api/v2/oauth_clients", json=body, headers=admin), 201)

    assert created["secret"] is None
    assert created["has_secret"] is False
    assert created["is_public"] is False
    assert created["token_endpoint_auth_method"] == "private_key_jwt"
    assert created["jwks"] == jwks(key)
    assert created["jwks_uri"] is None
    assert authenticated(api, key, created["client_id"], runtime.oauth.context.issuer)
    rotated = api.post(f"/api/v2/oauth_clients/{created['id']}/rotate_secret", headers=admin)
    assert rotated.status_code == 400, rotated.text


def test_an_admin_moves_a_client_from_a_secret_to_a_key_and_it_is_audited(
    tessera: tuple[Runtime, httpx.Client], documents: DocumentServer
) -> None:
    runtime, api = tessera
    admin = admin_key(runtime.services)
    issuer = runtime.oauth.context.issuer
    body = {"name": "Moving App", "redirect_uris": ["https://app.example.test/callback"]}
    created = data_of(api.post("/api/v2/oauth_clients", json=body, headers=admin), 201)
    remember(created["secret"])
    key = rsa_key()
    url = serve_json(documents, "/moving/jwks.json", jwks(key))

    changed = api.put(
        f"/api/v2/oauth_clients/{created['id']}",
        json={"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": url},
        headers=admin,
    )
    shown = data_of(api.get(f"/api/v2/oauth_clients/{created['id']}", headers=admin))
    old_secret = api.post(
        INTROSPECT, data={"token": "x"}, auth=(created["client_id"], created["secret"])
    )

    assert changed.status_code == 204, changed.text
    assert (shown["token_endpoint_auth_method"], shown["jwks_uri"]) == ("private_key_jwt", url)
    assert shown["has_secret"] is False
    assert old_secret.status_code == 401  # the secret was dropped
    assert authenticated(api, key, created["client_id"], issuer)
    events = runtime.services.audit.list(
        AuditFilters(kind="oauth_client.changed"), PageRequest(1, 100)
    ).items
    mine = [event for event in events if event.detail["oauth_client_id"] == created["id"]]
    assert mine[0].detail["fields"] == ["jwks_uri", "token_endpoint_auth_method"]
    assert url not in repr(mine[0])  # names of fields, never values


@pytest.mark.parametrize(
    ("extra", "fields"),
    [
        ({}, {"jwks_uri": ["required"]}),
        ({"jwks_uri": "http://keys.example.test/jwks.json"}, {"jwks_uri": ["invalid_jwks_uri"]}),
        ({"jwks": {"keys": []}}, {"jwks": ["invalid_jwks"]}),
        ({"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}, {"jwks": ["invalid_jwks"]}),
        ({"jwks": "private"}, None),
    ],
    ids=["no keys", "http", "empty", "symmetric", "not an object"],
)
def test_keys_are_checked_when_a_client_is_registered(
    tessera: tuple[Runtime, httpx.Client],
    extra: dict[str, Any],
    fields: dict[str, list[str]] | None,
) -> None:
    runtime, api = tessera
    admin = admin_key(runtime.services)
    body = {
        "name": "Bad Keys",
        "redirect_uris": ["https://app.example.test/callback"],
        "token_endpoint_auth_method": "private_key_jwt",
        **extra,
    }

    answer = api.post("/api/v2/oauth_clients", json=body, headers=admin)

    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "invalid_input"
    if fields is not None:
        found = answer.json()["errors"]["fields"]
        for name, codes in fields.items():
            assert [error["code"] for error in found[name]["errors"]] == codes


def test_a_private_key_is_refused_with_a_field_error(
    tessera: tuple[Runtime, httpx.Client],
) -> None:
    runtime, api = tessera
    admin = admin_key(runtime.services)
    body = {
        "name": "Leaky",
        "redirect_uris": ["https://app.example.test/callback"],
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": {"keys": [ec_key().private_jwk]},
    }

    answer = api.post("/api/v2/oauth_clients", json=body, headers=admin)

    message = "The JWK Set holds a private key: give only the public keys."
    assert_error(answer, invalid_input(jwks=field({"code": "invalid_jwks", "message": message})))


# -- dynamic registration (RFC 7591) -----------------------------------------------------------


def test_a_client_registers_itself_with_its_keys(
    tessera: tuple[Runtime, httpx.Client], documents: DocumentServer
) -> None:
    runtime, api = tessera
    issuer = runtime.oauth.context.issuer
    inline, published = ec_key(), ec_key()
    url = serve_json(documents, "/registered/jwks.json", jwks(published))

    with_jwks = api.post(
        "/oauth/register",
        json={
            "client_name": "Inline",
            "redirect_uris": [CALLBACK],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": jwks(inline),
        },
    )
    with_uri = api.post(
        "/oauth/register",
        json={
            "client_name": "Published",
            "redirect_uris": [CALLBACK],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks_uri": url,
        },
    )
    both = api.post(
        "/oauth/register",
        json={
            "redirect_uris": [CALLBACK],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks_uri": url,
            "jwks": jwks(inline),
        },
    )
    neither = api.post(
        "/oauth/register",
        json={"redirect_uris": [CALLBACK], "token_endpoint_auth_method": "private_key_jwt"},
    )

    for answer in (with_jwks, with_uri):
        assert answer.status_code == 201, answer.text
        body = answer.json()
        remember(body["registration_access_token"])
        assert "client_secret" not in body
        assert body["token_endpoint_auth_method"] == "private_key_jwt"
    assert with_jwks.json()["jwks"] == jwks(inline)
    assert with_uri.json()["jwks_uri"] == url
    assert authenticated(api, inline, with_jwks.json()["client_id"], issuer)
    assert authenticated(api, published, with_uri.json()["client_id"], issuer)
    assert not authenticated(api, published, with_jwks.json()["client_id"], issuer)
    for refused in (both, neither):
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"] == "invalid_client_metadata"


# -- client ID metadata documents -----------------------------------------------------------


def test_a_metadata_document_client_proves_itself_with_its_key(
    tessera: tuple[Runtime, httpx.Client], documents: DocumentServer
) -> None:
    runtime, api = tessera
    issuer = runtime.oauth.context.issuer
    key = ec_key()
    keys_url = serve_json(documents, "/mcp/jwks.json", jwks(key))
    path = f"/{secrets.token_hex(4)}/mcp/client.json"
    client_id = f"{documents.url}{path}"
    document = {
        "client_id": client_id,
        "client_name": "Signed MCP Client",
        "redirect_uris": [CALLBACK],
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks_uri": keys_url,
    }
    documents.serve(path, Answer(body=json.dumps(document).encode(), headers=JSON))

    # No client_id in the form: the assertion names the document (RFC 7523 §2.2).
    proved = authenticated(api, key, client_id, issuer)
    impostor = authenticated(api, ec_key(), client_id, issuer)
    unsigned = api.post(INTROSPECT, data={"token": "x", "client_id": client_id})

    assert proved
    assert not impostor
    assert unsigned.status_code in (400, 401)
    assert unsigned.json()["error"] == "invalid_client"
    found = runtime.services.oauth_clients.find_by_client_id(client_id)
    assert found is not None
    assert (found.is_public, found.private_key_jwt, found.jwks_uri) == (False, True, keys_url)


def test_a_document_naming_private_key_jwt_without_keys_is_refused(
    tessera: tuple[Runtime, httpx.Client], documents: DocumentServer
) -> None:
    _, api = tessera
    path = f"/{secrets.token_hex(4)}/keyless/client.json"
    client_id = f"{documents.url}{path}"
    document = {
        "client_id": client_id,
        "client_name": "Keyless",
        "redirect_uris": [CALLBACK],
        "token_endpoint_auth_method": "private_key_jwt",
    }
    documents.serve(path, Answer(body=json.dumps(document).encode(), headers=JSON))

    answer = api.post(
        INTROSPECT,
        data={"token": "x", **assertion_form(assertion(ec_key(), client_id, "x"))},
    )

    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "invalid_client"
    assert "exactly one of jwks_uri and jwks" in answer.json()["error_description"]


def test_services_keep_what_the_admin_gave(services: Services) -> None:
    # The service layer alone (the CLI and the console call it): public clients have no keys.
    from tessera.core.errors import InvalidInput
    from tessera.services.oauth_clients import NewOAuthClient

    with pytest.raises(InvalidInput):
        services.oauth_clients.create(
            NewOAuthClient(
                name="Public with keys",
                redirect_uris=["https://app.example.test/callback"],
                is_public=True,
                token_endpoint_auth_method="private_key_jwt",
                jwks=jwks(ec_key()),
            )
        )
