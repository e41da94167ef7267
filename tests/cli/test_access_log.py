"""Whether a server process builds uvicorn's access lines (ADR 0017)."""

import logging

import pytest

from tessera.logs import configure_logging


@pytest.mark.parametrize(
    ("level", "asked", "built"),
    [
        ("info", True, True),
        ("debug", True, True),
        ("warning", True, False),  # the lines would be dropped after being formatted
        ("info", False, False),
    ],
)
@pytest.mark.usefixtures("restored_logging")
def test_access_lines_are_built_only_when_asked_for_and_kept(
    level: str, asked: bool, built: bool
) -> None:
    configure_logging(level, access_log=asked)

    # uvicorn formats a line per request exactly when this is true.
    assert logging.getLogger("uvicorn.access").hasHandlers() is built
