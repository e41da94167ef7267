"""``tessera clients``: a client's secret is printed once, and works; then never again."""

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tessera.services.container import Services
from tests.cli.conftest import Cli
from tests.factories import make_oauth_client
from tests.oauth.keys import ec_key, jwks
from tests.secrets_seen import remember

SECRET_LINE = re.compile(r"^Client secret: (TSRS[23456789ABCDGHJKMNPQRSTWXYZ]{47})$", re.MULTILINE)
CALLBACK = "https://app.example.test/callback"


def create(cli: Cli, *args: str) -> dict[str, Any]:
    client: dict[str, Any] = cli.json(
        "clients", "create", "--name", "cli app", "--redirect-uri", CALLBACK, *args
    )
    if client["secret"] is not None:
        remember(client["secret"])
    return client


def test_create_prints_the_client_id_and_the_secret_once(cli: Cli, services: Services) -> None:
    result = cli(
        "clients",
        "create",
        "--name",
        "Zapier",
        "--redirect-uri",
        CALLBACK,
        "--redirect-uri",
        "http://127.0.0.1:8765/cb",
    )

    assert result.exit_code == 0, result.output
    (secret,) = SECRET_LINE.findall(result.stdout)
    remember(secret)
    assert result.stdout.count(secret) == 1
    assert "this is the only time it is shown" in result.stdout
    (client_id,) = re.findall(r"^Client ID: ([0-9]+_[a-z0-9]{32})$", result.stdout, re.MULTILINE)
    client = services.oauth_clients.find_by_client_id(client_id)
    assert client is not None
    assert client.redirect_uris == (CALLBACK, "http://127.0.0.1:8765/cb")
    assert services.oauth_clients.check_secret(client, secret)


def test_create_json_carries_the_secret_and_the_deskpro_fields(
    cli: Cli, services: Services
) -> None:
    created = cli(
        "clients",
        "create",
        "--name",
        "x",
        "--redirect-uri",
        CALLBACK,
        "--context",
        "user",
        "--json",
    )

    assert created.exit_code == 0, created.output
    client = json.loads(created.stdout)
    remember(client["secret"])
    assert created.stdout.count(client["secret"]) == 1
    assert client == {
        "id": client["id"],
        "public_id": client["client_id"],
        "client_id": client["client_id"],
        "name": "x",
        "context": "user",
        "random_id": client["random_id"],
        "redirect_uris": [CALLBACK],
        "post_logout_redirect_uris": [],
        "allowed_grant_type": "authorization_code",
        "is_enabled": True,
        "is_public": False,
        "has_secret": True,
        "id_token_signed_response_alg": "RS256",
        "allowed_scopes": "session",
        "token_endpoint_auth_method": "client_secret_basic",
        "jwks_uri": None,
        "jwks": None,
        "access_token_format": "opaque",
        "auth_endpoint": client["auth_endpoint"],
        "token_endpoint": client["token_endpoint"],
        "date_created": client["date_created"],
        "secret": client["secret"],
    }
    assert client["auth_endpoint"].endswith("/oauth/authorize")
    assert client["date_created"].endswith("Z")
    for later in [
        cli("clients", "show", str(client["id"]), "--json"),
        cli("clients", "show", str(client["id"])),
        cli("clients", "list", "--count", "200", "--json"),
    ]:
        assert later.exit_code == 0
        assert client["secret"] not in later.output
        assert '"secret"' not in later.output


def test_a_public_client_gets_no_secret(cli: Cli) -> None:
    text = cli(
        "clients", "create", "--name", "phone", "--redirect-uri", "com.example.app:/cb", "--public"
    )
    client = create(cli, "--public", "--grant", "token")

    assert text.exit_code == 0, text.output
    assert "No secret: a public client proves itself with PKCE (S256)." in text.stdout
    assert SECRET_LINE.search(text.stdout) is None
    assert (client["secret"], client["has_secret"], client["is_public"]) == (None, False, True)
    assert client["allowed_grant_type"] == "token"
    refused = cli.json("clients", "rotate-secret", str(client["id"]), exit_code=2)
    assert refused["errors"]["errors"][0]["code"] == "public_client"


def test_invalid_redirect_uris_are_refused_per_index(cli: Cli, services: Services) -> None:
    before = services.oauth_clients.count()
    args = ("clients", "create", "--name", "x", "--redirect-uri", CALLBACK)
    bad = ("--redirect-uri", "http://app.test/cb", "--redirect-uri", "javascript:alert(1)")

    text = cli(*args, *bad)
    body = cli.json(*args, *bad, exit_code=2)

    assert text.exit_code == 2
    assert text.stdout == ""
    assert (
        "redirect_uris.redirect_uris_1: "
        "A redirect URI must use https, or http on a loopback address (127.0.0.1, [::1] or "
        "localhost); this server does not allow plain http to other hosts." in text.stderr
    )
    assert "redirect_uris.redirect_uris_2: This value is not a valid URL." in text.stderr
    fields = body["errors"]["fields"]["redirect_uris"]["fields"]
    assert fields["redirect_uris_1"]["errors"][0]["code"] == "insecure_redirect_uri"
    assert fields["redirect_uris_2"]["errors"][0]["code"] == "invalid_url"
    assert services.oauth_clients.count() == before


