"""The per-request check and the new code format (ADR 0037), on real databases.

Codes issued before the format changed (25 symbols, no prefix) keep working unchanged; a code
that claims the new format but fails its checksum is refused with exactly the error any wrong
code gets, before any read.
"""

import asyncio
from collections.abc import Iterator

import pytest

from tessera.bootstrap import Runtime
from tessera.core.credential_codes import API_KEY_CODE, API_TOKEN_CODE
from tessera.core.credentials import CODE_ALPHABET
from tessera.core.errors import InvalidApiKey, InvalidApiToken
from tessera.core.principals import AuthMethod, Principal
from tessera.services.authenticate import PresentedRequest
from tessera.store.tables import ApiKeyRow, ApiTokenRow
from tests.clock import ManualClock
from tests.conftest import extra_runtime, select_statements
from tests.factories import make_key, make_person, make_token
from tests.old_codes import with_old_code


@pytest.fixture(params=["cache on", "cache off"])
def runtime(
    request: pytest.FixtureRequest, database_url: str, clock: ManualClock
) -> Iterator[Runtime]:
    size = 100 if request.param == "cache on" else 0
    with extra_runtime(database_url, clock=clock, credential_cache_size=size) as made:
        yield made


def check(runtime: Runtime, authorization: str) -> Principal:
    request = PresentedRequest(authorization=authorization, client_address="192.0.2.7")
    authenticator = runtime.services.authenticator
    first = authenticator.authenticate(request)
    second = asyncio.run(authenticator.verify_async(request))  # the event loop's way
    assert (first.person.id, first.auth_method) == (second.person.id, second.auth_method)
    return authenticator.authenticate(request)  # a cache hit when the cache is on


def test_keys_and_tokens_of_the_old_format_still_authenticate(runtime: Runtime) -> None:
    services = runtime.services
    agent = make_person(services)
    key, token = make_key(services, agent), make_token(services, agent)
    old_key = with_old_code(runtime, ApiKeyRow, key.key.id)
    old_token = with_old_code(runtime, ApiTokenRow, token.token.id)

    as_key = check(runtime, f"key {key.key.id}:{old_key}")
    as_token = check(runtime, f"token {token.token.id}:{old_token}")

    assert (as_key.person.id, as_key.auth_method) == (agent.id, AuthMethod.API_KEY)
    assert (as_token.person.id, as_token.auth_method) == (agent.id, AuthMethod.API_TOKEN)


def test_new_codes_authenticate(runtime: Runtime) -> None:
    services = runtime.services
    agent = make_person(services)
    key, token = make_key(services, agent), make_token(services, agent)

    assert key.code.startswith(API_KEY_CODE.prefix)
    assert len(key.code) == API_KEY_CODE.length
    assert token.code.startswith(API_TOKEN_CODE.prefix)
    assert check(runtime, f"key {key.key_string}").api_key_id == key.key.id
    assert check(runtime, f"token {token.token_string}").api_token_id == token.token.id


def one_symbol_changed(code: str) -> str:
    last = code[-1]
    return code[:-1] + next(symbol for symbol in CODE_ALPHABET if symbol != last)


def refusal(runtime: Runtime, authorization: str) -> tuple[type[Exception], type[Exception]]:
    """The error of the synchronous check and of the event loop's, for one header."""
    request = PresentedRequest(authorization=authorization, client_address="192.0.2.7")
    authenticator = runtime.services.authenticator
    with pytest.raises((InvalidApiKey, InvalidApiToken)) as in_thread:
        authenticator.authenticate(request)
    with pytest.raises((InvalidApiKey, InvalidApiToken)) as on_loop:
        asyncio.run(authenticator.verify_async(request))
    return type(in_thread.value), type(on_loop.value)


def test_a_wrong_checksum_is_refused_as_any_wrong_code_is_and_reads_nothing(
    runtime: Runtime,
) -> None:
    services = runtime.services
    agent = make_person(services)
    key, token = make_key(services, agent), make_token(services, agent)
    forged_key = one_symbol_changed(key.code)
    forged_token = one_symbol_changed(token.code)
    wrong_key, wrong_token = API_KEY_CODE.new(), API_TOKEN_CODE.new()  # checksums that hold

    with select_statements(runtime.database.engine) as selects:
        forged = [
            refusal(runtime, f"key {key.key.id}:{forged_key}"),
            refusal(runtime, f"token {token.token.id}:{forged_token}"),
            refusal(runtime, f"Bearer {token.token.id}:{forged_token}"),
        ]
    # Any thread's (the event loop's reads run in worker threads); the change feed's are not ours.
    assert [statement for statement in selects if "api_" in statement] == []
    wrong = [
        refusal(runtime, f"key {key.key.id}:{wrong_key}"),
        refusal(runtime, f"token {token.token.id}:{wrong_token}"),
        refusal(runtime, f"Bearer {token.token.id}:{wrong_token}"),
    ]
    assert (
        forged
        == wrong
        == [
            (InvalidApiKey, InvalidApiKey),
            (InvalidApiToken, InvalidApiToken),
            (InvalidApiToken, InvalidApiToken),
        ]
    )
    # The real ones still work: nothing about them was remembered as refused.
    assert check(runtime, f"key {key.key_string}").api_key_id == key.key.id
