"""Every rule of the Deskpro contract through each forward-auth door, over real HTTP (ADR 0024).

A real server guards the example helpdesk's route table and trusts 127.0.0.1 as its proxy;
each test asks as the proxies ask (``tests.web.guard``), on SQLite and PostgreSQL.
"""

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import event

from tessera.core.paging import PageRequest
from tessera.services.people import PersonChanges
from tests.clock import ManualClock
from tests.conftest import wipe
from tests.factories import (
    key_header,
    make_key,
    make_oauth_client,
    make_person,
    make_token,
    token_header,
)
from tests.oauth.flows import Browser, issue_tokens, make_account, signed_in
from tests.web.envelopes import CHALLENGE, envelope
from tests.web.guard import EVERY_DOOR, Guard, guard_server, write_routes

CORS_CHALLENGE = 'key,oauth token realm="DeskPRO API"'
BEARER_CHALLENGE = 'Bearer realm="DeskPRO API", error="invalid_token"'


@pytest.fixture(scope="module")
def routes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_routes(tmp_path_factory.mktemp("guard"))


@pytest.fixture(scope="module")
def trusting(database_url: str, routes: Path) -> Iterator[Guard]:
    with guard_server(database_url, routes, trusted_proxies="127.0.0.0/8") as guard:
        yield guard


@pytest.fixture
def guard(trusting: Guard) -> Iterator[Guard]:
    yield trusting
    wipe(trusting.runtime)


def assert_refused(
    response: httpx.Response, status: int, code: str, challenge: str = CHALLENGE
) -> None:
    """Deskpro's envelope, its challenge on a 401, and the headers nginx rebuilds it from."""
    assert (response.status_code, response.json()) == (status, envelope(status, code))
    assert response.headers["X-Tessera-Error-Code"] == code
    assert response.headers["X-Tessera-Error-Message"] == envelope(status, code)["message"]
    assert response.headers["X-Tessera-Error-Status"] == str(status)
    assert response.headers["Cache-Control"] == "private, max-age=0"
    assert "X-Tessera-Person-Id" not in response.headers
    if response.request.url.path == "/authz/auth-request":  # nginx: the envelope in a header
        assert json.loads(response.headers["X-Tessera-Error-Body"]) == response.json()
    else:
        assert "X-Tessera-Error-Body" not in response.headers
    if status == 401:
        assert response.headers.get_list("WWW-Authenticate")[0] == challenge


def assert_allowed(response: httpx.Response) -> httpx.Headers:
    assert response.status_code == 200, response.text
    assert response.content == b""
    assert response.headers["Cache-Control"] == "private, max-age=0"
    return response.headers


@EVERY_DOOR
def test_no_credential_is_refused_with_deskpros_401(guard: Guard, door: str) -> None:
    assert_refused(guard.ask(door, "GET", "/tickets"), 401, "unauthorized")


@EVERY_DOOR
def test_a_token_is_allowed_and_its_person_named(guard: Guard, door: str) -> None:
    person = make_person(guard.services, name="Ann Admin")
    issued = make_token(guard.services, person)

    headers = assert_allowed(guard.ask(door, "GET", "/tickets?page=2", token_header(issued)))

    assert headers["X-Tessera-Person-Id"] == str(person.id)
    assert headers["X-Tessera-Auth-Method"] == "api_token"
    assert headers["X-Tessera-Credential"] == f"token:{issued.token.id}"
    assert headers["X-Tessera-Scopes"] == "client"
    assert headers["X-Tessera-Email"] == person.primary_email
    assert headers["X-Tessera-Name"] == "Ann Admin"
    assert "X-Tessera-Client-Id" not in headers


@EVERY_DOOR
def test_a_key_with_tickets_but_not_delete_may_list_and_not_delete(guard: Guard, door: str) -> None:
    person = make_person(guard.services)
    issued = make_key(guard.services, person, tags="tickets.*, -*.delete")

    listed = guard.ask(door, "GET", "/tickets", key_header(issued))
    viewed = guard.ask(door, "GET", "/tickets/12", key_header(issued))
    deleted = guard.ask(door, "DELETE", "/tickets/12", key_header(issued))

    assert assert_allowed(listed)["X-Tessera-Credential"] == f"key:{issued.key.id}"
    assert listed.headers["X-Tessera-Auth-Method"] == "api_key"
    assert "X-Tessera-Scopes" not in listed.headers
    assert_allowed(viewed)
    assert_refused(deleted, 403, "forbidden")


