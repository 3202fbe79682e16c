"""Run hosts: a few worker processes, each training many runs at once, for fair sharing.

A class of 30 learners on a 2-core server all press Start within seconds. Training runs that
are threads of the server process share its one interpreter lock (with each other and with
every tab's refreshes), so a fixed number of slots let two runs train while 28 waited. Here
runs train in **host processes**, one per usable core (:func:`~pgcore.execution.usable_cores`),
and each host trains **every run it is given at once**, one thread per run, so 30 runs on 2
hosts all move from the moment they start, each about 1/15 of a core, instead of 2 moving and
28 waiting. A new run goes to the host with the fewest runs. One process per run would cost a
torch import (about 250 MB) per learner; a host costs that once and about 5-10 MB per run.

**How a host shares its core** (:class:`Turns`): its run threads take turns, first come first
served, each training alone for a turn of at least ``quantum`` seconds (20 ms by default) and
handing on at its next pause/stop check (between updates, between the vector steps of a
rollout, at least once per episode: where the trainer calls
:meth:`~pgcore.training.trainer.RunControl.wait_while_paused`). Left to the
interpreter's own time-slicing instead (``quantum=None``), 15 run threads hand the
interpreter lock back and forth every 5 ms, which costs: with turns, 15 runs in a host make
13-46% more env steps at the same CPU and about the same fairness (``bench/bench_hosting.py``). A
paused run, a run stopped or ended, and a run waiting for its turn hold nothing; a stop or a
pause sends its run to the front of the queue, so it acts within the current holder's turn.
A run alone in its host never hands on (no overhead), and turns never change what a run
computes: a seed gives the same episodes as in a thread. That is also why identical requests
may share one run (:attr:`RunHosts.shared_runs`, :attr:`RunHosts.shared_jobs`; the rules are
in :mod:`pgcore.execution.sharing`).

::

    hosts = run_hosts()                              # started on first use, kept warm
    hosts.start(run_id, config, sink, frame_every=0.25, weights_every=1.0)
    hosts.send(run_id, "pause" | "resume" | "stop")  # the run's RunControl, in its host
    hosts.forget(run_id)                             # after its "end" message

``sink(kind, payload)`` is called in this process's drain thread with, in order:
``("events", [Event, ...])`` (a batch of :mod:`pgcore.training.events` events, as the trainer
emitted them; frames come without their image, which the reader draws from ``obs`` when it
needs one),
``("weights", (updates, {name: ndarray}))`` (a copy of the network's ``state_dict``, at most
every ``weights_every`` seconds, when paused, and at the end), ``("paused", None)`` once the
run has stopped at its pause point (after everything it emitted before) and finally ``("end",
(state, message))``. Hosts run one torch thread and one BLAS thread each, ignore Ctrl-C, end
when this process dies, and never re-run its ``__main__`` (the app script under ``streamlit
run``). A host imports torch, pgcore's algorithms and trainer before it takes runs
(:func:`_warm_up`), and what a first optimiser step imports in a thread of its own meanwhile
(a run's optimiser needs the same import, so a first run waits at most for the end of it).
The hosts warm up one after another (:class:`RunHosts`), the first one at this process's own
priority. This module never imports streamlit, nor torch except in a host.
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import os
import queue as queue_mod
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from concurrent.futures import Future

from .cores import lower_thread_priority, usable_cores
from .pool import _sigint_ignored, _workers_skip_main
from .shared import ProcessWide, TaskSinks
from .sharing import ShareBook

FLUSH_SECONDS = 0.1
"""A host sends each run's events at least this often (in one message per run)."""

Sink = Callable[[str, object], None]

JOBS_AT_ONCE = 1_000_000
"""A :class:`HostJobPool` starts every job it is given (no queue): its ``workers``."""

TURN_QUANTUM = 0.02
"""Seconds a run of a host trains, at least, before it hands the host on (:class:`Turns`)."""

WARM_TURN_SECONDS = 30.0
"""Hosts warm up one after another (:class:`RunHosts`): each waits for the one before it to be
warm, but at most this long (a host stuck in its warm-up never holds the others back)."""


# ----- turn-taking ------------------------------------------------------------------------------


