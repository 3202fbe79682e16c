"""One lifecycle and one set of state names for everything that runs in the background.

A *task* is a single run (:class:`pgcore.execution.runner.BackgroundRun`), an experiment grid
(:class:`pgcore.execution.experiments.Experiment`) or a lab
(:class:`pgcore.labs.gradvar.GradVarLab`). Each
keeps its own snapshot type, and each owns a :class:`TaskThread` (by composition) that holds
what they share: the daemon thread, the stop event, a slot of the process-wide
:class:`~pgcore.execution.SlotPool`, the state and the end message::

    class Thing:
        def __init__(self, pool):
            self._task = TaskThread(self, self._work, kind="thing", slots=pool)
        def start(self):  self._task.start(); return self
        def stop(self):   self._task.stop()
        # join, state, message, alive, stopping: from TaskOwner (class Thing(TaskOwner))
        def _work(self):  # in the thread, once the slot is taken
            ...
            return "finished", "Done."       # or raise: state "error", a one-line message

Every started task is in one registry, so :func:`stop_all` stops every task of the process
(tests, shutdown). This module never imports streamlit (nor torch).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable

from .slots import SlotPool

STATES = ("idle", "waiting", "starting", "running", "paused", "finished", "stopped", "diverged",
          "error")
"""Every state of a task, and of one job of an experiment:

* ``idle``: created, not started yet;
* ``waiting``: waiting for a training slot (a job: in the experiment's queue, not yet handed
  to a worker process);
* ``starting``: handed to a worker process that has not reported yet (it may still be
  starting up);