@EVERY_DOOR
def test_a_superuser_key_acts_as_the_agent_it_names(guard: Guard, door: str) -> None:
    services = guard.services
    agent = make_person(services)
    issued = make_key(services, make_person(services), superuser=True)
    as_agent = {**key_header(issued), "X-DeskPRO-Agent-ID": str(agent.id)}

    headers = assert_allowed(guard.ask(door, "GET", "/tickets", as_agent))
    unknown = guard.ask(door, "GET", "/tickets", {**as_agent, "X-DeskPRO-Agent-ID": "999999999"})

    assert headers["X-Tessera-Person-Id"] == str(agent.id)
    assert_refused(unknown, 401, "invalid_api_key")


@EVERY_DOOR
def test_revoking_regenerating_and_disabling_are_felt_at_once(guard: Guard, door: str) -> None:
    services = guard.services
    token_person, key_person = make_person(services), make_person(services)
    token, key = make_token(services, token_person), make_key(services, key_person)
    disabled_token = make_token(services, make_person(services))
    for credential in (token_header(token), key_header(key), token_header(disabled_token)):
        assert_allowed(guard.ask(door, "GET", "/tickets", credential))  # now in the cache

    services.api_tokens.revoke(token.token.id)
    regenerated = services.api_keys.regenerate(key.key.id)
    services.people.change(disabled_token.token.person_id, PersonChanges(is_disabled=True))

    assert_refused(
        guard.ask(door, "GET", "/tickets", token_header(token)), 401, "invalid_api_token"
    )
    assert_refused(guard.ask(door, "GET", "/tickets", key_header(key)), 401, "invalid_api_key")
    assert_allowed(guard.ask(door, "GET", "/tickets", key_header(regenerated)))
    refused = guard.ask(door, "GET", "/tickets", token_header(disabled_token))
    assert_refused(refused, 401, "invalid_api_token")


@EVERY_DOOR
def test_a_refused_bearer_token_gets_the_rfc_6750_challenge_too(guard: Guard, door: str) -> None:
    issued = make_token(guard.services, make_person(guard.services))
    guard.services.api_tokens.revoke(issued.token.id)

    bearer = guard.ask(door, "GET", "/tickets", {"Authorization": f"Bearer {issued.token_string}"})
    plain = guard.ask(door, "GET", "/tickets", token_header(issued))

    assert_refused(bearer, 401, "invalid_api_token")
    assert bearer.headers.get_list("WWW-Authenticate") == [CHALLENGE, BEARER_CHALLENGE]
    assert plain.headers.get_list("WWW-Authenticate") == [CHALLENGE]


def test_a_bearer_token_is_a_token(guard: Guard) -> None:
    issued = make_token(guard.services, make_person(guard.services))

    bearer = {"Authorization": f"Bearer {issued.token_string}"}

    assert assert_allowed(guard.ask("forward-auth", "GET", "/tickets", bearer))


@EVERY_DOOR
def test_the_legacy_headers_and_basic_are_read_as_the_api_reads_them(
    guard: Guard, door: str
) -> None:
    issued = make_key(guard.services, make_person(guard.services))
    basic = httpx.BasicAuth(str(issued.key.id), issued.code)
    legacy = {"X-DeskPRO-API-Key": issued.key_string}

    with_basic = guard.ask(door, "GET", "/tickets", {"Authorization": _basic_value(basic)})
    with_legacy = guard.ask(door, "GET", "/tickets", legacy)

    assert assert_allowed(with_basic)["X-Tessera-Credential"] == f"key:{issued.key.id}"
    assert assert_allowed(with_legacy)["X-Tessera-Credential"] == f"key:{issued.key.id}"


