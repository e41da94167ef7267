"""The helpdesk API behind real nginx, Traefik and Caddy, each asking Tessera (issue #13 §2).

Every test runs once per proxy, with the proxy's shipped configuration (examples/guard/): the
client talks to the proxy only, and sees what the API saw about the caller in its answer.
"""

import httpx
import pytest

from tessera.services.container import Services
from tests.factories import key_header, make_key, make_person, make_token, token_header
from tests.guard_library.waiting import until
from tests.proxies.launch import Proxy

DESKPRO_CHALLENGE = 'session,token,key realm="DeskPRO API"'
BEARER_CHALLENGE = 'Bearer realm="DeskPRO API", error="invalid_token"'
#: Issue #13: a revocation is felt through the proxy within a second.
REVOCATION_SECONDS = 1.0


def test_no_credential_gets_deskpros_401(proxy: Proxy) -> None:
    answer = httpx.get(f"{proxy.url}/tickets")

    assert answer.status_code == 401
    assert answer.json() == {
        "status": 401,
        "code": "unauthorized",
        "message": "You must be authenticated to make this request.",
    }
    assert answer.headers.get_list("WWW-Authenticate") == [DESKPRO_CHALLENGE]
    assert answer.headers["Content-Type"].startswith("application/json")


def test_a_token_reaches_the_api_as_its_person(proxy: Proxy, services: Services) -> None:
    person = make_person(services, name="Zoë Agent")
    issued = make_token(services, person)

    answer = httpx.get(f"{proxy.url}/tickets", headers=token_header(issued))

    assert answer.status_code == 200
    assert answer.json()["caller"] == {
        "person_id": person.id,
        "email": person.primary_email,
        "name": "Zoë Agent",
        "auth_method": "api_token",
        "credential": f"token:{issued.token.id}",
    }


def test_a_limited_key_may_list_and_open_but_not_close(proxy: Proxy, services: Services) -> None:
    person = make_person(services)
    limited = key_header(make_key(services, person, tags="tickets.*, -*.delete"))

    listed = httpx.get(f"{proxy.url}/tickets", headers=limited)
    opened = httpx.post(f"{proxy.url}/tickets", headers=limited, json={"subject": "Printer"})
    ticket = opened.json()["data"]["id"]
    closed = httpx.delete(f"{proxy.url}/tickets/{ticket}", headers=limited)
    viewed = httpx.get(f"{proxy.url}/tickets/{ticket}", headers=limited)

    assert (listed.status_code, opened.status_code) == (200, 201)
    assert opened.json()["data"]["by"] == person.id
    assert closed.status_code == 403
    assert closed.json() == {
        "status": 403,
        "code": "forbidden",
        "message": "You are not authorized to make this request.",
    }
    assert viewed.status_code == 200  # the refused DELETE never reached the API


def test_a_superuser_key_acts_as_the_named_agent(proxy: Proxy, services: Services) -> None:
    agent = make_person(services)
    superuser = key_header(make_key(services, None, superuser=True))

    as_agent = httpx.get(
        f"{proxy.url}/tickets", headers={**superuser, "X-DeskPRO-Agent-ID": str(agent.id)}
    )
    as_nobody = httpx.get(
        f"{proxy.url}/tickets", headers={**superuser, "X-DeskPRO-Agent-ID": "999999999"}
    )

    assert as_agent.status_code == 200
    assert as_agent.json()["caller"]["person_id"] == agent.id
    assert as_agent.json()["caller"]["auth_method"] == "api_key"
    assert as_nobody.status_code == 401


def test_a_revoked_token_is_refused_within_a_second(proxy: Proxy, services: Services) -> None:
    issued = make_token(services, make_person(services))
    url, headers = f"{proxy.url}/tickets", token_header(issued)
    assert httpx.get(url, headers=headers).status_code == 200

    services.api_tokens.revoke(issued.token.id)

    assert until(REVOCATION_SECONDS, lambda: httpx.get(url, headers=headers).status_code == 401)
    assert httpx.get(url, headers=headers).json()["code"] == "invalid_api_token"


