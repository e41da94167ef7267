"""``GET /api/v2/me`` served before FastAPI answers exactly as the FastAPI route does (ADR 0010).

It skips FastAPI's routing and dependency solving, not the general check (ADR 0027): every kind
of request below gets the same status, headers and body from both.
"""

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tessera.app import create_app
from tessera.bootstrap import Runtime
from tessera.core.changes import ChangeKind, CredentialChange
from tessera.core.client_info import parse_client_type
from tessera.core.errors import InvalidApiToken
from tessera.core.ids import PersonId
from tessera.core.people import Person
from tessera.core.principals import AuthMethod, Principal
from tessera.services.authenticate import PresentedRequest
from tessera.services.container import Services
from tessera.web.api.me import MeOut, me_body
from tessera.web.api.models import PersonOut
from tessera.web.application import TesseraApp
from tessera.web.envelope import Envelope
from tests.clock import ManualClock
from tests.conftest import extra_runtime
from tests.factories import key_header, make_key, make_person, make_token, token_header
from tests.live import serving

ORIGIN = "https://app.example.test"
#: Differ between any two responses: not part of the comparison.
VOLATILE = {"date", "x-deskpro-request-id"}


def person(**overrides: Any) -> Person:
    """An unusual person (quotes, non-ASCII, HTML in names), with ``overrides`` applied."""
    base = Person(
        id=PersonId(7),
        name='Zoë "Q" O\'Brien',
        first_name="Zoë",
        last_name="O'Brien",
        display_name="Zoë </script> \u2028",
        primary_email="zoe@example.test",
        emails=("zoe@example.test", "z@example.test"),
        is_agent=True,
        is_admin=True,
        is_disabled=False,
        timezone="Europe/Zürich",
        language_id=3,
        phone=None,
        identity_provider="saml",
        has_password=False,
        created_at=datetime(2026, 1, 2, 3, 4, 5, 67, tzinfo=UTC),
    )
    return replace(base, **overrides)


@pytest.mark.parametrize(
    ("who", "client_type"),
    [
        (person(), None),
        (person(created_at=datetime(2026, 1, 2, tzinfo=UTC), phone="+41 1"), "iOS (v1.0.92)"),
        (person(emails=()), "weird\tclient\x7f ÿ (v)"),
    ],
)
def test_the_body_is_the_models_json_byte_for_byte(who: Person, client_type: str | None) -> None:
    principal = Principal(person=who, auth_method=AuthMethod.API_TOKEN, app_id="9_abc")
    model = Envelope[MeOut](
        data=MeOut(
            auth_method="api_token",
            app_id="9_abc",
            person_id=who.id,
            person=PersonOut.of(who),
            client_type=parse_client_type(client_type)[0],
            client_version=parse_client_type(client_type)[1],
        )
    )

    assert me_body(principal, client_type) == model.model_dump_json().encode()


@pytest.fixture
def cached_runtime(database_url: str, clock: ManualClock) -> Iterator[Runtime]:
    with extra_runtime(database_url, clock=clock, credential_cache_size=100) as runtime:
        yield runtime


@pytest.fixture
def hot_and_plain(cached_runtime: Runtime) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """Two servers on one runtime: the hot path, and FastAPI's own route (hot path off)."""
    plain_app = create_app(runtime=cached_runtime)
    assert isinstance(plain_app, TesseraApp)
    plain_app.hot_path = None
    with (
        serving(create_app(runtime=cached_runtime)) as hot_url,
        serving(plain_app) as plain_url,
        httpx.Client(base_url=hot_url) as hot,
        httpx.Client(base_url=plain_url) as plain,
    ):
        yield hot, plain


