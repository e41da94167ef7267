"""RFC 9728: the metadata documents Tessera serves, and the challenge of the API's 401s."""

import secrets

import httpx

from tessera.services.container import Services
from tests.web.envelopes import CHALLENGE, INVALID_API_TOKEN, UNAUTHORIZED, assert_error

OWN = "http://helpdesk.test"
OWN_METADATA = f'Bearer resource_metadata="{OWN}/.well-known/oauth-protected-resource"'
PRM = "/.well-known/oauth-protected-resource"


def test_tessera_describes_its_own_api(api: httpx.Client) -> None:
    answer = api.get(PRM)

    assert answer.status_code == 200
    assert answer.json() == {
        "resource": OWN,
        "authorization_servers": [OWN],
        "scopes_supported": ["session"],
        "bearer_methods_supported": ["header"],
        "resource_name": "Tessera API",
        "resource_documentation": f"{OWN}/docs",
    }
    assert api.head(PRM).status_code == 200


def test_a_registered_resource_is_described_at_its_path(
    api: httpx.Client, server: str, services: Services
) -> None:
    # The request's own host: a proxy in front of the resource passes the path to Tessera.
    services.resources.create(f"{server}/tickets/v1", "Tickets API")
    services.resources.create("https://mcp.example.test/mcp", "MCP server")

    by_host = api.get(f"{PRM}/tickets/v1")
    by_name = api.get(f"{PRM}/mcp", headers={"Host": "mcp.example.test"})

    assert by_host.status_code == 200, by_host.text
    assert by_host.json()["resource"] == f"{server}/tickets/v1"
    assert by_host.json()["resource_name"] == "Tickets API"
    assert by_host.json()["authorization_servers"] == [OWN]
    # Behind a TLS proxy that is not trusted, the scheme seen is http: no https resource.
    assert by_name.status_code == 404


def test_an_unknown_resource_is_not_found(api: httpx.Client) -> None:
    answer = api.get(f"{PRM}/nothing/here")

    assert answer.status_code == 404
    assert answer.json()["code"] == "not_found"


def test_every_401_of_the_api_names_the_metadata(api: httpx.Client) -> None:
    answer = api.get("/api/v2/me")

    assert_error(answer, UNAUTHORIZED)
    assert answer.headers.get_list("WWW-Authenticate") == [CHALLENGE, OWN_METADATA]


def test_a_failed_bearer_token_is_invalid_token(api: httpx.Client) -> None:
    forged = f"999:{secrets.token_urlsafe(20)}"

    bearer = api.get("/api/v2/me", headers={"Authorization": f"Bearer {forged}"})
    token = api.get("/api/v2/api_keys", headers={"Authorization": f"token {forged}"})

    assert_error(bearer, INVALID_API_TOKEN)
    assert bearer.headers.get_list("WWW-Authenticate") == [
        CHALLENGE,
        'Bearer realm="DeskPRO API", error="invalid_token", '
        f'resource_metadata="{OWN}/.well-known/oauth-protected-resource"',
    ]
    # Deskpro's own scheme: no RFC 6750 error (no Bearer was presented), the metadata still.
    assert_error(token, INVALID_API_TOKEN)
    assert token.headers.get_list("WWW-Authenticate") == [CHALLENGE, OWN_METADATA]
