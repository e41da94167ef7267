"""``ChangeStream``: each subscriber's bounded queue, filled from any thread."""

import asyncio
import threading

from tessera.core.changes import ChangeKind, CredentialChange
from tessera.services.change_stream import EVERYTHING, ChangeStream


def _key(key_id: int) -> CredentialChange:
    return CredentialChange(ChangeKind.API_KEY, key_id)


def test_changes_from_another_thread_reach_the_subscriber_in_order() -> None:
    async def scenario() -> list[CredentialChange]:
        stream = ChangeStream()
        subscription = stream.subscribe()

        def write() -> None:
            for key_id in (1, 2, 3):
                stream.apply(_key(key_id))

        writer = threading.Thread(target=write)
        writer.start()
        writer.join()
        received: list[CredentialChange] = []
        while len(received) < 3:
            batch, ending = await subscription.next()
            assert not ending
            received += batch
        return received

    assert asyncio.run(scenario()) == [_key(1), _key(2), _key(3)]


def test_a_subscriber_too_far_behind_is_told_everything_and_let_go() -> None:
    async def scenario() -> tuple[list[CredentialChange], bool, list[CredentialChange]]:
        stream = ChangeStream(queue_size=3)
        slow, keeping_up = stream.subscribe(), stream.subscribe()
        for key_id in range(1, 4):
            stream.apply(_key(key_id))
        read_in_time, _ = await keeping_up.next()
        stream.apply(_key(4))
        batch, ending = await slow.next()
        read_later, _ = await keeping_up.next()
        return batch, ending, read_in_time + read_later

    batch, ending, other = asyncio.run(scenario())

    assert (batch, ending) == ([EVERYTHING], True)
    assert other == [_key(1), _key(2), _key(3), _key(4)]


def test_closing_ends_every_stream_and_any_opened_later() -> None:
    async def scenario() -> list[tuple[list[CredentialChange], bool]]:
        stream = ChangeStream()
        before = stream.subscribe()
        stream.apply(_key(7))
        stream.close(asyncio.get_running_loop())
        after = stream.subscribe()
        return [await before.next(), await after.next()]

    assert asyncio.run(scenario()) == [([_key(7)], True), ([], True)]


def test_a_stopping_server_ends_only_its_own_streams() -> None:
    """Two servers on one set of services (the test suite runs several): one stops."""
    stream = ChangeStream()

    async def stopping() -> tuple[list[CredentialChange], bool]:
        mine = stream.subscribe()
        stream.close(asyncio.get_running_loop())
        return await mine.next()

    async def serving_on() -> tuple[list[CredentialChange], bool]:
        theirs = stream.subscribe()
        stream.apply(_key(8))
        return await theirs.next()

    assert asyncio.run(stopping()) == ([], True)
    assert asyncio.run(serving_on()) == ([_key(8)], False)


def test_an_unsubscribed_queue_hears_nothing_more() -> None:
    async def scenario() -> int:
        stream = ChangeStream()
        subscription = stream.subscribe()
        stream.unsubscribe(subscription)
        stream.apply(_key(1))
        return stream.subscribers

    assert asyncio.run(scenario()) == 0
