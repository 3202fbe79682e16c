"""Who owns what: the run hosts and one slot pool per server process, one task holder per
browser session, and the one Start / Pause / Resume / Stop / Reset widget every page drives its
task with, and the one line on where a background run stands (:func:`end_note`).

``training_hosts()`` is where Train-page (and Pendulum-page) runs train: a few host
processes, one per core this process may use, each training every run it is given at once
(:mod:`pgcore.execution.hosts`), so a whole class's runs all move from the moment they start,
each slower, and the server's own interpreter stays free to draw pages. ``PGLAB_RUNS=threads``
trains them in threads of the server instead (the tests' default: one process is easier to
inspect), capped by the slot pool; so does a server whose memory holds no host.

``memory_plan()`` sizes the server from the memory it may use (its cgroup's limit, else the
machine's; ``PGLAB_MEMORY_MB`` overrides): how many hosts, how many sessions at once
(:func:`plan_memory`); :func:`admit_session` turns a visitor away with "the server is full"
past it. The hosts, torch and the Train page's libraries load after the first page has been
drawn, in a background thread (:func:`warm_up_in_background`), so the first page never waits
for them.

``slot_pool()`` is a process-wide ``st.cache_resource``: every session shares it, so at most
``PGLAB_MAX_RUNS`` (default: the cores this process may use) thread runs and experiment jobs
train at once and the rest wait.

``session_tasks()`` is a *session-scoped* ``st.cache_resource`` holding everything the
session runs, one task per page key (:class:`PageTask`): the Train page's run under
:data:`TRAIN` (a :class:`RunHolder`), each experiment page's experiment or lab under its own
key. It survives page switches and reruns; when the browser tab goes away Streamlit drops it
and calls ``on_release``, which stops all of the session's tasks. A Train run also has its
own caps (a time budget, a limit on how long it may stay paused, and an idle timeout when
nobody reads its snapshots), so a run whose session vanished without notice still ends.
"""

from __future__ import annotations

import functools
import math
import os
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import streamlit as st

from pgcore.execution import ACTIVE_STATES, SlotPool, usable_cores
from pgcore.execution.cores import memory_in_use_mb, usable_memory_mb
from pgcore.execution.hosts import RunHosts, current_run_hosts, run_hosts

if TYPE_CHECKING:  # (imported where used: the first page draws before torch loads)
    from pgcore import TrainConfig
    from pgcore.execution.runner import BackgroundRun, RunSnapshot

FRAME_EVERY = 0.25
"""Seconds between CartPole frames drawn by the trainer (the page shows ~2 per second)."""
MAX_PAUSE_SECONDS = 1800.0
IDLE_TIMEOUT = 1800.0
TRAIN = "train"
"""The Train page's key in :class:`SessionTasks`."""


@dataclass(frozen=True)
class WatchResult:
    """One played episode of the policy, as a GIF."""

    gif: bytes
    episode_return: float
    length: int
    weights_update: int | None
    greedy: bool


class PageTask:
    """One page's task in a session (a run, an experiment or a lab: anything with ``start``,
    ``stop``, ``state`` and ``snapshot``), and what the page keeps beside it."""

    def __init__(self, key: str) -> None:
        self.key = key
        self._lock = threading.Lock()
        self.task = None
        self.last_state: str | None = None  # what the page last drew (to notice transitions)
        self.notes: dict = {}  # anything the page keeps across tasks (e.g. earlier results)

    def start(self, task):
        """Stop the current task (if any) and start ``task`` in its place."""
        with self._lock:
            old, self.task = self.task, task
            self._forget()
        if old is not None:
            old.stop()
        task.start()
        return task

    def _forget(self) -> None:
        """What goes with the task when it is replaced or reset (called under the lock)."""
        self.last_state = None

    @property
    def state(self) -> str | None:
        task = self.task
        return None if task is None else task.state

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    def snapshot(self):
        task = self.task
        return None if task is None else task.snapshot()

    def pause(self) -> None:
        task = self.task
        if task is not None and hasattr(task, "pause"):
            task.pause()

    def resume(self) -> None:
        task = self.task
        if task is not None and hasattr(task, "resume"):
            task.resume()

    def stop(self) -> None:
        task = self.task
        if task is not None:
            task.stop()

    def reset(self) -> None:
        """Stop the task and forget it (its charts and downloads go too)."""
        with self._lock:
            task, self.task = self.task, None
            self._forget()
        if task is not None:
            task.stop()


