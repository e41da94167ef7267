"""``POST /api/v2/api_tokens``: the open password exchange (E3, decision 11.12)."""

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tessera.bootstrap import Runtime
from tessera.core.clock import SystemClock
from tessera.core.passwords import PasswordCheck, PasswordHasher
from tessera.services.container import Services
from tessera.services.people import NewPerson, PeopleService
from tessera.store.tables import PersonRow
from tests.conftest import served
from tests.factories import key_header, make_key, make_person, new_password, unique_email
from tests.secrets_seen import remember
from tests.web.envelopes import assert_refused, envelope


def exchange(api: httpx.Client, email: str, password: str) -> httpx.Response:
    response = api.post("/api/v2/api_tokens", json={"email": email, "password": password})
    if response.status_code == 201:
        remember(response.json()["data"]["token"])
    return response


def test_an_agent_trades_email_and_password_for_a_token(
    api: httpx.Client, services: Services
) -> None:
    password = new_password()
    agent = make_person(services, password=password)

    response = exchange(api, agent.primary_email.upper(), password)

    assert response.status_code == 201
    body = response.json()
    assert body["meta"] == {}
    assert body["linked"] == {}
    assert body["data"]["person_id"] == agent.id
    token = body["data"]["token"]
    me = api.get("/api/v2/me", headers={"Authorization": f"token {token}"})
    assert me.json()["data"]["auth_method"] == "api_token"
    assert me.json()["data"]["person_id"] == agent.id


def test_every_exchange_makes_a_new_token(api: httpx.Client, services: Services) -> None:
    password = new_password()
    agent = make_person(services, password=password)

    first = exchange(api, agent.primary_email, password).json()["data"]["token"]
    second = exchange(api, agent.primary_email, password).json()["data"]["token"]

    assert first != second


def test_missing_fields_are_invalid_input(api: httpx.Client) -> None:
    response = api.post("/api/v2/api_tokens", json={"email": "", "password": ""})

    required = {"errors": [{"code": "required", "message": "This value should not be blank."}]}
    assert response.status_code == 400
    assert response.json() == {
        **envelope(400, "invalid_input"),
        "errors": {"fields": {"email": required, "password": required}},
    }


def test_wrong_password_and_unknown_email_look_the_same(
    api: httpx.Client, services: Services
) -> None:
    agent = make_person(services, password=new_password())

    wrong = exchange(api, agent.primary_email, "pw-wrong-password")
    unknown = exchange(api, "nobody@example.test", "pw-wrong-password")

    for response in (wrong, unknown):
        assert_refused(response, "bad_credentials")
    assert wrong.content == unknown.content


@pytest.mark.parametrize("who", ["disabled", "external", "user", "no-password"])
def test_people_who_may_not_exchange_get_bad_credentials(
    api: httpx.Client, services: Services, who: str
) -> None:
    password = new_password()
    person = make_person(
        services,
        agent=who != "user",
        password=None if who == "no-password" else password,
        identity_provider="saml" if who == "external" else None,
    )
    if who == "disabled":
        services.people.set_disabled(person.id, True)

    assert_refused(exchange(api, person.primary_email, password), "bad_credentials")


class CountingHasher(PasswordHasher):
    """The real argon2 hasher, counting verifications (what timing parity rests on)."""

    def __init__(self, **parameters: Any) -> None:
        super().__init__(**parameters)
        self.verifications = 0

    def verify(self, stored_hash: str | None, password: str) -> PasswordCheck:
        self.verifications += 1
        return super().verify(stored_hash, password)


@pytest.fixture
def counting(database_url: str) -> Iterator[tuple[Runtime, CountingHasher, httpx.Client]]:
    hasher = CountingHasher()
    with served(database_url, passwords=hasher) as (runtime, api):
        yield runtime, hasher, api


def test_each_refusal_costs_exactly_one_password_hash(
    counting: tuple[Runtime, CountingHasher, httpx.Client],
) -> None:
    # Same work on every path is what makes the answer's timing say nothing: unknown e-mail,
    # no password, wrong password, disabled, external provider, non-agent.
    runtime, hasher, api = counting
    services = runtime.services
    password = new_password()
    disabled = make_person(services, password=password)
    services.people.set_disabled(disabled.id, True)
    cases = [
        ("nobody@example.test", password),
        (make_person(services).primary_email, password),
        (make_person(services, password=password).primary_email, "pw-not-this-one"),
        (disabled.primary_email, password),
        (
            make_person(services, password=password, identity_provider="saml").primary_email,
            password,
        ),
        (make_person(services, agent=False, password=password).primary_email, password),
    ]
    for email, attempt in cases:
        before = hasher.verifications

        assert_refused(exchange(api, email, attempt), "bad_credentials")

        assert hasher.verifications == before + 1, email


def test_an_old_hash_is_upgraded_at_login(
    counting: tuple[Runtime, CountingHasher, httpx.Client],
) -> None:
    runtime, _, api = counting
    password = new_password()
    # The person was added when the server hashed with weaker parameters.
    weak = PasswordHasher(time_cost=1, memory_cost_kib=1024)
    old_people = PeopleService(runtime.database, weak, SystemClock())
    agent = old_people.add(NewPerson(unique_email(), "Old Hash", is_agent=True, password=password))

    assert exchange(api, agent.primary_email, password).status_code == 201

    with runtime.database.read() as session:
        stored = session.scalar(select(PersonRow.password_hash).where(PersonRow.id == agent.id))
    assert stored is not None
    assert "m=19456,t=2,p=1" in stored
    assert exchange(api, agent.primary_email, password).status_code == 201