class Turns:
    """Turn-taking for the run threads of one host: one holder at a time, first come first
    served, turns of at least ``quantum`` seconds.

    A run :meth:`take` s a turn before it trains (queueing if another run holds it), offers
    it on at each of its check points with :meth:`pass_on` (which hands it to the run that has
    waited longest once the holder has had ``quantum`` seconds, and queues the holder behind
    the others) and :meth:`give_up` s it before it waits for anything (a pause) and when it
    ends. A waiter blocks on a lock of its own: no busy waiting, one wake-up per hand-off, and
    only the holder's thread wants the interpreter. :meth:`pass_on` with nobody waiting
    returns at once, without a lock or a clock read, so a run alone never pays for turns.
    :meth:`hurry` moves a waiting run to the front (a stop or a pause it should see soon).

    ``key`` names a run (any hashable; one thread per key). ``unless``, where taken, is a
    predicate checked under the lock (e.g. "this run is stopped"): it closes the gap between
    a stop and a :meth:`hurry` that could otherwise send a stopped run to the back of the
    queue. ``clock`` is for tests. Thread-safe.
    """

    def __init__(self, quantum: float = TURN_QUANTUM,
                 clock: Callable[[], float] = time.perf_counter):
        if not quantum > 0:
            raise ValueError(f"quantum must be > 0 seconds, got {quantum!r}")
        self.quantum = float(quantum)
        self._clock = clock
        self._lock = threading.Lock()
        self._waiting: deque[tuple[Hashable, threading.Lock]] = deque()
        self._holder: Hashable | None = None
        self._since = 0.0  # when the holder got its turn
        self.handoffs = 0
        """Turns handed from one run to another (for tests and benchmarks)."""

    @property
    def holder(self) -> Hashable | None:
        return self._holder

    @property
    def waiting(self) -> list[Hashable]:
        """The runs waiting for a turn, next first."""
        with self._lock:
            return [key for key, _ in self._waiting]

    def take(self, key: Hashable, unless: Callable[[], bool] | None = None) -> bool:
        """Block until ``key`` holds the turn; True. False at once (nothing taken) if
        ``unless()`` is true when it would queue or take."""
        with self._lock:
            if self._holder == key:
                return True
            if unless is not None and unless():
                return False
            if self._holder is None:
                self._holder, self._since = key, self._clock()
                return True
            seat = self._queue(key)
        seat.acquire()  # released by the run that hands the turn to this one
        return True

    def pass_on(self, key: Hashable, unless: Callable[[], bool] | None = None) -> bool:
        """At a check point of ``key``'s run: if ``key`` holds the turn, has had it
        ``quantum`` seconds and another run waits (and ``unless()`` is not true), hand it on
        and wait for the next turn; True if it did."""
        if not self._waiting:  # nobody waits: carry on (no lock, no clock)
            return False
        if self._holder != key or self._clock() - self._since < self.quantum:
            return False  # (only key's own thread makes key the holder or not)
        with self._lock:
            if not self._waiting or (unless is not None and unless()):
                return False
            seat = self._queue(key)
            self._hand_on()
        seat.acquire()
        return True

    def give_up(self, key: Hashable) -> None:
        """``key``'s run stops training for now (or for good): the next waiting run, if any,
        takes over. Nothing happens if ``key`` does not hold the turn."""
        with self._lock:
            if self._holder == key:
                self._hand_on()

    def hurry(self, key: Hashable) -> bool:
        """Move ``key`` to the front of the queue, if it waits; True if it did."""
        with self._lock:
            for i, (k, seat) in enumerate(self._waiting):
                if k == key:
                    del self._waiting[i]
                    self._waiting.appendleft((k, seat))
                    return True
        return False

    def _queue(self, key: Hashable) -> threading.Lock:  # under self._lock
        seat = threading.Lock()
        seat.acquire()
        self._waiting.append((key, seat))
        return seat

    def _hand_on(self) -> None:  # under self._lock, by the holder
        if self._waiting:
            key, seat = self._waiting.popleft()
            self._holder, self._since = key, self._clock()
            self.handoffs += 1
            seat.release()
        else:
            self._holder = None


# ----- in a host process ------------------------------------------------------------------------