class RunHolder(PageTask):
    """The Train page's task: at most one run, and the last 'watch the agent' GIF."""

    def __init__(self, key: str = TRAIN) -> None:
        super().__init__(key)
        self.watch: WatchResult | None = None
        self.reached: dict[float, int] = {}  # threshold -> first episode (never changes once set)
        self.preset: str | None = None  # the preset the settings started from (a label)
        self.summary: str | None = None  # the run in words, as the settings said at its Start
        self.recording = None  # the run's pgcore.store.history.Recording (None: not recorded)
        self.refresh_every: float | None = None  # the live panel's interval (ui.train)

    @property
    def run(self) -> BackgroundRun | None:
        return self.task

    @run.setter
    def run(self, run: BackgroundRun | None) -> None:
        self.task = run

    def start(self, config: TrainConfig, pool: SlotPool, preset: str | None = None,
              summary: str | None = None) -> BackgroundRun:
        """Stop any current run and start a new one with ``config``, recorded in the run
        history under the session's name and class (:func:`ui.recording.recording_for`).
        ``summary``: the run in words, for the panel's header."""
        from pgcore.execution.runner import BackgroundRun

        from .recording import recording_for

        self.preset, self.summary = preset, summary
        recording = recording_for(config, preset)
        run = BackgroundRun(config, pool, frame_every=FRAME_EVERY,
                            max_pause_seconds=MAX_PAUSE_SECONDS, idle_timeout=IDLE_TIMEOUT,
                            on_end=None if recording is None else recording.ended,
                            hosts=training_hosts(), share=shares_runs())
        if recording is not None:
            recording.attach(run)
        started = super().start(run)
        self.recording = recording  # after start(): _forget() has cleared the old one
        return started

    def _forget(self) -> None:
        super()._forget()
        self.watch = None
        self.recording = None
        self.reached = {}


class SessionTasks:
    """Everything one browser session runs: one :class:`PageTask` per page key."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pages: dict[str, PageTask] = {TRAIN: RunHolder()}

    def page(self, key: str) -> PageTask:
        """Page ``key``'s entry (created on first use)."""
        with self._lock:
            if key not in self._pages:
                self._pages[key] = PageTask(key)
            return self._pages[key]

    @property
    def train(self) -> RunHolder:
        return self._pages[TRAIN]

    def get(self, key: str):
        """Page ``key``'s task, or None."""
        return self.page(key).task

    def release(self) -> None:
        """The session ended: stop every task it started (called by ``on_release``)."""
        with self._lock:
            pages = list(self._pages.values())
            self.released = True
        for page in pages:
            page.stop()

    released = False


# ----- how many sessions the server takes -------------------------------------------------------
#
# The kernel charges the server's cgroup (Streamlit Community Cloud's 690 MB - 2.7 GB, a
# container's --memory) for every process in it, shared library pages once, and kills a
# process when the charge cannot be kept under the limit. So the server reads its limit
# (usable_memory_mb), plans from it how many run hosts it starts and how many sessions it
# admits (plan_memory), and admits a new session only while the cgroup's real charge leaves
# room for one more. The figures are cgroup working sets measured by bench/bench_memory.py
# (usage less droppable page cache), not summed RSS, which counts torch's libraries once per
# process.

SERVER_MB = 330.0
"""The server once warmed up (torch, gymnasium, pandas, altair and the Train page's helpers
loaded, one run drawn), as its cgroup charges it: measured 337 MB with one run training in
a thread of it (bench/bench_memory.py, costs)."""
HOST_MB = 225.0
"""One warmed run host with no runs yet, as the cgroup charges it: measured 223 MB each (two
hosts, 446 MB over the server alone). Torch's library pages are charged once, not per host."""
SESSION_MB = 25.0
"""One more browser session whose run trains in a host: its snapshots and charts in the
server, the run in the host (measured 14-29 MB)."""
THREAD_SESSION_MB = 20.0
"""One more browser session whose run trains in a thread of the server (measured 13-16 MB)."""
RESERVE_MB = 150.0
"""What the plan leaves free of the limit: page cache the processes need to run (the code
pages of torch and Python's libraries, charged to a fresh container's cgroup as they are
first read) and transient peaks (a page draw, a checkpoint download)."""
MIN_SESSIONS_PER_HOST = 10
"""Run hosts only as many as leave room for this many sessions each; below one host's worth,
the runs train in threads of the server (a host would take the room of ten learners)."""
THREAD_RUNS_PER_CORE = 2
"""Without hosts, every admitted session may train at once, in threads of the server; they
share one interpreter with the pages, so at most this many sessions per core."""
DEFAULT_BUDGET_MB = 2700.0
"""Where neither a limit nor the machine's memory can be read (no /proc)."""

