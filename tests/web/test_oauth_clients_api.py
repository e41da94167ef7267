"""``/api/v2/oauth_clients`` (spec §1.3 E12–E17, §7.2), and the service the OAuth endpoints use."""

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tessera.app import create_app
from tessera.bootstrap import Runtime
from tessera.core.audit import AuditFilters, AuditKind
from tessera.core.oauth_clients import ClientContext, GrantType
from tessera.core.paging import PageRequest
from tessera.services.container import Services
from tessera.store.tables import ApiTokenRow, OAuthGrantRow
from tests.conftest import extra_runtime
from tests.factories import make_oauth_client, make_person
from tests.live import serving
from tests.secrets_seen import remember
from tests.web.envelopes import (
    BEYOND_64_BITS,
    FORBIDDEN,
    NON_ADMIN_CALLERS,
    NOT_FOUND,
    REQUIRED,
    TOO_FEW_ONE,
    UNAUTHORIZED,
    UNKNOWN_ID,
    Caller,
    Json,
    admin_key,
    assert_error,
    data_of,
    field,
    invalid_input,
)

SECRET = re.compile(r"TSRS[23456789ABCDGHJKMNPQRSTWXYZ]{47}")
CLIENT_ID = re.compile(r"([0-9]+)_([a-z0-9]{32})")
INVALID_URL: Json = {"code": "invalid_url", "message": "This value is not a valid URL."}
INSECURE: Json = {
    "code": "insecure_redirect_uri",
    "message": "A redirect URI must use https, or http on a loopback address (127.0.0.1, [::1] "
    "or localhost); this server does not allow plain http to other hosts.",
}
DUPLICATE: Json = {"code": "duplicate", "message": "This value is already used."}
APP = {"name": "Mobile app", "redirect_uris": ["https://app.example.test/callback"]}


def received_secret(data: Json) -> str:
    """The secret of a create/rotate response, registered as a secret."""
    secret = data["secret"]
    assert isinstance(secret, str)
    assert SECRET.fullmatch(secret), secret
    remember(secret)
    return secret


def total(api: httpx.Client, admin: dict[str, str]) -> int:
    count = data_of(api.get("/api/v2/oauth_clients/counts", headers=admin))["total"]
    assert isinstance(count, int)
    return count


# -- create --------------------------------------------------------------------------------


def test_create_answers_201_with_the_secret_once(api: httpx.Client, services: Services) -> None:
    admin = admin_key(services)
    body = {
        "name": "  Zapier ",
        "context": "agent",
        "redirect_uris": ["https://zapier.example/cb", "http://127.0.0.1:8765/cb"],
        "allowed_grant_type": "authorization_code",
        "is_enabled": True,
    }

    response = api.post("/api/v2/oauth_clients", json=body, headers=admin)

    data = data_of(response, 201)
    secret = received_secret(data)
    match = CLIENT_ID.fullmatch(data["client_id"])
    assert match is not None
    assert data == {
        "id": int(match[1]),
        "public_id": data["client_id"],
        "client_id": data["client_id"],
        "name": "Zapier",
        "context": "agent",
        "random_id": match[2],
        "redirect_uris": ["https://zapier.example/cb", "http://127.0.0.1:8765/cb"],
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
        "auth_endpoint": "http://helpdesk.test/oauth/authorize",
        "token_endpoint": "http://helpdesk.test/oauth/token",
        "date_created": data["date_created"],
        "secret": secret,
    }
    shown = api.get(f"/api/v2/oauth_clients/{data['id']}", headers=admin)
    listed = api.get("/api/v2/oauth_clients", headers=admin)
    for later in (shown, listed):
        assert secret not in later.text
        assert '"secret"' not in later.text
    client = services.oauth_clients.get(data["id"])
    assert services.oauth_clients.check_secret(client, secret)


