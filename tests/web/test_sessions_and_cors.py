"""The login session on the API (``agent_session``), and CORS as shared/spec §1.6 has it."""

import re
from collections.abc import Iterator

import httpx
import pytest

from tessera.services.container import Services
from tests.factories import (
    key_header,
    make_key,
    make_person,
    make_token,
    new_password,
    token_header,
)
from tests.oauth.flows import csrf_token_of
from tests.web.envelopes import assert_refused, deskpro_challenge

ORIGIN = "https://app.example"
CORS_CHALLENGE = 'key,oauth token realm="DeskPRO API"'


def sign_in(client: httpx.Client, email: str, password: str) -> None:
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    answer = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf[1], "next": "/"}
    )
    assert answer.status_code == 303, answer.text


@pytest.fixture
def browser(server: str, services: Services) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server) as client:
        yield client


def test_a_signed_in_agent_is_an_agent_session(browser: httpx.Client, services: Services) -> None:
    password = new_password()
    agent = make_person(services, password=password)
    sign_in(browser, agent.primary_email, password)

    me = browser.get("/api/v2/me", headers={"X-DeskPRO-App-ID": "12"})

    assert me.status_code == 200
    assert me.json()["data"]["auth_method"] == "agent_session"
    assert me.json()["data"]["person_id"] == agent.id
    assert me.json()["data"]["app_id"] == "12"


def test_a_session_of_someone_not_an_agent_is_invalid(
    browser: httpx.Client, services: Services
) -> None:
    password = new_password()
    user = make_person(services, agent=False, password=password)
    sign_in(browser, user.primary_email, password)

    assert_refused(browser.get("/api/v2/me"), "invalid_session_id")


def test_unknown_session_cookies_are_no_credential(browser: httpx.Client) -> None:
    browser.cookies.set("tessera_session", "2" * 40)

    assert_refused(browser.get("/api/v2/me"), "unauthorized")


def test_changes_by_session_need_the_csrf_header(browser: httpx.Client, services: Services) -> None:
    password = new_password()
    agent = make_person(services, password=password)
    sign_in(browser, agent.primary_email, password)
    body = {"name": "Renamed By Session"}

    forged = browser.put("/api/v2/me/profile", json=body)
    genuine = browser.put(
        "/api/v2/me/profile",
        json=body,
        headers={"X-DeskPRO-Request-Token": csrf_token_of(browser.cookies)},
    )

    assert_refused(forged, "unauthorized")
    assert genuine.status_code == 204
    assert services.people.get(agent.id).name == "Renamed By Session"


def test_signing_out_ends_the_session(browser: httpx.Client, services: Services) -> None:
    password = new_password()
    agent = make_person(services, password=password)
    sign_in(browser, agent.primary_email, password)
    cookie = browser.cookies["tessera_session"]

    browser.post("/logout", data={"csrf_token": csrf_token_of(browser.cookies)})

    browser.cookies.set("tessera_session", cookie)
    assert_refused(browser.get("/api/v2/me"), "unauthorized")


def test_no_origin_no_cors_headers(api: httpx.Client, services: Services) -> None:
    key = make_key(services, make_person(services))

    response = api.get("/api/v2/me", headers=key_header(key))

    assert "Access-Control-Allow-Origin" not in response.headers


def test_keys_may_be_used_across_origins(api: httpx.Client, services: Services) -> None:
    key = make_key(services, make_person(services))

    response = api.get("/api/v2/me", headers={**key_header(key), "Origin": ORIGIN})

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN


@pytest.mark.parametrize(
    ("credential", "code"), [("nothing", "unauthorized"), ("bad-key", "invalid_api_key")]
)
def test_refusals_are_readable_across_origins(
    api: httpx.Client, credential: str, code: str
) -> None:
    headers = {"Origin": ORIGIN}
    if credential == "bad-key":
        headers["Authorization"] = "key 1:NOTAKEY"

    response = api.get("/api/v2/me", headers=headers)

    assert_refused(response, code)
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_exchange_tokens_may_not_cross_origins(api: httpx.Client, services: Services) -> None:
    token = make_token(services, make_person(services))

    response = api.get("/api/v2/me", headers={**token_header(token), "Origin": ORIGIN})

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_cors_auth_type"
    assert deskpro_challenge(response) == CORS_CHALLENGE
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_sessions_may_not_cross_origins(browser: httpx.Client, services: Services) -> None:
    password = new_password()
    agent = make_person(services, password=password)
    sign_in(browser, agent.primary_email, password)

    response = browser.get("/api/v2/me", headers={"Origin": ORIGIN})

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_cors_auth_type"


def test_preflight_is_answered(api: httpx.Client) -> None:
    response = api.options(
        "/api/v2/me",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "Authorization",
        },
    )

    assert response.status_code == 200
    assert response.headers.get_list("Access-Control-Allow-Origin") == [ORIGIN]
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
    assert response.headers.get_list("Vary") == ["Origin"]
    assert "Access-Control-Expose-Headers" not in response.headers  # not an answer to read
    assert "X-DeskPRO-Request-ID" in response.headers


def test_never_on_the_authorization_page(api: httpx.Client) -> None:
    response = api.get("/oauth/authorize", headers={"Origin": ORIGIN})

    assert "Access-Control-Allow-Origin" not in response.headers
