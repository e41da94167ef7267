"""What one grant costs the database, and the reads it saves doing so (ADR 0015).

A code exchange or a refresh is one write transaction of five statements: the code (or refresh
token) is read together with its grant, person and client, and the client's secret is checked
against the digest read there. These tests pin that down, and that reading ahead changes no
answer: a code presented by the wrong client, or with a wrong secret, is not spent.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import event

from tessera.bootstrap import Runtime
from tessera.oauth.messages import OAuthRequest
from tessera.oauth.server import TesseraAuthorizationServer
from tessera.services.container import Services
from tessera.services.oauth_clients import IssuedOAuthClient
from tests.factories import make_oauth_client
from tests.oauth.flows import (
    WEB_CALLBACK,
    Browser,
    exchange,
    issue_code,
    issue_tokens,
    me,
    pkce_pair,
    tokens_of,
)
from tests.secrets_seen import remember
from tests.web.envelopes import data_of


class Trips:
    def __init__(self) -> None:
        self.statements: list[str] = []
        self.transactions = 0


@contextmanager
def counted(runtime: Runtime) -> Iterator[Trips]:
    """The statements and transactions this thread sends to the database inside the block."""
    trips, caller = Trips(), threading.get_ident()
    engine = runtime.database.engine

    def on_statement(_: Any, __: Any, statement: str, *rest: Any) -> None:
        # SQLite's BEGIN IMMEDIATE is a statement there; on PostgreSQL the driver sends BEGIN.
        if threading.get_ident() == caller and not statement.startswith("BEGIN"):
            trips.statements.append(statement)

    def on_begin(_: Any) -> None:
        if threading.get_ident() == caller:
            trips.transactions += 1

    event.listen(engine, "before_cursor_execute", on_statement)
    event.listen(engine, "begin", on_begin)
    try:
        yield trips
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
        event.remove(engine, "begin", on_begin)


def token_request(issued: IssuedOAuthClient, **form: str) -> OAuthRequest:
    """A token request as the web layer hands it over, authenticated with client_secret_post."""
    assert issued.secret is not None
    fields = {**form, "client_id": issued.client.client_id, "client_secret": issued.secret}
    return OAuthRequest(
        method="POST",
        url="https://helpdesk.test/oauth/token",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        form={name: [value] for name, value in fields.items()},
    )


def test_a_code_exchange_is_one_transaction_of_five_statements(
    runtime: Runtime, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    verifier, challenge = pkce_pair()
    code = issue_code(browser, web_app, challenge=challenge)
    request = token_request(
        web_app,
        grant_type="authorization_code",
        code=code,
        redirect_uri=WEB_CALLBACK,
        code_verifier=verifier,
    )

    with counted(runtime) as trips:
        answer = runtime.oauth.token(request)

    assert answer.status == 200, answer.body
    assert trips.transactions == 1
    # The code with its grant, person and client; spending it; the token, its audit event and
    # the refresh token.
    assert len(trips.statements) == 5, trips.statements


def test_a_refresh_is_one_transaction_of_five_statements(
    runtime: Runtime, api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    tokens = issue_tokens(browser, api, web_app)
    request = token_request(web_app, grant_type="refresh_token", refresh_token=tokens.refresh)

    with counted(runtime) as trips:
        answer = runtime.oauth.token(request)

    assert answer.status == 200, answer.body
    assert trips.transactions == 1
    # The refresh token with its grant, person and client; the token, its audit event, the new
    # refresh token; the old one marked rotated.
    assert len(trips.statements) == 5, trips.statements


@pytest.mark.parametrize("thief_is_public", [False, True], ids=["confidential", "public"])
def test_a_code_tried_by_another_client_still_works_for_its_own(
    api: httpx.Client,
    services: Services,
    browser: Browser,
    web_app: IssuedOAuthClient,
    thief_is_public: bool,
) -> None:
    thief = make_oauth_client(
        services, name="Thief", redirect_uris=[WEB_CALLBACK], public=thief_is_public
    )
    verifier, challenge = pkce_pair()
    code = issue_code(browser, web_app, challenge=challenge)
    assert exchange(api, thief, code, verifier=verifier).status_code == 400

    data_of(me(api, tokens_of(exchange(api, web_app, code, verifier=verifier)).access))


def post_token(api: httpx.Client, client_id: str, secret: str, **form: str) -> httpx.Response:
    return api.post(
        "/oauth/token",
        content=urlencode({**form, "client_id": client_id, "client_secret": secret}),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


def test_a_wrong_secret_or_client_id_spends_nothing(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    verifier, challenge = pkce_pair()
    code = issue_code(browser, web_app, challenge=challenge)
    secret = web_app.secret or ""
    wrong_secret = "WRONG" + secret[5:]
    client = web_app.client
    wrong_random = ("b" if client.random_id[0] == "a" else "a") + client.random_id[1:]
    remember(wrong_secret)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": WEB_CALLBACK,
        "code_verifier": verifier,
    }

    # Authlib answers 401 for a known client's wrong secret, 400 for an unknown client_id.
    for client_id, presented, status in [
        (client.client_id, wrong_secret, 401),
        (f"{client.id}_{wrong_random}", secret, 400),
    ]:
        answer = post_token(api, client_id, presented, **form)
        assert (answer.status_code, answer.json()["error"]) == (status, "invalid_client")

    data_of(me(api, tokens_of(post_token(api, client.client_id, secret, **form)).access))


def test_a_rotated_secret_counts_at_the_token_endpoint_at_once(
    api: httpx.Client, services: Services, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    tokens = issue_tokens(browser, api, web_app)
    old = web_app.secret or ""
    new = services.oauth_clients.rotate_secret(web_app.client.id).secret or ""
    client_id = web_app.client.client_id
    form = {"grant_type": "refresh_token", "refresh_token": tokens.refresh}

    refused = post_token(api, client_id, old, **form)
    assert (refused.status_code, refused.json()["error"]) == (401, "invalid_client")

    data_of(me(api, tokens_of(post_token(api, client_id, new, **form)).access))


def test_an_out_of_range_client_id_is_an_unknown_client(
    api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    verifier, challenge = pkce_pair()
    code = issue_code(browser, web_app, challenge=challenge)
    form = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier}
    random_id = web_app.client.random_id

    answer = post_token(api, f"{2**64}_{random_id}", web_app.secret or "", **form)

    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_client")


def test_without_reading_ahead_the_server_reads_the_code_and_token_itself(
    runtime: Runtime, api: httpx.Client, browser: Browser, web_app: IssuedOAuthClient
) -> None:
    """Authlib always asks for the client first; should it not, nothing is skipped."""
    tokens = issue_tokens(browser, api, web_app)
    code = issue_code(browser, web_app, challenge=pkce_pair()[1])
    with runtime.database.write() as session:
        server = TesseraAuthorizationServer(session, runtime.oauth.context)
        client = server.query_client(web_app.client.client_id)
        assert client is not None
        spent = server.storage.spend_code(code, client)
        usable = server.storage.usable_refresh_token(tokens.refresh)

    assert spent is not None
    assert usable is not None
    assert spent.person == usable.person
    assert usable.token.grant.client_id == web_app.client.id