def test_app_schemes_and_localhost_may_be_registered(api: httpx.Client, services: Services) -> None:
    # Decision 17: Deskpro's apps use short schemes; MCP and CLI clients register localhost.
    uris = [
        "myapp://callback",
        "com.example.app:/callback",
        "http://localhost:6274/oauth/callback",
        "http://localhost/cb",
        "http://[::1]/cb",
    ]

    response = api.post(
        "/api/v2/oauth_clients",
        json={"name": "Native", "redirect_uris": uris, "is_public": True},
        headers=admin_key(services),
    )

    assert data_of(response, 201)["redirect_uris"] == uris


def test_plain_http_to_another_host_needs_the_operators_switch(
    database_url: str, api: httpx.Client, services: Services
) -> None:
    body = {"name": "Legacy", "redirect_uris": ["https://a.test/cb", "http://legacy.test/cb"]}

    refused = api.post("/api/v2/oauth_clients", json=body, headers=admin_key(services))
    with (
        extra_runtime(database_url, oauth_allow_insecure_redirects=True) as permissive,
        serving(create_app(runtime=permissive)) as url,
        httpx.Client(base_url=url, timeout=60) as other,
    ):
        permissive_admin = admin_key(permissive.services)
        # The switch reaches the body's own rules: only the blank name is wrong here.
        unnamed = other.post(
            "/api/v2/oauth_clients", json={**body, "name": ""}, headers=permissive_admin
        )
        accepted = other.post("/api/v2/oauth_clients", json=body, headers=permissive_admin)
        data = data_of(accepted, 201)
        received_secret(data)
    # ...and stays with that server: this one still refuses.
    refused_again = api.post("/api/v2/oauth_clients", json=body, headers=admin_key(services))

    assert_error(refused, invalid_input(redirect_uris=field(redirect_uris_1=field(INSECURE))))
    assert_error(refused_again, invalid_input(redirect_uris=field(redirect_uris_1=field(INSECURE))))
    assert_error(unnamed, invalid_input(name=field(REQUIRED)))
    assert data["redirect_uris"] == body["redirect_uris"]


def test_a_new_client_defaults_to_the_authorization_code_grant_for_agents(
    api: httpx.Client, services: Services
) -> None:
    admin = admin_key(services)

    data = data_of(api.post("/api/v2/oauth_clients", json=APP, headers=admin), 201)

    received_secret(data)
    assert (data["allowed_grant_type"], data["context"]) == ("authorization_code", "agent")
    assert (data["is_enabled"], data["is_public"]) == (True, False)


def test_a_public_client_has_no_secret(api: httpx.Client, services: Services) -> None:
    admin = admin_key(services)
    body = APP | {"is_public": True, "redirect_uris": ["com.example.app:/oauth2redirect"]}

    data = data_of(api.post("/api/v2/oauth_clients", json=body, headers=admin), 201)

    assert (data["secret"], data["has_secret"], data["is_public"]) == (None, False, True)
    refused = api.post(f"/api/v2/oauth_clients/{data['id']}/rotate_secret", headers=admin)
    assert refused.status_code == 400
    assert refused.json()["errors"] == {
        "errors": [
            {
                "code": "public_client",
                "message": "A public client has no secret: it proves itself with PKCE.",
            }
        ]
    }


def test_a_device_client_needs_no_redirect_uri_and_cannot_lose_its_grant_without_one(
    api: httpx.Client, services: Services
) -> None:
    admin = admin_key(services)
    body = {"name": "TV", "is_public": True, "allowed_grant_type": "device_code"}

    device = data_of(
        api.post("/api/v2/oauth_clients", json=body | {"redirect_uris": []}, headers=admin), 201
    )
    path = f"/api/v2/oauth_clients/{device['id']}"
    to_code = api.put(path, json={"allowed_grant_type": "authorization_code"}, headers=admin)
    with_uri = api.put(
        path,
        json={"allowed_grant_type": "authorization_code", "redirect_uris": ["https://tv.test/cb"]},
        headers=admin,
    )
    emptied = api.put(path, json={"redirect_uris": []}, headers=admin)

    assert device["redirect_uris"] == []
    assert_error(to_code, invalid_input(redirect_uris=field(TOO_FEW_ONE)))
    assert with_uri.status_code == 204, with_uri.text
    assert_error(emptied, invalid_input(redirect_uris=field(TOO_FEW_ONE)))
    assert services.oauth_clients.get(device["id"]).redirect_uris == ("https://tv.test/cb",)


