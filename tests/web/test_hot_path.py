"""The per-request check reads and never writes; last use is recorded in batches."""

import hashlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select

from tessera.bootstrap import Runtime
from tessera.services.container import Services
from tessera.store.tables import ApiKeyRow, ApiTokenRow, DeviceSetupCodeRow
from tests.factories import key_header, make_key, make_person, make_token, token_header


@pytest.fixture
def statements(runtime: Runtime) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    event.listen(runtime.database.engine, "before_cursor_execute", record)
    yield seen
    event.remove(runtime.database.engine, "before_cursor_execute", record)


def test_authenticated_requests_write_nothing(
    api: httpx.Client, services: Services, statements: list[str]
) -> None:
    agent = make_person(services)
    key, token = make_key(services, agent), make_token(services, agent)
    statements.clear()

    for headers in (key_header(key), token_header(token)) * 5:
        assert api.get("/api/v2/me", headers=headers).status_code == 200

    # Reads happen (the first check of each credential, the change feed's polls); writes never.
    writes = [s for s in statements if s in {"INSERT", "UPDATE", "DELETE"}]
    assert statements.count("SELECT") >= 2
    assert writes == []


def test_last_use_is_written_by_the_flush(
    api: httpx.Client, services: Services, runtime: Runtime
) -> None:
    agent = make_person(services)
    key, token = make_key(services, agent), make_token(services, agent)
    api.get("/api/v2/me", headers=key_header(key))
    api.get("/api/v2/me", headers=token_header(token))

    flushed = services.usage.flush()

    assert flushed == 2
    with runtime.database.read() as session:
        key_row = session.get_one(ApiKeyRow, key.key.id)
        token_row = session.get_one(ApiTokenRow, token.token.id)
    for row in (key_row, token_row):
        assert row.last_used_at is not None
        assert row.last_used_address == "127.0.0.1"
    assert services.api_keys.get(key.key.id).last_used_at == key_row.last_used_at


def test_secrets_are_stored_only_as_keyed_digests(services: Services, runtime: Runtime) -> None:
    agent = make_person(services)
    key, token = make_key(services, agent), make_token(services, agent)
    code = services.api_tokens.create_device_setup_code(agent)

    with runtime.database.read() as session:
        digests = [
            session.get_one(ApiKeyRow, key.key.id).code_digest,
            session.get_one(ApiTokenRow, token.token.id).code_digest,
            *session.scalars(select(DeviceSetupCodeRow.code_digest)),
        ]
    for secret, digest in zip((key.code, token.code, code), digests, strict=True):
        assert len(digest) == 32
        assert secret.encode() not in digest
        assert digest != hashlib.sha256(secret.encode()).digest()  # keyed, not bare
