"""The guard's answer cache and the stream's event lines, on their own."""

from tessera.guard.answers import UNAVAILABLE, Identity
from tessera.guard.cache import AnswerCache
from tessera.guard.events import EventLines, subject_of

ANN = Identity(person_id=7, auth_method="api_token", credential="token:3", client_id="5_abc")
BOB = Identity(person_id=8, auth_method="api_key", credential="key:4")


def test_an_answer_is_served_until_its_max_age_and_not_after() -> None:
    cache = AnswerCache(10)
    cache.put(b"a", ANN, max_age=10, now=100.0, ticket=cache.ticket())

    assert cache.get(b"a", 109.9) == ANN
    assert cache.get(b"a", 110.0) is None


def test_no_max_age_means_not_kept() -> None:
    cache = AnswerCache(10)
    cache.put(b"a", ANN, max_age=0, now=100.0, ticket=cache.ticket())

    assert cache.get(b"a", 100.0) is None


def test_a_revocation_drops_the_answers_of_its_credential_person_or_app() -> None:
    cache = AnswerCache(10)
    for key, subject in ((b"1", "token:3"), (b"2", "person:7"), (b"3", "client:5")):
        cache.put(key, ANN, max_age=10, now=0.0, ticket=cache.ticket())
        cache.put(b"bob", BOB, max_age=10, now=0.0, ticket=cache.ticket())

        assert cache.drop(subject) == 1
        assert cache.get(key, 1.0) is None
        assert cache.get(b"bob", 1.0) == BOB


def test_an_answer_asked_for_before_a_drop_is_not_stored() -> None:
    cache = AnswerCache(10)
    ticket = cache.ticket()
    cache.drop("key:99")
    cache.put(b"a", ANN, max_age=10, now=0.0, ticket=ticket)

    assert cache.get(b"a", 1.0) is None


def test_the_cache_is_bounded_least_recently_used_first() -> None:
    cache = AnswerCache(2)
    cache.put(b"a", ANN, max_age=10, now=0.0, ticket=cache.ticket())
    cache.put(b"b", BOB, max_age=10, now=0.0, ticket=cache.ticket())
    cache.get(b"a", 1.0)
    cache.put(b"c", BOB, max_age=10, now=0.0, ticket=cache.ticket())

    assert (cache.get(b"a", 1.0), cache.get(b"b", 1.0), len(cache)) == (ANN, None, 2)


def test_drop_all_ends_fresh_answers_but_grace_keeps_them_for_outages() -> None:
    without, graced = AnswerCache(10), AnswerCache(10, grace_seconds=60)
    for cache in (without, graced):
        cache.put(b"a", ANN, max_age=10, now=0.0, ticket=cache.ticket())
        cache.put(b"r", UNAVAILABLE, max_age=10, now=0.0, ticket=cache.ticket())
        cache.drop_all()

    assert [without.get(b"a", 1.0), without.graced(b"a", 1.0)] == [None, None]
    assert [graced.get(b"a", 1.0), graced.graced(b"a", 1.0)] == [None, ANN]
    assert graced.graced(b"a", 60.0) is None  # never past the grace period
    assert graced.graced(b"r", 1.0) is None  # refusals are never graced


def test_a_revocation_ends_grace_too() -> None:
    cache = AnswerCache(10, grace_seconds=60)
    cache.put(b"a", ANN, max_age=10, now=0.0, ticket=cache.ticket())
    cache.drop("person:7")

    assert cache.graced(b"a", 1.0) is None


def test_event_lines_give_each_events_data_and_skip_keep_alives() -> None:
    lines = EventLines()
    fed = [
        lines.feed(line)
        for line in [
            "retry: 1000",
            "data: everything",
            "",
            ": keep-alive",
            "",
            "data: api_key 12",
            "",
        ]
    ]

    assert [data for data in fed if data is not None] == ["everything", "api_key 12"]


def test_events_name_cache_subjects() -> None:
    assert [
        subject_of(data)
        for data in ("api_key 1", "api_token 2", "person 3", "oauth_client 4", "everything", "x 5")
    ] == ["key:1", "token:2", "person:3", "client:4", "everything", None]
