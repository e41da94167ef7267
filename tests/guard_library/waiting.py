"""Waiting for something another process does, up to a bound (not a speed target)."""

import time
from collections.abc import Callable


def until(bound: float, condition: Callable[[], bool]) -> bool:
    """Whether ``condition`` held within ``bound`` seconds (checked every 10 ms)."""
    deadline = time.monotonic() + bound
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
