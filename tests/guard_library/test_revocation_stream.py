"""The guard's hold on ``GET /authz/changes``: in step, silence, reconnection, refusal.

Tessera here is the test runtime's server with a one-second keep-alive, so that a silent
stream is noticed within seconds; the relay (tests.guard_library.relay) makes it silent.
"""

import logging
from collections.abc import Iterator

import pytest

from tessera.app import create_app
from tessera.bootstrap import Runtime
from tessera.guard import Guard
from tests.conftest import extra_runtime
from tests.factories import make_key, make_person
from tests.guard_library.relay import relaying
from tests.guard_library.tessera_node import STREAM_TAG
from tests.guard_library.waiting import until
from tests.live import serving

#: A bound for a loaded machine; the stream connects in milliseconds.
BOUND_SECONDS = 10.0


@pytest.fixture(scope="module")
def quick_tessera(database_url: str) -> Iterator[tuple[str, Runtime]]:
    with (
        extra_runtime(database_url, change_stream_keep_alive_seconds=1) as runtime,
        serving(create_app(runtime=runtime)) as url,
    ):
        yield url, runtime


def _stream_key(runtime: Runtime, tags: str = STREAM_TAG) -> str:
    services = runtime.services
    return make_key(services, make_person(services), tags=tags).key_string


def test_a_silent_stream_drops_the_cache_and_reconnects(
    quick_tessera: tuple[str, Runtime], caplog: pytest.LogCaptureFixture
) -> None:
    url, runtime = quick_tessera
    with relaying(url) as relay, Guard(relay.url, stream_key=_stream_key(runtime)) as guard:
        assert guard.wait_until_in_step(BOUND_SECONDS)
        resets = guard.metrics.cache_resets

        relay.silence()
        with caplog.at_level(logging.WARNING, logger="tessera.guard"):
            went_quiet = until(BOUND_SECONDS, lambda: not guard.in_step)
        relay.speak()
        back = guard.wait_until_in_step(BOUND_SECONDS)

    assert went_quiet
    assert back
    assert guard.metrics.cache_resets > resets
    assert guard.metrics.stream_connects >= 2
    assert "said nothing for 2s" in caplog.text


def test_a_lost_connection_drops_the_cache_and_reconnects(
    quick_tessera: tuple[str, Runtime],
) -> None:
    url, runtime = quick_tessera
    with relaying(url) as relay, Guard(relay.url, stream_key=_stream_key(runtime)) as guard:
        assert guard.wait_until_in_step(BOUND_SECONDS)
        resets = guard.metrics.cache_resets

        relay.close()  # every connection through it cut
        lost = until(BOUND_SECONDS, lambda: not guard.in_step)

    assert lost
    assert guard.metrics.cache_resets > resets


def test_a_stream_key_without_the_tag_is_refused_and_said_once(
    quick_tessera: tuple[str, Runtime], caplog: pytest.LogCaptureFixture
) -> None:
    url, runtime = quick_tessera
    with (
        caplog.at_level(logging.WARNING, logger="tessera.guard"),
        Guard(url, stream_key=_stream_key(runtime, tags="tickets.*")) as guard,
    ):
        in_step = guard.wait_until_in_step(2.0)  # two refused attempts at least

    assert not in_step
    assert caplog.text.count("GET /authz/changes answered 403") == 1