def _host_control(on_pause: Callable[[], None], turns: Turns | None = None,
                  key: Hashable = None):
    """A :class:`~pgcore.training.trainer.RunControl` for a run of a host. The trainer calls
    ``wait_while_paused`` at every check point (between updates and a rollout's vector
    steps, at least once per episode),
    right before it looks at the stop flag, so that is where the run offers its turn on (if
    it is not stopped or paused meanwhile: then it keeps the turn and sees that at once).
    When paused, it calls ``on_pause()`` (the run has really stopped: everything it emitted
    so far can go ahead of the "paused" message), gives the turn up while it waits, and queues
    for a turn again once resumed (not once stopped: a stopped run ends without one)."""
    from ..training.trainer import RunControl

    class HostControl(RunControl):
        def _halted(self) -> bool:
            return self.stopped or self.paused

        def wait_while_paused(self) -> float:
            if turns is not None:
                turns.pass_on(key, unless=self._halted)
            if not self.paused:
                return 0.0
            on_pause()
            if turns is None:
                return super().wait_while_paused()
            turns.give_up(key)
            try:
                return super().wait_while_paused()
            finally:
                turns.take(key, unless=lambda: self.stopped)

    return HostControl()


class _Hosted:
    """What a run and a job inside a host share: an id, a thread that works in turns, and an
    outbox whose batches go back as ``(id, batch_kind, [item, ...])``, then one
    ``(id, "end", (state, text))``."""

    batch_kind = "events"

    def __init__(self, run_id: int, results, turns: Turns | None):
        self.run_id, self.results = run_id, results
        self.turns = turns  # the host's, or None: free time-slicing
        self.lock = threading.Lock()
        self.outbox: list = []
        kind = type(self).__name__.removeprefix("_Hosted").lower()  # run, job
        self.thread = threading.Thread(target=self._main, daemon=True,
                                       name=f"pgcore-hosted-{kind}-{run_id}")

    def _stopped(self) -> bool:  # pragma: no cover - each kind's own
        raise NotImplementedError

    def _work(self) -> tuple[str, object]:  # pragma: no cover - each kind's own
        raise NotImplementedError

    def _main(self) -> None:
        """:meth:`_work` in turns (building a trainer is work too: in a turn); whatever
        happens, the turn is given up and the outcome sent after everything emitted."""
        from .tasks import one_line

        turns = self.turns
        try:
            if turns is not None:
                turns.take(self.run_id, unless=self._stopped)
            outcome = self._work()
        except BaseException as exc:  # noqa: BLE001 - any failure becomes a one-line state
            outcome = ("error", f"The run failed: {one_line(exc)}")
        finally:
            if turns is not None:  # ended, stopped or failed: the others carry on
                turns.give_up(self.run_id)
        self.flush(then=("end", outcome))

    def _hurry(self) -> None:
        if self.turns is not None:
            self.turns.hurry(self.run_id)  # waiting for a turn: be the next, to see it soon

    def flush(self, then: tuple[str, object] | None = None) -> None:
        """Send the outbox so far (and then ``then``, a ``(kind, payload)`` message)."""
        with self.lock:  # (the put too: a batch never overtakes the one before it)
            batch, self.outbox = self.outbox, []
            if batch:
                self.results.put((self.run_id, self.batch_kind, batch))
            if then is not None:
                self.results.put((self.run_id, *then))


