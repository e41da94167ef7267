"""A Tessera whose issuer is the very address it serves on, as strict clients demand."""

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tessera.app import create_app
from tessera.services.container import Services
from tests.conftest import extra_runtime
from tests.live import loopback_socket, serving
from tests.oauth.flows import Account, Browser, make_account, signed_in


@dataclass(frozen=True, slots=True)
class Issuer:
    """A real server on loopback whose public URL (so its issuer) is its own address."""

    url: str
    services: Services


@pytest.fixture
def issuer(database_url: str) -> Iterator[Issuer]:
    # A strict client compares the discovery document's issuer with the URL it was given, and
    # every endpoint it is told about is then called as given: the session server's public URL
    # (http://helpdesk.test) cannot serve, so this one learns its address before it starts.
    bound, url = loopback_socket()
    with (
        extra_runtime(database_url, public_url=url) as runtime,
        serving(create_app(runtime=runtime), bound=bound) as served,
    ):
        assert served == url
        yield Issuer(url, runtime.services)


@pytest.fixture
def account(issuer: Issuer) -> Account:
    return make_account(issuer.services)


@pytest.fixture
def browser(issuer: Issuer, account: Account) -> Iterator[Browser]:
    """The account's browser, signed in on the issuer."""
    opened = Browser(issuer.url)
    try:
        yield signed_in(opened, account)
    finally:
        opened.close()
