"""``/api/v2/user_sources``: admins connect identity providers through the API.

The same service as the CLI and the console: the same rules, the same audit events (with the
admin as actor). The client secret goes in and never comes out; switching a source off ends
its people's tokens before the next request.
"""

import secrets
from typing import Any

import httpx

from tessera.core.audit import AuditFilters
from tessera.core.paging import PageRequest
from tessera.core.user_sources import ProviderIdentity
from tessera.services.container import Services
from tessera.services.user_source_settings import SourceSettings
from tests.core.test_saml_metadata import entity as idp_entity
from tests.factories import key_header, make_key, make_person, make_token, token_header
from tests.secrets_seen import remember
from tests.web.envelopes import (
    FORBIDDEN,
    NON_ADMIN_CALLERS,
    NOT_FOUND,
    REQUIRED,
    UNAUTHORIZED,
    UNKNOWN_ID,
    Caller,
    Json,
    assert_error,
    assert_refused,
    data_of,
    field,
    invalid_input,
)

PATH = "/api/v2/user_sources"
ISSUER = "https://login.example.test/realms/staff"
INVALID_ISSUER: Json = {
    "code": "invalid_issuer",
    "message": "The issuer must be an https URL (http only on a loopback address), without a"
    " query or fragment.",
}
INVALID_CLAIM: Json = {
    "code": "invalid_claim",
    "message": "A claim name is 1 to 100 characters, no blanks.",
}


def new_source(**overrides: Any) -> Json:
    return {
        "title": "Staff login",
        "oidc": {"issuer": ISSUER, "client_id": "tessera-" + secrets.token_hex(4)},
        **overrides,
    }


def admin_of(services: Services) -> tuple[int, dict[str, str]]:
    admin = make_person(services, admin=True)
    return admin.id, key_header(make_key(services, admin))


def test_an_admin_creates_lists_changes_and_removes_a_source_each_audited(
    api: httpx.Client, services: Services
) -> None:
    admin_id, admin = admin_of(services)
    secret = secrets.token_urlsafe(24)
    remember(secret)
    body = new_source(
        oidc={"issuer": ISSUER + "/", "client_id": "tessera", "client_secret": secret},
        groups_claim="groups",
        admin_groups=["it-admins", " it-admins ", ""],
        offered_to="both",
        create_unknown=True,
    )

    created = data_of(api.post(PATH, json=body, headers=admin), 201)
    source_id = created["id"]
    public_url = services.site.public_url.rstrip("/")
    assert created == {
        "id": source_id,
        "kind": "oidc",
        "title": "Staff login",
        "oidc": {"issuer": ISSUER, "client_id": "tessera", "has_client_secret": True},
        "saml": None,
        "email_claim": "email",
        "name_claim": "name",
        "groups_claim": "groups",
        "agent_groups": [],
        "admin_groups": ["it-admins"],
        "create_unknown": True,
        "link_by_email": False,
        "offered_to": "both",
        "is_enabled": True,
        "display_order": 0,
        "redirect_uris": [
            f"{public_url}/login/sources/{source_id}/callback",
            f"{public_url}/api/v2/api_tokens/user_sources/{source_id}/callback/default",
            f"{public_url}/api/v2/api_tokens/user_sources/{source_id}/callback/ios",
            f"{public_url}/api/v2/api_tokens/user_sources/{source_id}/callback/deskpro_scheme",
        ],
        "date_created": created["date_created"],
        "date_updated": created["date_updated"],
    }
    source = services.user_sources.get(source_id)
    assert services.user_sources.client_secret(source) == secret
    assert data_of(api.get(PATH, headers=admin)) == [created]
    assert data_of(api.get(f"{PATH}/{source_id}", headers=admin)) == created

    changed = api.put(
        f"{PATH}/{source_id}",
        json={"title": "Staff", "oidc": {"client_id": "tessera-2"}, "display_order": 3},
        headers=admin,
    )
    assert changed.status_code == 204, changed.text
    after = data_of(api.get(f"{PATH}/{source_id}", headers=admin))
    assert (after["title"], after["display_order"]) == ("Staff", 3)
    assert after["oidc"] == {"issuer": ISSUER, "client_id": "tessera-2", "has_client_secret": True}
    # The secret follows the new client_id (it is bound to it), still the same secret.
    assert services.user_sources.client_secret(services.user_sources.get(source_id)) == secret

    public = api.put(f"{PATH}/{source_id}", json={"oidc": {"client_secret": ""}}, headers=admin)
    assert public.status_code == 204, public.text
    assert (
        data_of(api.get(f"{PATH}/{source_id}", headers=admin))["oidc"]["has_client_secret"] is False
    )

    removed = data_of(api.delete(f"{PATH}/{source_id}", headers=admin))
    assert removed["id"] == source_id
    assert services.user_sources.list() == []
    assert_error(api.get(f"{PATH}/{source_id}", headers=admin), NOT_FOUND)

    events = [
        e
        for e in services.audit.list(AuditFilters(), PageRequest(1, 50)).items
        if e.kind.startswith("user_source.")
    ]
    assert [e.kind for e in events] == [
        "user_source.deleted",
        "user_source.changed",
        "user_source.changed",
        "user_source.created",
    ]
    assert all(e.actor_person_id == admin_id for e in events)
    assert events[-1].detail == {
        "source_id": source_id,
        "kind": "oidc",
        "title": "Staff login",
        "issuer": ISSUER,
        "is_enabled": True,
        "offered_to": "both",
    }
    for event in events:
        assert secret not in str(event.detail)


