"""WSGI, Flask, Django and FastAPI's dependencies, each guarded against a real Tessera.

The WSGI apps run under wsgiref on loopback, the FastAPI app under uvicorn; httpx calls them.
"""

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from flask import Flask, g

from tessera.guard import Guard
from tessera.guard.fastapi import route_table
from tessera.guard.flask import TesseraFlask
from tessera.services.container import Services
from tests.factories import (
    key_header,
    make_key,
    make_oauth_client,
    make_person,
    make_token,
    token_header,
)
from tests.guard_library.apps import fastapi_app, serving_wsgi, wsgi_app
from tests.guard_library.tessera_node import TesseraNode
from tests.live import serving
from tests.oauth.flows import WEB_CALLBACK, Browser, bearer, granted, make_account, signed_in


def flask_app(guard: Guard) -> Any:
    app = Flask("guarded")
    TesseraFlask(app, guard)

    @app.get("/tickets")
    def tickets() -> dict[str, Any]:
        return {"person_id": g.tessera.person_id, "credential": g.tessera.credential}

    @app.delete("/tickets/<int:ticket_id>")
    def close(ticket_id: int) -> dict[str, Any]:
        return {"person_id": g.tessera.person_id, "credential": g.tessera.credential}

    return app


def django_app(guard: Guard) -> Any:
    import django
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler

    if not settings.configured:
        settings.configure(
            ROOT_URLCONF="tests.guard_library.django_site",
            ALLOWED_HOSTS=["127.0.0.1"],
            MIDDLEWARE=["tessera.guard.django.TesseraMiddleware"],
            SECRET_KEY="a-django-secret-for-tests-only",
        )
        django.setup()
    settings.TESSERA_GUARD = guard
    return WSGIHandler()


SYNC_APPS: dict[str, Callable[[Guard], Any]] = {
    "wsgi": wsgi_app,
    "flask": flask_app,
    "django": django_app,
}


@pytest.fixture(params=sorted(SYNC_APPS))
def wsgi_api(request: pytest.FixtureRequest, node: TesseraNode) -> Iterator[httpx.Client]:
    with (
        Guard(node.url) as guard,
        serving_wsgi(SYNC_APPS[request.param](guard)) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        yield client


def test_a_wsgi_app_lets_in_refuses_and_tags_as_tessera_says(
    wsgi_api: httpx.Client, services: Services
) -> None:
    person = make_person(services)
    limited = key_header(make_key(services, person, tags="tickets.*, -*.delete"))
    token = token_header(make_token(services, person))

    anonymous = wsgi_api.get("/tickets")
    listed = wsgi_api.get("/tickets", headers=limited)
    closed = wsgi_api.delete("/tickets/4", headers=limited)
    by_token = wsgi_api.get("/tickets", headers=token)

    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "unauthorized")
    assert anonymous.headers["www-authenticate"]
    assert (listed.status_code, listed.json()["person_id"]) == (200, person.id)
    assert (closed.status_code, closed.json()["code"]) == (403, "forbidden")
    assert by_token.json()["credential"].startswith("token:")


def test_a_wsgi_apps_cached_answer_makes_no_call(
    wsgi_api: httpx.Client, services: Services, node: TesseraNode
) -> None:
    headers = key_header(make_key(services, make_person(services)))
    assert wsgi_api.get("/tickets", headers=headers).status_code == 200
    calls = node.decisions()

    statuses = [wsgi_api.get("/tickets", headers=headers).status_code for _ in range(3)]

    assert statuses == [200] * 3
    assert node.decisions() == calls


@pytest.fixture
def dependency_api(node: TesseraNode) -> Iterator[httpx.Client]:
    with (
        Guard(node.url) as guard,
        serving(fastapi_app(guard)) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        yield client


def test_fastapi_dependencies_check_without_the_middleware(
    dependency_api: httpx.Client, services: Services
) -> None:
    person = make_person(services)
    limited = key_header(make_key(services, person, tags="tickets.*, -*.delete"))
    token = token_header(make_token(services, person))

    anonymous = dependency_api.get("/tickets")
    listed = dependency_api.get("/tickets", headers=limited)
    closed = dependency_api.delete("/tickets/1", headers=limited)
    viewed_by_token = dependency_api.get("/tickets/1", headers=token)

    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "unauthorized")
    assert (listed.status_code, listed.json()["person_id"]) == (200, person.id)
    assert (closed.status_code, closed.json()["code"]) == (403, "forbidden")
    assert viewed_by_token.json()["credential"].startswith("token:")


def test_a_missing_scope_is_rfc_6750s_insufficient_scope(
    node: TesseraNode, services: Services
) -> None:
    from typing import Annotated

    from fastapi import FastAPI, Security

    from tessera.guard import Identity
    from tessera.guard.fastapi import caller, install

    app = FastAPI()
    with Guard(node.url) as guard:
        install(app, guard)

        @app.get("/tickets")
        async def tickets(who: Annotated[Identity, Security(caller, scopes=["admin"])]) -> int:
            return who.person_id

        token = token_header(make_token(services, make_person(services)))
        with serving(app) as url:
            refused = httpx.get(f"{url}/tickets", headers=token)

    assert (refused.status_code, refused.json()["code"]) == (403, "insufficient_scope")
    assert refused.headers["www-authenticate"] == 'Bearer error="insufficient_scope", scope="admin"'


def test_scopes_a_dependency_asks_for_are_read_as_tag_patterns(
    node: TesseraNode, services: Services
) -> None:
    # ADR 0042: a token granted tickets.* holds tickets.tickets.list; -*.delete takes away.
    from typing import Annotated

    from fastapi import FastAPI, Security

    from tessera.guard import Identity
    from tessera.guard.fastapi import caller, install

    client = make_oauth_client(services, redirect_uris=[WEB_CALLBACK])
    browser = signed_in(Browser(node.url), make_account(services))
    try:
        with httpx.Client(base_url=node.url, timeout=60) as tessera:
            body = granted(browser, tessera, client, "tickets.* -*.delete")
    finally:
        browser.close()
    app = FastAPI()
    with Guard(node.url) as guard:
        install(app, guard)

        @app.get("/tickets")
        async def tickets(
            who: Annotated[Identity, Security(caller, scopes=["tickets.tickets.list"])],
        ) -> int:
            return who.person_id

        @app.get("/tickets/{ticket_id}")
        async def ticket(
            ticket_id: int,
            who: Annotated[Identity, Security(caller, scopes=["tickets.tickets.delete"])],
        ) -> int:
            return who.person_id

        with serving(app) as url:
            listed = httpx.get(f"{url}/tickets", headers=bearer(body["access_token"]))
            refused = httpx.get(f"{url}/tickets/1", headers=bearer(body["access_token"]))

    assert listed.status_code == 200, listed.text
    assert (refused.status_code, refused.json()["code"]) == (403, "insufficient_scope")
    assert refused.headers["www-authenticate"] == (
        'Bearer error="insufficient_scope", scope="tickets.tickets.delete"'
    )


def test_the_route_table_is_written_from_the_code(node: TesseraNode) -> None:
    with Guard(node.url) as guard:
        written = route_table(fastapi_app(guard))

    assert written.splitlines()[1:] == [
        'default = "refuse"',
        "",
        "[[route]]",
        'method = "GET"',
        'path = "/tickets"',
        'tags = ["tickets.tickets.list"]',
        "",
        "[[route]]",
        'method = "DELETE"',
        'path = "/tickets/{ticket_id}"',
        'tags = ["tickets.tickets.delete"]',
    ]
