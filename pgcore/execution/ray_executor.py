"""The worker pool's contract on a Ray cluster: :class:`RayPool`.

It is a second implementation of what :class:`pgcore.execution.WorkerPool` offers the
experiments, ``sweep`` and ``train --seeds``::

    pool = ray_pool("auto")                    # connects once per process, then kept
    task_id = pool.open(sink)                  # sink(msg) gets every message of this task
    future = pool.submit(task_id, fn, *args)   # on the cluster: fn(emit, should_stop, *args)
    pool.stop(task_id)                         # should_stop() turns True in its jobs
    pool.close(task_id)

Each ``submit`` is one Ray task (``num_cpus=1``, one torch thread, no retries: a job that
died is reported, not run twice) that calls the same function with the same arguments as a
local worker would, so a job's episodes are identical on both. ``fn`` must be importable on
the cluster: when this module connects to a cluster itself it ships the ``pgcore`` package
with the job (Ray's ``py_modules``), so the nodes need only the dependencies (torch,
gymnasium, numpy) and run exactly the driver's code.

Messages stream back through one small actor (the *hub*, ``num_cpus=0``): in the job,
``emit`` buffers and at most every :data:`SYNC_EVERY` seconds one round trip hands the
buffer to the hub and brings back the task's stop flag (so ``should_stop`` is a local read
between round trips); the job's last messages are handed over before it returns. Here one
thread polls the hub every :data:`POLL_EVERY` seconds and gives each message to its task's
sink, and resolves a task's future only after its last messages were delivered.

``ray`` is an optional dependency (``pip install "pgcore[ray]"``); without it, or with an
address that does not answer, :func:`ray_pool` raises :class:`ExecutorError` with one line.
This module imports ray only when it connects; it never imports streamlit.
"""

from __future__ import annotations

import logging
import math
import re
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import contextmanager

from .shared import ProcessWide, TaskSinks

SYNC_EVERY = 0.1
"""Seconds between a job's round trips to the hub (its messages out, its stop flag back)."""
POLL_EVERY = 0.1
"""Seconds between this process's looks at the hub and at finished jobs."""
CONNECT_TIMEOUT = 5.0
"""Seconds to wait for a ``HOST:PORT`` to accept a connection before saying it does not."""

LOCAL_OBJECT_STORE = 256 * 1024 * 1024
"""Bytes of object store for a Ray instance this module starts itself (``address`` None and
no running cluster)."""

_ADDRESS = re.compile(r"(?P<scheme>ray://)?(?P<host>[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\])"
                      r":(?P<port>[0-9]{1,5})")


class ExecutorError(ValueError):
    """The executor cannot be used (ray missing, a bad or unreachable address): one line."""


def check_address(address: str | None) -> str | None:
    """``address`` normalised: None (this machine's running cluster, or else a new local
    instance of :func:`~pgcore.execution.usable_cores` CPUs), ``"auto"`` (this machine's
    running cluster), ``HOST:PORT`` (a cluster's head, the address ``ray start --head``
    prints) or ``ray://HOST:PORT`` (Ray Client)."""
    if address is None:
        return None
    text = str(address).strip()
    if not text:
        return None
    if text == "auto":
        return text
    m = _ADDRESS.fullmatch(text)
    if m is None or not 0 < int(m["port"]) < 65536:
        raise ExecutorError(f"bad Ray address {text!r}: give auto, HOST:PORT or ray://HOST:PORT")
    return text


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ExecutorError("ray is not installed: pip install ray") from None
    return ray


def _probe(address: str) -> None:
    """Fail fast on a ``HOST:PORT`` that does not answer (``ray.init`` would retry for
    minutes before giving up)."""
    m = _ADDRESS.fullmatch(address)
    host, port = m["host"].strip("[]"), int(m["port"])
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        if isinstance(exc, socket.timeout):
            reason = f"no answer in {CONNECT_TIMEOUT:g} s"
        raise ExecutorError(f"cannot reach the Ray cluster at {address}: {reason}") from None