def _basic_value(auth: httpx.BasicAuth) -> str:
    request = next(auth.auth_flow(httpx.Request("GET", "http://x/")))
    return str(request.headers["Authorization"])


def test_a_session_cookie_is_no_credential_here(guard: Guard) -> None:
    account = make_account(guard.services)
    browser = signed_in(Browser(str(guard.http.base_url)), account)
    try:
        me = browser.http.get("/api/v2/me")
        asked = browser.http.get(
            "/authz/forward-auth",
            headers={"X-Forwarded-Method": "GET", "X-Forwarded-Uri": "/tickets"},
        )
    finally:
        browser.close()

    assert me.status_code == 200  # the cookie is a session for the console's own API…
    assert_refused(asked, 401, "unauthorized")  # …and nothing for a guarded API


def test_the_cors_rule_holds_through_the_doors(guard: Guard) -> None:
    person = make_person(guard.services)
    origin = {"Origin": "https://app.example.test"}
    token, key = make_token(guard.services, person), make_key(guard.services, person)

    refused = guard.ask("forward-auth", "GET", "/tickets", {**token_header(token), **origin})
    allowed = guard.ask("forward-auth", "GET", "/tickets", {**key_header(key), **origin})

    assert_refused(refused, 401, "invalid_cors_auth_type", CORS_CHALLENGE)
    assert_allowed(allowed)


def test_an_oauth_token_names_its_app_and_scope(guard: Guard) -> None:
    services = guard.services
    account = make_account(services)
    app = make_oauth_client(services)
    browser = signed_in(Browser(str(guard.http.base_url)), account)
    try:
        tokens = issue_tokens(browser, guard.http, app)
    finally:
        browser.close()

    bearer = {"Authorization": f"Bearer {tokens.access}"}
    headers = assert_allowed(guard.ask("ext-authz", "GET", "/tickets", bearer))

    assert headers["X-Tessera-Client-Id"] == app.client.client_id
    assert headers["X-Tessera-Scopes"] == "session"
    assert headers["X-Tessera-Person-Id"] == str(account.person.id)


@EVERY_DOOR
@pytest.mark.parametrize(
    ("method", "target"),
    [
        ("GET", "/people"),  # no route
        ("PUT", "/tickets/12"),  # no route for the method
        ("GET", "/tickets/12/notes"),  # deeper than any route
        ("GET", "/tickets%2F12"),  # an encoded slash: the API may decode it
        ("GET", "/tickets/12/%2E%2E"),  # a dot segment
        ("GET", "//tickets"),  # a doubled slash
    ],
)
def test_what_no_route_names_is_forbidden_whoever_asks(
    guard: Guard, door: str, method: str, target: str
) -> None:
    issued = make_key(guard.services, make_person(guard.services))

    assert_refused(guard.ask(door, method, target, key_header(issued)), 403, "forbidden")
    assert_refused(guard.ask(door, method, target), 403, "forbidden")


@pytest.mark.parametrize("url", ["http://[::1/tickets", "tickets", "https://api.example.test"])
def test_an_original_url_that_is_no_url_names_no_route(guard: Guard, url: str) -> None:
    issued = make_token(guard.services, make_person(guard.services))
    headers = {**token_header(issued), "X-Original-Method": "GET", "X-Original-URL": url}

    response = guard.http.get("/authz/auth-request", headers=headers)

    assert_refused(response, 403, "forbidden")


def test_a_decision_writes_nothing(guard: Guard) -> None:
    issued = make_token(guard.services, make_person(guard.services))
    writes: list[str] = []

    def record(conn: object, cursor: object, statement: str, *rest: object) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE")):
            writes.append(statement)

    engine = guard.runtime.database.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        for door in ("forward-auth", "auth-request-url", "ext-authz"):
            assert_allowed(guard.ask(door, "GET", "/tickets", token_header(issued)))
            assert_refused(
                guard.ask(door, "DELETE", "/nowhere", token_header(issued)), 403, "forbidden"
            )
    finally:
        event.remove(engine, "before_cursor_execute", record)

    assert writes == []