def test_every_invalid_field_in_one_answer_under_the_kind_for_its_own(
    api: httpx.Client, services: Services
) -> None:
    _, admin = admin_of(services)
    body = {
        "title": " ",
        "oidc": {"issuer": "http://login.example.test", "client_id": ""},
        "email_claim": "e mail",
        "groups_claim": "",
        "display_order": 10**12,
    }

    response = api.post(PATH, json=body, headers=admin)

    assert response.status_code == 400, response.text
    fields = response.json()["errors"]["fields"]
    assert fields["title"] == field(REQUIRED)
    assert fields["oidc"] == field(issuer=field(INVALID_ISSUER), client_id=field(REQUIRED))
    assert fields["email_claim"] == field(INVALID_CLAIM)
    assert set(fields) == {"title", "oidc", "email_claim", "display_order"}
    assert_error(
        api.post(PATH, json={"title": "No protocol"}, headers=admin),
        invalid_input(oidc=field(REQUIRED)),
    )
    assert services.user_sources.list() == []


def test_a_change_is_checked_and_an_unknown_source_is_not_found(
    api: httpx.Client, services: Services
) -> None:
    _, admin = admin_of(services)
    source_id = data_of(api.post(PATH, json=new_source(), headers=admin), 201)["id"]

    assert_error(
        api.put(f"{PATH}/{source_id}", json={"oidc": {"issuer": "ftp://x"}}, headers=admin),
        invalid_input(oidc=field(issuer=field(INVALID_ISSUER))),
    )
    assert_error(api.put(f"{PATH}/{UNKNOWN_ID}", json={"title": "x"}, headers=admin), NOT_FOUND)
    assert_error(api.delete(f"{PATH}/{UNKNOWN_ID}", headers=admin), NOT_FOUND)
    assert services.user_sources.get(source_id).issuer == ISSUER


def test_switching_a_source_off_refuses_its_peoples_tokens_at_the_next_request(
    api: httpx.Client, services: Services
) -> None:
    _, admin = admin_of(services)
    source_id = data_of(api.post(PATH, json=new_source(create_unknown=True), headers=admin), 201)[
        "id"
    ]
    source = services.user_sources.get(source_id)
    person = services.user_sources.resolve(
        source,
        ProviderIdentity(
            subject=secrets.token_hex(8),
            email=f"sso-{secrets.token_hex(4)}@example.test",
            email_verified=True,
            name="Ada",
            groups=(),
        ),
    )
    theirs = token_header(make_token(services, person))
    bystander = token_header(make_token(services, make_person(services)))
    assert api.get("/api/v2/me", headers=theirs).status_code == 200  # now in the cache

    off = api.put(f"{PATH}/{source_id}", json={"is_enabled": False}, headers=admin)

    assert off.status_code == 204, off.text
    assert_refused(api.get("/api/v2/me", headers=theirs), "invalid_api_token")
    assert api.get("/api/v2/me", headers=bystander).status_code == 200
    on = api.put(f"{PATH}/{source_id}", json={"is_enabled": True}, headers=admin)
    assert on.status_code == 204, on.text
    assert data_of(api.get(f"{PATH}/{source_id}", headers=admin))["is_enabled"] is True
    assert_refused(api.get("/api/v2/me", headers=theirs), "invalid_api_token")  # stays ended