def test_app_schemes_and_localhost_are_accepted(cli: Cli) -> None:
    uris = ("myapp://callback", "http://localhost:6274/cb", "com.example.app:/cb")
    args = [arg for uri in uris for arg in ("--redirect-uri", uri)]

    client = cli.json("clients", "create", "--name", "native", "--public", *args)

    assert client["redirect_uris"] == list(uris)


def test_plain_http_elsewhere_needs_the_switch_and_is_flagged(cli: Cli) -> None:
    switch = {"TESSERA_OAUTH_ALLOW_INSECURE_REDIRECTS": "true"}
    args = ("clients", "create", "--name", "legacy", "--redirect-uri", "http://legacy.test/cb")

    refused = cli(*args)
    created = cli(*args, env=switch)
    client_id = created.stdout.split(":", 1)[0].rsplit(" ", 1)[-1]
    shown_off = cli("clients", "show", client_id)
    shown_on = cli("clients", "show", client_id, env=switch)

    assert refused.exit_code == 2
    assert "redirect_uris.redirect_uris_0: A redirect URI must use https" in refused.stderr
    assert created.exit_code == 0, created.output
    assert "accepted only because oauth_allow_insecure_redirects is on" in created.stdout
    assert "Warning: plain http redirect URIs (http://legacy.test/cb)" in shown_on.stdout
    assert "are not used while oauth_allow_insecure_redirects is off" in shown_off.stdout


def test_list_pages_through_clients(cli: Cli, services: Services) -> None:
    first, second = create(cli), create(cli, "--public")

    pages = cli.json("clients", "list", "--count", "200")["meta"]["pagination"]["total_pages"]
    listed = cli.json("clients", "list", "--count", "200", "--page", str(pages))
    text = cli("clients", "list", "--count", "200", "--page", str(pages))

    ids = [client["id"] for client in listed["data"]]
    assert ids[-2:] == [first["id"], second["id"]]
    assert all("secret" not in client for client in listed["data"])
    assert text.exit_code == 0
    assert first["client_id"] in text.stdout
    assert "confidential" in text.stdout
    assert "public" in text.stdout


def test_update_changes_only_what_is_given(cli: Cli, services: Services) -> None:
    client = create(cli)

    updated = cli.json(
        "clients",
        "update",
        str(client["id"]),
        "--name",
        "renamed",
        "--redirect-uri",
        "https://new.example/cb",
        "--redirect-uri",
        "http://[::1]/cb",
        "--grant",
        "token",
        "--disable",
    )
    untouched = cli.json("clients", "update", str(client["id"]), "--enable")

    assert updated["name"] == "renamed"
    assert updated["redirect_uris"] == ["https://new.example/cb", "http://[::1]/cb"]
    assert (updated["allowed_grant_type"], updated["is_enabled"]) == ("token", False)
    assert untouched["redirect_uris"] == updated["redirect_uris"]
    assert (untouched["name"], untouched["is_enabled"]) == ("renamed", True)
    assert untouched["context"] == "agent"


def test_the_id_token_algorithm_is_chosen_and_changed(cli: Cli, services: Services) -> None:
    client = create(cli, "--id-token-alg", "ES256")
    shown = cli("clients", "show", str(client["id"]))
    changed = cli.json("clients", "update", str(client["id"]), "--id-token-alg", "RS256")
    refused = cli("clients", "update", str(client["id"]), "--id-token-alg", "HS256")

    assert client["id_token_signed_response_alg"] == "ES256"
    (line,) = [line for line in shown.stdout.splitlines() if "ID tokens signed" in line]
    assert line.split()[-1] == "ES256"
    assert changed["id_token_signed_response_alg"] == "RS256"
    assert refused.exit_code == 2
    assert services.oauth_clients.get(client["id"]).id_token_signed_response_alg.value == "RS256"


def test_the_access_token_format_is_chosen_and_changed(cli: Cli, services: Services) -> None:
    client = create(cli, "--access-tokens", "jwt")
    shown = cli("clients", "show", str(client["id"]))
    changed = cli.json("clients", "update", str(client["id"]), "--access-tokens", "opaque")
    refused = cli("clients", "update", str(client["id"]), "--access-tokens", "jwe")

    assert client["access_token_format"] == "jwt"
    (line,) = [line for line in shown.stdout.splitlines() if "access tokens" in line]
    assert line.split()[-1] == "jwt"
    assert changed["access_token_format"] == "opaque"
    assert refused.exit_code == 2
    assert services.oauth_clients.get(client["id"]).access_token_format.value == "opaque"


def test_rotate_secret_replaces_the_secret(cli: Cli, services: Services) -> None:
    old = create(cli)

    result = cli("clients", "rotate-secret", str(old["id"]))

    assert result.exit_code == 0, result.output
    (new,) = SECRET_LINE.findall(result.stdout)
    remember(new)
    assert new != old["secret"]
    client = services.oauth_clients.get(old["id"])
    assert services.oauth_clients.check_secret(client, new)
    assert not services.oauth_clients.check_secret(client, old["secret"])