def test_the_client_address_is_the_one_the_trusted_proxy_names(guard: Guard) -> None:
    person = make_person(guard.services)
    issued = make_token(guard.services, person)
    forwarded = {**token_header(issued), "X-Forwarded-For": "203.0.113.9, 127.0.0.1"}

    assert_allowed(guard.ask("forward-auth", "GET", "/tickets", forwarded))
    guard.services.usage.flush()

    [token] = guard.services.api_tokens.list(PageRequest(1, 10), person_id=person.id).items
    assert token.last_used_address == "203.0.113.9"


# -- a server that trusts no proxy -------------------------------------------------------------


@pytest.fixture(scope="module")
def untrusting(database_url: str, routes: Path) -> Iterator[Guard]:
    with guard_server(database_url, routes) as guard:
        yield guard


FORGED = {
    "X-Forwarded-Method": "GET",
    "X-Forwarded-Uri": "/tickets",
    "X-Original-Method": "GET",
    "X-Original-URL": "https://api.example.test/tickets",
    "X-Original-URI": "/tickets",
    "X-Forwarded-For": "203.0.113.66",
}


@pytest.mark.parametrize("door", ["/authz/forward-auth", "/authz/auth-request"])
def test_forged_forwarded_headers_from_an_untrusted_peer_change_nothing(
    untrusting: Guard, guard: Guard, door: str
) -> None:
    services = untrusting.services
    person = make_person(services)
    issued = make_token(services, person)
    try:
        plain = untrusting.http.get(door, headers=token_header(issued))
        forged = untrusting.http.get(door, headers={**token_header(issued), **FORGED})
        from_the_proxy = guard.http.get(door, headers={**token_header(issued), **FORGED})
        services.usage.flush()
        [token] = services.api_tokens.list(PageRequest(1, 10), person_id=person.id).items
    finally:
        wipe(untrusting.runtime)

    # The path checked is the door's own, which no route names: the same refusal either way…
    assert_refused(plain, 403, "forbidden")
    assert_refused(forged, 403, "forbidden")
    # …where the same headers from the trusted proxy would have named an allowed request.
    assert_allowed(from_the_proxy)
    assert token.last_used_address is None  # refused by route: the credential was not even read


def test_an_untrusted_peer_is_its_own_client_address(untrusting: Guard) -> None:
    services = untrusting.services
    person = make_person(services)
    issued = make_token(services, person)
    try:
        me = untrusting.http.get("/api/v2/me", headers={**token_header(issued), **FORGED})
        services.usage.flush()
        [token] = services.api_tokens.list(PageRequest(1, 10), person_id=person.id).items
    finally:
        wipe(untrusting.runtime)

    assert me.status_code == 200
    assert token.last_used_address == "127.0.0.1"


def test_envoys_door_reads_the_path_it_is_given_even_from_a_trusted_proxy(guard: Guard) -> None:
    issued = make_key(guard.services, make_person(guard.services), tags="tickets.*, -*.delete")

    forged = guard.http.delete(
        "/authz/ext-authz/tickets/12", headers={**key_header(issued), **FORGED}
    )

    assert_refused(forged, 403, "forbidden")


# -- a table whose default lets any authenticated caller through, with Authelia's names --------


@pytest.fixture(scope="module")
def lenient(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guard]:
    routes = write_routes(
        tmp_path_factory.mktemp("lenient"),
        'default = "authenticated"\n\n'
        '[[route]]\nmethod = "DELETE"\npath = "/tickets/{id}"\ntags = ["tickets.tickets.delete"]\n',
    )
    settings = {
        "trusted_proxies": "127.0.0.1",
        "identity_headers": "authelia",
        "authz_max_age_seconds": 5,
    }
    with guard_server(database_url, routes, **settings) as guard:
        yield guard


def test_the_default_lets_any_authenticated_caller_through_where_no_route_is(
    lenient: Guard,
) -> None:
    issued = make_key(lenient.services, make_person(lenient.services), tags="people.*")

    anywhere = lenient.ask("forward-auth", "GET", "/anything/at/all", key_header(issued))
    routed = lenient.ask("forward-auth", "DELETE", "/tickets/3", key_header(issued))
    nobody = lenient.ask("forward-auth", "GET", "/anything/at/all")
    ambiguous = lenient.ask("forward-auth", "GET", "/tickets/3/..", key_header(issued))

    assert anywhere.status_code == 200
    assert anywhere.headers["Cache-Control"] == "private, max-age=5"
    assert routed.status_code == 403  # a route's tags still apply
    assert nobody.status_code == 401
    assert ambiguous.status_code == 403  # never "no route": the API may read it as a route