_SESSIONS: weakref.WeakSet = weakref.WeakSet()
_SESSIONS_LOCK = threading.Lock()


@dataclass(frozen=True)
class MemoryPlan:
    """How the server uses its memory: ``hosts`` run hosts (0: runs train in threads of the
    server), at most ``max_sessions`` browser sessions at once, and whether worker processes
    (an experiment's process pool) fit at all (``workers_fit``)."""

    budget_mb: float
    source: str  # where the budget came from
    hosts: int
    max_sessions: int
    workers_fit: bool

    @property
    def in_threads(self) -> bool:
        return self.hosts == 0

    def text(self) -> str:
        """One line for the server's log.

        >>> plan_memory(690, 2, source="cgroup limit").text()[:60]
        '690 MB (cgroup limit): runs train in threads of the server, '
        """
        where = ("in threads of the server" if self.in_threads
                 else f"in {self.hosts} run host{'s' if self.hosts > 1 else ''}")
        return (f"{self.budget_mb:,.0f} MB ({self.source}): runs train {where}, "
                f"at most {self.max_sessions} sessions at once")


def plan_memory(budget_mb: float, cores: int, runs: str = "auto",
                source: str = "PGLAB_MEMORY_MB") -> MemoryPlan:
    """The run hosts and the session cap that fit ``budget_mb`` on ``cores`` cores.

    ``runs``: ``auto`` (hosts where they fit, else threads), ``hosts`` (as many as fit, at
    least one), ``threads`` (never hosts). With hosts: the most, up to one per core, that
    leave room for :data:`MIN_SESSIONS_PER_HOST` sessions each::

        room = budget - RESERVE - SERVER
        sessions = (room - hosts x HOST) // SESSION            with hosts
                 = min(room // THREAD_SESSION, 2 x cores)      without (threads of the server)

    >>> [plan_memory(mb, 2).hosts for mb in (690, 1024, 2700)]
    [0, 1, 2]
    >>> [plan_memory(mb, 2).max_sessions for mb in (690, 1024, 2700)]
    [4, 12, 70]
    """
    room = max(0.0, budget_mb - RESERVE_MB - SERVER_MB)
    fit = 0  # hosts the memory holds
    for n in range(max(1, cores), 0, -1):
        if room - n * HOST_MB >= n * MIN_SESSIONS_PER_HOST * SESSION_MB:
            fit = n
            break
    hosts = {"threads": 0, "hosts": max(1, fit)}.get(runs, fit)
    if hosts:
        sessions = (room - hosts * HOST_MB) // SESSION_MB
    elif runs == "threads":  # chosen, not forced by the memory: the memory alone caps it
        sessions = room // THREAD_SESSION_MB
    else:
        sessions = min(room // THREAD_SESSION_MB, THREAD_RUNS_PER_CORE * max(1, cores))
    return MemoryPlan(float(budget_mb), source, hosts, max(1, int(sessions)), fit >= 1)


@functools.cache
def _detected_memory() -> tuple[float, str]:
    """(MB, where from) of the memory this process may use, read once (it does not change)."""
    from pgcore.execution.cores import cgroup_memory_limit_mb

    mb = usable_memory_mb()
    if mb <= 0:
        return DEFAULT_BUDGET_MB, "default"
    limit = cgroup_memory_limit_mb()
    return mb, ("cgroup limit" if limit is not None and limit <= mb else "machine memory")


def memory_budget_mb() -> float:
    """The whole server's memory budget: ``PGLAB_MEMORY_MB`` if set, else the memory this
    process may use (its cgroup's limit: Streamlit Community Cloud's tier, a container's
    ``--memory``; else the machine's)."""
    return _budget()[0]


def _budget() -> tuple[float, str]:
    raw = os.environ.get("PGLAB_MEMORY_MB", "").strip()
    if raw:
        try:
            budget = float(raw)
        except ValueError:
            budget = 0.0
        if budget > 0 and math.isfinite(budget):
            return budget, "PGLAB_MEMORY_MB"
    return _detected_memory()


def runs_setting() -> str:
    """``PGLAB_RUNS``: ``hosts``, ``threads`` or (unset, anything else) ``auto``."""
    raw = os.environ.get("PGLAB_RUNS", "").strip().lower()
    return raw if raw in ("hosts", "threads") else "auto"


def memory_plan() -> MemoryPlan:
    """This server's plan (:func:`plan_memory`) for its budget, cores and ``PGLAB_RUNS``."""
    budget, source = _budget()
    return plan_memory(budget, server_cores(), runs_setting(), source)


@functools.cache
def server_cores() -> int:
    """The cores this server may use (:func:`~pgcore.execution.usable_cores`: CPU affinity and
    the container's quota), read once: the live panels ask on every refresh, and reading the
    cgroup files each time would put file reads on that path."""
    return usable_cores()


def max_sessions() -> int:
    """Sessions the budget holds (:func:`memory_plan`), at least 1."""
    return memory_plan().max_sessions


def open_sessions() -> int:
    with _SESSIONS_LOCK:
        return sum(1 for t in _SESSIONS if not t.released)


def process_tree_mb() -> float:
    """Resident memory of this process and its run hosts, in MB (0 where /proc is missing).
    Only where no cgroup limit can be read: RSS counts shared libraries once per process."""
    pids = [os.getpid()]
    hosts = current_run_hosts()
    if hosts is not None:
        pids += hosts.pids()
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) / 1024
                        break
        except (OSError, ValueError):
            continue
    return total