def test_the_implicit_grant_and_user_context_only_when_asked(
    api: httpx.Client, services: Services
) -> None:
    admin = admin_key(services)
    body = APP | {"allowed_grant_type": "token", "context": "user", "is_enabled": False}

    data = data_of(api.post("/api/v2/oauth_clients", json=body, headers=admin), 201)

    received_secret(data)
    assert (data["allowed_grant_type"], data["context"], data["is_enabled"]) == (
        "token",
        "user",
        False,
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"name": "", "redirect_uris": ["https://a.test/cb"]}, {"name": field(REQUIRED)}),
        ({"name": "   ", "redirect_uris": ["https://a.test/cb"]}, {"name": field(REQUIRED)}),
        ({"redirect_uris": ["https://a.test/cb"]}, {"name": field(REQUIRED)}),
        ({"name": "App", "redirect_uris": []}, {"redirect_uris": field(TOO_FEW_ONE)}),
        ({"name": "App"}, {"redirect_uris": field(REQUIRED)}),
        (
            {"name": "App", "redirect_uris": ["not a url"]},
            {"redirect_uris": field(redirect_uris_0=field(INVALID_URL))},
        ),
        (
            {"name": "", "redirect_uris": ["https://a.test/cb", "javascript:alert(1)"]},
            {
                "name": field(REQUIRED),
                "redirect_uris": field(redirect_uris_1=field(INVALID_URL)),
            },
        ),
        (
            {
                "name": "App",
                "redirect_uris": [
                    "http://a.test/cb",
                    "https://a.test/cb#x",
                    "https://a.test/cb",
                    "https://a.test/cb",
                ],
            },
            {
                "redirect_uris": field(
                    redirect_uris_0=field(INSECURE),
                    redirect_uris_1=field(INVALID_URL),
                    redirect_uris_3=field(DUPLICATE),
                )
            },
        ),
    ],
    ids=[
        "empty_name",
        "blank_name",
        "no_name",
        "no_uris",
        "uris_missing",
        "not_a_url",
        "name_and_script",
        "insecure_fragment_duplicate",
    ],
)
def test_create_refuses_invalid_input_as_deskpro_nests_it(
    api: httpx.Client, services: Services, body: Json, expected: dict[str, Json]
) -> None:
    admin = admin_key(services)
    before = total(api, admin)

    response = api.post("/api/v2/oauth_clients", json=body, headers=admin)

    assert_error(response, invalid_input(**expected))
    assert total(api, admin) == before


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("context", "admin"),
        ("allowed_grant_type", "client_credentials"),
        # Symmetric (the client secret as key) and unsigned ID tokens are never offered.
        ("id_token_signed_response_alg", "HS256"),
        ("id_token_signed_response_alg", "none"),
        ("access_token_format", "jwe"),
    ],
)
def test_create_refuses_unknown_choices(
    api: httpx.Client, services: Services, name: str, value: str
) -> None:
    admin = admin_key(services)

    response = api.post("/api/v2/oauth_clients", json=APP | {name: value}, headers=admin)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_input"
    assert body["errors"]["fields"][name]["errors"][0]["code"] == "invalid"


# -- list, counts, get ---------------------------------------------------------------------


def test_list_is_every_client_by_id_without_pagination(
    api: httpx.Client, services: Services
) -> None:
    admin = admin_key(services)
    first, second = make_oauth_client(services), make_oauth_client(services, public=True)

    response = api.get("/api/v2/oauth_clients", headers=admin)

    data = data_of(response)
    assert response.json()["meta"] == {}
    ids = [item["id"] for item in data]
    assert ids == sorted(ids)
    assert ids[-2:] == [first.client.id, second.client.id]
    assert all("secret" not in item for item in data)
    assert first.secret is not None
    assert first.secret not in response.text


