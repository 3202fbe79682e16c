"""The process-wide cap on concurrent training: a fair (FIFO) pool of slots."""

from __future__ import annotations

import itertools
import statistics
import threading
import time
from collections import deque

from .cores import usable_cores

HOLDS_KEPT = 20
"""How many recent slot holds :meth:`SlotPool.wait_estimate` goes by."""


class SlotPool:
    """At most ``max_concurrent`` runs train at once; the others wait their turn (FIFO).

    Thread-safe. ``acquire`` blocks until a slot is free *and* every earlier waiter has been
    served, or until ``cancel`` is set (then it returns False without taking a slot).
    """

    def __init__(self, max_concurrent: int | None = None):
        n = usable_cores() if max_concurrent is None else max_concurrent
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"max_concurrent must be a whole number >= 1, got {max_concurrent!r}")
        self.max_concurrent = n
        self._cond = threading.Condition()
        self._active = 0
        self._queue: deque[int] = deque()
        self._tickets = itertools.count()
        self._clock = time.monotonic
        self._since: dict[int, float] = {}  # holder thread -> when it took its slot
        self._holds: deque[float] = deque(maxlen=HOLDS_KEPT)  # seconds of recent holds

    def acquire(self, cancel: threading.Event | None = None, timeout: float | None = None) -> bool:
        """Take a slot (True), or give up when ``cancel`` is set or ``timeout`` passes (False)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            ticket = next(self._tickets)
            self._queue.append(ticket)
            try:
                while True:
                    if cancel is not None and cancel.is_set():
                        return False
                    if self._active < self.max_concurrent and self._queue[0] == ticket:
                        self._active += 1
                        self._since[threading.get_ident()] = self._clock()
                        return True
                    wait = 0.2 if deadline is None else min(0.2, deadline - time.monotonic())
                    if wait <= 0:
                        return False
                    self._cond.wait(wait)  # woken by release()/wake(); polls cancel anyway
            finally:
                self._queue.remove(ticket)
                self._cond.notify_all()  # the next in line may go now

    def release(self) -> None:
        """Give a slot back (exactly once per successful ``acquire``)."""
        with self._cond:
            if self._active <= 0:
                raise RuntimeError("SlotPool.release() called more often than acquire()")
            self._active -= 1
            since = self._since.pop(threading.get_ident(), None)
            if since is not None:
                self._holds.append(self._clock() - since)
            self._cond.notify_all()

    def wake(self) -> None:
        """Wake every waiter so it re-checks its cancel event now."""
        with self._cond:
            self._cond.notify_all()

    @property
    def active(self) -> int:
        """Slots in use."""
        with self._cond:
            return self._active

    @property
    def waiting(self) -> int:
        """Runs waiting for a slot."""
        with self._cond:
            return len(self._queue)

    def wait_estimate(self, ahead: int) -> float | None:
        """Roughly how many seconds a waiting run with ``ahead`` runs before it in the queue
        waits for its slot, from how long recent runs held theirs (the median h of the last
        :data:`HOLDS_KEPT`)::

            wait = max(0, h - (the longest current hold so far)) + (ahead // slots) * h

        the first slot frees when the oldest holder has had a typical hold, and each further
        round of ``max_concurrent`` runs ahead takes another. None until some run has given a
        slot back (nothing to go on yet).

        >>> pool = SlotPool(1); pool._holds.extend([60.0, 30.0, 90.0])
        >>> pool.wait_estimate(0), pool.wait_estimate(2)
        (60.0, 180.0)
        """
        with self._cond:
            if not self._holds:
                return None
            typical = statistics.median(self._holds)
            now = self._clock()
            oldest = max((now - t for t in self._since.values()), default=0.0)
        return max(0.0, typical - oldest) + (max(0, int(ahead)) // self.max_concurrent) * typical

    def __repr__(self) -> str:
        return f"SlotPool(active={self.active}, waiting={self.waiting}, max={self.max_concurrent})"