def _probe_running_cluster() -> None:
    """Where ``auto`` would connect (``RAY_ADDRESS``, else the cluster ``ray start`` noted in
    Ray's temp directory): it must answer, or ``ray.init`` waits for minutes (a cluster that
    died without ``ray stop`` leaves its note behind)."""
    import os
    from pathlib import Path

    source, found = "RAY_ADDRESS", os.environ.get("RAY_ADDRESS", "").strip()
    if not found:
        note = Path(os.environ.get("RAY_TMPDIR", "/tmp")) / "ray" / "ray_current_cluster"
        try:
            found = note.read_text().strip().splitlines()[0].strip()
            source = str(note)
        except (OSError, IndexError, UnicodeDecodeError):
            return
    if found == "auto" or _ADDRESS.fullmatch(found) is None:
        return  # Ray's own resolution (and message) from here
    try:
        _probe(found)
    except ExecutorError as exc:
        raise ExecutorError(f"{exc} (from {source}; `ray stop` clears a dead cluster's "
                            "note)") from None


def runtime_env() -> dict:
    """What each Ray job needs from this process: the ``pgcore`` package itself."""
    from pathlib import Path

    import pgcore

    return {"py_modules": [str(Path(pgcore.__file__).resolve().parent)]}


def connect(address: str | None = None) -> bool:
    """Connect this process to Ray (once); True if this call did (and so owns the
    connection), False if it already was (a test's or an earlier caller's ``ray.init``, whose
    cluster is then used). A ``HOST:PORT`` that does not answer is an error either way."""
    address = check_address(address)
    ray = _import_ray()
    if address not in (None, "auto"):
        _probe(address)
    if ray.is_initialized():
        return False
    if address in (None, "auto"):
        _probe_running_cluster()
    quiet = {"runtime_env": runtime_env(), "logging_level": logging.ERROR,
             "log_to_driver": False}
    handlers = _python_signal_handlers()
    with _ray_logs_held() as held:
        try:
            try:  # None: this machine's running cluster (RAY_ADDRESS, `ray start`), if any
                ray.init(address="auto" if address is None else address, **quiet)
            except ConnectionError:
                if address is not None:
                    raise
                # else a new local instance, sized for this process: its usable cores, and a
                # small object store (only messages and results pass through it; Ray's default
                # reserves a share of the RAM, which a memory-limited shell cannot map:
                # ray.init then hangs)
                from .cores import usable_cores

                ray.init(num_cpus=usable_cores(), object_store_memory=LOCAL_OBJECT_STORE,
                         include_dashboard=False, **quiet)
        except Exception as exc:  # noqa: BLE001 - any failure to connect is one line for people
            failure = exc
        else:
            _python_signal_handlers_back(handlers)
            return True
    text = (str(failure).strip().splitlines() or [type(failure).__name__])[0]
    if "ray[client]" in text:
        text = 'ray:// addresses need the Ray Client: pip install "ray[client]"'
    elif "InvalidAuthToken" in held[0]:
        text = ("the cluster wants its authentication token: set RAY_AUTH_TOKEN to what "
                "`ray get-auth-token` prints on its head")
    elif "version" in held[0].lower() and "mismatch" in held[0].lower():
        text = "this machine's Ray or Python version differs from the cluster's"
    where = f" at {address}" if address else ""
    raise ExecutorError(f"cannot connect to the Ray cluster{where}: {text}"[:300])


def _python_signal_handlers() -> dict:
    """This process's Python handlers of SIGINT and SIGTERM (the CLI's: stop the runs, exit
    130 / 143), to put back after ``ray.init``, whose C++ core installs its own (which print a
    stack dump and exit 15)."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        return {}
    out = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(sig)
        if callable(handler):
            out[sig] = handler
    return out


def _python_signal_handlers_back(handlers: dict) -> None:
    import signal

    for sig, handler in handlers.items():
        try:
            signal.signal(sig, handler)
        except (ValueError, OSError):  # pragma: no cover - not the main thread after all
            pass


_RAY_LOG_LINE = re.compile(r"^(\[\d{4}-\d\d-\d\d [^]]*\] .*\.(cc|h):\d+:|\s+@\s)")


@contextmanager
def _ray_logs_held():
    """Hold what is written to stderr (file descriptor 2) while Ray connects: its C++ core
    logs every retry there whatever ``logging_level`` says, and a failed connection must read
    as one line. Yields a one-item list that holds the text afterwards; lines that are not
    Ray's own log lines are written back."""
    import os
    import sys
    import tempfile

    held = [""]
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (an embedded interpreter): nothing to hold
        yield held
        return
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield held
        finally:
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            held[0] = tmp.read().decode("utf-8", "replace")
    other = [ln for ln in held[0].splitlines(keepends=True) if ln.strip()
             and not _RAY_LOG_LINE.match(ln) and "*** SIGTERM received" not in ln]
    if other:
        sys.stderr.write("".join(other))
        sys.stderr.flush()


