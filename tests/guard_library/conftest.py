"""A real Tessera for the guarded APIs of these tests, on the session's database."""

from collections.abc import Iterator

import pytest

from tests.guard_library.tessera_node import TesseraNode, tessera_node


@pytest.fixture(scope="module")
def node(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TesseraNode]:
    with tessera_node(database_url, tmp_path_factory.mktemp("tessera")) as served:
        yield served
