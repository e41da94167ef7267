"""The server hands the C heap's free pages back once it has started (ADR 0016)."""

import gc
import platform
from pathlib import Path

import pytest

from tessera.app import _settle_for_serving, release_free_heap


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc (and /proc) only")
def test_free_pages_in_the_middle_of_the_heap_are_returned() -> None:
    # Blocks above pymalloc's limit come from malloc; keeping one in 64 alive leaves the pages
    # between them free but inside the heap, where only malloc_trim gives them back.
    blocks = [bytes(4000) + bytes([n % 256]) for n in range(10_000)]
    kept = blocks[::64]
    del blocks
    before = _rss_bytes()

    assert release_free_heap()

    assert before - _rss_bytes() > 20_000_000
    assert len(kept) == 157


def test_once_started_the_heap_is_frozen_and_full_collections_are_rarer() -> None:
    saved = gc.get_threshold()
    try:
        _settle_for_serving()

        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (saved[0], saved[1], 100)
    finally:
        gc.unfreeze()
        gc.set_threshold(*saved)