def comparable(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = [(k, v) for k, v in response.headers.multi_items() if k not in VOLATILE]
    return response.status_code, sorted(headers), response.content


def test_every_kind_of_request_gets_the_same_answer_from_both_routes(
    hot_and_plain: tuple[httpx.Client, httpx.Client], cached_runtime: Runtime
) -> None:
    services: Services = cached_runtime.services
    agent, other = make_person(services), make_person(services)
    key, token = key_header(make_key(services, agent)), token_header(make_token(services, agent))
    superuser = key_header(make_key(services, agent, superuser=True))
    limited = key_header(make_key(services, agent, tags="tickets.*"))
    admin_superuser = key_header(make_key(services, agent, superuser=True, admin_api=True))
    bare_token = token_header(make_token(services, agent))["Authorization"].split(" ", 1)[1]
    cases: list[tuple[str, str, dict[str, str]]] = [
        ("GET", "/api/v2/me", key),
        ("GET", "/api/v2/me", token),
        ("GET", "/api/v2/20161122/me", token),
        ("GET", "/api/v2/me", {**token, "X-DeskPRO-API-ClientType": "Android (v2.1)"}),
        ("GET", "/api/v2/me", {**superuser, "X-DeskPRO-Agent-ID": str(other.id)}),
        ("GET", "/api/v2/me", {**superuser, "X-DeskPRO-Agent-ID": "x"}),
        ("GET", "/api/v2/me", {**key, "Origin": ORIGIN}),
        ("GET", "/api/v2/me", {**token, "Origin": ORIGIN}),  # no exchange token crosses
        ("GET", "/api/v2/me", limited),
        ("GET", "/api/v2/me", {}),
        ("GET", "/api/v2/me", {"Authorization": "token 1"}),
        ("GET", "/api/v2/me", {"Authorization": "key 99999999:ABC"}),
        ("GET", "/api/v2/me", {"Authorization": "nonsense a b"}),
        ("GET", "/api/v2/me", superuser),
        ("GET", "/api/v2/me", admin_superuser),
        ("GET", "/api/v2/me", {"Authorization": f"Bearer {bare_token}"}),
        ("GET", "/api/v2/me", {"Authorization": f"TOKEN  {bare_token}"}),
        ("GET", "/api/v2/me", {"Authorization": f"token {bare_token},"}),
        ("GET", "/api/v2/me", {"Authorization": f"token {bare_token}x"}),
        ("GET", "/api/v2/me", {"X-DeskPRO-API-Token": bare_token}),
        ("GET", "/api/v2/me", {**token, "X-DeskPRO-App-ID": "app-1"}),
        ("GET", "/api/v2/me", {**token, "Cookie": "unrelated=1"}),
        ("GET", "/api/v2/me", {**token, "X-DeskPRO-Client-Request-ID": "abc-123"}),
        ("GET", "/api/v2/me", {**token, "X-DeskPRO-Client-Request-ID": "not valid!"}),
        ("GET", "/api/v2/me?page=1", token),
        ("GET", "/api/v2/me?API-TOKEN=1:abc", {}),
        ("HEAD", "/api/v2/me", token),
        ("POST", "/api/v2/me", token),
        ("OPTIONS", "/api/v2/me", {"Origin": ORIGIN, "Access-Control-Request-Method": "GET"}),
    ]
    hot, plain = hot_and_plain
    for method, path, headers in cases:
        for _ in range(2):  # the second time from the cache, where it applies
            expected = comparable(plain.request(method, path, headers=headers))
            answer = hot.request(method, path, headers=headers)
            assert comparable(answer) == expected, (method, path, headers)
            if "X-DeskPRO-Client-Request-ID" in headers:  # the client's id comes back, or not
                client_id = headers["X-DeskPRO-Client-Request-ID"]
                assert (answer.headers["X-DeskPRO-Request-ID"] == f"{client_id}-c") == (
                    client_id == "abc-123"
                )


def test_the_server_fills_the_cache_and_a_change_empties_it(
    hot_and_plain: tuple[httpx.Client, httpx.Client], cached_runtime: Runtime, clock: ManualClock
) -> None:
    services = cached_runtime.services
    issued = make_token(services, make_person(services))
    hot, _ = hot_and_plain
    assert hot.get("/api/v2/me", headers=token_header(issued)).status_code == 200
    presented = PresentedRequest(authorization=f"token {issued.token_string}")
    assert services.authenticator.try_cached(presented) is not None  # what the server cached
    assert services.credential_cache.api_token(issued.token.id, clock.now()) is not None

    services.api_tokens.revoke(issued.token.id)
    services.credential_cache.apply(CredentialChange(ChangeKind.API_TOKEN, issued.token.id))

    assert hot.get("/api/v2/me", headers=token_header(issued)).status_code == 401
    assert services.credential_cache.api_token(issued.token.id, clock.now()) is None
    with pytest.raises(InvalidApiToken):  # what the database refused is refused from memory
        services.authenticator.try_cached(presented)
