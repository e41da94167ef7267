"""Every way a credential can arrive, and which one decides (shared/spec §3.1, 11.2–11.4)."""

import base64
from datetime import timedelta

import httpx
import pytest

from tessera.app import create_app
from tessera.services.container import Services
from tests.clock import ManualClock
from tests.conftest import extra_runtime
from tests.factories import key_header, make_key, make_person, make_token, token_header
from tests.live import serving
from tests.web.envelopes import CHALLENGE, MESSAGES, assert_refused, deskpro_challenge, raw_get


def me(
    api: httpx.Client, headers: dict[str, str], params: dict[str, str] | None = None
) -> httpx.Response:
    return api.get("/api/v2/me", headers=headers, params=params)


def test_no_credential_is_unauthorized(api: httpx.Client) -> None:
    assert_refused(api.get("/api/v2/me"), "unauthorized")


def test_blank_authorization_counts_as_absent(server: str, services: Services) -> None:
    key = make_key(services, make_person(services))

    alone = raw_get(server, "/api/v2/me", [b"Authorization: "])
    with_legacy = raw_get(
        server, "/api/v2/me", [b"Authorization: ", b"X-DeskPRO-API-Key: " + key.key_string.encode()]
    )

    assert alone == (
        401,
        b'{"status":401,"code":"unauthorized","message":"'
        + MESSAGES["unauthorized"].encode()
        + b'"}',
    )
    assert with_legacy[0] == 200


@pytest.mark.parametrize("scheme", ["key", "Key", "KEY"])
def test_key_scheme_is_case_insensitive(api: httpx.Client, services: Services, scheme: str) -> None:
    key = make_key(services, make_person(services))

    response = me(api, {"Authorization": f"{scheme} {key.key_string}"})

    assert response.status_code == 200
    assert response.json()["data"]["auth_method"] == "api_key"


@pytest.mark.parametrize("scheme", ["token", "Token", "Bearer", "bearer"])
def test_token_and_bearer_schemes(api: httpx.Client, services: Services, scheme: str) -> None:
    token = make_token(services, make_person(services))

    response = me(api, {"Authorization": f"{scheme} {token.token_string}"})

    assert response.status_code == 200
    assert response.json()["data"]["auth_method"] == "api_token"


def test_basic_is_tried_as_a_key_then_as_a_token(api: httpx.Client, services: Services) -> None:
    agent = make_person(services)
    key, token = make_key(services, agent), make_token(services, agent)

    def basic(value: str) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(value.encode()).decode()}

    assert me(api, basic(key.key_string)).json()["data"]["auth_method"] == "api_key"
    assert me(api, basic(token.token_string)).json()["data"]["auth_method"] == "api_token"
    assert_refused(me(api, basic(f"{key.key.id}:WRONGCODE")), "invalid_api_token")


def test_legacy_headers_work_without_authorization(api: httpx.Client, services: Services) -> None:
    agent = make_person(services)
    key, token = make_key(services, agent), make_token(services, agent)

    by_key = me(api, {"X-DeskPRO-API-Key": key.key_string})
    by_token = me(api, {"X-DeskPRO-API-Token": token.token_string})

    assert by_key.json()["data"]["auth_method"] == "api_key"
    assert by_token.json()["data"]["auth_method"] == "api_token"
    assert_refused(me(api, {"X-DeskPRO-API-Key": "1:WRONG"}), "invalid_api_key")


def test_key_header_comes_before_token_header(api: httpx.Client, services: Services) -> None:
    agent = make_person(services)
    key, token = make_key(services, agent), make_token(services, agent)

    both = me(api, {"X-DeskPRO-API-Key": key.key_string, "X-DeskPRO-API-Token": token.token_string})

    assert both.json()["data"]["auth_method"] == "api_key"


def test_a_bad_authorization_header_decides_without_fallback(
    api: httpx.Client, services: Services
) -> None:
    key = make_key(services, make_person(services))

    response = me(api, {"Authorization": "key 1:WRONG", "X-DeskPRO-API-Key": key.key_string})

    assert_refused(response, "invalid_api_key")


def test_query_credentials_are_refused_by_default(api: httpx.Client, services: Services) -> None:
    key = make_key(services, make_person(services))

    assert_refused(me(api, {}, params={"API-KEY": key.key_string}), "unauthorized")


