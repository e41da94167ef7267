"""Fixtures of the OAuth protocol tests: people with passwords, their browsers, a web app."""

from collections.abc import Callable, Iterator

import pytest

from tessera.services.container import Services
from tessera.services.oauth_clients import IssuedOAuthClient
from tests.factories import make_oauth_client
from tests.oauth.flows import WEB_CALLBACK, Account, Browser, make_account, signed_in


@pytest.fixture
def account(services: Services) -> Account:
    """An active agent who signs in with a password."""
    return make_account(services)


@pytest.fixture
def new_browser(server: str) -> Iterator[Callable[[], Browser]]:
    """Opens fresh browsers (no cookies yet); all are closed after the test."""
    opened: list[Browser] = []

    def open_browser() -> Browser:
        opened.append(Browser(server))
        return opened[-1]

    yield open_browser
    for browser in opened:
        browser.close()


@pytest.fixture
def browser(new_browser: Callable[[], Browser], account: Account) -> Browser:
    """The account's browser, signed in."""
    return signed_in(new_browser(), account)


@pytest.fixture
def web_app(services: Services) -> IssuedOAuthClient:
    """A confidential web app (it has a secret) with one https redirect URI."""
    return make_oauth_client(services, name="Web App", redirect_uris=[WEB_CALLBACK])
