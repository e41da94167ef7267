"""Two nodes on one database: a revocation made through one is refused by the other within the
bound, and by the one that made it at once. So is a person disabled on one node.

Real ``tessera serve`` processes (tests.feed.nodes) on the session's database: SQLite file, and
PostgreSQL when configured. Node A runs one worker, node B two (``--workers 2``): B's answers
come from both workers, so each of them must have heard of the change. Each node warms its
credential cache before the change.
"""

from collections.abc import Iterator
from functools import partial

import httpx
import pytest

from tessera.core.people import Person
from tessera.services.container import Services
from tests.factories import key_header, make_key, make_person, make_token, token_header
from tests.feed.nodes import PROPAGATION_BOUND_SECONDS, nodes, refused_within

ME = "/api/v2/me"


@pytest.fixture(scope="module")
def two_nodes(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    folder = tmp_path_factory.mktemp("nodes")
    with (
        nodes(database_url, folder, workers=(1, 2)) as (url_a, url_b),
        httpx.Client(base_url=url_a, timeout=30) as a,
        httpx.Client(base_url=url_b, timeout=30) as b,
    ):
        yield a, b


def _admin(services: Services) -> dict[str, str]:
    return token_header(make_token(services, make_person(services, admin=True)))


def _warm(client: httpx.Client, headers: dict[str, str]) -> None:
    for _ in range(3):
        assert client.get(ME, headers=headers).status_code == 200


def _refused_by_every_worker(client: httpx.Client, headers: dict[str, str]) -> set[int]:
    """The answers to fresh connections, which the kernel spreads over the node's workers."""
    url = str(client.base_url).rstrip("/") + ME
    return {httpx.get(url, headers=headers).status_code for _ in range(20)}


def test_a_key_revoked_on_one_node_is_refused_by_the_other(
    two_nodes: tuple[httpx.Client, httpx.Client], services: Services
) -> None:
    a, b = two_nodes
    issued = make_key(services, make_person(services))
    headers = key_header(issued)
    _warm(a, headers)
    _warm(b, headers)

    revoked = a.delete(f"/api/v2/api_keys/{issued.key.id}", headers=_admin(services))
    on_a = a.get(ME, headers=headers).status_code

    assert revoked.status_code == 200
    assert on_a == 401
    assert refused_within(PROPAGATION_BOUND_SECONDS, lambda: b.get(ME, headers=headers))
    assert _refused_by_every_worker(b, headers) == {401}


def test_a_token_revoked_on_one_node_is_refused_by_the_other(
    two_nodes: tuple[httpx.Client, httpx.Client], services: Services
) -> None:
    a, b = two_nodes
    issued = make_token(services, make_person(services))
    headers = token_header(issued)
    _warm(a, headers)
    _warm(b, headers)

    revoked = a.delete(f"/api/v2/api_tokens/{issued.token.id}", headers=_admin(services))
    on_a = a.get(ME, headers=headers).status_code

    assert revoked.status_code == 200
    assert on_a == 401
    assert refused_within(PROPAGATION_BOUND_SECONDS, lambda: b.get(ME, headers=headers))
    assert _refused_by_every_worker(b, headers) == {401}


def test_a_person_disabled_on_one_node_is_refused_by_the_other(
    two_nodes: tuple[httpx.Client, httpx.Client], services: Services
) -> None:
    a, b = two_nodes
    person: Person = make_person(services)
    with_key, with_token = (
        key_header(make_key(services, person)),
        token_header(make_token(services, person)),
    )
    for headers in (with_key, with_token):
        _warm(a, headers)
        _warm(b, headers)

    disabled = a.put(
        f"/api/v2/people/{person.id}", json={"is_disabled": True}, headers=_admin(services)
    )
    on_a = [a.get(ME, headers=headers).status_code for headers in (with_key, with_token)]

    assert disabled.status_code == 204
    assert on_a == [401, 401]
    for headers in (with_key, with_token):
        assert refused_within(PROPAGATION_BOUND_SECONDS, partial(b.get, ME, headers=headers))
        assert _refused_by_every_worker(b, headers) == {401}
