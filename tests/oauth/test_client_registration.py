"""Dynamic client registration (RFC 7591) and the client configuration endpoint (RFC 7592),
against a real server in each of the operator's modes, with a person's code flow afterwards."""

import secrets
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tessera.bootstrap import Runtime
from tessera.core.audit import AuditFilters, AuditKind
from tessera.core.oauth_clients import ClientOrigin
from tessera.core.paging import PageRequest
from tessera.services.client_registration import usable_initial_token
from tessera.services.container import Services
from tests.clock import ManualClock
from tests.conftest import served
from tests.factories import make_person, new_password
from tests.oauth.flows import (
    Account,
    Browser,
    callback_query,
    make_account,
    me,
    pkce_pair,
    received,
    signed_in,
)
from tests.secrets_seen import remember

CALLBACK = "http://127.0.0.1/callback"
METADATA = {
    "client_name": "Registered Tool",
    "redirect_uris": [CALLBACK],
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "token_endpoint_auth_method": "none",
}


@pytest.fixture(scope="module")
def invited(database_url: str) -> Iterator[tuple[Runtime, httpx.Client]]:
    with served(database_url, oauth_registration="initial_token") as pair:
        yield pair


@pytest.fixture(scope="module")
def open_server(database_url: str) -> Iterator[tuple[Runtime, httpx.Client]]:
    with served(
        database_url, oauth_registration="open", oauth_registration_rate_per_address="1000/minute"
    ) as pair:
        yield pair


def initial_token(runtime: Runtime, *, single_use: bool = False, days: float = 1) -> str:
    issued = runtime.services.client_registration.create_initial_token(
        note="for the test", lifetime=timedelta(days=days), single_use=single_use, created_by=None
    )
    remember(issued.value)
    return issued.value


def register(api: httpx.Client, body: dict[str, Any], token: str | None = None) -> httpx.Response:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    answer = api.post("/oauth/register", json=body, headers=headers)
    if answer.headers.get("content-type", "").startswith("application/json"):
        data = answer.json()
        if isinstance(data, dict):
            remember(str(data.get("registration_access_token", "")))
            remember(str(data.get("client_secret", "")))
    return answer


def events(runtime: Runtime, kind: AuditKind) -> list[dict[str, Any]]:
    page = runtime.services.audit.list(AuditFilters(kind=kind.value), PageRequest(1, 100))
    return [dict(event.detail or {}) for event in page.items]


# -- who may register -------------------------------------------------------------------------


def test_registration_is_off_by_default(api: httpx.Client) -> None:
    answer = api.post("/oauth/register", json=METADATA)

    assert answer.status_code == 403
    assert answer.json()["error"] == "access_denied"
    assert "registration_endpoint" not in api.get("/.well-known/oauth-authorization-server").json()


def test_the_metadata_names_the_endpoint_when_on(
    invited: tuple[Runtime, httpx.Client],
) -> None:
    _, api = invited

    metadata = api.get("/.well-known/openid-configuration").json()

    assert metadata["registration_endpoint"] == "http://helpdesk.test/oauth/register"


@pytest.mark.parametrize("token", [None, "TSRQ" + "2" * 47, "not-a-token"])
def test_without_a_valid_initial_access_token_nothing_is_registered(
    invited: tuple[Runtime, httpx.Client], token: str | None
) -> None:
    runtime, api = invited
    before = runtime.services.oauth_clients.count()

    answer = register(api, METADATA, token)

    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_token"
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert runtime.services.oauth_clients.count() == before


