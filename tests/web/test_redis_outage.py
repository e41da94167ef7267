"""Rate limits when Redis is refused, hangs, or comes back (issue #16 §1, ADR 0030).

Redis is real; between it and Tessera sits ``tests.faults.FaultyLink``, which forwards, resets
every connection (a Redis that refuses) or accepts and never answers (a Redis that hangs).
"""

import logging
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tessera.core.errors import RateLimited
from tessera.services.throttle import Throttle, ThrottleRule
from tests.conftest import served
from tests.factories import make_person, new_password
from tests.faults import FaultyLink, faulty_link
from tests.web.envelopes import exchange_password

TWO_A_MINUTE = ThrottleRule.parse("test", "2/minute")


@pytest.fixture
def link(redis_url: str) -> Iterator[FaultyLink]:
    target = urlsplit(redis_url)
    with faulty_link(target.hostname or "127.0.0.1", target.port or 6379) as link:
        yield link


def url_through(link: FaultyLink, redis_url: str) -> str:
    return f"redis://127.0.0.1:{link.port}{urlsplit(redis_url).path}"


class Moment:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_refused_redis_falls_back_to_counting_here_and_recovers(
    link: FaultyLink, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    moment = Moment()
    throttle = Throttle(url_through(link, redis_url), timeout_seconds=0.3, monotonic=moment)
    throttle.reset()
    throttle.hit(TWO_A_MINUTE, "shared")  # counted in Redis

    link.mode = "reset"
    with caplog.at_level(logging.WARNING, logger="tessera.services.throttle"):
        throttle.hit(TWO_A_MINUTE, "local")
        throttle.hit(TWO_A_MINUTE, "local")
        with pytest.raises(RateLimited):  # the limit holds, counted in this process
            throttle.hit(TWO_A_MINUTE, "local")
    assert (throttle.falling_back, throttle.outages) == (True, 1)
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 1  # one for the outage, not one per attempt
    assert "does not answer (ConnectionError)" in warnings[0]

    link.mode = "forward"
    throttle.hit(TWO_A_MINUTE, "shared")  # still within the retry pause: counted here
    moment.now += 5.0
    throttle.hit(TWO_A_MINUTE, "shared")  # Redis asked again: its second attempt there
    with pytest.raises(RateLimited):  # …so the third is refused: the count was Redis's
        throttle.hit(TWO_A_MINUTE, "shared")
    assert not throttle.falling_back
    throttle.reset()


def test_a_hung_redis_costs_an_attempt_its_timeout_once_per_pause(
    link: FaultyLink, redis_url: str
) -> None:
    moment = Moment()
    throttle = Throttle(url_through(link, redis_url), timeout_seconds=0.2, monotonic=moment)
    link.mode = "silent"

    throttle.hit(TWO_A_MINUTE, "k")  # waits 0.2 s, then counts here

    assert throttle.falling_back
    assert throttle.store_answers() is False


def test_the_exchange_works_and_stays_limited_while_redis_refuses(
    database_url: str, redis_url: str, link: FaultyLink
) -> None:
    with served(
        database_url,
        redis_url=url_through(link, redis_url),
        redis_timeout_seconds=0.3,
        exchange_rate_per_email="2/minute",
    ) as (runtime, api):
        password, guessed_password = new_password(), new_password()
        person = make_person(runtime.services, password=password)
        guessed = make_person(runtime.services, password=guessed_password)
        link.mode = "reset"

        good = exchange_password(api, person.primary_email, password)
        codes = [
            exchange_password(api, guessed.primary_email, "wrong-guess").status_code
            for _ in range(2)
        ]
        # The third attempt of the minute for that account, right password or not: the limit
        # holds, counted in this process.
        limited = exchange_password(api, guessed.primary_email, guessed_password)
        ready = api.get("/readyz")
        link.mode = "forward"

    assert good.status_code == 201, good.text
    assert codes == [401, 401]
    assert limited.status_code == 429
    assert ready.status_code == 200  # Redis is optional: the node serves without it
    assert ready.json()["checks"]["redis"]["ok"] is False