class _HostedRun(_Hosted):
    """One training run inside a host: its trainer, its control, its weights."""

    def __init__(self, run_id: int, config_dict: dict, frame_every: float | None,
                 weights_every: float, results, turns: Turns | None = None):
        self.config_dict = config_dict
        self.frame_every, self.weights_every = frame_every, weights_every
        self.control = _host_control(self._paused, turns, run_id)
        self.agent = None
        self.weights_at = -1e18
        self.framed = False  # sent its first frame yet
        super().__init__(run_id, results, turns)

    def _stopped(self) -> bool:
        return self.control.stopped

    def _work(self) -> tuple[str, object]:
        from ..training.config import TrainConfig
        from ..training.trainer import Trainer
        from .tasks import end_state

        trainer = Trainer(TrainConfig(**self.config_dict), self.control, self.frame_every,
                          render_frames=False)
        self.agent = trainer.agent
        self._weights()
        result = trainer.run(self._on_event)
        self._weights()
        return end_state(result.reason), result.message

    def command(self, cmd: str) -> None:
        """``pause``, ``resume`` or ``stop`` (from the host's command thread)."""
        if cmd == "pause":
            self.control.pause()
        elif cmd == "resume":
            self.control.resume()
        elif cmd == "stop":
            self.control.stop()
        else:
            return
        if cmd != "resume":
            self._hurry()

    def _on_event(self, event) -> None:
        from ..training.events import Frame, UpdateEnd

        with self.lock:
            self.outbox.append(event)
        if not self.framed and isinstance(event, Frame):
            self.framed = True
            self.flush()  # a learner waits for the first frame: not for the next flush
        elif isinstance(event, UpdateEnd):
            now = time.monotonic()
            if now - self.weights_at >= self.weights_every:  # (and at the pause: _paused)
                self._weights(now)

    def _weights(self, now: float | None = None) -> None:
        """A numpy copy of the weights, between two updates (never mid-step)."""
        agent = self.agent
        if agent is None:
            return
        weights = {k: v.detach().numpy().copy() for k, v in agent.net.state_dict().items()}
        self.flush(then=("weights", (agent.updates, weights)))  # after the events before them
        self.weights_at = time.monotonic() if now is None else now

    def _paused(self) -> None:
        """The trainer has stopped at its pause point: its events and weights so far, then
        word that it is paused (the server shows "paused" only now)."""
        self._weights()
        self.results.put((self.run_id, "paused", None))


class _HostedJob(_Hosted):
    """A function run inside a host like a run: ``fn(emit, should_stop, *args)``, the worker
    pool's contract (:mod:`pgcore.execution.pool`), so an experiment's jobs can train in the
    hosts too. It takes turns with the host's runs and jobs: ``should_stop()``, which a job
    calls at its check points, is also where it offers its turn on. What it emits goes
    back in batches (``("messages", [msg, ...])``), then ``("end", (state, text))``:
    ``finished`` with ``fn``'s result, or ``error`` with one line."""

    batch_kind = "messages"

    def __init__(self, run_id: int, fn: Callable, args: tuple, results,
                 turns: Turns | None = None):
        self.fn, self.args = fn, args
        self.stopped = threading.Event()
        super().__init__(run_id, results, turns)

    def _stopped(self) -> bool:
        return self.stopped.is_set()

    def _emit(self, msg) -> None:
        with self.lock:
            self.outbox.append(msg)

    def _should_stop(self) -> bool:
        if self.turns is not None:
            self.turns.pass_on(self.run_id, unless=self.stopped.is_set)
        return self.stopped.is_set()

    def _work(self) -> tuple[str, object]:
        return "finished", self.fn(self._emit, self._should_stop, *self.args)

    def command(self, cmd: str) -> None:
        """``stop`` (jobs have no pause)."""
        if cmd == "stop":
            self.stopped.set()
            self._hurry()


def _warm_up(first_step: bool = True) -> None:
    """What a host imports before its first run, so that no run stalls on it: torch,
    pgcore's algorithms and trainer, and (``first_step``) what the first ``torch.optim`` step
    imports (``torch._dynamo``, about 1-2 s of CPU and 70-80 MB), by one throwaway fused-Adam
    step on a one-element tensor (:func:`_first_optimiser_step`)."""
    from .. import algos  # noqa: F401 - imported once here, not by the first run
    from ..training import trainer  # noqa: F401

    if first_step:
        _first_optimiser_step()


def _first_optimiser_step() -> None:
    import torch

    param = torch.nn.Parameter(torch.zeros(1))
    param.grad = torch.ones(1)
    torch.optim.Adam([param], fused=True).step()


OOM_SCORE_ADJ = 500
"""Added to a host's out-of-memory score: past its memory limit, the kernel kills a host (its
runs end with a message, :meth:`RunHosts._host_died`, and new hosts start) rather than the
server, whose death would drop every learner's page."""


def _kill_me_first(adj: int = OOM_SCORE_ADJ, path: str = "/proc/self/oom_score_adj") -> bool:
    """Raise this process's out-of-memory score by ``adj`` (any process may raise its own);
    False where there is no such file (not Linux) or it cannot be written."""
    try:
        with open(path) as f:
            now = int(f.read().strip() or 0)
        with open(path, "w") as f:
            f.write(str(min(1000, now + adj)))
        return True
    except (OSError, ValueError):
        return False


