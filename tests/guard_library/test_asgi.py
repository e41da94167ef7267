"""An ASGI API guarded in its own process by ``tessera.guard``, against a real Tessera.

The API (FastAPI with ``TesseraMiddleware``) runs under uvicorn on loopback; Tessera is a real
``tessera serve`` with a route table, counting the calls it gets in its access log.
"""

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from tessera.guard import Guard
from tessera.guard.asgi import TesseraMiddleware, protected_resource_metadata
from tessera.services.container import Services
from tests.factories import (
    key_header,
    make_key,
    make_oauth_client,
    make_person,
    make_token,
    token_header,
)
from tests.feed.nodes import PROPAGATION_BOUND_SECONDS
from tests.guard_library.apps import asgi_app
from tests.guard_library.tessera_node import STREAM_TAG, TesseraNode
from tests.guard_library.waiting import until
from tests.live import serving
from tests.oauth.flows import WEB_CALLBACK, Browser, bearer, granted, make_account, signed_in


@pytest.fixture
def guard(node: TesseraNode, services: Services) -> Iterator[Guard]:
    stream_key = make_key(services, make_person(services), tags=STREAM_TAG).key_string
    with Guard(node.url, stream_key=stream_key) as guard:
        assert guard.wait_until_in_step(PROPAGATION_BOUND_SECONDS * 10)
        yield guard


@pytest.fixture
def api(guard: Guard) -> Iterator[httpx.Client]:
    with serving(asgi_app(guard)) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


def test_no_credential_is_refused_as_tessera_refuses_it(
    api: httpx.Client, node: TesseraNode
) -> None:
    refused = api.get("/tickets")
    direct = httpx.get(f"{node.url}/authz/ext-authz/tickets")

    assert refused.status_code == 401
    assert refused.json() == direct.json()
    assert refused.json()["code"] == "unauthorized"
    assert refused.headers.get_list("www-authenticate") == direct.headers.get_list(
        "www-authenticate"
    )


def test_a_token_is_let_in_and_the_api_sees_its_person(
    api: httpx.Client, services: Services
) -> None:
    person = make_person(services, name="Zoë Agent")
    issued = make_token(services, person)

    answer = api.get("/tickets/5", headers=token_header(issued))

    assert answer.status_code == 200
    assert answer.json() == {
        "person_id": person.id,
        "auth_method": "api_token",
        "credential": f"token:{issued.token.id}",
        "email": person.primary_email,
        "name": "Zoë Agent",
        "client_id": None,
        "scopes": answer.json()["scopes"],
    }


def test_a_bearer_token_refused_gets_rfc_6750s_challenge(api: httpx.Client) -> None:
    refused = api.get("/tickets", headers={"Authorization": "Bearer 1:AAAAAAAAAAAAAAAAAAAAAAAAA"})

    assert refused.status_code == 401
    assert 'Bearer realm="DeskPRO API", error="invalid_token"' in refused.headers.get_list(
        "www-authenticate"
    )


def test_a_keys_tags_decide_route_by_route(api: httpx.Client, services: Services) -> None:
    headers = key_header(make_key(services, make_person(services), tags="tickets.*, -*.delete"))

    listed = api.get("/tickets", headers=headers)
    viewed = api.get("/tickets/3", headers=headers)
    closed = api.delete("/tickets/3", headers=headers)

    assert (listed.status_code, viewed.status_code) == (200, 200)
    assert (closed.status_code, closed.json()["code"]) == (403, "forbidden")


