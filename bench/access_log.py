"""What one access-log line costs: uvicorn's call, through Tessera's logging, to a file.

Logs lines exactly as uvicorn's ``httptools`` protocol does (``uvicorn.access``, its format and
arguments) through ``tessera.logs.configure_logging`` — request id, redaction, the formatter —
into ``/dev/null``, and prints microseconds per line; with ``TESSERA_ACCESS_LOG=false`` the
logger has nowhere to send a line and uvicorn does not even build one (ADR 0017). Compare with
a warm request's whole cost in the server (docs/benchmarks.md). Run on demand:

    .venv/bin/python bench/access_log.py [--lines 100000]
"""

import argparse
import logging
import os
import time

from tessera.logs import configure_logging

#: uvicorn's access line: client, method, path with query, HTTP version, status.
ACCESS_FORMAT = '%s - "%s %s HTTP/%s" %d'


def per_line_microseconds(lines: int, path: str) -> float:
    access = logging.getLogger("uvicorn.access")
    started = time.perf_counter()
    for _ in range(lines):
        if access.hasHandlers():  # what uvicorn asks before it builds a line
            access.info(ACCESS_FORMAT, "127.0.0.1:51234", "GET", path, "1.1", 200)
    return (time.perf_counter() - started) / lines * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=100_000)
    options = parser.parse_args()
    with open(os.devnull, "w", encoding="utf-8") as sink:
        for label, enabled, path in (
            ("access log on, /api/v2/me", True, "/api/v2/me"),
            ("access log on, a path holding a secret", True, "/setup/BBXDN7WB5KJ8PW4QJWASPQ4H"),
            ("access log off (TESSERA_ACCESS_LOG=false)", False, "/api/v2/me"),
        ):
            configure_logging("info", access_log=enabled)
            handler = logging.getLogger().handlers[0]
            assert isinstance(handler, logging.StreamHandler)
            handler.setStream(sink)
            best = min(per_line_microseconds(options.lines, path) for _ in range(3))
            print(f"{label:<45} {best:6.2f} µs per request")


if __name__ == "__main__":
    main()