def memory_in_use() -> float:
    """What the server uses now, in MB: its cgroup's charge less droppable cache where it has
    a limit (every process once), else the RSS of this process and its hosts."""
    charged = memory_in_use_mb()
    return process_tree_mb() if charged is None else charged


def room_for_a_session(plan: MemoryPlan, open_now: int, in_use_mb: float,
                       hosts_started: bool) -> bool:
    """Whether one more session fits: fewer than the plan's cap are open, and what the server
    will use with it stays within the budget less :data:`RESERVE_MB`. What it will use is the
    larger of the plan's figure for the sessions open (server, hosts, sessions) and the
    memory in use now plus whatever has not started yet (the hosts, the server's warm-up).

    >>> p = plan_memory(1024, 2)
    >>> room_for_a_session(p, 0, 100, False), room_for_a_session(p, p.max_sessions, 300, True)
    (True, False)
    >>> room_for_a_session(p, 1, 1000, True)  # the real charge says no, whatever the count
    False
    """
    per = THREAD_SESSION_MB if plan.in_threads else SESSION_MB
    hosts = plan.hosts * HOST_MB
    planned = SERVER_MB + hosts + open_now * per
    measured = in_use_mb if hosts_started else max(in_use_mb, SERVER_MB) + hosts
    return (open_now < plan.max_sessions
            and max(planned, measured) + per <= plan.budget_mb - RESERVE_MB)


def admit_session() -> bool:
    """Whether this browser session may use the server: once admitted, always; a new one
    only while :func:`room_for_a_session`. Otherwise the app shows "the server is full" and
    creates nothing."""
    if st.session_state.get("server.admitted"):
        return True
    plan = memory_plan()
    ok = room_for_a_session(plan, open_sessions(), memory_in_use(),
                            current_run_hosts() is not None)
    if ok:
        st.session_state["server.admitted"] = True
    return ok


def _max_runs() -> int:
    raw = os.environ.get("PGLAB_MAX_RUNS", "")
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n >= 1:
        return n
    plan = memory_plan()
    if plan.in_threads and runs_setting() != "threads":  # no room for hosts: every admitted
        return max(server_cores(), plan.max_sessions)  # session trains at once, in a thread
    return server_cores()


def runs_in_hosts() -> bool:
    """Whether runs train in host processes or in threads of this process: ``PGLAB_RUNS``
    (``hosts``, ``threads``; unset: hosts where the memory holds one, see
    :func:`memory_plan`)."""
    return not memory_plan().in_threads


def shares_runs() -> bool:
    """Whether identical requests share one computation in the run hosts (``PGLAB_SHARE``,
    default on; ``0`` turns it off: every Start trains its own run)."""
    return os.environ.get("PGLAB_SHARE", "1").strip().lower() not in ("0", "false", "no",
                                                                       "off")


