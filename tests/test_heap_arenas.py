"""A serving process's malloc arenas are bounded (issue #16's soak; ADR 0016's amendment).

glibc only, as on every machine Tessera is tested and shipped on (Debian).

Each case runs in a fresh interpreter: arenas, once made, stay for the process's life.
"""

import subprocess
import sys
import textwrap

#: Eight threads allocating at once, then the number of arenas glibc's malloc_info reports.
_COUNT_ARENAS = textwrap.dedent(
    """
    import ctypes, os, re, sys, tempfile, threading
    from tessera.app import limit_heap_arenas
    limited = limit_heap_arenas() if sys.argv[1] == "limit" else None
    start = threading.Barrier(8)
    def allocate():
        start.wait()
        for _ in range(2000):
            blocks = [ctypes.create_string_buffer(2048) for _ in range(20)]
            del blocks
    threads = [threading.Thread(target=allocate) for _ in range(8)]
    for thread in threads: thread.start()
    for thread in threads: thread.join()
    libc = ctypes.CDLL(None)
    libc.fopen.restype = ctypes.c_void_p
    libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    with tempfile.NamedTemporaryFile() as report:
        handle = libc.fopen(report.name.encode(), b"w")
        libc.malloc_info(0, handle)
        libc.fclose(handle)
        heaps = len(re.findall(r'<heap nr="', open(report.name).read()))
    print(limited, heaps)
    """
)


def _arenas(mode: str, **environment: str) -> tuple[str, int]:
    answer = subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, "-c", _COUNT_ARENAS, mode],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", **environment},
    )
    limited, heaps = answer.stdout.split()
    return limited, int(heaps)


def test_threads_share_two_arenas_once_limited() -> None:
    limited, heaps = _arenas("limit")
    assert limited == "True"
    assert heaps <= 2


def test_without_the_limit_busy_threads_get_arenas_of_their_own() -> None:
    # What the limit is for: the same threads, unlimited, spread over more arenas.
    _, heaps = _arenas("none")
    assert heaps > 2


def test_an_operators_malloc_arena_max_wins() -> None:
    limited, heaps = _arenas("limit", MALLOC_ARENA_MAX="4")
    assert limited == "False"
    assert 2 < heaps <= 4