# ----- on the cluster ------------------------------------------------------------------------


class _Hub:
    """The actor between the jobs and this process: messages in, stop flags out."""

    def __init__(self):
        self.messages: list[tuple[int, object]] = []
        self.stopped: set[int] = set()
        self.everything_stopped = False

    def push(self, task_id: int, batch: list) -> bool:
        """A job's messages; returns whether the job should stop."""
        self.messages.extend((task_id, m) for m in batch)
        return self.everything_stopped or task_id in self.stopped

    def drain(self) -> list[tuple[int, object]]:
        out, self.messages = self.messages, []
        return out

    def stop(self, task_id: int) -> None:
        self.stopped.add(task_id)

    def stop_everything(self) -> None:
        self.everything_stopped = True


class _Link:
    """In a job: ``emit`` and ``should_stop``, one hub round trip every :data:`SYNC_EVERY` s."""

    def __init__(self, ray, hub, task_id: int):
        self.ray, self.hub, self.task_id = ray, hub, task_id
        self.buffer: list = []
        self.last = -math.inf
        self.stopped = False

    def emit(self, msg) -> None:
        self.buffer.append(msg)
        if time.monotonic() - self.last >= SYNC_EVERY:
            self.sync()

    def should_stop(self) -> bool:
        if not self.stopped and time.monotonic() - self.last >= SYNC_EVERY:
            self.sync()
        return self.stopped

    def sync(self) -> None:
        batch, self.buffer = self.buffer, []
        self.stopped = self.ray.get(self.hub.push.remote(self.task_id, batch)) or self.stopped
        self.last = time.monotonic()


def _ray_call(hub, task_id: int, fn: Callable, args: tuple):
    """One job as a Ray task: ``fn(emit, should_stop, *args)`` on one torch thread; its last
    messages reach the hub before its result does."""
    import ray
    import torch

    torch.set_num_threads(1)
    link = _Link(ray, hub, task_id)
    try:
        return fn(link.emit, link.should_stop, *args)
    finally:
        link.sync()


# ----- here ------------------------------------------------------------------------------------


