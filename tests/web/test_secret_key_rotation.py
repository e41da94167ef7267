"""Changing the server's secret key (ADR 0035), across real servers on one database.

Each step starts a server on the key file as the step left it, as a restart would: codes made
under an older key keep working while the key is kept, new codes use the active one, and a
retired key's codes stop working.
"""

import json
import secrets
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tessera.bootstrap import Runtime
from tessera.core.clock import SystemClock
from tessera.core.errors import InvalidInput
from tessera.core.secret_keys import SecretKeyRing
from tessera.services.secret_keys import SecretKeyService
from tessera.services.user_source_settings import SourceSettings
from tessera.services.user_sources import UserSourceService
from tessera.store.tables import ApiKeyRow, Base, SigningKeyRow, UserSourceRow
from tests.cli.conftest import Cli, cli_environment
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
from tests.oauth.test_openid import openid_tokens, verified_claims
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

    def cli(self, *args: str) -> dict[str, object]:
        """``tessera secret-keys ARGS --json`` on the key file, as an operator runs it."""
        cli = Cli(cli_environment(self._database_url))
        env = {"TESSERA_SECRET_KEY": None, "TESSERA_SECRET_KEY_FILE": str(self._key_file)}
        result = cli("secret-keys", *args, "--json", env=env)
        assert result.exit_code == 0, result.output
        answer: dict[str, object] = json.loads(result.stdout)
        return answer


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


def _id_token_kid(runtime: Runtime, api: httpx.Client) -> str:
    """Sign in, connect a new app asking for ``openid``: the kid of its checked ID token."""
    account = make_account(runtime.services)
    app = make_oauth_client(runtime.services, redirect_uris=[WEB_CALLBACK])
    browser = signed_in(Browser(str(api.base_url)), account)
    try:
        body = openid_tokens(browser, api, app)
    finally:
        browser.close()
    header, claims = verified_claims(api, str(body["id_token"]))
    assert claims["sub"] == str(account.person.id)
    return str(header["kid"])


def _sealed_versions(runtime: Runtime) -> set[int]:
    with runtime.database.read() as session:
        keys = session.query(SigningKeyRow.secret_key_version).all()
        sources = session.query(UserSourceRow.secret_key_version).all()
    return {version for (version,) in [*keys, *sources] if version is not None}


def test_retiring_a_key_seals_its_sealed_values_again_and_loses_none(
    servers: _Servers, key_file: Path
) -> None:
    """The defect of ADR 0035's amendment: rotate, retire --force, restart; ID tokens are still
    signed (by the same keys) and checked by the JWKS, and the provider's secret still opens."""
    first, first_api = servers.start()
    kid_before = _id_token_kid(first, first_api)
    # A retired signing key is sealed too: it must survive as well.
    first.oauth.context.signing_keys.rotate()
    client_secret = secrets.token_urlsafe(24)
    remember(client_secret)
    source = first.services.user_sources.create(
        SourceSettings(
            title="Staff login",
            issuer="https://login.example.test",
            client_id="tessera",
            client_secret=client_secret,
        )
    )
    assert _sealed_versions(first) == {1}

    assert servers.cli("rotate")["version"] == 2
    second, second_api = servers.start()  # the restart: key 2 is active everywhere
    kid_signing = _id_token_kid(second, second_api)
    listed = servers.cli("list")["keys"]
    assert isinstance(listed, list)
    assert listed[0]["sealed"] == {"id token signing keys": 4, "identity provider secrets": 1}
    assert listed[1]["sealed"] == {}

    retired = servers.cli("retire", "1", "--force")
    assert retired["resealed"] == {"id token signing keys": 4, "identity provider secrets": 1}
    assert retired["unreadable"] == {}
    assert "1 verify" not in key_file.read_text()

    third, third_api = servers.start()  # only key 2 now
    assert _sealed_versions(third) == {2}
    assert third.oauth.context.signing_keys.check() == []
    assert _id_token_kid(third, third_api) == kid_signing  # the same key pair signs
    published = {key["kid"] for key in third_api.get("/oauth/jwks").json()["keys"]}
    assert {kid_before, kid_signing} <= published  # the retired one still until its tokens end
    assert (
        third.services.user_sources.client_secret(third.services.user_sources.get(source.id))
        == client_secret
    )
    # Credentials of key 1 ended (forced); nothing sealed did.
    lost = servers.cli("list")["under_retired_keys"]
    assert isinstance(lost, dict)
    assert lost["oauth client secrets"] == 1
    assert not {"id token signing keys", "identity provider secrets"} & set(lost)


def test_a_sealed_value_that_never_opened_refuses_the_retirement_unless_forced(
    servers: _Servers, key_file: Path
) -> None:
    first, _ = servers.start()
    # A source sealed as version 1 by a process that held another value under that number.
    other = secrets.token_urlsafe(30)
    remember(other)
    stray = UserSourceService(first.database, SystemClock(), SecretKeyRing.single(other.encode()))
    source = stray.create(
        SourceSettings(
            title="Stray", issuer="https://login.example.test", client_id="c", client_secret="x"
        )
    )
    servers.cli("rotate")
    keys = servers.keys(first)

    with pytest.raises(InvalidInput) as refused:
        keys.retire(1)
    (problem,) = refused.value.problems.fields["version"].errors
    assert problem.code == "unreadable_sealed_values"
    assert "1 identity provider secrets" in problem.message
    assert "1 verify" in key_file.read_text()  # nothing changed: not the file,
    assert _sealed_versions(first) == {1}  # nor the signing keys re-sealed before the refusal

    forced = keys.retire(1, force=True)
    assert forced.unreadable == {"identity provider secrets": 1}
    assert forced.resealed == {"id token signing keys": 2}
    assert keys.orphaned() == {"identity provider secrets": 1}
    assert first.services.user_sources.get(source.id).secret_key_version == 1


def test_every_column_sealed_under_a_secret_key_is_one_a_retirement_reseals() -> None:
    """A new sealed column (a SAML source's private key, say) must join the re-sealing of
    ``SecretKeyService._reseal`` and the counts of store/key_versions.py, then this list.
    ``shown_once`` seals under the browser's cookie, not a secret key: nothing to re-seal."""
    sealed = {
        (table.name, column.name)
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if "sealed" in column.name and table.name != "shown_once"
    }
    assert sealed == {("signing_keys", "sealed"), ("user_sources", "client_secret_sealed")}
