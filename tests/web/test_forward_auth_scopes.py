"""API scopes at the guard's doors (ADR 0042): a token limited by its scope's tag patterns.

A real server guards the example helpdesk's route table (``tickets.tickets.*``); an app is
granted ``tickets.* -*.delete`` through the real consent flow, and each proxy's door lets it
list and read tickets, refuses it deleting one with Deskpro's 403 and the RFC 6750 challenge
naming the tag it lacks, and tells the guarded API the token's scope.
"""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tessera.services.oauth_clients import IssuedOAuthClient
from tests.conftest import wipe
from tests.factories import make_oauth_client
from tests.oauth.flows import WEB_CALLBACK, Browser, bearer, granted, make_account, signed_in
from tests.web.guard import EVERY_DOOR, Guard, guard_server, write_routes


@pytest.fixture(scope="module")
def routes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_routes(tmp_path_factory.mktemp("guard-scopes"))


@pytest.fixture(scope="module")
def trusting(database_url: str, routes: Path) -> Iterator[Guard]:
    with guard_server(database_url, routes, trusted_proxies="127.0.0.0/8") as guard:
        yield guard


@pytest.fixture
def guard(trusting: Guard) -> Iterator[Guard]:
    yield trusting
    wipe(trusting.runtime)


@pytest.fixture
def app(guard: Guard) -> IssuedOAuthClient:
    return make_oauth_client(guard.services, redirect_uris=[WEB_CALLBACK])


@pytest.fixture
def browser(guard: Guard) -> Iterator[Browser]:
    opened = Browser(str(guard.http.base_url))
    yield signed_in(opened, make_account(guard.services))
    opened.close()


def test_the_metadata_offers_the_guarded_apis_tag_groups(guard: Guard) -> None:
    supported = guard.http.get("/.well-known/oauth-authorization-server").json()
    assert "tickets.*" in supported["scopes_supported"]


@EVERY_DOOR
def test_a_scoped_token_is_let_through_for_its_tags_only(
    guard: Guard, browser: Browser, app: IssuedOAuthClient, door: str
) -> None:
    body = granted(browser, guard.http, app, "tickets.* -*.delete")
    token = bearer(body["access_token"])
    assert body["scope"] == "tickets.* -*.delete"

    listed = guard.ask(door, "GET", "/tickets", token)
    read = guard.ask(door, "GET", "/tickets/7", token)
    deleted = guard.ask(door, "DELETE", "/tickets/7", token)

    assert listed.status_code == read.status_code == 200, listed.text
    assert listed.headers["X-Tessera-Scopes"] == "tickets.* -*.delete"
    assert deleted.status_code == 403
    assert deleted.json()["code"] == "forbidden"
    assert deleted.headers["X-Tessera-Error-Code"] == "forbidden"
    assert deleted.headers.get_list("WWW-Authenticate") == [
        'Bearer realm="DeskPRO API", error="insufficient_scope", scope="tickets.tickets.delete"'
    ]


def test_a_token_for_the_helpdesk_api_cannot_call_tesseras_own(
    guard: Guard, browser: Browser, app: IssuedOAuthClient
) -> None:
    token = bearer(granted(browser, guard.http, app, "tickets.*")["access_token"])

    refused = guard.http.get("/api/v2/me/profile", headers=token)

    assert refused.status_code == 403
    assert 'scope="me.profile.get"' in refused.headers["WWW-Authenticate"]
    assert guard.ask("ext-authz", "GET", "/tickets", token).status_code == 200


def test_a_session_token_passes_every_door_as_before(
    guard: Guard, browser: Browser, app: IssuedOAuthClient
) -> None:
    token = bearer(granted(browser, guard.http, app, None)["access_token"])

    answer: httpx.Response = guard.ask("forward-auth", "DELETE", "/tickets/7", token)

    assert answer.status_code == 200
    assert answer.headers["X-Tessera-Scopes"] == "session"