def test_counts(api: httpx.Client, services: Services) -> None:
    admin = admin_key(services)
    before = total(api, admin)
    make_oauth_client(services)

    response = api.get("/api/v2/oauth_clients/counts", headers=admin)

    assert data_of(response) == {"total": before + 1}
    assert services.oauth_clients.count() == before + 1


def test_get_shows_a_client_without_its_secret(api: httpx.Client, services: Services) -> None:
    admin = admin_key(services)
    issued = make_oauth_client(services, grant=GrantType.IMPLICIT, context=ClientContext.USER)
    client = issued.client

    data = data_of(api.get(f"/api/v2/oauth_clients/{client.id}", headers=admin))

    assert data == {
        "id": client.id,
        "public_id": client.client_id,
        "client_id": client.client_id,
        "name": "Test App",
        "context": "user",
        "random_id": client.random_id,
        "redirect_uris": ["https://app.example.test/callback"],
        "post_logout_redirect_uris": [],
        "allowed_grant_type": "token",
        "is_enabled": True,
        "is_public": False,
        "has_secret": True,
        "id_token_signed_response_alg": "RS256",
        "allowed_scopes": "session",
        "token_endpoint_auth_method": "client_secret_basic",
        "jwks_uri": None,
        "jwks": None,
        "access_token_format": "opaque",
        "auth_endpoint": "http://helpdesk.test/oauth/authorize",
        "token_endpoint": "http://helpdesk.test/oauth/token",
        "date_created": data["date_created"],
    }
    assert isinstance(data["date_created"], str)


# -- change, rotate, delete ----------------------------------------------------------------


def test_update_answers_204_and_changes_what_was_sent(
    api: httpx.Client, services: Services
) -> None:
    admin = admin_key(services)
    client = make_oauth_client(services).client
    body = {
        "name": "Renamed",
        "redirect_uris": ["https://new.example/cb", "com.example.app:/cb"],
        "allowed_grant_type": "token",
        "context": "user",
        "is_enabled": False,
        "is_public": False,  # sent back unchanged, as Deskpro clients do
    }

    response = api.put(f"/api/v2/oauth_clients/{client.id}", json=body, headers=admin)

    assert (response.status_code, response.content) == (204, b"")
    data = data_of(api.get(f"/api/v2/oauth_clients/{client.id}", headers=admin))
    assert {name: data[name] for name in body} == body
    assert data["random_id"] == client.random_id
    changed = services.oauth_clients.get(client.id)
    assert changed.updated_at >= client.updated_at


def test_the_id_token_algorithm_is_chosen_at_creation_and_changed_by_update(
    api: httpx.Client, services: Services
) -> None:
    admin = admin_key(services)
    body = APP | {"id_token_signed_response_alg": "ES256"}

    created = data_of(api.post("/api/v2/oauth_clients", json=body, headers=admin), 201)
    received_secret(created)
    path = f"/api/v2/oauth_clients/{created['id']}"
    shown = data_of(api.get(path, headers=admin))
    changed = api.put(path, json={"id_token_signed_response_alg": "RS256"}, headers=admin)
    refused = api.put(path, json={"id_token_signed_response_alg": "ES512"}, headers=admin)

    assert created["id_token_signed_response_alg"] == "ES256"
    assert shown["id_token_signed_response_alg"] == "ES256"
    assert changed.status_code == 204
    assert refused.status_code == 400
    field_errors = refused.json()["errors"]["fields"]["id_token_signed_response_alg"]
    assert field_errors["errors"][0]["code"] == "invalid"
    assert data_of(api.get(path, headers=admin))["id_token_signed_response_alg"] == "RS256"


