"""``/api/v2/api_tokens`` for admins: every live token, and revoking any of them."""

import httpx

from tessera.services.container import Services
from tests.factories import key_header, make_key, make_person, make_token, token_header
from tests.web.envelopes import assert_refused, envelope


def test_admins_list_live_tokens_of_everyone_or_of_one_person(
    api: httpx.Client, services: Services
) -> None:
    admin = key_header(make_key(services, make_person(services, admin=True)))
    first, second = make_person(services), make_person(services)
    kept, revoked, other = (
        make_token(services, first),
        make_token(services, first),
        make_token(services, second),
    )
    services.api_tokens.revoke(revoked.token.id)

    everyone = api.get("/api/v2/api_tokens", headers=admin).json()
    of_first = api.get("/api/v2/api_tokens", params={"person_id": first.id}, headers=admin).json()

    assert {t["id"] for t in everyone["data"]} == {kept.token.id, other.token.id}
    assert [t["id"] for t in of_first["data"]] == [kept.token.id]
    assert of_first["meta"]["pagination"]["total"] == 1
    assert kept.code not in str(everyone)


def test_admins_revoke_any_token_at_once(api: httpx.Client, services: Services) -> None:
    admin = key_header(make_key(services, make_person(services, admin=True)))
    token = make_token(services, make_person(services))

    response = api.delete(f"/api/v2/api_tokens/{token.token.id}", headers=admin)

    assert response.status_code == 200
    assert response.json()["data"]["date_revoked"] is not None
    assert_refused(api.get("/api/v2/me", headers=token_header(token)), "invalid_api_token")
    missing = api.delete("/api/v2/api_tokens/999999", headers=admin)
    assert missing.json() == envelope(404, "not_found")


def test_agents_may_not_see_or_revoke_others_tokens(api: httpx.Client, services: Services) -> None:
    agent = token_header(make_token(services, make_person(services)))
    victim = make_token(services, make_person(services))

    listing = api.get("/api/v2/api_tokens", headers=agent)
    revoking = api.delete(f"/api/v2/api_tokens/{victim.token.id}", headers=agent)

    for response in (listing, revoking):
        assert response.status_code == 403
        assert response.json() == envelope(403, "forbidden")
    assert api.get("/api/v2/me", headers=token_header(victim)).status_code == 200
