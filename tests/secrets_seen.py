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
            lines += _logged(path.read_text(errors="replace").splitlines())
        except FileNotFoundError:
            continue
    return lines


#: ``tessera serve`` echoes the first-run link to the operator's terminal on purpose (shown
#: once, never logged: cli/serve.py); the line after this one is that link, not a log line.
_FIRST_RUN_LINK_FOLLOWS = "There is no admin yet. Open this one-time link"


def _logged(output: list[str]) -> list[str]:
    kept: list[str] = []
    skip_next = False
    for line in output:
        if not skip_next:
            kept.append(line)
        skip_next = line.startswith(_FIRST_RUN_LINK_FOLLOWS)
    return kept
