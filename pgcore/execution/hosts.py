"""Run hosts: a few worker processes, each training many runs at once, for fair sharing.

A class of 30 learners on a 2-core server all press Start within seconds. Training runs that
are threads of the server process share its one interpreter lock (with each other and with
every tab's refreshes), so a fixed number of slots let two runs train while 28 waited. Here
runs train in **host processes**, one per usable core (:func:`~pgcore.execution.usable_cores`),
and each host trains **every run it is given at once**, one thread per run: the host's
interpreter lock hands its core to each run in turn (every 5 ms by default), so 30 runs on 2
hosts all move from the moment they start, each about 1/15 of a core, instead of 2 moving and
28 waiting. A new run goes to the host with the fewest runs. One process per run would cost a
torch import (about 250 MB) per learner; a host costs that once and about 5-10 MB per run.

::

    hosts = run_hosts()                              # started on first use, kept warm
    hosts.start(run_id, config, sink, frame_every=0.25, weights_every=1.0)
    hosts.send(run_id, "pause" | "resume" | "stop")  # the run's RunControl, in its host
    hosts.forget(run_id)                             # after its "end" message

``sink(kind, payload)`` is called in this process's drain thread with, in order:
``("events", [Event, ...])`` (a batch of :mod:`pgcore.events` events, as the trainer emitted
them; frames come without their image, which the reader draws from ``obs`` when it needs one),
``("weights", (updates, {name: ndarray}))`` (a copy of the network's ``state_dict``, at most
every ``weights_every`` seconds, when paused, and at the end), ``("paused", None)`` once the
run has stopped at its pause point (after everything it emitted before) and finally ``("end",
(state, message))``. Hosts run one torch thread and one BLAS thread each, ignore Ctrl-C, end
when this process dies, and never re-run its ``__main__`` (the app script under ``streamlit
run``). This module never imports streamlit, nor torch except in a host.
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import os
import queue as queue_mod
import threading
import time
from collections.abc import Callable

from .cores import usable_cores
from .pool import _sigint_ignored, _workers_skip_main

FLUSH_SECONDS = 0.1
"""A host sends each run's events at least this often (in one message per run)."""

Sink = Callable[[str, object], None]


# ----- in a host process ------------------------------------------------------------------------


def _host_control(on_pause: Callable[[], None]):
    """A :class:`~pgcore.trainer.RunControl` that calls ``on_pause()`` each time the trainer
    reaches its pause point (before blocking there): the run has then really stopped, and
    everything it emitted before can be sent ahead of the "paused" message."""
    from ..trainer import RunControl

    class HostControl(RunControl):
        def wait_while_paused(self) -> float:
            if self.paused:
                on_pause()
            return super().wait_while_paused()

    return HostControl()


class _HostedRun:
    """One run inside a host: its thread, its control, its outbox."""

    def __init__(self, run_id: int, config_dict: dict, frame_every: float | None,
                 weights_every: float, results):
        self.run_id, self.config_dict = run_id, config_dict
        self.frame_every, self.weights_every = frame_every, weights_every
        self.results = results
        self.control = _host_control(self._paused)
        self.lock = threading.Lock()
        self.outbox: list = []
        self.agent = None
        self.weights_at = -1e18
        self.thread = threading.Thread(target=self._main, daemon=True,
                                       name=f"pgcore-hosted-run-{run_id}")

    def _main(self) -> None:
        from ..config import TrainConfig
        from ..trainer import Trainer
        from .tasks import end_state, one_line

        try:
            trainer = Trainer(TrainConfig(**self.config_dict), self.control, self.frame_every,
                              render_frames=False)
            self.agent = trainer.agent
            self._weights()
            result = trainer.run(self._on_event)
            self._weights()
            outcome = (end_state(result.reason), result.message)
        except BaseException as exc:  # noqa: BLE001 - any failure becomes a one-line state
            outcome = ("error", f"The run failed: {one_line(exc)}")
        self.flush()
        self.results.put((self.run_id, "end", outcome))

    def _on_event(self, event) -> None:
        from ..events import UpdateEnd

        with self.lock:
            self.outbox.append(event)
        if isinstance(event, UpdateEnd):
            now = time.monotonic()
            if now - self.weights_at >= self.weights_every:  # (and at the pause: _paused)
                self._weights(now)

    def _weights(self, now: float | None = None) -> None:
        """A numpy copy of the weights, between two updates (never mid-step)."""
        agent = self.agent
        if agent is None:
            return
        weights = {k: v.detach().numpy().copy() for k, v in agent.net.state_dict().items()}
        self.flush()  # the events before these weights arrive first
        self.results.put((self.run_id, "weights", (agent.updates, weights)))
        self.weights_at = time.monotonic() if now is None else now

    def _paused(self) -> None:
        """The trainer has stopped at its pause point: its events and weights so far, then
        word that it is paused (the server shows "paused" only now)."""
        self._weights()
        self.results.put((self.run_id, "paused", None))

    def flush(self) -> None:
        with self.lock:
            batch, self.outbox = self.outbox, []
        if batch:
            self.results.put((self.run_id, "events", batch))


