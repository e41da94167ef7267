"""The command line's fixtures these tests share (``tessera serve`` configures logging)."""

from tests.cli.conftest import restored_logging  # noqa: F401 (a fixture)