def test_non_agents_may_exchange_when_the_operator_allows(database_url: str) -> None:
    with served(database_url, exchange_allow_users=True) as (runtime, api):
        password = new_password()
        user = make_person(runtime.services, agent=False, password=password)

        assert exchange(api, user.primary_email, password).status_code == 201


def test_the_operator_can_switch_the_exchange_off(database_url: str) -> None:
    with served(database_url, exchange_enabled=False) as (runtime, api):
        password = new_password()
        agent = make_person(runtime.services, password=password)

        response = exchange(api, agent.primary_email, password)

    assert response.status_code == 403
    assert response.json() == envelope(403, "forbidden")


def test_attempts_are_throttled_per_email(database_url: str) -> None:
    with served(database_url, exchange_rate_per_email="3/minute") as (runtime, api):
        password = new_password()
        agent = make_person(runtime.services, password=password)
        for _ in range(3):
            assert exchange(api, agent.primary_email, "pw-wrong-guess").status_code == 401

        throttled = exchange(api, agent.primary_email, password)
        other = exchange(api, "someone-else@example.test", "pw-wrong-guess")

    assert throttled.status_code == 429
    assert throttled.json() == envelope(429, "rate_limits")
    assert 1 <= int(throttled.headers["Retry-After"]) <= 60
    assert other.status_code == 401  # another e-mail is not held back


def test_attempts_are_throttled_per_address(database_url: str) -> None:
    with served(database_url, exchange_rate_per_address="2/minute") as (_, api):
        codes = [exchange(api, f"n{i}@example.test", "pw-x-guess").status_code for i in range(3)]

    assert codes == [401, 401, 429]


def test_the_throttle_can_live_in_redis(database_url: str, redis_url: str) -> None:
    # Shared counts are what make limits hold across workers and nodes: a second server on
    # the same Redis sees the attempts made at the first.
    with served(database_url, exchange_rate_per_email="2/minute", redis_url=redis_url) as (
        first,
        api,
    ):
        first.throttle.reset()
        codes = [exchange(api, "shared@example.test", "pw-guess").status_code for _ in range(2)]
        with served(database_url, exchange_rate_per_email="2/minute", redis_url=redis_url) as (
            _,
            other_api,
        ):
            codes.append(exchange(other_api, "shared@example.test", "pw-guess").status_code)
        first.throttle.reset()

    assert codes == [401, 401, 429]


class SignallingHasher(PasswordHasher):
    """The real argon2 hasher, saying when a verification has begun."""

    def __init__(self, **parameters: Any) -> None:
        super().__init__(**parameters)
        self.hashing = threading.Event()

    def verify(self, stored_hash: str | None, password: str) -> PasswordCheck:
        self.hashing.set()
        return super().verify(stored_hash, password)


def test_slow_logins_do_not_stall_other_requests(database_url: str) -> None:
    # argon2 at a deliberately high cost, one hashing thread: logins queue behind each other
    # while an API request, on the event loop and the ordinary thread pool, goes straight through.
    slow = SignallingHasher(time_cost=40)
    finished: list[str] = []
    lock = threading.Lock()
    with served(database_url, passwords=slow, password_hash_threads=1) as (runtime, api):
        password = new_password()
        agent = make_person(runtime.services, password=password)
        key = make_key(runtime.services, agent)

        def login() -> None:
            exchange(api, agent.primary_email, password)
            with lock:
                finished.append("login")

        with ThreadPoolExecutor(4) as pool:
            logins = [pool.submit(login) for _ in range(3)]
            assert slow.hashing.wait(timeout=60), "no login reached the password check"
            for _ in range(3):
                response = api.get("/api/v2/me", headers=key_header(key))
                with lock:
                    finished.append(f"me {response.status_code}")
            for future in logins:
                future.result()

    assert finished[:3] == ["me 200"] * 3, finished


class GatedHasher(PasswordHasher):
    """The real argon2 hasher, holding every verification until the test lets it go."""

    def __init__(self, **parameters: Any) -> None:
        super().__init__(**parameters)
        self.hashing = threading.Event()
        self.release = threading.Event()

    def verify(self, stored_hash: str | None, password: str) -> PasswordCheck:
        self.hashing.set()
        self.release.wait(timeout=60)
        return super().verify(stored_hash, password)


def test_a_login_storm_past_the_queue_is_refused_at_once_while_the_api_answers(
    database_url: str,
) -> None:
    # One hashing thread, no queue: while one sign-in is hashing, the next is refused with the
    # documented 429 (not queued without end), and API requests go on being served.
    gated = GatedHasher()
    with served(database_url, passwords=gated, password_hash_threads=1, password_hash_queue=0) as (
        runtime,
        api,
    ):
        password = new_password()
        agent = make_person(runtime.services, password=password)
        key = make_key(runtime.services, agent)
        with ThreadPoolExecutor(1) as pool:
            try:
                first = pool.submit(exchange, api, agent.primary_email, password)
                assert gated.hashing.wait(timeout=60), "no login reached the password check"
                refused = exchange(api, agent.primary_email, password)
                me = api.get("/api/v2/me", headers=key_header(key))
            finally:
                gated.release.set()
            admitted = first.result()

    assert refused.status_code == 429
    assert refused.json() == envelope(429, "rate_limits")
    assert refused.headers["Retry-After"] == "1"
    assert me.status_code == 200
    assert admitted.status_code == 201
