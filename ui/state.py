"""Who owns what: the run hosts and one slot pool per server process, one task holder per
browser session, and the one Start / Pause / Resume / Stop / Reset widget every page drives its
task with, and the one line on where a background run stands (:func:`end_note`).

``training_hosts()`` is where Train-page (and Pendulum-page) runs train: a few host
processes, one per core this process may use, each training every run it is given at once
(:mod:`pgcore.execution.hosts`), so a whole class's runs all move from the moment they start,
each slower, and the server's own interpreter stays free to draw pages. ``PGLAB_RUNS=threads``
trains them in threads of the server instead (the tests' default: one process is easier to
inspect), capped by the slot pool.

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
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from pgcore import TrainConfig
from pgcore.execution import ACTIVE_STATES, SlotPool, usable_cores
from pgcore.execution.hosts import RunHosts, run_hosts
from pgcore.execution.runner import BackgroundRun, RunSnapshot

from .recording import recording_for

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

BASE_MB = 400.0
"""The server process after its first page (torch, gymnasium, pandas, altair): measured."""
HOST_MB = 330.0
"""One run host process (a Python with torch and gymnasium, warmed: 311 MB RSS idle, 320 MB
after its first run), before its runs: measured."""
SESSION_MB = 25.0
"""One more browser session with a training run: its snapshots and charts here, its run in a
host (measured with bench/bench_class.py)."""

_SESSIONS: weakref.WeakSet = weakref.WeakSet()
_SESSIONS_LOCK = threading.Lock()


def memory_budget_mb() -> float:
    """The whole server's memory budget (``PGLAB_MEMORY_MB``; default 2,700 MB, the most a
    Streamlit Community Cloud app gets)."""
    try:
        budget = float(os.environ.get("PGLAB_MEMORY_MB", "") or 2700.0)
    except ValueError:
        budget = 2700.0
    return budget if budget > 0 else 2700.0


@functools.cache
def server_cores() -> int:
    """The cores this server may use (:func:`~pgcore.execution.usable_cores`: CPU affinity and
    the container's quota), read once: the live panels ask on every refresh, and reading the
    cgroup files each time would put file reads on that path."""
    return usable_cores()


def max_sessions() -> int:
    """Sessions the budget holds: (budget - server - hosts) / per session, at least 1."""
    hosts = server_cores() if runs_in_hosts() else 0
    return max(1, int((memory_budget_mb() - BASE_MB - HOST_MB * hosts) // SESSION_MB))


def open_sessions() -> int:
    with _SESSIONS_LOCK:
        return sum(1 for t in _SESSIONS if not t.released)


def process_tree_mb() -> float:
    """Resident memory of this process and its run hosts, in MB (0 where /proc is missing)."""
    pids = [os.getpid()]
    if runs_in_hosts():
        pids += run_hosts().pids()
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


def admit_session() -> bool:
    """Whether this browser session may use the server: once admitted, always; a new one
    only while the open sessions fit :func:`max_sessions` and the server's real memory is
    below its budget. Otherwise the app shows "the server is full" and creates nothing."""
    if st.session_state.get("server.admitted"):
        return True
    ok = (open_sessions() < max_sessions()
          and process_tree_mb() + SESSION_MB <= memory_budget_mb())
    if ok:
        st.session_state["server.admitted"] = True
    return ok


def _max_runs() -> int:
    raw = os.environ.get("PGLAB_MAX_RUNS", "")
    try:
        n = int(raw)
    except ValueError:
        n = 0
    return n if n >= 1 else server_cores()


def runs_in_hosts() -> bool:
    """Whether runs train in host processes (``PGLAB_RUNS``, default ``hosts``) or in threads
    of this process (``threads``)."""
    return os.environ.get("PGLAB_RUNS", "hosts").strip().lower() != "threads"


def shares_runs() -> bool:
    """Whether identical requests share one computation in the run hosts (``PGLAB_SHARE``,
    default on; ``0`` turns it off: every Start trains its own run)."""
    return os.environ.get("PGLAB_SHARE", "1").strip().lower() not in ("0", "false", "no",
                                                                       "off")


SLOW_DRAW = 2.5
"""A live view refreshes at most every this many times its last drawing took (:func:`paced`)."""
MAX_SLOW_SECONDS = 15.0


def smoothed_draw(previous: float | None, took: float) -> float:
    """A view's drawing time, smoothed over its last few refreshes (so that one slow draw on
    a shared machine does not re-register its fragment at once).

    >>> smoothed_draw(None, 1.0), smoothed_draw(1.0, 0.0)
    (1.0, 0.7)
    """
    return took if previous is None else 0.7 * previous + 0.3 * took


def paced(every: float, at_most: float, took: float | None = None) -> float:
    """How often a live view refreshes: every ``every`` seconds while the server has at most
    one active task per core, slower in proportion beyond that, up to ``at_most``. Every
    refresh is a script run in the server's one interpreter, so a class's open pages must
    not spend its core on redrawing (30 tasks on 2 cores: 15 times slower, up to the cap).
    And never more often than :data:`SLOW_DRAW` times what the view's last drawing ``took``
    (wall time), up to :data:`MAX_SLOW_SECONDS`: a refresh that comes while the previous one
    still draws cuts it short and its work is lost, so on a busy server a view whose charts
    take 2 s to draw, asked for every second, would never finish one."""
    from pgcore.execution import live_tasks

    load = len(live_tasks()) / server_cores()
    slow = min(MAX_SLOW_SECONDS, SLOW_DRAW * took) if took else 0.0
    return float(max(min(at_most, every * max(1.0, load)), slow))


def training_hosts() -> RunHosts | None:
    """The process's run hosts (started on first use, replaced if one died), or None when
    runs train in threads here."""
    return run_hosts() if runs_in_hosts() else None


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