def test_a_public_client_registers_with_an_initial_access_token(
    invited: tuple[Runtime, httpx.Client],
) -> None:
    runtime, api = invited
    token = initial_token(runtime)

    answer = register(api, {**METADATA, "logo_uri": "https://tool.example/logo.png"}, token)

    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["client_name"] == "Registered Tool"
    assert body["redirect_uris"] == [CALLBACK]
    assert body["token_endpoint_auth_method"] == "none"
    assert body["grant_types"] == ["authorization_code", "refresh_token"]
    assert body["logo_uri"] == "https://tool.example/logo.png"
    assert "client_secret" not in body
    assert body["registration_client_uri"] == (
        f"http://helpdesk.test/oauth/register/{body['client_id']}"
    )
    assert body["registration_access_token"].startswith("TSRG")
    assert answer.headers["Cache-Control"] == "no-store"
    client = runtime.services.oauth_clients.find_by_client_id(body["client_id"])
    assert client is not None
    assert client.origin is ClientOrigin.REGISTERED
    assert client.is_public
    registered = events(runtime, AuditKind.OAUTH_CLIENT_REGISTERED)
    assert {"oauth_client_id": client.id, "public": True} in [
        {k: v for k, v in e.items() if k != "initial_access_token_id"} for e in registered
    ]


def test_a_single_use_token_registers_one_client(invited: tuple[Runtime, httpx.Client]) -> None:
    runtime, api = invited
    token = initial_token(runtime, single_use=True)

    first = register(api, METADATA, token)
    second = register(api, METADATA, token)

    assert first.status_code == 201
    assert second.status_code == 401


def test_a_bad_registration_does_not_spend_a_single_use_token(
    invited: tuple[Runtime, httpx.Client],
) -> None:
    runtime, api = invited
    token = initial_token(runtime, single_use=True)

    refused = register(api, {**METADATA, "redirect_uris": ["http://evil.example/cb"]}, token)
    accepted = register(api, METADATA, token)

    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_redirect_uri"
    assert accepted.status_code == 201


def test_a_revoked_token_registers_nothing(invited: tuple[Runtime, httpx.Client]) -> None:
    runtime, api = invited
    revoked = initial_token(runtime)
    (newest, *_) = runtime.services.client_registration.list_initial_tokens()
    runtime.services.client_registration.revoke_initial_token(newest.id, actor=None)

    assert register(api, METADATA, revoked).status_code == 401


def test_an_expired_token_registers_nothing(services: Services, clock: ManualClock) -> None:
    issued = services.client_registration.create_initial_token(
        note="soon gone", lifetime=timedelta(hours=1), single_use=False, created_by=None
    )
    remember(issued.value)
    database, hasher = services.client_registration._database, services.client_registration._hasher

    with database.read() as session:
        assert usable_initial_token(session, hasher, issued.value, clock) is not None
    clock.advance(timedelta(hours=1, seconds=1))
    with database.read() as session:
        assert usable_initial_token(session, hasher, issued.value, clock) is None


# -- what may be registered -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"redirect_uris": ["http://app.example/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://app.example/cb#x"]}, "invalid_redirect_uri"),
        ({"redirect_uris": []}, "invalid_redirect_uri"),
        ({"redirect_uris": "https://app.example/cb"}, "invalid_redirect_uri"),
        ({"grant_types": ["implicit"]}, "invalid_client_metadata"),
        ({"grant_types": ["client_credentials"]}, "invalid_client_metadata"),
        ({"response_types": ["token"]}, "invalid_client_metadata"),
        # private_key_jwt needs its keys (ADR 0052); client_secret_jwt is not offered.
        ({"token_endpoint_auth_method": "private_key_jwt"}, "invalid_client_metadata"),
        ({"token_endpoint_auth_method": "client_secret_jwt"}, "invalid_client_metadata"),
        ({"client_name": "x" * 201}, "invalid_client_metadata"),
        ({"software_statement": "eyJhbGciOiJub25lIn0.e30."}, "unapproved_software_statement"),
    ],
)
def test_registrations_against_the_rules_are_refused(
    open_server: tuple[Runtime, httpx.Client], changes: dict[str, Any], error: str
) -> None:
    _, api = open_server

    answer = register(api, {**METADATA, **changes})

    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == error