def _host_main(commands, results, parent: int) -> None:
    """A host process: start the runs it is sent, pass on their controls, flush their events."""
    import signal

    import torch

    from .. import algos, trainer  # noqa: F401 - imported once here, not by the first run
    from ..backprop import one_blas_thread

    torch.set_num_threads(1)
    one_blas_thread()
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # pragma: no cover - not the main thread
        pass
    runs: dict[int, _HostedRun] = {}
    lock = threading.Lock()
    done = threading.Event()

    def flusher() -> None:  # every run's events, at least every FLUSH_SECONDS
        while not done.wait(FLUSH_SECONDS):
            with lock:
                live = list(runs.values())
            for run in live:
                run.flush()
            if os.getppid() != parent:  # the server is gone: so is every run's viewer
                os._exit(1)

    threading.Thread(target=flusher, daemon=True, name="pgcore-host-flusher").start()
    while True:
        cmd, run_id, payload = commands.get()
        if cmd == "exit":
            break
        if cmd == "start":
            config_dict, frame_every, weights_every = payload
            run = _HostedRun(run_id, config_dict, frame_every, weights_every, results)
            with lock:
                runs[run_id] = run
            run.thread.start()
            continue
        with lock:
            run = runs.get(run_id)
            if cmd == "forget":
                runs.pop(run_id, None)
        if run is None or cmd == "forget":
            continue
        if cmd == "pause":
            run.control.pause()
        elif cmd == "resume":
            run.control.resume()
        elif cmd == "stop":
            run.control.stop()
    done.set()
    with lock:
        live = list(runs.values())
    for run in live:
        run.control.stop()
    for run in live:
        run.thread.join(10.0)


# ----- in this process --------------------------------------------------------------------------

_RUN_IDS = itertools.count(1)