def test_query_credentials_work_when_the_operator_allows_them(database_url: str) -> None:
    with (
        extra_runtime(database_url, allow_query_credentials=True) as runtime,
        serving(create_app(runtime=runtime)) as url,
        httpx.Client(base_url=url) as api,
    ):
        agent = make_person(runtime.services)
        key, token = make_key(runtime.services, agent), make_token(runtime.services, agent)

        by_key = me(api, {}, {"API-KEY": key.key_string})
        by_token = me(api, {}, {"API-TOKEN": token.token_string})
        wrong = me(api, {}, {"API-KEY": "1:WRONG"})

    assert by_key.json()["data"]["auth_method"] == "api_key"
    assert by_token.json()["data"]["auth_method"] == "api_token"
    assert_refused(wrong, "invalid_api_key")


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("key 1:XYZ invalid", "malformed_authorization_header"),
        ("key 91 XdfadfadfeYZ", "malformed_authorization_header"),
        ("key", "malformed_authorization_header"),
        ("Basic ***", "malformed_authorization_header"),
        ("invalid-type 1:XYZ", "invalid_authorization_header"),
        ("Digest 1:XYZ", "invalid_authorization_header"),
        ("key 1XYZ", "invalid_api_key"),
        ("key 99999999999999999999:ABC", "invalid_api_key"),
        ("token nope", "invalid_api_token"),
        ("token 0:ABC", "invalid_api_token"),
        ("key 1:" + "A" * 8192, "invalid_api_key"),
        ("token 1:" + "B" * 30000, "invalid_api_token"),
    ],
)
def test_bad_headers_get_deskpro_errors(api: httpx.Client, value: str, code: str) -> None:
    assert_refused(me(api, {"Authorization": value}), code)


def test_a_header_block_too_large_for_the_server_is_431(api: httpx.Client) -> None:
    # Beyond the server's 32 KiB of headers (ADR 0032): refused before the app sees it.
    answer = me(api, {"Authorization": "token 1:" + "B" * 65536})

    assert answer.status_code == 431


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"key 1:\xc3\xa9\xc3\xa9\xc3\xa9", "invalid_api_key"),  # UTF-8 bytes
        (b"token 1:\xe9\xff", "invalid_api_token"),  # not even UTF-8
        (b"k\xe9y 1:ABC", "invalid_authorization_header"),
    ],
)
def test_non_ascii_credentials_get_401(
    server: str, services: Services, raw: bytes, code: str
) -> None:
    status, body = raw_get(server, "/api/v2/me", [b"Authorization: " + raw])

    assert status == 401
    assert httpx.Response(401, content=body).json()["code"] == code


def test_nul_in_a_header_is_refused_by_the_http_layer(server: str, services: Services) -> None:
    # RFC 9110 §5.5: a field value holding NUL must be rejected; uvicorn does, before any
    # application code runs. The one way a NUL reaches the check is inside a Basic value.
    status, body = raw_get(server, "/api/v2/me", [b"Authorization: key 1:AB\x00CD"])

    assert status == 400
    assert b"Traceback" not in body


def test_nul_inside_a_credential_gets_401(api: httpx.Client, services: Services) -> None:
    nul_basic = "Basic " + base64.b64encode(b"1:AB\x00CD").decode()

    assert_refused(me(api, {"Authorization": nul_basic}), "invalid_api_token")


def test_every_401_carries_the_challenge(api: httpx.Client) -> None:
    response = me(api, {"Authorization": "Bearer 1:NOPE"})

    assert deskpro_challenge(response) == CHALLENGE


