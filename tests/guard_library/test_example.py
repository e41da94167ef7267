"""examples/helpdesk: its route table is what its code declares, and it is guarded."""

from pathlib import Path

import httpx
from examples.helpdesk.app import create_app

from tessera.guard import Guard
from tessera.guard.fastapi import route_table
from tessera.services.container import Services
from tests.factories import key_header, make_key, make_person
from tests.guard_library.tessera_node import TesseraNode
from tests.live import serving

EXAMPLE = Path(__file__).parents[2] / "examples" / "helpdesk"


def test_the_shipped_route_table_is_the_one_the_code_declares() -> None:
    with Guard("http://127.0.0.1:9") as guard:
        written = route_table(create_app(guard))

    assert (EXAMPLE / "routes.toml").read_text() == written


def test_the_example_answers_only_what_tessera_allows(
    node: TesseraNode, services: Services
) -> None:
    person = make_person(services)
    limited = key_header(make_key(services, person, tags="tickets.*, -*.delete"))
    with Guard(node.url) as guard, serving(create_app(guard)) as url:
        listed = httpx.get(f"{url}/tickets", headers=limited)
        closed = httpx.delete(f"{url}/tickets/1", headers=limited)
        anonymous = httpx.get(f"{url}/tickets")

    assert (listed.status_code, listed.json()["caller"]["person_id"]) == (200, person.id)
    assert (closed.status_code, closed.json()["code"]) == (403, "forbidden")
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "unauthorized")
