"""A second runtime on the session's database: another process (or node) as far as the feed
can tell, with its own engine, pool and feed."""

from collections.abc import Iterator

import pytest

from tessera.bootstrap import Runtime
from tests.conftest import extra_runtime


@pytest.fixture(scope="module")
def other_node(database_url: str) -> Iterator[Runtime]:
    with extra_runtime(database_url) as runtime:
        yield runtime