def _host_main(commands, results, parent: int, quantum: float | None = TURN_QUANTUM,
               after=None, warm=None, lower: bool = False) -> None:
    """A host process: start the runs it is sent, pass on their controls, flush their events.
    Its runs take :class:`Turns` of ``quantum`` seconds (None or 0: free time-slicing).
    ``after``: an event to wait for (at most :data:`WARM_TURN_SECONDS`) before warming up
    (the host before it is warm, or the server's go); ``warm``: an event to set once warm;
    ``lower``: warm up at a lower CPU priority (:data:`~.cores.WARM_NICE`)."""
    _kill_me_first()  # first: a host importing torch is already the one to go
    if after is not None:
        after.wait(WARM_TURN_SECONDS)
    import signal

    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # pragma: no cover - not the main thread
        pass

    def imports() -> None:
        if lower:
            lower_thread_priority()
        import torch

        from ..rl.backprop import one_blas_thread

        torch.set_num_threads(1)
        one_blas_thread()
        _warm_up(first_step=False)  # what a run needs to start: it may come now

    warming = threading.Thread(target=imports, name="pgcore-host-imports")
    warming.start()
    warming.join()  # (this thread, whose runs' threads inherit its priority, keeps its own)

    def first_step() -> None:  # meanwhile: a first run's optimiser imports the same
        if lower:
            lower_thread_priority()
        _first_optimiser_step()
        if warm is not None:
            warm.set()

    threading.Thread(target=first_step, daemon=True, name="pgcore-host-warm-up").start()
    turns = Turns(quantum) if quantum else None
    runs: dict[int, _HostedRun | _HostedJob] = {}
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
        if cmd in ("start", "job"):
            if cmd == "start":
                config_dict, frame_every, weights_every = payload
                run = _HostedRun(run_id, config_dict, frame_every, weights_every, results,
                                 turns)
            else:
                fn, args = payload
                run = _HostedJob(run_id, fn, args, results, turns)
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
        run.command(cmd)
    done.set()
    with lock:
        live = list(runs.values())
    for run in live:
        run.command("stop")
    for run in live:
        run.thread.join(10.0)


# ----- in this process --------------------------------------------------------------------------

_RUN_IDS = itertools.count(1)


COLD_HOST_RUNS = 1
"""A host still warming up counts as this many runs more than it has (:func:`pick_host`)."""


def pick_host(counts: list[int], warm: list[bool]) -> int:
    """The host a new run goes to: the one with the fewest runs, a host still warming up
    counting :data:`COLD_HOST_RUNS` more (a warm one first among equals, then the first).

    A run sent to a warm host starts at once, so a learner's Start goes there; but runs last
    minutes, and a host warming up is a few seconds from ready: six runs started together
    while only the first host was warm all went to it and shared its one core for good, the
    other host idle (an experiment page's grid, a class pressing Start on a fresh server).
    Now they split four and two.

    >>> pick_host([0, 0], [False, True]), pick_host([1, 0], [True, False])
    (1, 0)
    >>> pick_host([2, 0], [True, False]), pick_host([2, 1], [False, False])
    (1, 1)
    >>> pick_host([3, 1], [True, True])
    1
    """
    return min(range(len(counts)),
               key=lambda i: (counts[i] + (0 if warm[i] else COLD_HOST_RUNS), not warm[i]))