SLOW_DRAW = 2.5
"""A live view refreshes at most every this many times its last drawing took (:func:`paced`)."""
MAX_SLOW_SECONDS = 15.0
SLOWER, FASTER = 1.5, 2.0
"""A live view registers its fragment again only when its interval should grow by this much
(``SLOWER``) or shrink by this much (``FASTER``): :func:`repace`."""


def draw_clock() -> float:
    """The clock a view's drawing time is read on: this thread's CPU time. A drawing's wall
    time on a busy server is mostly waiting for the one interpreter (60 tabs' refreshes take
    turns), which swings with every burst of requests and is already answered by the load
    term of :func:`paced`; read on the wall clock, those swings moved every view's interval
    back and forth, and each move costs a whole page run."""
    return time.thread_time()


def smoothed_draw(previous: float | None, took: float) -> float:
    """A view's drawing time, smoothed over its last few refreshes, so that one slow draw
    does not re-register its fragment at once. It starts from nothing: a view's first draw
    carries one-time costs (chart templates, imports), and taken alone it moved the Train
    page's interval after every first Start, at the cost of a whole page run.

    >>> smoothed_draw(None, 1.0), smoothed_draw(1.0, 0.0)
    (0.3, 0.7)
    """
    return 0.7 * (previous or 0.0) + 0.3 * took


def paced(every: float, at_most: float, took: float | None = None) -> float:
    """How often a live view refreshes: every ``every`` seconds while the server has at most
    one active task per core, slower in proportion beyond that, up to ``at_most``. Every
    refresh is a script run in the server's one interpreter, so a class's open pages must
    not spend its core on redrawing (30 tasks on 2 cores: 15 times slower, up to the cap).
    And never more often than :data:`SLOW_DRAW` times the CPU time the view's last drawing
    ``took`` (:func:`draw_clock`), up to :data:`MAX_SLOW_SECONDS`: requests that come while
    the previous refresh still draws queue behind it, so a view whose charts take 2 s to draw,
    asked for every second, would keep its session's script thread busy without end."""
    from pgcore.execution import live_tasks

    load = len(live_tasks()) / server_cores()
    slow = min(MAX_SLOW_SECONDS, SLOW_DRAW * took) if took else 0.0
    return float(max(min(at_most, every * max(1.0, load)), slow))


def repace(every: float | None, wanted: float) -> bool:
    """Whether a live view registered to refresh every ``every`` s should register again to
    refresh every ``wanted`` s (:func:`paced`). Registering again takes a whole run of its
    page, so only for a real change: to slow down by half as much again (:data:`SLOWER`), or
    to speed up at least twofold (:data:`FASTER`). Within that band the interval stays, so a
    class's pages do not spend the server on re-registering with every swing of its load.

    >>> repace(0.5, 0.7), repace(0.5, 0.75), repace(3.0, 2.0), repace(3.0, 1.5), repace(None, 9)
    (False, True, False, True, False)
    """
    if every is None:
        return False
    return wanted >= SLOWER * every or wanted * FASTER <= every


def training_hosts(held: bool = False) -> RunHosts | None:
    """The process's run hosts (started on first use, as many as the memory plan says,
    replaced if one died), or None when runs train in threads here. ``held``: if this call
    starts them, they wait for :meth:`~pgcore.execution.hosts.RunHosts.release` to warm up."""
    plan = memory_plan()
    return None if plan.in_threads else run_hosts(plan.hosts, held=held)


def started_hosts() -> RunHosts | None:
    """The run hosts if they have been started, else None (never starts them)."""
    return current_run_hosts() if runs_in_hosts() else None


_STARTED: set[str] = set()
_STARTED_LOCK = threading.Lock()


def _once_in_background(name: str, target: Callable[[], None]) -> None:
    """Run ``target`` in a daemon thread called ``name``, once per process."""
    with _STARTED_LOCK:
        if name in _STARTED:
            return
        _STARTED.add(name)
    threading.Thread(target=target, daemon=True, name=name).start()


def start_hosts_in_background() -> None:
    """At the first page's start: start the run hosts' processes (if the memory plan has
    them), in a daemon thread, once per process, held: they begin to warm up once the first
    page has drawn (:func:`warm_up_in_background`), at this server's own priority, and do not
    slow that page down meanwhile."""
    _once_in_background("pglab-hosts", _start_hosts)


