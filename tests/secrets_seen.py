"""Every secret the suite creates or receives, so that no log line may contain one."""

import threading
from pathlib import Path

_lock = threading.Lock()
_seen: set[str] = set()


def remember(*secrets: str) -> None:
    with _lock:
        _seen.update(s for s in secrets if s)


def all_secrets() -> set[str]:
    with _lock:
        return set(_seen)


#: Log files of other processes (``tessera serve`` started by a test): checked at the end of the
#: run like this process's own log records.
_logs: list[Path] = []


def remember_log(path: Path) -> None:
    with _lock:
        _logs.append(path)


def other_processes_log_lines() -> list[str]:
    """Every line the other processes logged that still exists (a test's folder may be gone)."""
    with _lock:
        paths = list(_logs)
    lines: list[str] = []
    for path in paths:
        try:
            lines += path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            continue
    return lines