def test_an_oauth_tokens_scope_decides_as_tags_and_the_refusal_names_the_scope_needed(
    api: httpx.Client, node: TesseraNode, services: Services
) -> None:
    # The real consent flow on the Tessera the guard asks (ADR 0042).
    app = make_oauth_client(services, redirect_uris=[WEB_CALLBACK])
    browser = signed_in(Browser(node.url), make_account(services))
    try:
        with httpx.Client(base_url=node.url, timeout=60) as tessera:
            body = granted(browser, tessera, app, "tickets.* -*.delete")
    finally:
        browser.close()
    headers = bearer(body["access_token"])

    listed = api.get("/tickets", headers=headers)
    closed = api.delete("/tickets/3", headers=headers)

    assert listed.status_code == 200
    assert listed.json()["scopes"] == ["tickets.*", "-*.delete"]
    assert (closed.status_code, closed.json()["code"]) == (403, "forbidden")
    assert closed.headers.get_list("www-authenticate") == [
        'Bearer realm="DeskPRO API", error="insufficient_scope", scope="tickets.tickets.delete"'
    ]


def test_a_path_no_route_names_is_refused(api: httpx.Client, services: Services) -> None:
    headers = key_header(make_key(services, make_person(services)))

    assert api.get("/reports", headers=headers).status_code == 403


def test_an_exempt_path_is_served_without_a_check(api: httpx.Client) -> None:
    assert api.get("/health").json() == {"status": "ok"}


def test_a_superuser_key_acts_as_the_agent_it_names(api: httpx.Client, services: Services) -> None:
    agent = make_person(services)
    superuser = make_key(services, None, superuser=True)
    headers = {**key_header(superuser), "X-DeskPRO-Agent-ID": str(agent.id)}

    answer = api.get("/tickets", headers=headers)

    assert answer.status_code == 200
    assert answer.json()["person_id"] == agent.id


def test_a_cached_answer_makes_no_call_to_tessera(
    api: httpx.Client, services: Services, node: TesseraNode, guard: Guard
) -> None:
    headers = key_header(make_key(services, make_person(services)))
    first = api.get("/tickets", headers=headers)
    calls = node.decisions()

    again = [api.get("/tickets", headers=headers).status_code for _ in range(5)]

    assert first.status_code == 200
    assert again == [200] * 5
    assert node.decisions() == calls
    assert guard.metrics.cache_hits == 5


def test_another_path_or_credential_is_asked_again(
    api: httpx.Client, services: Services, node: TesseraNode
) -> None:
    person = make_person(services)
    headers = key_header(make_key(services, person))
    api.get("/tickets/1", headers=headers)
    calls = node.decisions()

    api.get("/tickets/2", headers=headers)
    api.get("/tickets/1", headers=key_header(make_key(services, person)))

    assert node.decisions() == calls + 2


@pytest.mark.parametrize("change", ["key revoked", "person disabled"])
def test_a_revocation_drops_the_cached_answer_through_the_stream(
    api: httpx.Client, services: Services, guard: Guard, change: str
) -> None:
    person = make_person(services)
    issued = make_key(services, person)
    headers = key_header(issued)
    assert api.get("/tickets", headers=headers).status_code == 200
    assert api.get("/tickets", headers=headers).status_code == 200  # from the cache

    if change == "key revoked":
        services.api_keys.revoke(issued.key.id)
    else:
        services.people.set_disabled(person.id, True)
    # Tessera's node hears of it from the database, the guard from the node's stream.
    dropped = until(PROPAGATION_BOUND_SECONDS, lambda: guard.metrics.revocations >= 1)

    assert dropped
    assert api.get("/tickets", headers=headers).status_code == 401


def test_protected_resource_metadata_is_served_and_named_in_every_401(
    guard: Guard, node: TesseraNode
) -> None:
    metadata = protected_resource_metadata("https://api.example.test", node.url)
    app = FastAPI()
    app.add_middleware(TesseraMiddleware, guard=guard, resource_metadata=metadata)

    with serving(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        served = client.get("/.well-known/oauth-protected-resource")
        refused = client.get("/tickets")

    assert served.json() == {
        "resource": "https://api.example.test",
        "authorization_servers": [node.url],
        "scopes_supported": ["session"],
        "bearer_methods_supported": ["header"],
    }
    assert refused.status_code == 401
    assert (
        'Bearer resource_metadata="https://api.example.test/.well-known/oauth-protected-resource"'
        in refused.headers.get_list("www-authenticate")
    )
