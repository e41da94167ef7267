"""No cache on the way keeps an API answer unless the endpoint says so (ADR 0029, issue #16).

Every answer that carries a new code (the exchange, key creation and regeneration, device
setup, an OAuth app's secret) says ``Cache-Control: no-store``, as the OAuth token endpoint
always did; so does every other ``/api/v2`` answer that sets nothing itself (personal data,
errors). Answers that choose their own caching keep it: the forward-auth doors' ``max-age``.
"""

import httpx

from tessera.services.container import Services
from tests.factories import key_header, make_key, make_person, new_password
from tests.secrets_seen import remember
from tests.web.envelopes import admin_key, exchange_password, received_key_string
from tests.web.test_device_setup import redeem, setup_code


def assert_no_store(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers.get_list("Cache-Control") == ["no-store"]


def test_answers_that_carry_a_new_code_are_no_store(api: httpx.Client, services: Services) -> None:
    password = new_password()
    agent = make_person(services, password=password)
    admin = admin_key(services)

    exchanged = exchange_password(api, agent.primary_email, password)
    assert_no_store(exchanged, 201)

    created = api.post(
        "/api/v2/api_keys", json={"person_id": agent.id, "note": "ci"}, headers=admin
    )
    assert_no_store(created, 201)
    key_id = created.json()["data"]["id"]
    received_key_string(created.json()["data"])
    regenerated = api.post(f"/api/v2/api_keys/{key_id}/regenerate", headers=admin)
    assert_no_store(regenerated, 200)
    received_key_string(regenerated.json()["data"])

    headers = key_header(make_key(services, agent))
    offered = api.get("/api/v2/me/device-setup-token", headers=headers)
    assert_no_store(offered, 200)
    assert_no_store(redeem(api, setup_code(api, headers)), 201)

    app = {"name": "Zapier", "context": "agent", "redirect_uris": ["https://zapier.example/cb"]}
    registered = api.post("/api/v2/oauth_clients", json=app, headers=admin)
    assert_no_store(registered, 201)
    remember(registered.json()["data"]["secret"])
    rotated = api.post(
        f"/api/v2/oauth_clients/{registered.json()['data']['id']}/rotate_secret", headers=admin
    )
    assert_no_store(rotated, 200)
    remember(rotated.json()["data"]["secret"])


def test_other_api_answers_are_no_store_unless_they_choose(
    api: httpx.Client, services: Services
) -> None:
    headers = key_header(make_key(services, make_person(services)))

    assert_no_store(api.get("/api/v2/me", headers=headers), 200)
    assert_no_store(api.get("/api/v2/20161122/me", headers=headers), 200)  # a dated path
    assert_no_store(api.get("/api/v2/me"), 401)
    assert_no_store(api.get("/api/v2/nothing-here", headers=headers), 404)
    # A door sets its own: a proxy may reuse its answer within the revocation promise.
    door = api.get("/authz/auth-request", headers={**headers, "X-Original-URL": "/x"})
    assert door.headers.get_list("Cache-Control") == ["private, max-age=0"]
