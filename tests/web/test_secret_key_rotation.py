"""Changing the server's secret key (ADR 0035), across real servers on one database.

Each step starts a server on the key file as the step left it, as a restart would: codes made
under an older key keep working while the key is kept, new codes use the active one, and a
retired key's codes stop working.
"""

import secrets
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tessera.bootstrap import Runtime
from tessera.core.clock import SystemClock
from tessera.core.errors import InvalidInput
from tessera.services.secret_keys import SecretKeyService
from tessera.store.tables import ApiKeyRow
from tests.conftest import served
from tests.factories import key_header, make_key, make_oauth_client
from tests.oauth.flows import (
    WEB_CALLBACK,
    Browser,
    exchange,
    issue_code,
    make_account,
    refresh,
    signed_in,
    tokens_of,
)
from tests.secrets_seen import remember


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "tessera.secret"
    key = secrets.token_urlsafe(30)
    remember(key)
    path.write_text(key + "\n")
    return path


@pytest.fixture
def servers(database_url: str, key_file: Path) -> Iterator["_Servers"]:
    with ExitStack() as stack:
        yield _Servers(stack, database_url, key_file)


class _Servers:
    """Starts a server on the key file as it is now; all stop (and the data goes) at the end."""

    def __init__(self, stack: ExitStack, database_url: str, key_file: Path) -> None:
        self._stack, self._database_url, self._key_file = stack, database_url, key_file

    def start(self) -> tuple[Runtime, httpx.Client]:
        return self._stack.enter_context(
            served(self._database_url, secret_key=None, secret_key_file=self._key_file)
        )

    def keys(self, runtime: Runtime) -> SecretKeyService:
        return SecretKeyService(runtime.database, SystemClock(), self._key_file)


def _me(api: httpx.Client, headers: dict[str, str]) -> int:
    return api.get("/api/v2/me", headers=headers).status_code


def _stored_digest(runtime: Runtime, key_id: int) -> bytes:
    with runtime.database.read() as session:
        row = session.get(ApiKeyRow, key_id)
        assert row is not None
        return row.code_digest


def test_a_rotation_keeps_old_credentials_and_a_retirement_ends_them(servers: _Servers) -> None:
    first, first_api = servers.start()
    account = make_account(first.services)
    old_key = make_key(first.services, account.person)
    app = make_oauth_client(first.services, redirect_uris=[WEB_CALLBACK])
    browser = signed_in(Browser(str(first_api.base_url)), account)
    old_tokens = tokens_of(exchange(first_api, app, issue_code(browser, app)))
    assert len(_stored_digest(first, old_key.key.id)) == 32  # version 1: as before versions
    uuid_before = first.services.site.helpdesk_uuid

    # Step 1 (several servers): the new key is known everywhere before anyone uses it.
    version = servers.keys(first).add()
    assert version == 2
    staged, staged_api = servers.start()
    made_while_staged = make_key(staged.services, account.person)
    assert len(_stored_digest(staged, made_while_staged.key.id)) == 32
    assert _me(first_api, key_header(made_while_staged)) == 200

    # Step 2: active. New codes use key 2; everything made under key 1 still works.
    servers.keys(first).activate(2)
    second, second_api = servers.start()
    new_key = make_key(second.services, account.person)
    assert _stored_digest(second, new_key.key.id)[:1] == b"\x02"
    assert len(_stored_digest(second, new_key.key.id)) == 33
    assert _me(second_api, key_header(new_key)) == 200
    assert _me(second_api, key_header(old_key)) == 200
    assert _me(staged_api, key_header(new_key)) == 200  # the staged server knew key 2 already
    refreshed = tokens_of(refresh(second_api, app, old_tokens.refresh))
    assert _me(second_api, {"Authorization": f"Bearer {refreshed.access}"}) == 200
    assert second.services.site.helpdesk_uuid == uuid_before
    browser.http.base_url = second_api.base_url
    assert browser.http.get("/console/account").status_code == 200  # a session of key 1

    # What key 1 still checks is counted; retiring it is refused until forced.
    status = {entry.version: entry for entry in servers.keys(second).status()}
    assert status[1].in_use["api keys"] == 2
    assert status[1].in_use["web sessions"] == 1
    assert status[2].in_use["api keys"] == 1
    assert status[2].in_use["oauth refresh tokens"] == 1
    assert status[1].in_use["oauth client secrets"] == 1
    with pytest.raises(InvalidInput):
        servers.keys(second).retire(1)
    servers.keys(second).retire(1, force=True)

    third, third_api = servers.start()
    assert _me(third_api, key_header(old_key)) == 401
    assert _me(third_api, key_header(made_while_staged)) == 401
    assert _me(third_api, key_header(new_key)) == 200
    browser.http.base_url = third_api.base_url
    assert browser.http.get("/console/account").status_code == 303  # to the sign-in page
    # The refresh token is of key 2, but the app's secret was of key 1: it must get a new one.
    assert refresh(third_api, app, refreshed.refresh).status_code == 401
    lost = servers.keys(third).orphaned()
    assert lost["api keys"] == 2
    assert lost["oauth client secrets"] == 1
    browser.close()


def test_the_environment_may_hold_the_versioned_form(database_url: str) -> None:
    old, new = secrets.token_urlsafe(30), secrets.token_urlsafe(30)
    remember(old, new)
    with (
        served(database_url, secret_key=f"{old}\n") as (before, before_api),
        served(database_url, secret_key=f"1 verify {old}\n2 active {new}\n") as (both, both_api),
        served(database_url, secret_key=f"# only the new\n2 active {new}\n") as (_, after_api),
    ):
        account = make_account(before.services)
        made_under_old = make_key(before.services, account.person)
        made_under_new = make_key(both.services, account.person)
        assert _me(both_api, key_header(made_under_old)) == 200
        assert _me(after_api, key_header(made_under_new)) == 200
        assert _me(after_api, key_header(made_under_old)) == 401
        assert _me(before_api, key_header(made_under_new)) == 401
