"""``tessera tokens``: list live tokens (or all), and revoke them for good."""

import httpx
import pytest

from tessera.bootstrap import Runtime
from tessera.core.errors import InvalidApiToken
from tessera.services.authenticate import PresentedRequest
from tests.cli.conftest import Cli
from tests.factories import make_oauth_client, make_person, make_token, unique_email
from tests.oauth.flows import Browser, issue_tokens, make_account


def test_list_shows_a_persons_live_tokens_without_secrets(cli: Cli, runtime: Runtime) -> None:
    person, other = make_person(runtime.services), make_person(runtime.services)
    mine, theirs = make_token(runtime.services, person), make_token(runtime.services, other)

    body = cli.json("tokens", "list", "--person", person.primary_email)
    text = cli("tokens", "list", "--person", str(person.id))

    assert [t["id"] for t in body["data"]] == [mine.token.id]
    token = body["data"][0]
    assert token["person_id"] == person.id
    assert token["source"] == "device_setup"
    assert token["scope"] == "client"
    assert token["date_revoked"] is None
    assert token["date_expires"] is not None  # the idle lifetime applies by default
    assert text.exit_code == 0
    assert f"{mine.token.id}  " in text.stdout
    assert "live" in text.stdout
    for output in (str(body), text.output):
        assert mine.code not in output
        assert theirs.code not in output


def test_revoked_tokens_are_listed_only_with_all(cli: Cli, runtime: Runtime) -> None:
    person = make_person(runtime.services)
    kept, revoked = make_token(runtime.services, person), make_token(runtime.services, person)

    result = cli("tokens", "revoke", str(revoked.token.id))
    live = cli.json("tokens", "list", "--person", str(person.id))
    everything = cli.json("tokens", "list", "--person", str(person.id), "--all")

    assert result.exit_code == 0, result.output
    assert f"Revoked API token {revoked.token.id}." in result.stdout
    assert [t["id"] for t in live["data"]] == [kept.token.id]
    listed = {t["id"]: t for t in everything["data"]}
    assert set(listed) == {kept.token.id, revoked.token.id}
    assert listed[revoked.token.id]["date_revoked"] is not None
    authenticator = runtime.services.authenticator
    with pytest.raises(InvalidApiToken):
        authenticator.authenticate(PresentedRequest(authorization=f"token {revoked.token_string}"))
    live_one = authenticator.authenticate(
        PresentedRequest(authorization=f"token {kept.token_string}")
    )
    assert live_one.person.id == person.id


def test_revoke_json_and_unknown_token(cli: Cli, runtime: Runtime) -> None:
    token = make_token(runtime.services, make_person(runtime.services))

    body = cli.json("tokens", "revoke", str(token.token.id))
    unknown = cli("tokens", "revoke", str(2**62))

    assert body["id"] == token.token.id
    assert body["date_revoked"] is not None
    assert unknown.exit_code == 3
    assert f"error: no API token has id {2**62}" in unknown.stderr


def test_an_unknown_person_is_a_bad_option(cli: Cli) -> None:
    body = cli.json("tokens", "list", "--person", unique_email(), exit_code=2)

    assert body["errors"]["fields"]["person"]["errors"][0]["code"] == "not_found"


def test_list_says_who_holds_each_token(
    cli: Cli, runtime: Runtime, server: str, api: httpx.Client
) -> None:
    services = runtime.services
    app = make_oauth_client(services, name="Calendar Sync")
    browser = Browser(server)
    try:
        browser.sign_in(make_account(services))
        issue_tokens(browser, api, app)
    finally:
        browser.close()
    make_token(services, make_person(services))

    text = cli("tokens", "list")
    body = cli.json("tokens", "list")

    assert text.exit_code == 0, text.output
    assert "HELD BY" in text.stdout
    assert f"Calendar Sync ({app.client.client_id})" in text.stdout
    assert "Device setup" in text.stdout
    assert {t["app"]["name"] for t in body["data"]} == {"Calendar Sync", "Device setup"}
    oauth = next(t["app"] for t in body["data"] if t["source"] == "oauth")
    assert oauth == {
        "kind": "oauth_client",
        "name": "Calendar Sync",
        "client_id": app.client.client_id,
        "id": app.client.id,
    }