@pytest.mark.parametrize("body", [b"[]", b"not json", b'"x"'])
def test_a_body_that_is_not_a_json_object_is_refused(
    open_server: tuple[Runtime, httpx.Client], body: bytes
) -> None:
    _, api = open_server

    answer = api.post("/oauth/register", content=body, headers={"Content-Type": "application/json"})

    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_client_metadata"


def test_app_schemes_and_loopback_redirects_are_accepted_as_for_admins(
    open_server: tuple[Runtime, httpx.Client],
) -> None:
    _, api = open_server
    uris = ["com.example.app:/callback", "http://localhost/cb", "https://app.example/cb"]

    answer = register(api, {**METADATA, "redirect_uris": uris})

    assert answer.status_code == 201, answer.text
    assert answer.json()["redirect_uris"] == uris


def test_a_confidential_client_gets_a_secret_that_works(
    open_server: tuple[Runtime, httpx.Client],
) -> None:
    runtime, api = open_server
    body = {**METADATA, "token_endpoint_auth_method": "client_secret_basic"}

    registered = register(api, body).json()

    assert registered["client_secret"].startswith("TSRS")
    assert registered["client_secret_expires_at"] == 0
    client = runtime.services.oauth_clients.find_by_client_id(registered["client_id"])
    assert client is not None
    assert runtime.services.oauth_clients.check_secret(client, registered["client_secret"])


# -- a registered client in use ---------------------------------------------------------------


def test_a_registered_public_client_completes_the_code_flow(
    open_server: tuple[Runtime, httpx.Client],
) -> None:
    runtime, api = open_server
    client_id = register(api, METADATA).json()["client_id"]
    browser = signed_in(Browser(str(api.base_url).rstrip("/")), make_account(runtime.services))
    verifier, challenge = pkce_pair()
    redirect_uri = "http://127.0.0.1:41234/callback"
    request = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "state": "s",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }

    code = callback_query(browser.approve(request), redirect_uri)["code"]
    answer = api.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
    )
    browser.close()

    assert answer.status_code == 200, answer.text
    tokens = received(answer)
    assert "refresh_token" in tokens
    assert me(api, tokens["access_token"]).status_code == 200


# -- the configuration endpoint (RFC 7592) ----------------------------------------------------


def registered(api: httpx.Client, **changes: Any) -> tuple[str, str, dict[str, str]]:
    body = register(api, {**METADATA, **changes}).json()
    headers = {"Authorization": f"Bearer {body['registration_access_token']}"}
    return body["client_id"], body["registration_client_uri"], headers


def test_a_client_reads_its_registration(open_server: tuple[Runtime, httpx.Client]) -> None:
    _, api = open_server
    client_id, uri, headers = registered(api)

    answer = api.get(f"/oauth/register/{client_id}", headers=headers)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["client_id"] == client_id
    assert body["client_name"] == "Registered Tool"
    assert body["registration_client_uri"] == uri
    assert body["registration_access_token"] == headers["Authorization"].split()[1]


def test_the_token_of_one_client_opens_no_other(open_server: tuple[Runtime, httpx.Client]) -> None:
    _, api = open_server
    first, _, first_headers = registered(api)
    second, _, _ = registered(api)

    assert api.get(f"/oauth/register/{second}", headers=first_headers).status_code == 401
    assert api.get(f"/oauth/register/{first}").status_code == 401
    wrong = {"Authorization": f"Bearer {secrets.token_urlsafe(30)}"}
    assert api.get(f"/oauth/register/{first}", headers=wrong).status_code == 401
    assert api.get("/oauth/register/999999_abc", headers=first_headers).status_code == 401


def test_an_admins_client_cannot_be_reached_through_the_configuration_endpoint(
    open_server: tuple[Runtime, httpx.Client],
) -> None:
    runtime, api = open_server
    from tests.factories import make_oauth_client

    admins = make_oauth_client(runtime.services, name="Admin's", redirect_uris=[CALLBACK])
    _, _, headers = registered(api)

    answer = api.get(f"/oauth/register/{admins.client.client_id}", headers=headers)

    assert answer.status_code == 401