* ``running``, ``paused``;
* the end states: ``finished`` (its budget or its work is done), ``stopped``, ``diverged``
  (the trainer's NaN guard), ``error`` (it failed; the message says why, in one line).
"""
ACTIVE_STATES = ("waiting", "starting", "running", "paused")
END_STATES = ("finished", "stopped", "diverged", "error")

END_REASONS = {"max_episodes": "finished", "max_steps": "finished", "max_seconds": "finished",
               "stopped": "stopped", "diverged": "diverged", "error": "error"}
"""The trainer's end reason (``RunResult.reason``, ``RunEnd.reason``) -> the task state."""

NOT_STARTED = "Stopped before it started."


def end_state(reason: str) -> str:
    """The state a trainer's end ``reason`` leaves a task in (``finished`` if unknown)."""
    return END_REASONS.get(reason, "finished")


def one_line(exc: BaseException) -> str:
    """``exc`` as one short line (no traceback): its message, or its type if it has none."""
    lines = str(exc).strip().splitlines()
    text = lines[0].strip() if lines else ""
    if not text:
        return type(exc).__name__
    if isinstance(exc, ValueError) and type(exc).__name__.endswith("Error") \
            and type(exc).__module__.startswith("pgcore"):
        return text  # ConfigError / EnvError messages are written for people already
    return f"{type(exc).__name__}: {text}"[:300]


# ----- the registry -----------------------------------------------------------------------------

_LIVE: weakref.WeakSet = weakref.WeakSet()
_LIVE_LOCK = threading.Lock()


def live_tasks() -> list:
    """Every task of this process that is still waiting, starting, running or paused."""
    with _LIVE_LOCK:
        tasks = list(_LIVE)
    return [t for t in tasks if t.state in ACTIVE_STATES]


def stop_all(timeout: float = 30.0) -> None:
    """Stop every live task of this process (runs, experiments, labs) and wait for each."""
    tasks = live_tasks()
    for t in tasks:
        t.stop()
    for t in tasks:
        t.join(timeout)


# ----- the lifecycle ----------------------------------------------------------------------------


class TaskThread:
    """The lifecycle a task owns: a daemon thread, a stop event, a slot, a state, a message.

    ``owner`` is the task object (what :func:`stop_all` stops: it has ``state``, ``stop()``
    and ``join()``). ``work()`` runs in the thread once a slot of ``slots`` is taken (at once
    without ``slots``); it returns ``(end state, message)``, or ends the task earlier with
    :meth:`finish` (the first end wins), or raises: then the task ends in ``error`` with
    "The {kind} failed: <one line>". ``control`` (a :class:`pgcore.training.trainer.RunControl`) is
    stopped with the task, and while it is paused a running task reports ``paused``.
    ``on_end(state, message)`` is called (under the lock) when the end is recorded. ``lock``
    (reentrant) may be shared with the owner, so its own fields change atomically with the
    state.
    """

    def __init__(self, owner, work: Callable[[], tuple[str, str] | None], *, kind: str,
                 slots: SlotPool | None = None, control=None,
                 on_end: Callable[[str, str], None] | None = None,
                 lock: threading.RLock | None = None, name: str | None = None):
        self.owner = weakref.ref(owner)
        self.work = work
        self.kind = kind
        self.slots = slots
        self.control = control
        self.on_end = on_end
        self.lock = lock if lock is not None else threading.RLock()
        self.name = name or f"pgcore-{kind}"
        self.cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._waiting = False
        self._end: tuple[str, str] | None = None
        self._note = ""

    # ----- control (any thread) -------------------------------------------------------------
    def start(self) -> None:
        """Start the thread (once). It waits for a slot (if there is a pool), then works."""
        with self.lock:
            if self._thread is not None:
                raise RuntimeError(f"this {self.kind} was already started")
            self._waiting = self.slots is not None
            self._thread = threading.Thread(target=self._main, daemon=True, name=self.name)
        owner = self.owner()
        if owner is not None:
            with _LIVE_LOCK:
                _LIVE.add(owner)
        self._thread.start()

    def stop(self, note: str = "") -> None:
        """Ask the work to stop (and give up a place in the slot queue). ``note``, if given,
        becomes the message of a task that ends stopped."""
        with self.lock:
            if note and not self._note:
                self._note = note
        self.cancel.set()
        if self.control is not None:
            self.control.stop()
        if self.slots is not None:
            self.slots.wake()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end; True if it has (or never started)."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def finish(self, state: str, message: str) -> bool:
        """Record the end (the first call wins); True if this call did."""
        if state not in END_STATES:
            raise ValueError(f"not an end state: {state!r}")
        with self.lock:
            if self._end is not None:
                return False
            if state == "stopped" and self._note:
                message = self._note
            self._end = (state, message)
            if self.on_end is not None:
                self.on_end(state, message)
            return True

    # ----- reading (any thread) -------------------------------------------------------------
    @property
    def state(self) -> str:
        with self.lock:
            if self._end is not None:
                return self._end[0]
            if self._thread is None:
                return "idle"
            if self._waiting:
                return "waiting"
            if self.control is not None and self.control.paused:
                return "paused"
            return "running"

    @property
    def message(self) -> str:
        """The end message (empty while the task is active)."""
        with self.lock:
            return "" if self._end is None else self._end[1]

    @property
    def started(self) -> bool:
        return self._thread is not None

    @property
    def ended(self) -> bool:
        with self.lock:
            return self._end is not None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def stopping(self) -> bool:
        """Whether :meth:`stop` was called."""
        return self.cancel.is_set()

    # ----- the thread -----------------------------------------------------------------------
    def _main(self) -> None:
        acquired = False
        try:
            try:
                if self.slots is not None:
                    acquired = self.slots.acquire(cancel=self.cancel)
                with self.lock:
                    self._waiting = False
                if self.slots is not None and not acquired:
                    outcome = ("stopped", NOT_STARTED)
                else:
                    outcome = self.work() or ("finished", "")
            except BaseException as exc:  # noqa: BLE001 - any failure becomes a one-line state
                with self.lock:
                    self._waiting = False
                outcome = ("error", f"The {self.kind} failed: {one_line(exc)}")
            self.finish(*outcome)
        finally:
            if acquired:
                self.slots.release()


def _from_task(name: str, doc: str) -> property:
    """A read-only property that reads ``name`` off the owner's :class:`TaskThread`."""
    return property(lambda self: getattr(self._task, name), doc=doc)


class TaskOwner:
    """What every task kind reads off its :class:`TaskThread` (``self._task``): mixed into
    :class:`~pgcore.execution.runner.BackgroundRun`,
    :class:`~pgcore.execution.experiments.Experiment` and
    :class:`~pgcore.labs.gradvar.GradVarLab` so each need not repeat it."""

    _task: TaskThread

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the task's thread to end; True if it has."""
        return self._task.join(timeout)

    state = _from_task("state", "One of :data:`STATES`.")
    message = _from_task("message", "The end message (empty while the task is active).")
    alive = _from_task("alive", "Whether the task's thread is running.")
    stopping = _from_task("stopping", "Whether a stop was asked for and the task has not ended.")