class RunHosts:
    """``hosts`` host processes and the routing of their runs' messages (see the module
    docstring). Thread-safe."""

    def __init__(self, hosts: int | None = None):
        n = usable_cores() if hosts is None else hosts
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"hosts must be a whole number >= 1, got {hosts!r}")
        ctx = mp.get_context("spawn")
        self.results = ctx.Queue()
        self._commands = [ctx.Queue() for _ in range(n)]
        self._processes = [ctx.Process(target=_host_main, daemon=True,
                                       args=(q, self.results, os.getpid()),
                                       name=f"pgcore-run-host-{i}")
                           for i, q in enumerate(self._commands)]
        with _workers_skip_main(), _sigint_ignored():
            for p in self._processes:
                p.start()
        self._lock = threading.Lock()
        self._sinks: dict[int, Sink] = {}
        self._host_of: dict[int, int] = {}
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._drain, daemon=True,
                                        name="pgcore-run-hosts-drain")
        self._thread.start()

    @property
    def hosts(self) -> int:
        return len(self._processes)

    def new_id(self) -> int:
        return next(_RUN_IDS)

    def load(self) -> list[int]:
        """Runs on each host now."""
        with self._lock:
            return self._counts()

    def _counts(self) -> list[int]:  # under the lock
        counts = [0] * self.hosts
        for h in self._host_of.values():
            counts[h] += 1
        return counts

    @property
    def runs(self) -> int:
        with self._lock:
            return len(self._host_of)

    @property
    def alive(self) -> bool:
        return not self._closed.is_set() and all(p.is_alive() for p in self._processes)

    def pids(self) -> list[int]:
        return [p.pid for p in self._processes if p.pid is not None]

    def start(self, run_id: int, config, sink: Sink, frame_every: float | None = 0.25,
              weights_every: float = 1.0) -> int:
        """Train ``config`` on the least busy host; its messages go to ``sink``. Returns the
        host's index."""
        if not self.alive:
            raise RuntimeError("the run hosts have stopped")
        with self._lock:
            counts = self._counts()
            host = min(range(self.hosts), key=counts.__getitem__)
            self._sinks[run_id] = sink
            self._host_of[run_id] = host
        self._commands[host].put(("start", run_id,
                                  (config.to_dict(), frame_every, float(weights_every))))
        return host

    def send(self, run_id: int, command: str) -> None:
        """``pause``, ``resume`` or ``stop`` the run (ignored once it has ended)."""
        if command not in ("pause", "resume", "stop"):
            raise ValueError(f"unknown command {command!r}")
        with self._lock:
            host = self._host_of.get(run_id)
        if host is not None and not self._closed.is_set():
            self._commands[host].put((command, run_id, None))

    def forget(self, run_id: int) -> None:
        with self._lock:
            self._sinks.pop(run_id, None)
            host = self._host_of.pop(run_id, None)
        if host is not None and not self._closed.is_set():
            self._commands[host].put(("forget", run_id, None))

    def _drain(self) -> None:
        while True:
            try:
                run_id, kind, payload = self.results.get(timeout=0.5)
            except queue_mod.Empty:
                if self._closed.is_set():
                    return
                if not all(p.is_alive() for p in self._processes):
                    self._host_died()
                continue
            except (EOFError, OSError, ValueError):  # pragma: no cover - queue closed
                return
            with self._lock:
                sink = self._sinks.get(run_id)
            if sink is not None:
                try:
                    sink(kind, payload)
                except Exception:  # noqa: BLE001, S112 - one run's reader never stops the rest
                    continue
            if kind == "end":
                self.forget(run_id)

    def _host_died(self) -> None:
        """A host process ended (killed, out of memory): its runs end in ``error``."""
        dead = {i for i, p in enumerate(self._processes) if not p.is_alive()}
        with self._lock:
            lost = [(r, self._sinks.get(r)) for r, h in self._host_of.items() if h in dead]
        for run_id, sink in lost:
            if sink is not None:
                try:
                    sink("end", ("error", "The run failed: its training process ended."))
                except Exception:  # noqa: BLE001, S110
                    pass
            self.forget(run_id)
        if dead:
            self._closed.set()  # the next run_hosts() call starts new hosts

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop every run, end the hosts."""
        for q in self._commands:
            try:
                q.put(("exit", 0, None))
            except (OSError, ValueError):  # pragma: no cover - already closed
                pass
        deadline = time.monotonic() + timeout
        for p in self._processes:
            p.join(max(0.1, deadline - time.monotonic()))
            if p.is_alive():
                p.terminate()
        self._closed.set()
        self._thread.join(2.0)


_HOSTS: RunHosts | None = None
_HOSTS_LOCK = threading.Lock()


def run_hosts() -> RunHosts:
    """The process's run hosts (started on first use; replaced if a host died)."""
    global _HOSTS
    with _HOSTS_LOCK:
        if _HOSTS is None or not _HOSTS.alive:
            old, _HOSTS = _HOSTS, RunHosts()
            if old is not None:
                threading.Thread(target=old.shutdown, daemon=True).start()
            _register_exit_hook()
        return _HOSTS


def shutdown_run_hosts() -> None:
    """End the run hosts (their runs are stopped). Safe to call twice."""
    global _HOSTS
    with _HOSTS_LOCK:
        hosts, _HOSTS = _HOSTS, None
    if hosts is not None:
        hosts.shutdown()


_EXIT_HOOK: list = []


def _register_exit_hook() -> None:
    if _EXIT_HOOK:
        return
    _EXIT_HOOK.append(True)
    import atexit

    atexit.register(shutdown_run_hosts)
