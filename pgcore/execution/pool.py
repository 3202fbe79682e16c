"""The one ``spawn`` worker pool of the process: experiments' jobs and ``train --seeds`` runs.

::

    pool = worker_pool()                       # started on first use, then kept warm
    task_id = pool.open(sink)                  # sink(msg) gets every message of this task
    future = pool.submit(task_id, fn, *args)   # in a worker: fn(emit, should_stop, *args)
    pool.stop(task_id)                         # should_stop() turns True in its workers
    pool.close(task_id)

``fn`` must be a module-level function (it is pickled to the worker). In the worker,
``emit(msg)`` sends ``msg`` back to this process, where one drain thread hands it to the
task's ``sink``; ``should_stop()`` reads the task's stop flag (shared memory, cheap). What
``fn`` returns comes back through the future.

Workers run one torch thread each, ignore Ctrl-C (the parent handles it and stops them), end
themselves if the parent dies (an orphan watchdog), and never re-run this process's
``__main__`` (under ``streamlit run`` that is the app script). This module never imports
streamlit (nor torch, except in a worker).
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import os
import queue as queue_mod
import signal
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager

from .cores import usable_cores
from .shared import ProcessWide, TaskSinks

STOP_SLOTS = 4096
"""Stop flags shared with the workers: task ``k`` uses flag ``k % STOP_SLOTS``."""

# worker-process globals, set by _init_worker
_QUEUE = None
_STOPS = None


def _init_worker(queue, stops, parent: int) -> None:
    """Process setup: one torch thread, no Ctrl-C (the parent handles it), an orphan watchdog."""
    global _QUEUE, _STOPS
    import torch

    torch.set_num_threads(1)
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # pragma: no cover - not the main thread
        pass
    _QUEUE, _STOPS = queue, stops

    def watchdog() -> None:  # `parent` is passed in: it may be gone before we get here
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watchdog, name="pgcore-orphan-watchdog", daemon=True).start()


def _call(task_id: int, fn: Callable, args: tuple):
    """In a worker: run ``fn(emit, should_stop, *args)`` for task ``task_id``."""
    slot = task_id % STOP_SLOTS

    def emit(msg) -> None:
        _QUEUE.put((task_id, msg))

    def should_stop() -> bool:
        return _STOPS[slot] != 0

    return fn(emit, should_stop, *args)


_SPAWN_LOCK = threading.Lock()


@contextmanager
def _workers_skip_main():
    """Spawned workers must not re-run this process's ``__main__``.

    A ``spawn`` child normally re-imports the parent's main script (as ``__mp_main__``). Under
    ``streamlit run`` that script is the app itself, which cannot run outside a Streamlit
    session; and the workers need nothing from it (the job functions live in pgcore). So,
    while this process starts workers, the main-module entries are left out of the data a
    child prepares itself from. ``ProcessPoolExecutor`` starts ``spawn`` workers inside
    ``submit``, in the calling thread, so wrapping ``submit`` is enough.
    """
    import multiprocessing.spawn as spawn

    with _SPAWN_LOCK:
        original = spawn.get_preparation_data

        def preparation_data(name):
            data = original(name)
            data.pop("init_main_from_path", None)
            data.pop("init_main_from_name", None)
            return data

        spawn.get_preparation_data = preparation_data
        try:
            yield
        finally:
            spawn.get_preparation_data = original


@contextmanager
def _sigint_ignored():
    """Ignore Ctrl-C while workers start, if this is the main thread.

    A terminal sends SIGINT to the whole process group, and a worker still importing torch
    would print a traceback; an ignored signal stays ignored across the spawn, so a worker
    started meanwhile ignores it from its first instruction. (Other threads cannot change
    signal handlers; the workers' initializer ignores it a moment later anyway.)
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


_TASK_IDS = itertools.count(1)


class WorkerPool(TaskSinks):
    """The process-wide ``spawn`` pool every process-mode task shares.

    Starting a worker means a new Python that imports torch: about 1.5 s of CPU each. So
    workers are started as they are first needed (up to ``workers``) and reused: the next
    task starts at once. Workers report through one queue, tagged with their task's id; one
    thread here hands each message to its task's sink. :func:`shutdown_worker_pool` ends it
    (the CLI does at exit; a server keeps it).
    """

    def __init__(self, workers: int):
        from concurrent.futures import ProcessPoolExecutor

        ctx = mp.get_context("spawn")
        self.workers = workers
        self.queue = ctx.Queue()
        self.stops = ctx.RawArray("b", STOP_SLOTS)
        self.executor = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                            initargs=(self.queue, self.stops, os.getpid()))
        self.broken = False
        self._init_sinks()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._drain, daemon=True,
                                        name="pgcore-worker-pool-drain")
        self._thread.start()

    # ----- tasks --------------------------------------------------------------------------------
    def open(self, sink: Callable[[object], None]) -> int:
        """A new task id whose messages go to ``sink`` (called in the drain thread)."""
        task_id = next(_TASK_IDS)
        self.register(task_id, sink)
        return task_id

    def register(self, task_id: int, sink: Callable[[object], None]) -> None:
        with self._lock:
            self.stops[task_id % STOP_SLOTS] = 0
            self._sinks[task_id] = sink

    def unregister(self, task_id: int) -> None:
        self.close(task_id)

    def stop(self, task_id: int) -> None:
        """Raise the task's stop flag: its running functions see ``should_stop()`` True."""
        self.stops[task_id % STOP_SLOTS] = 1

    def submit(self, task_id: int, fn: Callable, *args):
        """Run ``fn(emit, should_stop, *args)`` in a worker; a ``concurrent.futures.Future``."""
        with _workers_skip_main(), _sigint_ignored():
            try:
                return self.executor.submit(_call, task_id, fn, args)
            except BaseException:
                self.broken = True  # e.g. BrokenProcessPool: the next user gets a new pool
                raise

    # ----- the drain thread and the end ---------------------------------------------------------
    def _drain(self) -> None:
        while True:
            try:
                task_id, msg = self.queue.get(timeout=0.2)
            except queue_mod.Empty:
                if self._closed.is_set():
                    return
                continue
            except (EOFError, OSError, ValueError):  # pragma: no cover - queue closed
                return
            sink = self._sink_of(task_id)
            if sink is not None:
                sink(msg)

    def stop_everything(self) -> None:
        for i in range(STOP_SLOTS):
            self.stops[i] = 1

    def shutdown(self) -> None:
        """Stop every task, end the workers, close the queue."""
        self.stop_everything()
        self.executor.shutdown(wait=True, cancel_futures=True)
        self._closed.set()
        self._thread.join(5.0)
        self.queue.close()
        self.queue.join_thread()


