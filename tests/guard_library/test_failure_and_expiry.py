"""Tessera out of reach (fail closed, grace) and answers that expire, against a real Tessera."""

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from tessera.guard import Guard, Identity, Refusal
from tessera.services.container import Services
from tests.factories import key_header, make_key, make_person
from tests.guard_library.tessera_node import MAX_AGE_SECONDS, STREAM_TAG, TesseraNode, tessera_node
from tests.guard_library.waiting import until

LIST = ("GET", "/tickets")
BOUND_SECONDS = 30.0


def _raw(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode(), value.encode()) for name, value in headers.items()]


@pytest.fixture
def own_node(database_url: str, tmp_path: Path) -> Iterator[TesseraNode]:
    """A Tessera of the test's own, which the test stops."""
    with tessera_node(database_url, tmp_path) as node:
        yield node


@pytest.mark.parametrize("grace", [0, 300])
def test_tessera_out_of_reach_fails_closed_but_grace_keeps_verified_callers(
    own_node: TesseraNode, services: Services, caplog: pytest.LogCaptureFixture, grace: int
) -> None:
    person = make_person(services)
    verified, never_seen = (key_header(make_key(services, person)) for _ in range(2))
    stream_key = make_key(services, person, tags=STREAM_TAG).key_string
    with Guard(own_node.url, stream_key=stream_key, grace_seconds=grace, timeout=1) as guard:
        assert guard.wait_until_in_step(BOUND_SECONDS)
        before = guard.check(*LIST, _raw(verified))

        own_node.stop()
        # The stream's loss drops every fresh answer: no cache hit from here on.
        assert until(BOUND_SECONDS, lambda: not guard.in_step)
        with caplog.at_level(logging.WARNING, logger="tessera.guard"):
            during = [guard.check(*LIST, _raw(headers)) for headers in (verified, never_seen)]
            again = guard.check(*LIST, _raw(never_seen))

    assert isinstance(before, Identity)
    refused = [answer for answer in [*during, again] if isinstance(answer, Refusal)]
    assert {(r.status, r.code) for r in refused} == {(503, "service_unavailable")}
    if grace:
        assert isinstance(during[0], Identity)
        assert guard.metrics.graced == 1
        assert len(refused) == 2
    else:
        assert len(refused) == 3
        assert guard.metrics.graced == 0
    # One line for the outage, however many requests it refused.
    assert caplog.text.count("cannot reach Tessera") == 1
    assert guard.metrics.outages == 1


def test_an_answer_is_not_served_past_its_max_age(node: TesseraNode, services: Services) -> None:
    now = [0.0]  # the guard's clock, moved by the test
    headers = _raw(key_header(make_key(services, make_person(services))))
    with Guard(node.url, monotonic=lambda: now[0]) as guard:
        guard.check(*LIST, headers)
        calls = node.decisions()
        now[0] = MAX_AGE_SECONDS - 0.5
        within = guard.check(*LIST, headers)
        at_within = node.decisions()
        now[0] = MAX_AGE_SECONDS + 0.5
        past = guard.check(*LIST, headers)

    assert isinstance(within, Identity)
    assert isinstance(past, Identity)
    assert at_within == calls  # served from the cache
    assert node.decisions() == calls + 1  # asked again once the max-age had passed
