"""Execution: everything that runs in the background, in one place.

* :mod:`.slots`: :class:`SlotPool`, the process-wide cap on concurrent training (fair, FIFO);
* :mod:`.tasks`: one task lifecycle (:class:`TaskThread`, owned by every run, experiment and
  lab), one state vocabulary (:data:`STATES`), the registry of live tasks and
  :func:`stop_all`;
* :mod:`.pool`: the one ``spawn`` worker pool (:func:`worker_pool`) that experiments' jobs
  and ``train --seeds`` runs share;
* :mod:`.ray_executor`: the same contract on a Ray cluster (:class:`RayPool`, optional ``ray``);
* :mod:`.executors`: :class:`Executor`, which of the two a task uses (``local`` or ``ray``,
  or ``PGLAB_EXECUTOR`` / ``PGLAB_RAY_ADDRESS``);
* :mod:`.cores`: :func:`usable_cores`, the cores this process may use (affinity, cgroup
  quota), which sizes the local pool, and :func:`usable_memory_mb`, the memory it may use
  (its cgroup's limit, else the machine's).

Importing this package is light (no torch); it never imports streamlit.
"""

from .cores import usable_cores, usable_memory_mb
from .executors import EXECUTORS, Executor, resolve_executor
from .pool import STOP_SLOTS, WorkerPool, shutdown_worker_pool, worker_pool
from .ray_executor import ExecutorError, RayPool, ray_pool, shutdown_ray_pool
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
    "ACTIVE_STATES", "END_REASONS", "END_STATES", "EXECUTORS", "NOT_STARTED", "STATES",
    "STOP_SLOTS", "Executor", "ExecutorError", "RayPool", "SlotPool", "TaskOwner", "TaskThread",
    "WorkerPool", "end_state", "live_tasks", "one_line", "ray_pool", "resolve_executor",
    "shutdown_ray_pool", "shutdown_worker_pool", "stop_all", "usable_cores", "usable_memory_mb",
    "worker_pool",
]