def test_the_access_token_format_is_chosen_at_creation_changed_by_update_and_audited(
    api: httpx.Client, services: Services
) -> None:
    admin = admin_key(services)
    body = APP | {"access_token_format": "jwt"}

    created = data_of(api.post("/api/v2/oauth_clients", json=body, headers=admin), 201)
    received_secret(created)
    path = f"/api/v2/oauth_clients/{created['id']}"
    changed = api.put(path, json={"access_token_format": "opaque"}, headers=admin)
    refused = api.put(path, json={"access_token_format": "paseto"}, headers=admin)

    assert created["access_token_format"] == "jwt"
    assert changed.status_code == 204
    assert refused.status_code == 400
    assert data_of(api.get(path, headers=admin))["access_token_format"] == "opaque"
    [event] = services.audit.list(
        AuditFilters(kind=AuditKind.OAUTH_CLIENT_CHANGED.value), PageRequest(1, 10)
    ).items
    assert event.detail["fields"] == ["access_token_format"]


def test_update_refuses_bad_input_and_keeps_the_client(
    api: httpx.Client, services: Services
) -> None:
    admin = admin_key(services)
    client = make_oauth_client(services).client

    response = api.put(
        f"/api/v2/oauth_clients/{client.id}",
        json={"name": " ", "redirect_uris": ["http://app.example/cb"], "is_enabled": False},
        headers=admin,
    )

    expected = invalid_input(
        name=field(REQUIRED), redirect_uris=field(redirect_uris_0=field(INSECURE))
    )
    assert_error(response, expected)
    assert services.oauth_clients.get(client.id) == client


@pytest.mark.parametrize("public", [False, True])
def test_a_client_cannot_change_between_public_and_confidential(
    api: httpx.Client, services: Services, public: bool
) -> None:
    admin = admin_key(services)
    client = make_oauth_client(services, public=public).client

    response = api.put(
        f"/api/v2/oauth_clients/{client.id}", json={"is_public": not public}, headers=admin
    )

    immutable = {
        "code": "immutable",
        "message": "This value cannot be changed; register a new client instead.",
    }
    assert_error(response, invalid_input(is_public=field(immutable)))


def test_rotate_secret_shows_a_new_secret_once_and_the_old_one_stops(
    api: httpx.Client, services: Services
) -> None:
    admin = admin_key(services)
    issued = make_oauth_client(services)
    assert issued.secret is not None

    response = api.post(f"/api/v2/oauth_clients/{issued.client.id}/rotate_secret", headers=admin)

    data = data_of(response)
    new = received_secret(data)
    assert new != issued.secret
    assert data["client_id"] == issued.client.client_id
    assert not services.oauth_clients.check_secret(issued.client, issued.secret)
    assert services.oauth_clients.check_secret(issued.client, new)
    assert new not in api.get(f"/api/v2/oauth_clients/{issued.client.id}", headers=admin).text


def test_delete_answers_200_with_the_client_and_removes_its_grants_and_tokens(
    api: httpx.Client, services: Services, runtime: Runtime
) -> None:
    admin = admin_key(services)
    issued = make_oauth_client(services)
    client = issued.client
    grant_id = _grant_with_token(runtime, client.id)

    response = api.delete(f"/api/v2/oauth_clients/{client.id}", headers=admin)

    data = data_of(response)
    assert (data["id"], data["client_id"], "secret" in data) == (client.id, client.client_id, False)
    assert_error(api.get(f"/api/v2/oauth_clients/{client.id}", headers=admin), NOT_FOUND)
    assert_error(api.delete(f"/api/v2/oauth_clients/{client.id}", headers=admin), NOT_FOUND)
    assert services.oauth_clients.find_by_client_id(client.client_id) is None
    with runtime.database.read() as session:
        left = session.scalar(
            select(func.count()).select_from(ApiTokenRow).where(ApiTokenRow.grant_id == grant_id)
        )
        assert session.get(OAuthGrantRow, grant_id) is None
    assert left == 0


