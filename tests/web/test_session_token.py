"""``GET /api/v2/api_tokens/session`` (E4): a signed-in browser's session becomes a token.

A GET that creates a credential from a cookie: the cookie counts only for a request the
browser marks as coming from this origin, or one carrying the console's CSRF header.
"""

from collections.abc import Iterator

import httpx
import pytest

from tessera.core.audit import AuditFilters
from tessera.core.paging import PageRequest
from tessera.core.people import Person
from tessera.services.container import Services
from tests.factories import key_header, make_key, make_person, new_password
from tests.oauth.flows import csrf_token_of
from tests.pages.admin_http import sign_in
from tests.secrets_seen import remember
from tests.web.envelopes import BAD_CREDENTIALS, as_token, assert_error, data_of, deskpro_challenge

SESSION_TOKEN = "/api/v2/api_tokens/session"
ORIGIN = "https://app.example"
CORS_CHALLENGE = 'key,oauth token realm="DeskPRO API"'
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}


@pytest.fixture
def browser(server: str, services: Services) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server) as client:
        yield client


def signed_in_agent(browser: httpx.Client, services: Services, *, agent: bool = True) -> Person:
    password = new_password()
    person = make_person(services, agent=agent, password=password)
    sign_in(browser, person.primary_email, password)
    return person


def tokens_of(services: Services, person: Person) -> int:
    return services.api_tokens.list(PageRequest(1, 50), person_id=person.id).total


def received_token(response: httpx.Response) -> str:
    data = data_of(response, 201)
    token: str = data["token"]
    remember(token, token.split(":", 1)[1])
    return token


def test_a_page_of_this_origin_gets_a_token(browser: httpx.Client, services: Services) -> None:
    agent = signed_in_agent(browser, services)

    response = browser.get(SESSION_TOKEN, headers=SAME_ORIGIN)

    token = received_token(response)
    assert set(response.json()["data"]) == {"person_id", "token"}  # the exchange's body
    assert response.json()["data"]["person_id"] == agent.id
    # A token like any other: it works without the browser.
    with httpx.Client(base_url=str(browser.base_url)) as app:
        me = data_of(app.get("/api/v2/me", headers=as_token(token)))
    assert (me["auth_method"], me["person_id"]) == ("api_token", agent.id)


def test_the_console_csrf_header_also_counts(browser: httpx.Client, services: Services) -> None:
    signed_in_agent(browser, services)

    response = browser.get(
        SESSION_TOKEN, headers={"X-DeskPRO-Request-Token": csrf_token_of(browser.cookies)}
    )

    received_token(response)


def test_the_token_is_audited_as_coming_from_a_session(
    browser: httpx.Client, services: Services
) -> None:
    agent = signed_in_agent(browser, services)

    token = received_token(browser.get(SESSION_TOKEN, headers=SAME_ORIGIN))

    events = services.audit.list(
        AuditFilters(person_id=agent.id, kind="api_token.issued"), PageRequest(1, 10)
    ).items
    assert [(e.actor_person_id, e.credential_id, e.detail) for e in events] == [
        (agent.id, int(token.split(":")[0]), {"source": "session"})
    ]
    assert events[0].client_address == "127.0.0.1"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Sec-Fetch-Site": "none"},
    ],
    ids=["no proof of origin", "another site", "a sibling subdomain", "typed in"],
)
def test_a_request_not_from_this_origin_gets_nothing(
    browser: httpx.Client, services: Services, headers: dict[str, str]
) -> None:
    agent = signed_in_agent(browser, services)

    response = browser.get(SESSION_TOKEN, headers=headers)

    assert_error(response, BAD_CREDENTIALS)
    assert tokens_of(services, agent) == 0


def test_a_wrong_csrf_header_gets_nothing(browser: httpx.Client, services: Services) -> None:
    agent = signed_in_agent(browser, services)

    response = browser.get(SESSION_TOKEN, headers={"X-DeskPRO-Request-Token": "guessed"})

    assert_error(response, BAD_CREDENTIALS)
    assert tokens_of(services, agent) == 0


def test_without_a_session_it_is_bad_credentials(api: httpx.Client) -> None:
    assert_error(api.get(SESSION_TOKEN, headers=SAME_ORIGIN), BAD_CREDENTIALS)


def test_an_unknown_session_is_bad_credentials(browser: httpx.Client) -> None:
    browser.cookies.set("tessera_session", "2" * 40)

    assert_error(browser.get(SESSION_TOKEN, headers=SAME_ORIGIN), BAD_CREDENTIALS)


def test_a_session_of_someone_not_an_agent_is_bad_credentials(
    browser: httpx.Client, services: Services
) -> None:
    user = signed_in_agent(browser, services, agent=False)

    assert_error(browser.get(SESSION_TOKEN, headers=SAME_ORIGIN), BAD_CREDENTIALS)
    assert tokens_of(services, user) == 0


def test_a_key_is_not_a_session(api: httpx.Client, services: Services) -> None:
    agent = make_person(services)
    headers = {**key_header(make_key(services, agent)), **SAME_ORIGIN}

    assert_error(api.get(SESSION_TOKEN, headers=headers), BAD_CREDENTIALS)
    assert tokens_of(services, agent) == 0


def test_a_session_sent_from_another_origin_is_refused_by_cors(
    browser: httpx.Client, services: Services
) -> None:
    """Shared/spec §1.6 still holds: sessions do not cross origins, refusals carry the origin."""
    agent = signed_in_agent(browser, services)
    headers = {"Origin": ORIGIN, "X-DeskPRO-Request-Token": csrf_token_of(browser.cookies)}

    response = browser.get(SESSION_TOKEN, headers=headers)

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_cors_auth_type"
    assert deskpro_challenge(response) == CORS_CHALLENGE
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert tokens_of(services, agent) == 0