_POOL: ProcessWide[WorkerPool] = ProcessWide()


def worker_pool(min_workers: int | None = None) -> WorkerPool:
    """The shared pool (started on first use, replaced if a worker died and broke it).

    It has :func:`~pgcore.execution.usable_cores` workers (the cores this process may use:
    its CPU affinity and its container's CPU quota, not the host's count), or ``min_workers``
    if that is more (``train --jobs`` may ask for more processes than cores); a smaller pool
    nobody is using is replaced by a big enough one.
    """
    size = max(usable_cores(), min_workers or 1)
    with _POOL.lock:
        old = _POOL.current
        if old is None or old.broken or (old.workers < size and old.tasks == 0):
            _POOL.replace(WorkerPool(size))
            _register_exit_hook()
        return _POOL.current


def shutdown_worker_pool() -> None:
    """End the shared pool's workers (running tasks are stopped first). Safe to call twice."""
    _POOL.shutdown()


_EXIT_HOOK = []


def _register_exit_hook() -> None:
    """Stop the workers' tasks when the interpreter exits. Registered with threading's exit
    hooks (which run before ``concurrent.futures`` waits for its workers), so a long job
    cannot hold up the exit."""
    if _EXIT_HOOK:
        return
    _EXIT_HOOK.append(True)

    def stop_tasks() -> None:
        pool = _POOL.current
        if pool is not None:
            pool.stop_everything()

    register = getattr(threading, "_register_atexit", None)
    try:
        if register is None:
            raise RuntimeError
        register(stop_tasks)
    except RuntimeError:  # pragma: no cover - old Python, or called during shutdown
        import atexit

        atexit.register(stop_tasks)
