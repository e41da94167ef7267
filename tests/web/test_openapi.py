"""``/docs`` and ``/openapi.json``: every endpoint described, credentials explained."""

import httpx

from tessera.core.oauth_scopes import OWN_TAGS

PUBLIC = {
    ("post", "/api/v2/api_tokens"),
    ("get", "/api/v2/api_tokens/device_setup/{code}"),
    # E10: anyone may ask for a link; only the address's owner receives it.
    ("post", "/api/v2/api_tokens/magic_link/email"),
    ("get", "/api/v2/helpdesk/discover"),
    # Apps sign people in through an identity provider (spec §8.2, E7–E9).
    ("get", "/api/v2/api_tokens/user_sources/{context}"),
    ("get", "/api/v2/api_tokens/user_sources/{source_id}/login"),
    ("get", "/api/v2/api_tokens/user_sources/{source_id}/callback/{hand_over}"),
    ("post", "/api/v2/api_tokens/user_sources/{source_id}/callback/{hand_over}"),
    # Needs no credential of its own: each of its requests is checked as if it came alone.
    ("post", "/api/v2/batch"),
    # OAuth's own endpoints authenticate clients the OAuth way, not with keys or tokens.
    ("post", "/oauth/token"),
    ("post", "/oauth/revoke"),
    ("post", "/oauth/introspect"),
    ("post", "/oauth/device_authorization"),
    # Dynamic registration (RFC 7591/7592): an initial access token or none, then the
    # client's registration access token; both Bearer tokens of OAuth's own.
    ("post", "/oauth/register"),
    ("get", "/oauth/register/{client_id}"),
    ("put", "/oauth/register/{client_id}"),
    ("delete", "/oauth/register/{client_id}"),
    # An OAuth access token as RFC 6750 has it, answered in RFC 6750's errors.
    ("get", "/oauth/userinfo"),
    ("post", "/oauth/userinfo"),
    # Browser endpoints of the authorization server: HTML pages and redirects.
    ("get", "/oauth/authorize"),
    ("post", "/oauth/authorize"),
    ("get", "/oauth/logout"),
    ("post", "/oauth/logout"),
    # What relying parties read before they hold anything.
    ("get", "/oauth/jwks"),
    ("get", "/.well-known/oauth-authorization-server"),
    ("get", "/.well-known/openid-configuration"),
    # RFC 9728: where to get a token for Tessera's API, or for a resource it knows.
    ("get", "/.well-known/oauth-protected-resource"),
    ("get", "/.well-known/oauth-protected-resource/{resource_path}"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    # GitHub's reports prove themselves by their signature (docs/secret-scanning.md).
    ("post", "/api/v2/secret_scanning/reports"),
}


def test_every_operation_states_its_credentials_and_tags(api: httpx.Client) -> None:
    spec = api.get("/openapi.json").json()

    assert set(spec["components"]["securitySchemes"]) == {"key", "token"}
    operations = [(m, p, op) for p, item in spec["paths"].items() for m, op in item.items()]
    assert len(operations) >= 20
    for method, path, operation in operations:
        if (method, path) in PUBLIC:
            assert "security" not in operation, path
            continue
        assert operation["security"] == [{"key": []}, {"token": []}], path
        tags = operation["x-deskpro-tags"]
        assert tags, path
        assert all(tag.count(".") == 2 for tag in tags), tags


def test_admin_endpoints_are_tagged_by_resource(api: httpx.Client) -> None:
    paths = api.get("/openapi.json").json()["paths"]

    assert paths["/api/v2/api_keys"]["get"]["x-deskpro-tags"] == ["api_keys.api_keys.list"]
    assert paths["/api/v2/api_keys/{key_id}"]["delete"]["x-deskpro-tags"] == [
        "api_keys.api_keys.delete"
    ]
    assert paths["/api/v2/people"]["post"]["x-deskpro-tags"] == ["people.people.post"]
    assert "Admin only" in paths["/api/v2/people"]["post"]["description"]


def test_the_docs_page_needs_nothing_from_the_internet(api: httpx.Client) -> None:
    page = api.get("/docs")

    assert page.status_code == 200
    assert "https://" not in page.text
    for asset in ("/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"):
        assert api.get(asset).status_code == 200


def test_the_scope_catalogue_knows_every_endpoint_tag(api: httpx.Client) -> None:
    # API scopes name these tags (ADR 0042): a new endpoint's tag must join OWN_TAGS.
    paths = api.get("/openapi.json").json()["paths"]
    documented = {
        tag
        for item in paths.values()
        for operation in item.values()
        for tag in operation.get("x-deskpro-tags", [])
    }

    assert documented == set(OWN_TAGS)


def test_the_browser_endpoints_state_what_they_read_and_answer(api: httpx.Client) -> None:
    paths = api.get("/openapi.json").json()["paths"]

    authorize = paths["/oauth/authorize"]["get"]
    read = {parameter["name"]: parameter for parameter in authorize["parameters"]}
    assert {"response_type", "client_id", "redirect_uri", "code_challenge", "prompt"} <= set(read)
    assert {"max_age", "id_token_hint", "login_hint", "response_mode", "nonce"} <= set(read)
    assert read["resource"]["schema"]["type"] == "array"
    assert read["resource"]["explode"] is True
    assert "text/html" in authorize["responses"]["200"]["content"]
    assert "text/html" in authorize["responses"]["400"]["content"]
    assert "Location" in authorize["responses"]["302"]["headers"]
    assert "Location" in authorize["responses"]["303"]["headers"]
    decide = paths["/oauth/authorize"]["post"]["requestBody"]["content"]
    fields = decide["application/x-www-form-urlencoded"]["schema"]["properties"]
    assert {"csrf_token", "decision", "client_id", "resource"} <= set(fields)

    logout = paths["/oauth/logout"]["get"]
    assert {parameter["name"] for parameter in logout["parameters"]} == {
        "id_token_hint",
        "client_id",
        "post_logout_redirect_uri",
        "state",
    }
    assert "Location" in logout["responses"]["303"]["headers"]
    assert "text/html" in paths["/oauth/logout"]["post"]["responses"]["403"]["content"]
    assert "/oauth/error" not in paths
