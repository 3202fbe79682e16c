"""Small helpers several test files share."""

from __future__ import annotations

import time


def wait_for(predicate, timeout: float = 60.0, every: float = 0.02) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass (generous bounds: the
    machine is shared); its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return predicate()