def _grant_with_token(runtime: Runtime, client_id: int) -> int:
    """A consent to the client with one access token, as the OAuth flow would leave them."""
    person = make_person(runtime.services)
    now = runtime.services.people.get(person.id).created_at
    with runtime.database.write() as session:
        grant = OAuthGrantRow(client_id=client_id, person_id=person.id, scope="", created_at=now)
        session.add(grant)
        session.flush()
        session.add(
            ApiTokenRow(
                code_digest=b"\0" * 32,
                person_id=person.id,
                scope="session",
                source="oauth",
                created_at=now,
                expires_at=now + timedelta(hours=1),
                grant_id=grant.id,
            )
        )
        return grant.id


# -- unknown ids and who may call ----------------------------------------------------------

CLIENT_OPERATIONS = pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("PUT", "", {"name": "x"}),
        ("POST", "/rotate_secret", None),
        ("DELETE", "", None),
    ],
    ids=["get", "put", "rotate_secret", "delete"],
)


@CLIENT_OPERATIONS
@pytest.mark.parametrize("client_id", [UNKNOWN_ID, BEYOND_64_BITS], ids=["unknown", "beyond"])
def test_unknown_clients_are_not_found(
    api: httpx.Client,
    services: Services,
    method: str,
    suffix: str,
    body: Json | None,
    client_id: object,
) -> None:
    admin = admin_key(services)

    response = api.request(
        method, f"/api/v2/oauth_clients/{client_id}{suffix}", json=body, headers=admin
    )

    assert_error(response, NOT_FOUND)


@NON_ADMIN_CALLERS
def test_non_admins_may_not_manage_clients(
    api: httpx.Client, services: Services, caller: Caller
) -> None:
    headers = caller(services)
    victim = make_oauth_client(services)
    before = services.oauth_clients.count()
    path = f"/api/v2/oauth_clients/{victim.client.id}"

    requests: list[tuple[str, str, Any]] = [
        ("GET", "/api/v2/oauth_clients", None),
        ("GET", "/api/v2/oauth_clients/counts", None),
        ("GET", path, None),
        ("POST", "/api/v2/oauth_clients", APP),
        ("PUT", path, {"redirect_uris": ["https://evil.example/cb"]}),
        ("POST", f"{path}/rotate_secret", None),
        ("DELETE", path, None),
    ]
    for method, url, body in requests:
        assert_error(api.request(method, url, json=body, headers=headers), FORBIDDEN)

    assert services.oauth_clients.count() == before
    assert services.oauth_clients.get(victim.client.id) == victim.client
    assert victim.secret is not None
    assert services.oauth_clients.check_secret(victim.client, victim.secret)


def test_anonymous_callers_are_unauthorized(api: httpx.Client, services: Services) -> None:
    assert_error(api.get("/api/v2/oauth_clients"), UNAUTHORIZED)
    assert_error(api.post("/api/v2/oauth_clients", json=APP), UNAUTHORIZED)


def test_post_logout_redirect_uris_are_set_replaced_and_checked_like_redirect_uris(
    api: httpx.Client, services: Services
) -> None:
    admin = admin_key(services)
    body = {
        "name": "Relying Party",
        "redirect_uris": ["https://rp.example/cb"],
        "post_logout_redirect_uris": ["https://rp.example/bye", "http://127.0.0.1:9/bye"],
    }
    created = data_of(api.post("/api/v2/oauth_clients", json=body, headers=admin), 201)
    received_secret(created)
    path = f"/api/v2/oauth_clients/{created['id']}"

    bad = api.put(
        path,
        json={"post_logout_redirect_uris": ["https://rp.example/ok", "javascript:alert(1)"]},
        headers=admin,
    )
    emptied = api.put(path, json={"post_logout_redirect_uris": []}, headers=admin)

    assert created["post_logout_redirect_uris"] == [
        "https://rp.example/bye",
        "http://127.0.0.1:9/bye",
    ]
    assert bad.status_code == 400
    fields = bad.json()["errors"]["fields"]["post_logout_redirect_uris"]["fields"]
    assert set(fields) == {"post_logout_redirect_uris_1"}
    assert emptied.status_code == 204
    assert data_of(api.get(path, headers=admin))["post_logout_redirect_uris"] == []