class RayPool(TaskSinks):
    """:class:`~pgcore.execution.WorkerPool`'s contract on a Ray cluster (see the module
    docstring). ``workers`` is the cluster's CPU count when it connected: the jobs that can
    run at once (more are queued by Ray)."""

    def __init__(self, owns_connection: bool = False):
        import itertools

        ray = _import_ray()
        self.ray = ray
        self.owns_connection = owns_connection
        self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.hub = ray.remote(_Hub).options(num_cpus=0).remote()
        self._remote = ray.remote(num_cpus=1, max_retries=0)(_ray_call)
        self.broken = False
        self._ids = itertools.count(1)
        self._init_sinks()
        self._pending: dict = {}  # ObjectRef -> Future
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._drain, daemon=True,
                                        name="pgcore-ray-pool-drain")
        self._thread.start()

    # ----- tasks --------------------------------------------------------------------------------
    def open(self, sink: Callable[[object], None]) -> int:
        """A new task id whose messages go to ``sink`` (called in the drain thread)."""
        return self._add_sink(next(self._ids), sink)

    def stop(self, task_id: int) -> None:
        """The task's jobs see ``should_stop()`` True at their next round trip (~0.1 s); its
        jobs still queued on the cluster stop as soon as they start."""
        self.hub.stop.remote(task_id)

    def submit(self, task_id: int, fn: Callable, *args) -> Future:
        """Run ``fn(emit, should_stop, *args)`` as a Ray task; a ``concurrent.futures.Future``
        (already running: a job queued on the cluster is stopped with :meth:`stop`, not
        cancelled)."""
        fut: Future = Future()
        fut.set_running_or_notify_cancel()
        try:
            ref = self._remote.remote(self.hub, task_id, fn, args)
        except BaseException:
            self.broken = True
            raise
        with self._lock:
            self._pending[ref] = fut
        self._wake.set()
        return fut

    # ----- the drain thread and the end ---------------------------------------------------------
    def _drain(self) -> None:
        ray = self.ray
        while not self._closed.is_set():
            with self._lock:
                refs = list(self._pending)
            ready = []
            try:
                if refs:
                    ready, _ = ray.wait(refs, num_returns=len(refs), timeout=POLL_EVERY,
                                        fetch_local=False)
                else:
                    self._wake.wait(POLL_EVERY)
                    self._wake.clear()
                messages = ray.get(self.hub.drain.remote())
            except Exception as exc:  # noqa: BLE001 - the cluster or the hub is gone
                self.broken = True
                self._fail_pending(exc)
                return
            for task_id, msg in messages:
                sink = self._sink_of(task_id)
                if sink is not None:
                    try:
                        sink(msg)
                    except Exception:  # noqa: BLE001, S110 - a bad sink must not end the pool
                        pass
            for ref in ready:
                with self._lock:
                    fut = self._pending.pop(ref)
                self._resolve(ref, fut)

    def _resolve(self, ref, fut: Future) -> None:
        try:
            fut.set_result(self.ray.get(ref))
        except self.ray.exceptions.RayTaskError as exc:  # fn raised: hand over its exception
            cause = getattr(exc, "cause", None)
            fut.set_exception(cause if isinstance(cause, BaseException) else exc)
        except Exception as exc:  # noqa: BLE001 - the worker died, the node went away, ...
            fut.set_exception(exc)

    def _fail_pending(self, exc: BaseException) -> None:
        with self._lock:
            pending, self._pending = list(self._pending.values()), {}
        for fut in pending:
            if not fut.done():
                fut.set_exception(exc)

    def stop_everything(self) -> None:
        try:
            self.hub.stop_everything.remote()
        except Exception:  # noqa: BLE001, S110 - already disconnected
            pass

    def shutdown(self, wait: float = 30.0) -> None:
        """Stop every job, wait (up to ``wait`` s) for them to end and report, then let the hub
        go, and disconnect if this pool's :func:`connect` made the connection."""
        self.stop_everything()
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and not self.broken:
            with self._lock:
                if not self._pending:
                    break
            time.sleep(0.05)
        self._closed.set()
        self._thread.join(5.0)
        self._fail_pending(RuntimeError("the Ray pool was shut down"))
        try:
            self.ray.kill(self.hub)
        except Exception:  # noqa: BLE001, S110 - already gone with the cluster
            pass
        if self.owns_connection:
            self.ray.shutdown()


_POOL: ProcessWide[RayPool] = ProcessWide()


def ray_pool(address: str | None = None) -> RayPool:
    """The process's Ray pool: connects to ``address`` (see :func:`check_address`) on first
    use, then kept; a broken one (the cluster went away) is replaced. A process talks to one
    cluster: once connected, ``address`` is only checked (it must be well formed and, for
    ``HOST:PORT``, answer), not followed."""
    with _POOL.lock:
        current = _POOL.current
        if current is not None and not current.broken:
            address = check_address(address)
            if address not in (None, "auto"):
                _probe(address)
        else:  # the old pool (its cluster gone) ends before this process connects again
            if current is not None:
                _POOL.current = None
                current.shutdown(wait=0.0)
            _POOL.replace(RayPool(owns_connection=connect(address)))
        return _POOL.current


def shutdown_ray_pool() -> None:
    """End the process's Ray pool (its jobs are stopped first). Safe to call twice."""
    _POOL.shutdown()
