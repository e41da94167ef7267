"""Device setup: a QR code's one-time URL becomes a token (shared/spec §8.1, decision 11.13)."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx

from tessera.app import create_app
from tessera.services.container import Services
from tests.clock import ManualClock
from tests.conftest import extra_runtime
from tests.factories import key_header, make_key, make_person, make_token, token_header
from tests.live import serving
from tests.secrets_seen import remember
from tests.web.envelopes import envelope

PREFIX = "dp_device_setup:http://helpdesk.test/api/v2/api_tokens/device_setup/"


def setup_code(api: httpx.Client, headers: dict[str, str]) -> str:
    response = api.get("/api/v2/me/device-setup-token", headers=headers)
    assert response.status_code == 200, response.text
    setup_token: str = response.json()["data"]["setup_token"]
    assert setup_token.startswith(PREFIX)
    code = setup_token.removeprefix(PREFIX)
    remember(code)
    return code


def redeem(api: httpx.Client, code: str) -> httpx.Response:
    response = api.get(f"/api/v2/api_tokens/device_setup/{code}")
    if response.status_code == 201:
        remember(response.json()["data"]["token"])
    return response


def test_a_code_becomes_a_token_once(api: httpx.Client, services: Services) -> None:
    agent = make_person(services)
    code = setup_code(api, token_header(make_token(services, agent)))

    first = redeem(api, code)
    second = redeem(api, code)

    assert first.status_code == 201
    data = first.json()["data"]
    assert data["person_id"] == agent.id
    assert data["discover"]["helpdesk_url"] == "http://helpdesk.test/"
    me = api.get("/api/v2/me", headers={"Authorization": f"token {data['token']}"})
    assert me.json()["data"]["person_id"] == agent.id
    assert second.status_code == 404
    assert second.json() == envelope(404, "not_found")


def test_an_api_key_can_ask_for_its_agent(api: httpx.Client, services: Services) -> None:
    agent = make_person(services)

    code = setup_code(api, key_header(make_key(services, agent)))

    assert redeem(api, code).json()["data"]["person_id"] == agent.id


def test_codes_expire_after_ten_minutes(
    api: httpx.Client, services: Services, clock: ManualClock
) -> None:
    headers = token_header(make_token(services, make_person(services)))
    fresh, stale = setup_code(api, headers), None
    clock.advance(timedelta(minutes=9, seconds=50))
    assert redeem(api, fresh).status_code == 201

    stale = setup_code(api, headers)
    clock.advance(timedelta(minutes=10, seconds=1))

    assert redeem(api, stale).status_code == 404


def test_a_new_code_replaces_the_previous_one(api: httpx.Client, services: Services) -> None:
    headers = token_header(make_token(services, make_person(services)))
    old = setup_code(api, headers)

    new = setup_code(api, headers)

    assert redeem(api, old).status_code == 404
    assert redeem(api, new).status_code == 201


def test_unknown_and_absurd_codes_are_not_found(api: httpx.Client) -> None:
    for code in ("code", "2" * 25, "x" * 64, "x" * 65, "2" * 2000):
        response = redeem(api, code)
        assert (response.status_code, response.json()) == (404, envelope(404, "not_found"))


def test_a_real_code_with_more_after_it_is_unknown(api: httpx.Client, services: Services) -> None:
    """Only the first characters of a long code are hashed: never enough to match a real one."""
    code = setup_code(api, token_header(make_token(services, make_person(services))))

    padded = redeem(api, code + "2" * 2000)
    genuine = redeem(api, code)

    assert padded.status_code == 404
    assert genuine.status_code == 201


def test_a_disabled_person_cannot_redeem(api: httpx.Client, services: Services) -> None:
    agent = make_person(services)
    code = setup_code(api, token_header(make_token(services, agent)))

    services.people.set_disabled(agent.id, True)

    assert redeem(api, code).status_code == 404


def test_users_cannot_ask_for_a_code(
    api: httpx.Client, services: Services, database_url: str
) -> None:
    # A user's token can only come from a time the operator allowed users; now they do not.
    with extra_runtime(database_url, exchange_allow_users=True) as permissive:
        token = make_token(permissive.services, make_person(permissive.services, agent=False))

        response = api.get("/api/v2/me/device-setup-token", headers=token_header(token))

    assert response.status_code == 403
    assert response.json() == envelope(403, "forbidden")


def test_redemption_is_throttled_per_address(database_url: str) -> None:
    with (
        extra_runtime(database_url, device_setup_rate_per_address="3/minute") as runtime,
        serving(create_app(runtime=runtime)) as url,
        httpx.Client(base_url=url) as api,
    ):
        codes = [redeem(api, f"GUESS{i}").status_code for i in range(4)]
        last = redeem(api, "GUESS9")

    assert codes == [404, 404, 404, 429]
    assert last.json() == envelope(429, "rate_limits")
    assert int(last.headers["Retry-After"]) >= 1


def test_of_concurrent_redemptions_exactly_one_wins(api: httpx.Client, services: Services) -> None:
    code = setup_code(api, token_header(make_token(services, make_person(services))))

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(lambda _: redeem(api, code).status_code, range(8)))

    assert statuses == [201] + [404] * 7
