"""The one object of a kind per process: the worker pool, the run hosts, a Ray pool.

Each is made on first use, kept for every later caller, replaced when it has gone bad (a
worker died, a host was killed, the cluster went away) and ended by a ``shutdown_*()``
function or at the interpreter's exit. :class:`ProcessWide` holds that one object and its
lock, so the three kinds share one way of doing it::

    _HOSTS = ProcessWide()

    def run_hosts():
        with _HOSTS.lock:
            if _HOSTS.current is None or not _HOSTS.current.alive:
                _HOSTS.replace(RunHosts())   # the old one ends in the background
            return _HOSTS.current

    shutdown_run_hosts = _HOSTS.shutdown

Never imports streamlit or torch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class ProcessWide(Generic[T]):
    """Holds this process's one object of a kind (``current``, None until made) and the lock
    under which it is looked at and replaced. The object needs a ``shutdown()`` method."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.current: T | None = None

    def replace(self, new: T, retire: Callable[[T], None] | None = None) -> T:
        """Make ``new`` the current object (call with :attr:`lock` held). The old one, if
        any, is ended by ``retire(old)``, or by default by ``old.shutdown()`` in a daemon
        thread, so that the caller does not wait for it."""
        old, self.current = self.current, new
        if old is not None:
            if retire is not None:
                retire(old)
            else:
                threading.Thread(target=old.shutdown, daemon=True).start()
        return new

    def shutdown(self) -> None:
        """End the current object, if any (its work is stopped first). Safe to call twice."""
        with self.lock:
            obj, self.current = self.current, None
        if obj is not None:
            obj.shutdown()


class TaskSinks:
    """What every pool (the worker pool, a Ray pool, the run hosts' job pool) keeps of its
    open tasks: each task's id and the sink its messages go to. Mixed into the pools; they
    call :meth:`_init_sinks` and use :attr:`_lock` for their own state too."""

    def _init_sinks(self) -> None:
        self._lock = threading.Lock()
        self._sinks: dict[int, Callable[[object], None]] = {}

    def _add_sink(self, task_id: int, sink: Callable[[object], None]) -> int:
        with self._lock:
            self._sinks[task_id] = sink
        return task_id

    def _sink_of(self, task_id: int) -> Callable[[object], None] | None:
        with self._lock:
            return self._sinks.get(task_id)

    def close(self, task_id: int) -> None:
        """Forget the task's sink (messages not yet delivered are dropped)."""
        with self._lock:
            self._sinks.pop(task_id, None)

    @property
    def tasks(self) -> int:
        """Open tasks."""
        with self._lock:
            return len(self._sinks)