def test_a_regenerated_key_is_refused_within_a_second(proxy: Proxy, services: Services) -> None:
    issued = make_key(services, make_person(services))
    url, old = f"{proxy.url}/tickets", key_header(issued)
    assert httpx.get(url, headers=old).status_code == 200

    regenerated = services.api_keys.regenerate(issued.key.id)

    assert until(REVOCATION_SECONDS, lambda: httpx.get(url, headers=old).status_code == 401)
    assert httpx.get(url, headers=key_header(regenerated)).status_code == 200


def test_a_disabled_person_is_refused_within_a_second(proxy: Proxy, services: Services) -> None:
    person = make_person(services)
    url, headers = f"{proxy.url}/tickets", key_header(make_key(services, person))
    assert httpx.get(url, headers=headers).status_code == 200

    services.people.set_disabled(person.id, True)

    assert until(REVOCATION_SECONDS, lambda: httpx.get(url, headers=headers).status_code == 401)


@pytest.mark.parametrize(
    "forged",
    [
        {"X-Forwarded-Method": "GET", "X-Forwarded-Uri": "/tickets"},
        {"X-Original-Method": "GET", "X-Original-URL": "http://helpdesk/tickets"},
        {"X-Original-URI": "/tickets"},
    ],
    ids=["x-forwarded", "x-original-url", "x-original-uri"],
)
def test_a_client_cannot_choose_the_request_that_is_checked(
    proxy: Proxy, services: Services, forged: dict[str, str]
) -> None:
    limited = key_header(make_key(services, make_person(services), tags="tickets.*, -*.delete"))

    closed = httpx.delete(f"{proxy.url}/tickets/1", headers={**limited, **forged})

    assert closed.status_code == 403


def test_a_client_cannot_send_identity_headers_of_its_own(proxy: Proxy, services: Services) -> None:
    person = make_person(services)
    forged = {
        "X-Tessera-Person-Id": "1",
        "X-Tessera-Email": "ceo@example.com",
        # Sent by Tessera for OAuth tokens only: absent from its answer about a key.
        "X-Tessera-Client-Id": "1_forged",
    }

    seen = httpx.get(
        f"{proxy.url}/tickets", headers={**key_header(make_key(services, person)), **forged}
    )

    assert seen.status_code == 200
    assert seen.json()["caller"]["person_id"] == person.id
    assert seen.json()["caller"]["email"] == person.primary_email


def test_a_refused_bearer_credential_gets_both_challenges_where_the_proxy_passes_them(
    proxy: Proxy,
) -> None:
    answer = httpx.get(f"{proxy.url}/tickets", headers={"Authorization": "Bearer 1:nope"})

    challenges = answer.headers.get_list("WWW-Authenticate")
    assert answer.status_code == 401
    assert answer.json()["code"] == "invalid_api_token"
    if proxy.name == "nginx":  # nginx 1.22 passes the first challenge of an auth answer only
        assert challenges == [DESKPRO_CHALLENGE]
    else:
        assert challenges == [DESKPRO_CHALLENGE, BEARER_CHALLENGE]


def test_the_api_without_its_proxy_has_no_caller(helpdesk: str) -> None:
    # The example API trusts the headers only because the proxy is the way in: on its own
    # (as a misconfigured deployment would expose it) it refuses rather than guess.
    assert httpx.get(f"{helpdesk}/tickets").status_code == 401


def test_a_message_with_quotes_reaches_the_client_as_valid_json(proxy: Proxy) -> None:
    answer = httpx.get(f"{proxy.url}/tickets", headers={"Authorization": "nonsense"})

    assert answer.status_code == 401
    assert answer.json()["message"] == (
        'Malformed Authorization header (should be "Authorization: type value").'
    )