def test_authelias_names_and_a_name_that_is_not_ascii(lenient: Guard) -> None:
    person = make_person(lenient.services, name="Zoë 100% O'Brien")
    issued = make_token(lenient.services, person)

    headers = lenient.ask("ext-authz", "GET", "/", token_header(issued)).headers

    assert headers["Remote-User"] == person.primary_email
    assert headers["Remote-Email"] == person.primary_email
    assert headers["Remote-Name"] == "Zo%C3%AB 100%25 O'Brien"
    assert headers["X-Tessera-Person-Id"] == str(person.id)
    assert "X-Tessera-Email" not in headers
    assert "X-Tessera-Name" not in headers


# -- when the database fails -------------------------------------------------------------------


def test_a_failure_is_a_403_for_nginx_and_its_own_status_for_the_others(tmp_path: Path) -> None:
    """nginx makes any status but 2xx, 401 and 403 a 500 of its own, and a 401 would tell the
    client to throw its credential away: its door says 403, and the real status in a header."""
    database_url = f"sqlite:///{tmp_path}/failing.db"
    unknown_token = {"Authorization": f"token 424242:{'A' * 25}"}  # not cached: read, and fails
    with guard_server(database_url, write_routes(tmp_path), trusted_proxies="127.0.0.1") as guard:
        with guard.runtime.database.engine.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE api_tokens RENAME TO api_tokens_away")
        try:
            nginx = guard.ask("auth-request-uri", "GET", "/tickets", unknown_token)
            traefik = guard.ask("forward-auth", "GET", "/tickets", unknown_token)
        finally:
            with guard.runtime.database.engine.begin() as connection:
                connection.exec_driver_sql("ALTER TABLE api_tokens_away RENAME TO api_tokens")

    assert nginx.status_code == 403
    assert nginx.json() == envelope(500, "internal_error")
    assert nginx.headers["X-Tessera-Error-Code"] == "internal_error"
    assert nginx.headers["X-Tessera-Error-Status"] == "500"
    assert json.loads(nginx.headers["X-Tessera-Error-Body"]) == envelope(500, "internal_error")
    assert nginx.headers["Cache-Control"] == "no-store"
    assert "X-DeskPRO-Request-ID" in nginx.headers
    assert traefik.status_code == 500
    assert traefik.json() == envelope(500, "internal_error")


def test_an_answer_may_be_reused_no_longer_than_its_token_lives(
    database_url: str, routes: Path, clock: ManualClock
) -> None:
    reuse = {"credential_cache_seconds": 300, "authz_max_age_seconds": 300}
    with guard_server(
        database_url,
        routes,
        trusted_proxies="127.0.0.1",
        clock=clock,
        token_max_age_days=1,
        **reuse,
    ) as guard:
        services = guard.services
        token = token_header(make_token(services, make_person(services)))  # lives one day
        key = key_header(make_key(services, make_person(services)))  # no end of its own
        fresh = guard.ask("ext-authz", "GET", "/tickets", token)
        clock.advance(timedelta(days=1) - timedelta(seconds=100))
        near_its_end = guard.ask("ext-authz", "GET", "/tickets", token)
        keyed = guard.ask("ext-authz", "GET", "/tickets", key)
        clock.advance(timedelta(seconds=101))
        ended = guard.ask("ext-authz", "GET", "/tickets", token)

    assert fresh.headers["Cache-Control"] == "private, max-age=300"
    assert near_its_end.status_code == 200
    left = int(near_its_end.headers["Cache-Control"].removeprefix("private, max-age="))
    assert 90 <= left <= 100  # what was left of the day when asked, not the setting's 300
    assert keyed.headers["Cache-Control"] == "private, max-age=300"
    assert ended.status_code == 401