def _start_hosts() -> None:
    try:
        training_hosts(held=True)
    except Exception as exc:  # noqa: BLE001 - the warm-up tries again, and says why
        import sys

        print(f"starting the run hosts failed: {exc!r}", file=sys.stderr, flush=True)


WARM_UP_AFTER_SECONDS = 0.5
"""How long after the first page's script run the warm-up begins. That page is still on its
way to the browser and being drawn there, and the warm-up would slow it down: torch's import
holds the interpreter lock for long stretches (loading its libraries) and the first host takes
a core. Measured side by side (``bench/bench_first_page.py``, docs/deploy.md), beginning at
once drew the first page about 0.3 s later, and a learner's first frame came no sooner."""


def warm_up_in_background() -> None:
    """After the first page: start the run hosts and load what training needs (torch, the
    algorithms, what the Train page draws with, its first charts' templates), in a daemon
    thread, once per process, :data:`WARM_UP_AFTER_SECONDS` after that page's script run; the
    first page never waits for them, and a learner's first Start finds them ready."""
    _once_in_background("pglab-warm-up", _warm_up)


def _warm_up() -> None:
    import sys

    time.sleep(WARM_UP_AFTER_SECONDS)
    try:
        # The hosts first: a learner's first Start waits for the first host to be warm (its
        # own torch import and warm-up, in its process), not for this process's imports.
        hosts = training_hosts()  # they warm up one after another, the first one now
        if hosts is not None:
            hosts.release()
        # Nothing here runs below the page's priority: the Train page imports what this
        # thread is importing and would wait for it (a priority inversion).
        import torch

        torch.set_num_threads(1)  # each trainer uses one thread; so does playing an episode
        import pgcore.algos  # noqa: F401
        import pgcore.execution.runner  # noqa: F401
        import pgcore.training.checkpoint  # noqa: F401
        import pgcore.training.trainer  # noqa: F401

        from . import recording, reference, widgets  # noqa: F401 - what the Train page uses
        from .charts import live  # noqa: F401 - (altair, pandas, pyarrow)

        reference.reference_set()  # the typical-run bands, read once
        _warm_charts(widgets.preset_config())  # the first run's chart templates
        _draw_one_frame()  # pygame, and a CartPole drawn once
        print(f"memory plan: {memory_plan().text()}", file=sys.stderr, flush=True)
    except Exception as exc:  # noqa: BLE001 - a failed warm-up only means a slower Start
        print(f"warm-up failed: {exc!r}", file=sys.stderr, flush=True)


def _warm_charts(config: TrainConfig) -> None:
    """Build the live panel's chart templates for ``config``'s runs once, from an empty
    snapshot, with and without its typical-run band: altair takes about 0.2 s to build and
    check them, which a learner's first Start would otherwise wait for (templates are cached
    by their shape: the episode budget, the band, the algorithm's panels)."""
    from pgcore.execution.runner import RunLog, RunSnapshot

    from . import reference
    from .charts import live

    log = RunLog()
    snap = RunSnapshot("running", "", config, 0, log.episodes.copy(), log.updates.copy())
    group, _ = reference.group_for(config, exact=False)
    bands = [None] if group is None else \
        [None, reference.episode_band_arrow(group.label, live.WINDOW)]
    for band in bands:
        live.returns_spec(snap, reference=band)
    live.value_spec(snap)
    live.diagnostics_specs(snap)


def _draw_one_frame() -> None:
    """Draw one CartPole frame (a run's frames are drawn here from the states its host sends):
    the first learner's first frame then does not wait for pygame to load."""
    import numpy as np

    from pgcore.training.render import StateRenderer

    renderer = StateRenderer("CartPole-v1")
    try:
        renderer.render(np.zeros(4, dtype=np.float32))
    finally:
        renderer.close()


@st.cache_resource(show_spinner=False)
def slot_pool() -> SlotPool:
    """The process-wide training pool (shared by every session)."""
    return SlotPool(max_concurrent=_max_runs())


def _release(tasks: SessionTasks) -> None:
    tasks.release()


