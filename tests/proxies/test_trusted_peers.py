"""Forwarded headers count only from a trusted proxy (issue #13 §1), tested on real sockets.

Tessera here trusts 127.0.0.1; a client that connects from 127.0.0.3 is anyone else.
"""

import httpx
import pytest

from tessera.services.container import Services
from tests.factories import key_header, make_key, make_person
from tests.guard_library.tessera_node import TesseraNode

FORGED = {
    "X-Forwarded-Method": "GET",
    "X-Forwarded-Uri": "/tickets",
    "X-Original-Method": "GET",
    "X-Original-URL": "http://helpdesk.example/tickets",
}


def _ask(tessera: TesseraNode, door: str, headers: dict[str, str], peer: str) -> int:
    with httpx.Client(transport=httpx.HTTPTransport(local_address=peer)) as client:
        return client.get(f"{tessera.url}{door}", headers=headers).status_code


@pytest.mark.parametrize("door", ["/authz/forward-auth", "/authz/auth-request"])
def test_an_untrusted_peer_cannot_choose_the_request_that_is_checked(
    tessera: TesseraNode, services: Services, door: str
) -> None:
    headers = {**key_header(make_key(services, make_person(services))), **FORGED}

    from_the_proxy = _ask(tessera, door, headers, "127.0.0.1")
    from_anyone_else = _ask(tessera, door, headers, "127.0.0.3")

    assert from_the_proxy == 200  # /tickets is a route the key may call
    assert from_anyone_else == 403  # the door's own path, which no route names
