"""Execution: everything that runs in the background, in one place.

* :mod:`.slots`: :class:`SlotPool`, the process-wide cap on concurrent training (fair, FIFO);
* :mod:`.tasks`: one task lifecycle (:class:`TaskThread`, owned by every run, experiment and
  lab), one state vocabulary (:data:`STATES`), the registry of live tasks and
  :func:`stop_all`;
* :mod:`.pool`: the one ``spawn`` worker pool (:func:`worker_pool`) that experiments' jobs
  and ``train --seeds`` runs share.

Importing this package is light (no torch); it never imports streamlit.
"""

from .pool import STOP_SLOTS, WorkerPool, shutdown_worker_pool, worker_pool
from .slots import SlotPool
from .tasks import (
    ACTIVE_STATES,
    END_REASONS,
    END_STATES,
    NOT_STARTED,
    STATES,
    TaskOwner,
    TaskThread,
    end_state,
    live_tasks,
    one_line,
    stop_all,
)

__all__ = [
    "ACTIVE_STATES", "END_REASONS", "END_STATES", "NOT_STARTED", "STATES", "STOP_SLOTS",
    "SlotPool", "TaskOwner", "TaskThread", "WorkerPool", "end_state", "live_tasks", "one_line",
    "shutdown_worker_pool", "stop_all", "worker_pool",
]
