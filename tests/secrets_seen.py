"""Every secret the suite creates or receives, so that no log line may contain one."""

import threading

_lock = threading.Lock()
_seen: set[str] = set()


def remember(*secrets: str) -> None:
    with _lock:
        _seen.update(s for s in secrets if s)


def all_secrets() -> set[str]:
    with _lock:
        return set(_seen)
