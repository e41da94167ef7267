"""A stranger's guesses do not lock the owner out (issue #16 §2, ADR 0034).

A flood of wrong passwords from addresses the account never signed in from exhausts the
account's shared budget; the owner, signing in from an address that succeeded before or from a
browser holding the account's device token, has a budget of their own and gets in. Everyone
else stays limited, and a device token of another account is worth nothing.
"""

from collections.abc import Iterator

import httpx
import pytest

from tessera.bootstrap import Runtime
from tests.conftest import served
from tests.factories import make_person, new_password
from tests.oauth.flows import hidden_fields
from tests.secrets_seen import remember

OWNER_HOME, ATTACKERS, NEW_PLACE = "198.51.100.7", "203.0.113.", "192.0.2.44"


@pytest.fixture
def node(database_url: str) -> Iterator[tuple[Runtime, httpx.Client]]:
    with served(database_url, trusted_proxies="127.0.0.1", exchange_rate_per_email="3/minute") as (
        runtime,
        api,
    ):
        runtime.throttle.reset()
        yield runtime, api
        runtime.throttle.reset()


def exchange(api: httpx.Client, email: str, password: str, address: str) -> int:
    answer = api.post(
        "/api/v2/api_tokens",
        json={"email": email, "password": password},
        headers={"X-Forwarded-For": address},
    )
    if answer.status_code == 201:
        remember(answer.json()["data"]["token"])
    return answer.status_code


def flood(api: httpx.Client, email: str) -> list[int]:
    return [exchange(api, email, "a-wrong-guess", f"{ATTACKERS}{n}") for n in range(1, 6)]


def test_the_exchange_owner_gets_in_from_a_known_address_during_a_flood(
    node: tuple[Runtime, httpx.Client],
) -> None:
    runtime, api = node
    password = new_password()
    email = make_person(runtime.services, password=password).primary_email
    assert exchange(api, email, password, OWNER_HOME) == 201

    codes = flood(api, email)

    assert codes[-1] == 429  # the account's shared budget is gone
    assert exchange(api, email, password, NEW_PLACE) == 429  # a new place: still limited
    assert exchange(api, email, password, OWNER_HOME) == 201  # the owner: a budget of their own


def login(
    api: httpx.Client, email: str, password: str, address: str, device: str | None
) -> httpx.Response:
    headers = {"X-Forwarded-For": address}
    api.cookies.clear()  # a browser of its own each time: only the cookies given here
    page = api.get("/login", headers=headers)
    cookies = {"tessera_csrf": page.cookies["tessera_csrf"]}
    if device is not None:
        cookies["tessera_device"] = device
    form = {**hidden_fields(page.text), "email": email, "password": password}
    cookie_header = "; ".join(f"{k}={v}" for k, v in cookies.items())
    answer = api.post("/login", data=form, headers={**headers, "Cookie": cookie_header})
    api.cookies.clear()
    return answer


def test_a_browser_that_signed_in_before_keeps_its_own_budget(
    node: tuple[Runtime, httpx.Client],
) -> None:
    runtime, api = node
    password, other_password = new_password(), new_password()
    email = make_person(runtime.services, password=password).primary_email
    other_email = make_person(runtime.services, password=other_password).primary_email
    first = login(api, email, password, NEW_PLACE, None)
    assert first.status_code == 303, first.text
    device = first.cookies["tessera_device"]
    remember(first.cookies["tessera_session"])
    other_device = login(api, other_email, other_password, NEW_PLACE, None).cookies[
        "tessera_device"
    ]

    flood(api, email)

    # Each from an address this account never succeeded from.
    with_device = login(api, email, password, f"{ATTACKERS}200", device)
    without = login(api, email, password, f"{ATTACKERS}201", None)
    with_anothers = login(api, email, password, f"{ATTACKERS}202", other_device)

    assert with_device.status_code == 303, with_device.text
    remember(with_device.cookies["tessera_session"])
    assert without.status_code == 429
    assert with_anothers.status_code == 429
