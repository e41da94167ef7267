"""Where the RFC 8414 metadata is found, for an issuer at the root and one with a path.

Behind a proxy that serves Tessera at ``https://example.com/auth``, the proxy hands Tessera
everything under ``/auth/`` without the prefix, and the path-inserted metadata address
``/.well-known/oauth-authorization-server/auth`` as it is (docs/oauth.md). Authlib's own
helpers compute the address a client asks for and check the document.
"""

from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata, get_well_known_url

from tessera.app import create_app
from tests.conftest import extra_runtime
from tests.live import serving

ISSUER = "https://example.com/auth"


@pytest.fixture
def behind_a_path(database_url: str) -> Iterator[httpx.Client]:
    """A server whose public URL has a path, reached as its proxy would reach it."""
    with (
        extra_runtime(database_url, public_url=ISSUER + "/") as runtime,
        serving(create_app(runtime=runtime)) as url,
        httpx.Client(base_url=url, timeout=60) as client,
    ):
        yield client


def test_an_issuer_with_a_path_has_its_metadata_at_the_path_inserted_address(
    behind_a_path: httpx.Client,
) -> None:
    address = get_well_known_url(ISSUER, external=True)
    assert address == "https://example.com/.well-known/oauth-authorization-server/auth"

    answer = behind_a_path.get(urlsplit(address).path)

    assert answer.status_code == 200, answer.text
    document = answer.json()
    AuthorizationServerMetadata(document).validate()
    assert document["issuer"] == ISSUER
    assert document["token_endpoint"] == ISSUER + "/oauth/token"
    assert document["authorization_endpoint"] == ISSUER + "/oauth/authorize"


def test_the_prefix_stripped_address_serves_the_same_document(
    behind_a_path: httpx.Client,
) -> None:
    # What a client that appends the well-known segment to the issuer reaches through the proxy.
    inserted = behind_a_path.get("/.well-known/oauth-authorization-server/auth").json()

    assert behind_a_path.get("/.well-known/oauth-authorization-server").json() == inserted


@pytest.mark.parametrize("path", ["/other", "/auth/", "/auth/x", "/AUTH", "/"])
def test_no_other_issuer_path_has_metadata(behind_a_path: httpx.Client, path: str) -> None:
    answer = behind_a_path.get("/.well-known/oauth-authorization-server" + path)

    assert answer.status_code == 404
    assert answer.json()["code"] == "not_found"


def test_an_issuer_at_the_root_has_no_path_inserted_document(api: httpx.Client) -> None:
    assert get_well_known_url("http://helpdesk.test") == "/.well-known/oauth-authorization-server"
    assert api.get("/.well-known/oauth-authorization-server").status_code == 200

    assert api.get("/.well-known/oauth-authorization-server/helpdesk").status_code == 404


def test_the_path_inserted_metadata_answers_cors(behind_a_path: httpx.Client) -> None:
    answer = behind_a_path.get(
        "/.well-known/oauth-authorization-server/auth",
        headers={"Origin": "https://app.example.com"},
    )

    assert answer.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
