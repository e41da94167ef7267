"""Whether ``tessera serve`` asks uvicorn for access lines."""

import logging
from collections.abc import Iterator

import pytest

from tessera.cli.main import access_log_wanted
from tessera.settings import Settings

SECRET = "access-log-test-secret-key-" + "x" * 32


@pytest.fixture
def access_logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger("uvicorn.access")
    level = logger.level
    try:
        yield logger
    finally:
        logger.setLevel(level)


@pytest.mark.parametrize(
    ("asked", "level", "wanted"),
    [
        (True, logging.INFO, True),
        (True, logging.DEBUG, True),
        (True, logging.WARNING, False),  # the lines would be dropped after being formatted
        (False, logging.INFO, False),
    ],
)
def test_access_lines_only_when_asked_for_and_kept(
    access_logger: logging.Logger, asked: bool, level: int, wanted: bool
) -> None:
    access_logger.setLevel(level)
    settings = Settings(secret_key=SECRET, access_log=asked)

    assert access_log_wanted(settings) is wanted