@st.cache_resource(scope="session", on_release=_release, show_spinner=False)
def session_tasks() -> SessionTasks:
    """This browser session's tasks (survive page switches; stopped with the tab)."""
    tasks = SessionTasks()
    with _SESSIONS_LOCK:
        _SESSIONS.add(tasks)
    return tasks


def session_holder() -> RunHolder:
    """This session's Train-page run holder."""
    return session_tasks().train


# ----- the controls -----------------------------------------------------------------------------


def task_controls(page: PageTask, start: Callable[[], object] | None, *, keys: str,
                  error: str | None = None, pausable: bool = False,
                  start_label: str = "Start", start_help: str | None = None,
                  stop_help: str | None = None, reset_help: str | None = None) -> None:
    """Start (/ Pause / Resume) / Stop / Reset for one page's task, each enabled only when it
    makes sense; the buttons' keys are ``{keys}.start`` etc. ``start`` builds and starts the
    task (a button callback; None when the settings cannot run, and ``error`` says why)."""
    state = page.state
    active = state in ACTIVE_STATES
    page.last_state = state
    cols = st.columns(5 if pausable else 3)
    cols[0].button(start_label, type="primary", icon=":material/play_arrow:", width="stretch",
                   key=f"{keys}.start", disabled=start is None or active, on_click=start,
                   help=start_help)
    if pausable:
        cols[1].button("Pause", icon=":material/pause:", width="stretch", key=f"{keys}.pause",
                       disabled=state != "running", on_click=page.pause)
        cols[2].button("Resume", icon=":material/resume:", width="stretch",
                       key=f"{keys}.resume", disabled=state != "paused", on_click=page.resume)
    cols[-2].button("Stop", icon=":material/stop:", width="stretch", key=f"{keys}.stop",
                    disabled=not active, on_click=page.stop, help=stop_help)
    cols[-1].button("Reset", icon=":material/restart_alt:", width="stretch",
                    key=f"{keys}.reset", disabled=page.task is None, on_click=page.reset,
                    help=reset_help)
    if error:
        st.error(f"These settings cannot run: {error}.", icon=":material/block:")


def shows_live(page: PageTask, state: str | None) -> bool:
    """Whether a page draws its task's live view (the fragment that notices the task's end
    and reruns the page, so the buttons change): while ``state``, the task's state as read
    for the view, is active, and also when :func:`task_controls` drew the buttons for an
    active task earlier in this run (``page.last_state``) and the task has ended since. Drawn
    statically then, nothing reruns the page: Stop and Pause stay enabled and Start disabled
    for a task that has ended, until the learner clicks something.

    >>> p = PageTask("k")
    >>> p.last_state = "running"
    >>> shows_live(p, "running"), shows_live(p, "stopped")
    (True, True)
    >>> p.last_state = "stopped"
    >>> shows_live(p, "stopped"), shows_live(p, None)
    (False, False)
    """
    return state in ACTIVE_STATES or page.last_state in ACTIVE_STATES


# ----- where a run stands ---------------------------------------------------------------------


def wait_text(seconds: float | None) -> str:
    """The wait estimate as words, rounded up to whole minutes; "" without an estimate.

    >>> wait_text(None)
    ''
    >>> wait_text(20), wait_text(150)[:14]
    (' (about a minute, by how long recent runs held a slot)', ' (about 3 min,')
    """
    if seconds is None:
        return ""
    minutes = max(1, math.ceil(seconds / 60))
    when = "a minute" if minutes == 1 else f"{minutes} min"
    return f" (about {when}, by how long recent runs held a slot)"


def end_note(snap: RunSnapshot, pool: SlotPool) -> None:
    """One line on where a run stands, when it is not simply training: waiting for a slot,
    finished, stopped, diverged or failed (its own message)."""
    if snap.state == "waiting":
        ahead = snap.waiting_position
        st.info(f"Waiting for a free training slot: {pool.active} of {pool.max_concurrent} "
                f"slots are busy{f' and {ahead} run(s) are ahead of yours' if ahead else ''}"
                f"{wait_text(pool.wait_estimate(ahead))}. It starts by itself as soon as one "
                "frees; you can leave this page meanwhile.", icon=":material/hourglass_top:")
    elif snap.state == "finished":
        st.success(snap.message, icon=":material/check_circle:")
    elif snap.state == "stopped":
        st.info(snap.message, icon=":material/stop_circle:")
    elif snap.state in ("diverged", "error"):
        st.error(snap.message, icon=":material/error:")
