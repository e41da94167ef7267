"""Tessera, the example helpdesk API, and a real proxy in front of it asking Tessera.

Tessera is a real ``tessera serve`` on the session's database, with the helpdesk's route table;
it trusts the forwarded headers of 127.0.0.1, where the proxies connect from, and of no other
address (tests call it from 127.0.0.3 to be an untrusted peer).
"""

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from examples.helpdesk.app import create_app

from tests.guard_library.tessera_node import TesseraNode, tessera_node
from tests.live import serving
from tests.proxies.launch import PROXIES, Proxy, running_proxy


def host_port(url: str) -> str:
    return urlsplit(url).netloc


@pytest.fixture(scope="module")
def tessera(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TesseraNode]:
    with tessera_node(
        database_url,
        tmp_path_factory.mktemp("tessera"),
        TESSERA_TRUSTED_PROXIES="127.0.0.1",
    ) as node:
        yield node


@pytest.fixture(scope="module")
def helpdesk() -> Iterator[str]:
    """The example API as it runs behind a proxy: it believes the identity headers."""
    with serving(create_app()) as url:
        yield url


@pytest.fixture(scope="module", params=PROXIES)
def proxy(
    request: pytest.FixtureRequest,
    tessera: TesseraNode,
    helpdesk: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Proxy]:
    name = str(request.param)
    with running_proxy(
        name,
        tmp_path_factory.mktemp(name),
        tessera=host_port(tessera.url),
        api=host_port(helpdesk),
    ) as running:
        yield running