def test_a_client_replaces_its_registration(open_server: tuple[Runtime, httpx.Client]) -> None:
    runtime, api = open_server
    client_id, _, headers = registered(api)
    new = {**METADATA, "client_id": client_id, "client_name": "Renamed Tool"}
    new["redirect_uris"] = ["http://localhost/other"]

    answer = api.put(f"/oauth/register/{client_id}", json=new, headers=headers)

    assert answer.status_code == 200, answer.text
    assert answer.json()["client_name"] == "Renamed Tool"
    client = runtime.services.oauth_clients.find_by_client_id(client_id)
    assert client is not None
    assert (client.name, client.redirect_uris) == ("Renamed Tool", ("http://localhost/other",))
    assert {"oauth_client_id": client.id} in events(
        runtime, AuditKind.OAUTH_CLIENT_REGISTRATION_UPDATED
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"client_id": "someone-else"},
        {"client_id": None},
        {"registration_access_token": "x"},
        {"token_endpoint_auth_method": "client_secret_basic"},
    ],
)
def test_a_replacement_against_the_rules_is_refused(
    open_server: tuple[Runtime, httpx.Client], changes: dict[str, Any]
) -> None:
    _, api = open_server
    client_id, _, headers = registered(api)
    body = {**METADATA, "client_id": client_id, **changes}
    body = {k: v for k, v in body.items() if v is not None}

    answer = api.put(f"/oauth/register/{client_id}", json=body, headers=headers)

    assert answer.status_code == 400, answer.text


def test_a_client_deletes_its_registration(open_server: tuple[Runtime, httpx.Client]) -> None:
    runtime, api = open_server
    client_id, _, headers = registered(api)
    client = runtime.services.oauth_clients.find_by_client_id(client_id)
    assert client is not None

    answer = api.delete(f"/oauth/register/{client_id}", headers=headers)

    assert answer.status_code == 204
    assert runtime.services.oauth_clients.find_by_client_id(client_id) is None
    assert api.get(f"/oauth/register/{client_id}", headers=headers).status_code == 401
    assert {"oauth_client_id": client.id} in events(
        runtime, AuditKind.OAUTH_CLIENT_REGISTRATION_DELETED
    )


# -- rate limits ------------------------------------------------------------------------------


def test_registrations_are_rate_limited_per_address(database_url: str) -> None:
    with served(
        database_url, oauth_registration="open", oauth_registration_rate_per_address="2/minute"
    ) as (_, api):
        answers = [register(api, METADATA) for _ in range(3)]

    assert [a.status_code for a in answers] == [201, 201, 429]
    assert answers[2].json()["error"] == "temporarily_unavailable"
    assert int(answers[2].headers["Retry-After"]) > 0


# -- the console shows where a client came from ------------------------------------------------


def test_the_console_marks_self_registered_clients(
    open_server: tuple[Runtime, httpx.Client],
) -> None:
    runtime, api = open_server
    client_id = register(api, {**METADATA, "client_name": "Tool From Afar"}).json()["client_id"]
    client = runtime.services.oauth_clients.find_by_client_id(client_id)
    assert client is not None
    password = new_password()
    admin = make_person(runtime.services, admin=True, password=password)
    browser = signed_in(Browser(str(api.base_url).rstrip("/")), Account(admin, password))

    listing = browser.http.get("/console/apps")
    page = browser.http.get(f"/console/apps/{client.id}")
    browser.close()

    assert listing.status_code == 200, listing.text
    row = next(line for line in listing.text.splitlines() if "Tool From Afar" in line)
    assert "self-registered" in row
    assert page.status_code == 200
    assert "Registered itself at" in page.text