@NON_ADMIN_CALLERS
def test_non_admins_may_not_manage_sources(
    api: httpx.Client, services: Services, caller: Caller
) -> None:
    headers = caller(services)
    victim = services.user_sources.create(
        SourceSettings(title="Staff", issuer=ISSUER, client_id="c")
    )
    path = f"{PATH}/{victim.id}"
    requests: list[tuple[str, str, Any]] = [
        ("GET", PATH, None),
        ("GET", path, None),
        ("POST", PATH, new_source()),
        ("PUT", path, {"is_enabled": False}),
        ("DELETE", path, None),
    ]
    for method, url, body in requests:
        assert_error(api.request(method, url, json=body, headers=headers), FORBIDDEN)
    assert services.user_sources.list() == [victim]


def test_anonymous_callers_are_unauthorized(api: httpx.Client, services: Services) -> None:
    assert_error(api.get(PATH), UNAUTHORIZED)
    assert_error(api.post(PATH, json=new_source()), UNAUTHORIZED)


# -- SAML sources (ADR 0049) ------------------------------------------------------------------


def test_an_admin_connects_a_saml_idp_by_its_metadata(
    api: httpx.Client, services: Services
) -> None:
    _, admin = admin_of(services)
    body = {"kind": "saml", "title": "Staff SAML", "saml": {"idp_metadata": idp_entity()}}

    created = data_of(api.post(PATH, json=body, headers=admin), 201)
    source_id = created["id"]
    changed = api.put(
        f"{PATH}/{source_id}",
        json={"saml": {"sp_entity_id": "https://tessera.example.test/sp"}, "name_claim": "cn"},
        headers=admin,
    )
    after = data_of(api.get(f"{PATH}/{source_id}", headers=admin))

    public_url = services.site.public_url.rstrip("/")
    assert created["kind"] == "saml"
    assert created["oidc"] is None
    assert created["saml"] == {
        "idp_entity_id": "https://idp.example.test/saml",
        "sp_entity_id": f"{public_url}/login/sources/{source_id}/metadata",
        "sp_metadata_url": f"{public_url}/login/sources/{source_id}/metadata",
        "idp_metadata_url": None,
    }
    assert changed.status_code == 204, changed.text
    assert after["saml"]["sp_entity_id"] == "https://tessera.example.test/sp"
    assert after["name_claim"] == "cn"


def test_saml_settings_are_checked_under_the_kind(api: httpx.Client, services: Services) -> None:
    _, admin = admin_of(services)

    missing = api.post(PATH, json={"kind": "saml", "title": "S"}, headers=admin)
    not_saml = api.post(
        PATH,
        json={"kind": "saml", "title": "S", "saml": {"idp_metadata": "<html/>"}},
        headers=admin,
    )
    linked = api.post(
        PATH,
        json={
            "kind": "saml",
            "title": "S",
            "saml": {"idp_metadata": idp_entity()},
            "link_by_email": True,
        },
        headers=admin,
    )

    assert_error(missing, invalid_input(saml=field(REQUIRED)))
    assert not_saml.status_code == 400
    problem = not_saml.json()["errors"]["fields"]["saml"]["fields"]["idp_metadata"]
    assert problem["errors"][0]["code"] == "invalid_metadata"
    assert linked.status_code == 400
    assert linked.json()["errors"]["fields"]["link_by_email"]["errors"][0]["code"] == "not_for_saml"
    assert services.user_sources.list() == []