class RunHosts:
    """``hosts`` host processes (default: one per usable core) and the routing of their runs'
    messages (see the module docstring). A host's runs take turns of at least ``quantum``
    seconds (:class:`Turns`); ``quantum=None`` or 0 leaves them to the interpreter's own
    time-slicing (the way hosts shared their core before; for comparisons). Thread-safe.

    The hosts warm up one after another (each importing torch waits for the one before it to
    be warm, :data:`WARM_TURN_SECONDS` at most): on a server that has just started, the first
    host is ready in about the time one warm-up takes alone, not all of them at once sharing
    the cores, and a new run goes to a warm host unless it is busier than one still warming
    (:func:`pick_host`), so a learner's first Start does not wait for the last one. The first
    host warms at this process's priority (a run sent to it meanwhile waits for its warm-up's
    imports: lowered, they would be a priority inversion); the others, which warm while it
    trains, at a lower one (:data:`~.cores.WARM_NICE`). ``held``: the first host's warm-up
    waits for :meth:`release` (a server starts its hosts' processes as its first page starts,
    and lets them warm up once that page has drawn), or for a run, or
    :data:`WARM_TURN_SECONDS`."""

    def __init__(self, hosts: int | None = None, quantum: float | None = TURN_QUANTUM,
                 held: bool = False):
        n = usable_cores() if hosts is None else hosts
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"hosts must be a whole number >= 1, got {hosts!r}")
        if quantum is not None and (isinstance(quantum, bool)
                                    or not isinstance(quantum, int | float)
                                    or not quantum >= 0):
            raise ValueError(f"quantum must be None or seconds >= 0, got {quantum!r}")
        self.quantum = float(quantum) if quantum else None
        ctx = mp.get_context("spawn")
        self.results = ctx.Queue()
        self._commands = [ctx.Queue() for _ in range(n)]
        self._warm = [ctx.Event() for _ in range(n)]  # set by each host once it is warm
        self._go = ctx.Event()  # the first host's warm-up waits for it (:meth:`release`)
        if not held:
            self._go.set()
        self._processes = [ctx.Process(target=_host_main, daemon=True,
                                       args=(q, self.results, os.getpid(),
                                             self.quantum),
                                       kwargs={"after": self._warm[i - 1] if i else self._go,
                                               "warm": self._warm[i], "lower": i > 0},
                                       name=f"pgcore-run-host-{i}")
                           for i, q in enumerate(self._commands)]
        with _workers_skip_main(), _sigint_ignored():
            for p in self._processes:
                p.start()
        self._lock = threading.Lock()
        self._sinks: dict[int, Sink] = {}
        self._host_of: dict[int, int] = {}
        self._closed = threading.Event()
        self._job_pool: HostJobPool | None = None
        self.shared_runs: ShareBook = ShareBook()
        """The runs identical requests share (:mod:`pgcore.execution.sharing`; kept with the
        hosts: new hosts, after one died, start a new book)."""
        self.shared_jobs: ShareBook = ShareBook(keep=4 * 32)
        """The same for experiment jobs (an experiment page's grid is up to ~30 jobs)."""
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

    @property
    def held(self) -> bool:
        """Whether the first host's warm-up still waits for :meth:`release`."""
        return not self._go.is_set()

    def release(self) -> None:
        """Let the first host begin its warm-up, if it was started ``held`` (it begins anyway
        after :data:`WARM_TURN_SECONDS`, or when a run is sent). Safe to call again."""
        self._go.set()

    def warm(self) -> list[bool]:
        """Whether each host has finished its warm-up (and takes runs without delay)."""
        return [e.is_set() for e in self._warm]

    def start(self, run_id: int, config, sink: Sink, frame_every: float | None = 0.25,
              weights_every: float = 1.0) -> int:
        """Train ``config`` on the least busy host; its messages go to ``sink``. Returns the
        host's index."""
        return self._place(run_id, sink, "start",
                           (config.to_dict(), frame_every, float(weights_every)))

    def submit_job(self, run_id: int, fn: Callable, args: tuple, sink: Sink) -> int:
        """Run ``fn(emit, should_stop, *args)`` (a module-level function: it is pickled) on
        the least busy host, taking turns with its runs; ``sink`` gets ``("messages", [msg,
        ...])`` and finally ``("end", (state, result_or_message))``. Returns the host's
        index. :meth:`job_pool` wraps this in the worker pool's contract."""
        return self._place(run_id, sink, "job", (fn, tuple(args)))

    def _place(self, run_id: int, sink: Sink, command: str, payload) -> int:
        """Send ``command`` for ``run_id`` to the host with the fewest runs and jobs, whose
        messages for it go to ``sink``; the host's index."""
        if not self.alive:
            raise RuntimeError("the run hosts have stopped")
        self.release()  # a run never waits for a held warm-up
        warm = self.warm()
        with self._lock:
            host = pick_host(self._counts(), warm)
            self._sinks[run_id] = sink
            self._host_of[run_id] = host
        self._commands[host].put((command, run_id, payload))
        return host

    def job_pool(self) -> HostJobPool:
        """These hosts as a pool with the worker pool's contract (``open``, ``submit``,
        ``stop``, ``close``, ``workers``, ``broken``), whose jobs all train at once."""
        with self._lock:
            if self._job_pool is None:
                self._job_pool = HostJobPool(self)
            return self._job_pool

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
                except Exception:  # noqa: BLE001, S110 - one run's reader never stops the rest
                    pass
            if kind == "end":  # (even if its reader failed: the host has let it go)
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