class TestKeysThatNoLongerWork:
    def test_wrong_code(self, api: httpx.Client, services: Services) -> None:
        key = make_key(services, make_person(services))

        assert_refused(
            me(api, {"Authorization": f"key {key.key.id}:{'2' * 25}"}), "invalid_api_key"
        )

    def test_token_id_is_not_a_key_id(self, api: httpx.Client, services: Services) -> None:
        token = make_token(services, make_person(services))

        assert_refused(me(api, {"Authorization": f"key {token.token_string}"}), "invalid_api_key")

    def test_revoked_on_the_very_next_request(self, api: httpx.Client, services: Services) -> None:
        key = make_key(services, make_person(services))
        assert me(api, key_header(key)).status_code == 200

        services.api_keys.revoke(key.key.id)

        assert_refused(me(api, key_header(key)), "invalid_api_key")

    def test_regenerated_on_the_very_next_request(
        self, api: httpx.Client, services: Services
    ) -> None:
        key = make_key(services, make_person(services))

        new = services.api_keys.regenerate(key.key.id)

        assert_refused(me(api, key_header(key)), "invalid_api_key")
        assert me(api, {"Authorization": f"key {new.key_string}"}).status_code == 200

    def test_agent_disabled_or_demoted(self, api: httpx.Client, services: Services) -> None:
        agent = make_person(services)
        key = make_key(services, agent)

        services.people.set_disabled(agent.id, True)
        assert_refused(me(api, key_header(key)), "invalid_api_key")
        services.people.set_disabled(agent.id, False)
        assert me(api, key_header(key)).status_code == 200

    def test_agent_deleted(self, api: httpx.Client, services: Services) -> None:
        agent = make_person(services)
        key = make_key(services, agent)

        services.people.delete(agent.id)

        assert_refused(me(api, key_header(key)), "invalid_api_key")


class TestTokensThatNoLongerWork:
    def test_revoked(self, api: httpx.Client, services: Services) -> None:
        token = make_token(services, make_person(services))

        services.api_tokens.revoke(token.token.id)

        assert_refused(me(api, token_header(token)), "invalid_api_token")

    def test_person_disabled_or_deleted(self, api: httpx.Client, services: Services) -> None:
        person = make_person(services)
        token = make_token(services, person)

        services.people.set_disabled(person.id, True)
        assert_refused(me(api, token_header(token)), "invalid_api_token")
        services.people.delete(person.id)
        assert_refused(me(api, token_header(token)), "invalid_api_token")

    def test_idle_for_too_long(
        self, api: httpx.Client, services: Services, clock: ManualClock
    ) -> None:
        token = make_token(services, make_person(services))
        clock.advance(timedelta(days=89))
        assert me(api, token_header(token)).status_code == 200

        clock.advance(timedelta(days=2))

        assert_refused(me(api, token_header(token)), "invalid_api_token")


class TestSuperuserKeys:
    @pytest.fixture
    def agents(self, services: Services) -> tuple[int, int]:
        return make_person(services).id, make_person(services).id

    def test_acts_as_the_agent_named(
        self, api: httpx.Client, services: Services, agents: tuple[int, int]
    ) -> None:
        default, other = agents
        key = make_key(services, services.people.get(default), superuser=True)

        named = me(api, {**key_header(key), "X-DeskPRO-Agent-ID": str(other)})
        unnamed = me(api, key_header(key))

        assert named.json()["data"]["person_id"] == other
        assert unnamed.json()["data"]["person_id"] == default

    @pytest.mark.parametrize("agent_id", ["999999", "abc", "-1", "1.5", "99999999999999999999"])
    def test_an_agent_id_naming_no_agent_is_refused(
        self, api: httpx.Client, services: Services, agent_id: str
    ) -> None:
        key = make_key(services, make_person(services), superuser=True)

        assert_refused(
            me(api, {**key_header(key), "X-DeskPRO-Agent-ID": agent_id}), "invalid_api_key"
        )

    def test_users_and_disabled_agents_cannot_be_assumed(
        self, api: httpx.Client, services: Services
    ) -> None:
        key = make_key(services, None, superuser=True)
        user = make_person(services, agent=False)
        disabled = make_person(services)
        services.people.set_disabled(disabled.id, True)

        for person in (user, disabled):
            response = me(api, {**key_header(key), "X-DeskPRO-Agent-ID": str(person.id)})
            assert_refused(response, "invalid_api_key")

    def test_without_header_or_default_agent_is_refused(
        self, api: httpx.Client, services: Services
    ) -> None:
        key = make_key(services, None, superuser=True)

        assert_refused(me(api, key_header(key)), "invalid_api_key")

    def test_a_normal_key_ignores_the_agent_header(
        self, api: httpx.Client, services: Services, agents: tuple[int, int]
    ) -> None:
        own, other = agents
        key = make_key(services, services.people.get(own))

        response = me(api, {**key_header(key), "X-DeskPRO-Agent-ID": str(other)})

        assert response.json()["data"]["person_id"] == own