def test_delete_asks_first_unless_yes(cli: Cli, services: Services) -> None:
    client = make_oauth_client(services).client

    declined = cli("clients", "delete", str(client.id), input="n\n")
    still_there = services.oauth_clients.get(client.id)
    deleted = cli.json("clients", "delete", str(client.id), "--yes")

    assert declined.exit_code == 1
    assert still_there == client
    assert deleted["client_id"] == client.client_id
    assert services.oauth_clients.find_by_client_id(client.client_id) is None


@pytest.mark.parametrize("command", ["show", "update", "rotate-secret", "delete"])
def test_an_unknown_client_is_not_found(cli: Cli, command: str) -> None:
    extra = ("--yes",) if command == "delete" else ()
    text = cli("clients", command, str(2**62), *extra)
    body = cli.json("clients", command, str(2**62), *extra, exit_code=3)

    assert text.exit_code == 3
    assert f"error: no OAuth client has id {2**62}" in text.stderr
    assert body == {
        "status": 404,
        "code": "not_found",
        "message": "The requested resource was not found.",
    }


def test_post_logout_redirect_uris_on_create_and_update(cli: Cli, services: Services) -> None:
    created = cli(
        "clients",
        "create",
        "--name",
        "rp",
        "--redirect-uri",
        CALLBACK,
        "--post-logout-redirect-uri",
        "https://rp.example/bye",
        "--json",
    )
    client = json.loads(created.stdout)
    remember(client["secret"])

    replaced = cli(
        "clients",
        "update",
        str(client["id"]),
        "--post-logout-redirect-uri",
        "https://rp.example/later",
    )
    shown = cli("clients", "show", str(client["id"]))
    cleared = cli("clients", "update", str(client["id"]), "--no-post-logout-redirect-uris")

    assert client["post_logout_redirect_uris"] == ["https://rp.example/bye"]
    assert replaced.exit_code == 0, replaced.output
    assert "after sign-out" in shown.stdout
    assert "https://rp.example/later" in shown.stdout
    assert cleared.exit_code == 0, cleared.output
    assert services.oauth_clients.get(client["id"]).post_logout_redirect_uris == ()


def test_the_scopes_a_client_may_be_granted_are_set_and_shown(cli: Cli, services: Services) -> None:
    client = create(cli, "--scopes", "tickets.*, -*.delete")
    shown = cli("clients", "show", str(client["id"]))
    updated = cli.json("clients", "update", str(client["id"]), "--scopes", "session")
    refused = cli.json("clients", "update", str(client["id"]), "--scopes", "tickets/*", exit_code=2)

    assert client["allowed_scopes"] == "tickets.* -*.delete"
    assert re.search(r"^\s*scopes:\s+tickets\.\* -\*\.delete$", shown.stdout, re.MULTILINE)
    assert updated["allowed_scopes"] == "session"
    problem = refused["errors"]["fields"]["allowed_scopes"]["errors"][0]
    assert problem["code"] == "invalid_scope"
    assert services.oauth_clients.get(client["id"]).allowed_scopes == "session"


def test_a_client_that_signs_with_its_key_gets_no_secret(
    cli: Cli, services: Services, tmp_path: Path
) -> None:
    # ADR 0052: --auth-method private_key_jwt with --jwks-file or --jwks-uri.
    key = ec_key()
    keys_file = tmp_path / "jwks.json"
    keys_file.write_text(json.dumps(jwks(key)), encoding="utf-8")
    private_file = tmp_path / "private.json"
    private_file.write_text(json.dumps({"keys": [key.private_jwk]}), encoding="utf-8")
    args = ("--auth-method", "private_key_jwt")

    text = cli(
        "clients", "create", "--name", "signed", "--redirect-uri", CALLBACK, *args,
        "--jwks-file", str(keys_file),
    )  # fmt: skip
    client = create(cli, *args, "--jwks-uri", "https://keys.example.test/jwks.json")
    leaky = cli.json("clients", "create", "--name", "x", "--redirect-uri", CALLBACK, *args,
                     "--jwks-file", str(private_file), exit_code=2)  # fmt: skip
    moved = cli.json("clients", "update", str(client["id"]), "--auth-method",
                     "client_secret_basic")  # fmt: skip
    rotated = cli.json("clients", "rotate-secret", str(client["id"]))
    remember(rotated["secret"])

    assert text.exit_code == 0, text.output
    assert "No secret: the app signs a JWT with its key (private_key_jwt)." in text.stdout
    assert "1 inline (JWK Set)" in text.stdout
    assert SECRET_LINE.search(text.stdout) is None
    assert (client["secret"], client["token_endpoint_auth_method"]) == (None, "private_key_jwt")
    assert client["jwks_uri"] == "https://keys.example.test/jwks.json"
    assert leaky["errors"]["fields"]["jwks"]["errors"][0]["code"] == "invalid_jwks"
    assert (moved["token_endpoint_auth_method"], moved["jwks_uri"]) == ("client_secret_basic", None)
    assert moved["has_secret"] is False  # until a secret is rotated in
    assert rotated["has_secret"] is True