class HostJobPool(TaskSinks):
    """Run hosts with the worker pool's contract (:mod:`pgcore.execution.pool`), for
    :class:`~pgcore.execution.experiments.Experiment` (``hosts=``): every submitted job
    starts at once on the least busy host and takes turns there with every other run and
    job, so all the conditions of an experiment move together from the first second,
    instead of queueing for one of a few workers. ``workers`` is therefore unbounded
    (:data:`JOBS_AT_ONCE`).
    ``submit`` returns a :class:`concurrent.futures.Future` that is already running (it
    cannot be cancelled: :meth:`stop` stops a task's jobs) and ends with ``fn``'s result, or
    a :class:`RuntimeError` whose text is the job's one-line failure."""

    def __init__(self, hosts: RunHosts):
        self.hosts = hosts
        self.broken = False
        self._init_sinks()
        self._tasks = itertools.count(1)
        self._jobs: dict[int, set[int]] = {}  # task -> its jobs still on the hosts

    workers = JOBS_AT_ONCE

    def open(self, sink: Callable[[object], None]) -> int:
        """A new task whose jobs' messages go to ``sink``; its id."""
        with self._lock:
            task_id = next(self._tasks)
            self._jobs[task_id] = set()
        return self._add_sink(task_id, sink)

    def submit(self, task_id: int, fn: Callable, *args) -> Future:
        future: Future = Future()
        future.set_running_or_notify_cancel()
        job_id = self.hosts.new_id()
        sink = self._sink_of(task_id)
        if sink is None:
            raise RuntimeError(f"task {task_id} is not open")
        with self._lock:
            self._jobs[task_id].add(job_id)

        def on_message(kind: str, payload) -> None:
            if kind == "messages":
                for msg in payload:
                    sink(msg)
            elif kind == "end":
                with self._lock:
                    self._jobs.get(task_id, set()).discard(job_id)
                state, value = payload
                if state == "finished":
                    future.set_result(value)
                else:
                    future.set_exception(RuntimeError(
                        str(value).removeprefix("The run failed: ")))

        try:
            self.hosts.submit_job(job_id, fn, args, on_message)
        except BaseException:
            with self._lock:
                self._jobs[task_id].discard(job_id)
            self.broken = True
            raise
        return future

    def stop(self, task_id: int) -> None:
        """Every job of the task sees ``should_stop()`` turn true (at its next check)."""
        with self._lock:
            jobs = list(self._jobs.get(task_id, ()))
        for job_id in jobs:
            self.hosts.send(job_id, "stop")

    def close(self, task_id: int) -> None:
        super().close(task_id)
        with self._lock:
            self._jobs.pop(task_id, None)


_HOSTS: ProcessWide[RunHosts] = ProcessWide()


def run_hosts(hosts: int | None = None, held: bool = False) -> RunHosts:
    """The process's run hosts (started on first use, ``hosts`` of them, by default one per
    usable core; replaced if a host died). ``held``: if this call starts them, their warm-up
    waits for :meth:`RunHosts.release`."""
    with _HOSTS.lock:
        if _HOSTS.current is None or not _HOSTS.current.alive:
            _HOSTS.replace(RunHosts(hosts, held=held))
            _register_exit_hook()
        return _HOSTS.current


def current_run_hosts() -> RunHosts | None:
    """The process's run hosts if they have been started (and none has died), else None:
    never starts them (for a status line or a memory reading)."""
    current = _HOSTS.current
    return current if current is not None and current.alive else None


def shutdown_run_hosts() -> None:
    """End the run hosts (their runs are stopped). Safe to call twice."""
    _HOSTS.shutdown()


_EXIT_HOOK: list = []


def _register_exit_hook() -> None:
    if _EXIT_HOOK:
        return
    _EXIT_HOOK.append(True)
    import atexit

    atexit.register(shutdown_run_hosts)
