"""Training in the background: a run thread and an immutable snapshot.

This is the bridge between the trainer and anything that wants to *watch* it (the app's live
page, a test, a benchmark)::

    pool = SlotPool(max_concurrent=2)          # process-wide: caps concurrent training runs
    run = BackgroundRun(config, pool).start()  # a daemon thread; waits for a free slot first
    snap = run.snapshot()                      # an immutable copy; never touches the trainer
    run.pause(); run.resume(); run.stop()

The training thread is the only writer. It appends events to a lock-protected, bounded
:class:`RunLog`; readers only ever get :class:`RunSnapshot` s (read-only numpy arrays and
plain values). Memory is bounded whatever the run does: episode arrays are capped (the oldest
half is dropped past the cap), per-update statistics are averaged into a fixed number of
buckets that widen as the run grows (one-step actor-critic emits an update per env step),
greedy :class:`~pgcore.training.events.Evaluation` s are capped like the episodes, and only the
latest :class:`~pgcore.training.events.Frame` is kept.

The network is never read while it is being trained: the training thread itself publishes a
copy of the weights (between two updates, so never mid-step) at most every
``weights_every`` seconds, when it is paused, and at the end. :meth:`BackgroundRun.policy_agent`
builds a separate agent from that copy, which is safe to play or save from any thread.

The thread, the run's slot of the :class:`~pgcore.execution.SlotPool`, the state names and
:func:`~pgcore.execution.stop_all` are :mod:`pgcore.execution`'s, shared with experiments and
labs (re-exported here). This module never imports streamlit.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..training.config import TrainConfig
from ..training.events import EpisodeEnd, Evaluation, Event, Frame, RunEnd, UpdateEnd
from ..training.metrics import HISTORY_COLUMNS, EpisodeHistory
from . import ACTIVE_STATES, END_STATES, SlotPool, TaskOwner, TaskThread, end_state
from .hosts import RunHosts

EPISODE_FIELDS = ("episode", "episode_return", "length", "env_steps", "wall_seconds",
                  "discounted_return", "start_value")
"""Per-episode columns of a snapshot, in order (``episode`` is 1-based): the columns of
:data:`pgcore.training.metrics.HISTORY_COLUMNS`, with ``return`` named ``episode_return``."""
_SNAPSHOT_COLUMNS = dict(zip(EPISODE_FIELDS, HISTORY_COLUMNS, strict=True))


UPDATE_POSITION_FIELDS = ("update", "env_steps", "episodes", "wall_seconds")
"""Where a bucket ends: the last update's counters."""

EVALUATION_FIELDS = ("episodes", "env_steps", "mean_return", "min_return", "max_return")
"""Per greedy evaluation (configs with ``eval_every`` or ``eval_every_episodes``): the training
episodes finished and env steps taken when it was played, and the mean, lowest and highest
return of its greedy episodes."""


# ----- the bounded log ------------------------------------------------------------------------


class _EpisodeLog(EpisodeHistory):
    """The log's episodes: a bounded :class:`~pgcore.training.metrics.EpisodeHistory` (past ``cap``
    rows the oldest half is dropped) whose :meth:`copy` is a snapshot's ``episodes``."""

    def copy(self) -> dict[str, np.ndarray]:
        """Read-only copies of the columns, keyed by :data:`EPISODE_FIELDS`."""
        return self.arrays(_SNAPSHOT_COLUMNS)


class _EvaluationLog:
    """The log's greedy evaluations, one row of :data:`EVALUATION_FIELDS` each; past ``cap``
    rows the oldest half is dropped (:attr:`dropped` counts them)."""

    def __init__(self, cap: int = 2_000):
        if cap < 2:
            raise ValueError("cap must be >= 2")
        self.cap = int(cap)
        self._data = np.full((min(self.cap, 64), len(EVALUATION_FIELDS)), np.nan)
        self.n = 0
        self.dropped = 0

    @property
    def count(self) -> int:
        """Every evaluation ever added (including the dropped ones)."""
        return self.n + self.dropped

    def add(self, ev: Evaluation) -> None:
        if self.n == len(self._data):
            if self.n >= self.cap:  # full: drop the oldest half
                half = self.n // 2
                self._data[: self.n - half] = self._data[half: self.n]
                self.n -= half
                self.dropped += half
            else:
                grown = np.full((min(self.cap, 2 * self.n), len(EVALUATION_FIELDS)), np.nan)
                grown[: self.n] = self._data[: self.n]
                self._data = grown
        returns = np.asarray(ev.returns, dtype=np.float64)
        if returns.size:
            row = (ev.episodes, ev.env_steps, returns.mean(), returns.min(), returns.max())
        else:
            row = (ev.episodes, ev.env_steps, np.nan, np.nan, np.nan)
        self._data[self.n] = row
        self.n += 1

    def copy(self) -> dict[str, np.ndarray]:
        """Read-only copies of the columns, keyed by :data:`EVALUATION_FIELDS`."""
        out = {name: self._data[: self.n, i].copy() for i, name in enumerate(EVALUATION_FIELDS)}
        for arr in out.values():
            arr.setflags(write=False)
        return out


def _no_evaluations() -> dict[str, np.ndarray]:
    return _EvaluationLog(2).copy()


def aggregate(name: str, sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """A bucket's value of statistic ``name`` from its sum and count of updates.

    Statistics are averaged over the updates of a bucket; a name ending in ``_rms`` is a root
    mean square, so it is averaged as one: sqrt(mean(x^2)) (``sums`` then holds squares).
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts
    return np.sqrt(means) if name.endswith("_rms") else means


class _UpdateBuckets:
    """Per-update statistics averaged into at most ``max_points`` buckets.

    The statistics are whatever named scalars the algorithm's ``update()`` reports; a column
    is added the first time a name appears. Each bucket holds ``size`` consecutive updates
    (the last one may hold fewer). When the buckets are full, neighbours are merged pairwise
    and ``size`` doubles, so the whole run stays covered at an even resolution and memory
    never grows past ``max_points`` rows.
    """

    def __init__(self, max_points: int = 2048):
        if max_points < 4 or max_points % 2:
            raise ValueError("max_points must be an even number >= 4")
        self.max_points = max_points
        self.size = 1
        self.names: list[str] = []
        self.sums = np.zeros((max_points, 0))  # (points, stats)
        self.counts = np.zeros((max_points, 0), dtype=np.int64)  # updates that reported each
        self.pos = np.zeros((max_points, len(UPDATE_POSITION_FIELDS)))
        self.n = 0  # closed buckets
        self.open_sum = np.zeros(0)
        self.open_count = np.zeros(0, dtype=np.int64)
        self.open_updates = 0
        self.open_pos = np.zeros(len(UPDATE_POSITION_FIELDS))
        self.total = 0
        self._index: dict[str, int] = {}

    def _column(self, name: str) -> int:
        col = self._index.get(name)
        if col is None:  # a statistic seen for the first time: one more column
            col = self._index[name] = len(self.names)
            self.names.append(name)
            self.sums = np.hstack([self.sums, np.zeros((self.max_points, 1))])
            self.counts = np.hstack([self.counts, np.zeros((self.max_points, 1), np.int64)])
            self.open_sum = np.append(self.open_sum, 0.0)
            self.open_count = np.append(self.open_count, 0)
        return col

    def add(self, u: UpdateEnd) -> None:
        for name, value in u.stats.items():
            col = self._column(name)
            value = float(value)
            self.open_sum[col] += value * value if name.endswith("_rms") else value
            self.open_count[col] += 1
        self.open_updates += 1
        self.open_pos[:] = (u.update, u.env_steps, u.episodes, u.wall_seconds)
        self.total += 1
        if self.open_updates >= self.size:
            self._close()

    def _close(self) -> None:
        if self.n == self.max_points:  # merge neighbours: half as many, twice as wide
            half = self.max_points // 2
            self.sums[:half] = self.sums[0::2] + self.sums[1::2]
            self.counts[:half] = self.counts[0::2] + self.counts[1::2]
            self.pos[:half] = self.pos[1::2]
            self.sums[half:] = 0
            self.counts[half:] = 0
            self.n = half
            self.size *= 2
        self.sums[self.n] = self.open_sum
        self.counts[self.n] = self.open_count
        self.pos[self.n] = self.open_pos
        self.n += 1
        self.open_sum = np.zeros_like(self.open_sum)
        self.open_count = np.zeros_like(self.open_count)
        self.open_updates = 0

    def copy(self) -> dict[str, np.ndarray]:
        sums, counts, pos = self.sums[: self.n], self.counts[: self.n], self.pos[: self.n]
        if self.open_updates:  # include the bucket still filling, so the latest update shows
            sums = np.vstack([sums, self.open_sum])
            counts = np.vstack([counts, self.open_count])
            pos = np.vstack([pos, self.open_pos])
        out = {name: aggregate(name, sums[:, i], counts[:, i]) for i, name in
               enumerate(self.names)}
        out.update({name: pos[:, i].copy() for i, name in enumerate(UPDATE_POSITION_FIELDS)})
        out["count"] = (counts.max(axis=1) if counts.shape[1] else
                        np.zeros(len(pos), np.int64))
        for arr in out.values():
            arr.setflags(write=False)
        return out


class RunLog:
    """Everything a viewer needs from a run, bounded in memory. Not thread-safe by itself:
    :class:`BackgroundRun` guards it with its lock."""

    def __init__(self, max_episodes: int = 100_000, max_update_points: int = 2048,
                 max_evaluations: int = 2_000):
        self.episodes = _EpisodeLog(cap=max_episodes)
        self.updates = _UpdateBuckets(max_update_points)
        self.evaluations = _EvaluationLog(cap=max_evaluations)
        self.frame: Frame | None = None
        self.episode_count = 0
        self.env_steps = 0
        self.wall_seconds = 0.0
        self.version = 0  # bumped on every change: a snapshot can be reused until it moves

    def add(self, event: Event) -> None:
        if isinstance(event, EpisodeEnd):
            self.episodes.append_event(event)
            self.episode_count = event.episode
            self.env_steps = max(self.env_steps, event.env_steps)
            self.wall_seconds = event.wall_seconds
        elif isinstance(event, UpdateEnd):
            self.updates.add(event)
            self.env_steps = max(self.env_steps, event.env_steps)
            self.wall_seconds = event.wall_seconds
        elif isinstance(event, Evaluation):
            self.evaluations.add(event)
            self.env_steps = max(self.env_steps, event.env_steps)
        elif isinstance(event, Frame):
            self.frame = event
        elif isinstance(event, RunEnd):
            self.env_steps = max(self.env_steps, event.env_steps)
            self.wall_seconds = event.wall_seconds
        self.version += 1


# ----- the snapshot ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RunSnapshot:
    """An immutable view of a run at one moment. Arrays are read-only copies."""

    state: str
    message: str
    config: TrainConfig
    version: int
    episodes: dict[str, np.ndarray] = field(repr=False)
    """Columns :data:`EPISODE_FIELDS` (the last ``max_episodes`` episodes at most)."""
    updates: dict[str, np.ndarray] = field(repr=False)
    """Bucketed per-update statistics: one column per statistic the algorithm reports, plus
    :data:`UPDATE_POSITION_FIELDS` and ``count`` (updates in each bucket)."""
    frame: Frame | None = field(default=None, repr=False)
    evaluations: dict[str, np.ndarray] = field(default_factory=_no_evaluations, repr=False)
    """Columns :data:`EVALUATION_FIELDS`, one row per greedy evaluation (the last
    ``max_evaluations`` at most; empty arrays when the run evaluates nothing)."""
    evaluation_count: int = 0
    """Greedy evaluations played (all of them, even if the oldest were dropped)."""
    episode_count: int = 0
    """Episodes finished (all of them, even if the oldest were dropped from the arrays)."""
    episodes_dropped: int = 0
    update_count: int = 0
    env_steps: int = 0
    wall_seconds: float = 0.0
    weights_update: int | None = None
    """The update count of the latest published weights (None until the first copy)."""
    waiting_position: int = 0
    """While ``state == "waiting"``: how many runs are ahead in the queue (approximate)."""
    viewers: int = 1
    """Requests watching this run's computation now, this one included (> 1: identical
    requests share it, :mod:`pgcore.execution.sharing`)."""
    reused: bool = False
    """The computation had already finished when this request started: its result is shown
    (an identical request trained it earlier on this server)."""

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def n_episodes_logged(self) -> int:
        return len(self.episodes["episode"])

    def progress(self) -> float:
        """Fraction of the budget used, in [0, 1] (episodes, steps or seconds: the furthest)."""
        c = self.config
        if self.state == "finished":
            return 1.0
        parts = []
        if c.max_episodes:
            parts.append(self.episode_count / c.max_episodes)
        if c.max_steps:
            parts.append(self.env_steps / c.max_steps)
        if c.max_seconds:
            parts.append(self.wall_seconds / c.max_seconds)
        return float(min(1.0, max(parts))) if parts else 0.0


# ----- one hosted computation, watched by one or more runs ---------------------------------------


LEFT_SHARED = ("Stopped. The identical run you shared keeps training for the others who "
               "started it.")
"""A shared run's end message for a viewer who stopped while others still watch it."""
REUSED_NOTE = ("It is the result of an identical run (same settings, seed and code) that "
               "had already finished on this server, shown at once.")
"""Appended to the end message of a run that reused a finished computation."""


SHARED_SNAPSHOT_SECONDS = 0.25
"""How long a snapshot of a run that several viewers watch serves them all
(:meth:`_Computation.snapshot`): a quarter of the Train page's fastest refresh interval."""


class _Computation:
    """One run in the run hosts and its bounded log, watched by one or more
    :class:`BackgroundRun` s (its *viewers*): a private run has one viewer; identical requests
    (``share=True``) watch the same one (:mod:`pgcore.execution.sharing`).

    It trains while any viewer wants it to (is attached, not paused); when every viewer left
    is paused it pauses in its host; when the last viewer leaves (stopped, reset, tab closed)
    it stops. Events, weights and the end arrive in the hosts' drain thread
    (:meth:`_on_hosted`); :meth:`snapshot` is built once per log version for all viewers, and
    a frame is drawn once for all of them. Lock order: a viewer's lock, then this one's."""

    def __init__(self, config: TrainConfig, hosts: RunHosts, frame_every: float | None,
                 weights_every: float, log_sizes: tuple[int, int, int], key=None, book=None):
        self.config, self.hosts = config, hosts
        self.frame_every, self.weights_every = frame_every, weights_every
        self.key, self.book = key, book
        self.lock = threading.Lock()
        self.log = RunLog(*log_sizes)
        self.run_id: int | None = None
        self.weights: dict | None = None
        self.weights_update: int | None = None
        self.wanting: set[int] = set()  # viewers (by id) that want it to train
        self.paused: set[int] = set()  # viewers paused with it (they may resume)
        self.host_paused = False  # told its host to pause (nobody wants it to train)
        self.paused_ack = threading.Event()  # the host said it has paused
        self.end: tuple[str, str] | None = None
        self.done = threading.Event()
        self._snap: RunSnapshot | None = None
        self._snap_at = 0.0
        self._renderer = None
        self._rendered: tuple[Frame, Frame] | None = None
        self._stopping = False

    # ----- the host --------------------------------------------------------------------------
    def launch(self) -> None:
        """Start training on the least busy host (once). If that fails (the hosts have
        stopped), the computation ends in ``error`` for every viewer, and raises."""
        self.run_id = self.hosts.new_id()
        try:
            self.hosts.start(self.run_id, self.config, self._on_hosted, self.frame_every,
                             self.weights_every)
        except BaseException as exc:
            from .tasks import one_line

            self._on_hosted("end", ("error", f"The run failed: {one_line(exc)}"))
            raise
        with self.lock:
            command = ("stop" if self._stopping else
                       "pause" if self.host_paused else None)
        if command is not None:
            self._send(command)

    def _send(self, command: str) -> None:
        if self.run_id is not None:
            self.hosts.send(self.run_id, command)

    def _on_hosted(self, kind: str, payload) -> None:
        """A message from the run's host (in the hosts' drain thread)."""
        if kind == "events":
            with self.lock:
                for event in payload:
                    self.log.add(event)
        elif kind == "weights":
            import torch

            updates, arrays = payload
            weights = {k: torch.from_numpy(v) for k, v in arrays.items()}
            with self.lock:
                self.weights, self.weights_update = weights, updates
                self.log.version += 1
        elif kind == "paused":
            self.paused_ack.set()
        elif kind == "end":
            self._ended(*payload)

    def _ended(self, state: str, message: str) -> None:
        """The run has ended: record it, whatever drawing its last frame or closing the
        renderer does (a failure there would otherwise leave every viewer's run active, its
        Stop enabled, for good: the hosts send "end" once)."""
        try:
            self.snapshot(fresh=True)  # the last frame drawn while the renderer is still there
        finally:
            with self.lock:
                self.end = (state, message)
                self.log.version += 1
                renderer, self._renderer = self._renderer, None
            try:
                if renderer is not None:
                    renderer.close()
            finally:
                if self.book is not None:
                    self.book.ended(self.key, self, state)
                self.done.set()

    # ----- viewers ---------------------------------------------------------------------------
    @property
    def viewers(self) -> int:
        with self.lock:
            return len(self.wanting) + len(self.paused)

    def join(self, viewer) -> bool:
        """A new ``viewer`` joins the run (True), unless its last viewer has already left
        it and it is being stopped, or it has ended (False: the viewer needs a run of its
        own; its book still lists this one until the leaver has forgotten it)."""
        with self.lock:  # (one hold: a last viewer cannot leave between the look and the join)
            if self._stopping or self.end is not None:
                return False
            resume = self._want(viewer)
        if resume:
            self._send("resume")
        return True

    def attach(self, viewer) -> None:
        """``viewer`` watches and wants the run to train (it resumes if it was paused)."""
        with self.lock:
            resume = self._want(viewer)
        if resume:
            self._send("resume")

    def _want(self, viewer) -> bool:
        """(Under the lock.) ``viewer`` wants the run to train; whether the host must resume."""
        self.wanting.add(viewer)
        self.paused.discard(viewer)
        resume = self.host_paused and self.end is None
        self.host_paused = False
        return resume

    def pause_for(self, viewer: int, wait: float) -> bool:
        """``viewer`` pauses. The run pauses in its host only if no other viewer wants it to
        train (then this waits up to ``wait`` s for the host to say so); True if it did."""
        with self.lock:
            self.wanting.discard(viewer)
            self.paused.add(viewer)
            pause = not self.wanting and not self.host_paused and self.end is None
            if pause:
                self.host_paused = True
                self.paused_ack.clear()
        if pause:
            self._send("pause")
            if self.run_id is not None:
                self.paused_ack.wait(wait)
        with self.lock:
            return self.host_paused

    def leave(self, viewer: int) -> bool:
        """``viewer`` stops watching. The last one to leave stops the run (True)."""
        with self.lock:
            self.wanting.discard(viewer)
            self.paused.discard(viewer)
            if self.end is not None or self.wanting or self.paused or self._stopping:
                pause = (not self.wanting and bool(self.paused) and not self.host_paused
                         and self.end is None)
                if pause:
                    self.host_paused = True
                last = False
            else:
                pause, last = False, True
                self._stopping = True
        if last:
            if self.book is not None:
                self.book.forget(self.key, self)  # no new request joins a stopping run
            self._send("stop")
        elif pause:
            self._send("pause")
        return last

    def stop_again(self) -> None:
        """The last viewer's Stop, pressed again before the run has ended: send "stop" once
        more. The host acts on the first it receives and ignores the rest (and commands for
        a run it no longer has), so a second Stop recovers from a first one that never
        reached the run, instead of doing nothing."""
        with self.lock:
            again = self._stopping and self.end is None
        if again:
            self._send("stop")

    # ----- reading ---------------------------------------------------------------------------
    def snapshot(self, fresh: bool = False) -> RunSnapshot:
        """The run as every viewer sees it (state ``running``: each viewer says its own).
        While several viewers watch it and it has not ended, a snapshot serves for up to
        :data:`SHARED_SNAPSHOT_SECONDS` (unless ``fresh``): a class's refreshes arrive spread
        over time, events every few milliseconds, and each new snapshot costs every viewer
        its drawing again (the frame, the chart specs and words are made once per snapshot),
        so a class of 60 draws a few snapshots a second instead of one per refresh."""
        now = time.monotonic()
        with self.lock:
            snap, log = self._snap, self.log
            if snap is not None and (snap.version == log.version or (
                    not fresh and self.end is None and now - self._snap_at <
                    SHARED_SNAPSHOT_SECONDS and len(self.wanting) + len(self.paused) > 1)):
                return snap
            snap = RunSnapshot(
                state="running", message="", config=self.config, version=log.version,
                episodes=log.episodes.copy(), updates=log.updates.copy(),
                frame=self._drawn(log.frame), evaluations=log.evaluations.copy(),
                evaluation_count=log.evaluations.count, episode_count=log.episode_count,
                episodes_dropped=log.episodes.dropped, update_count=log.updates.total,
                env_steps=log.env_steps, wall_seconds=log.wall_seconds,
                weights_update=self.weights_update)
            self._snap, self._snap_at = snap, now
            return snap

    def counts(self) -> tuple[int, int, float]:
        with self.lock:
            return self.log.episode_count, self.log.env_steps, self.log.wall_seconds

    def published(self) -> tuple[dict | None, int | None]:
        with self.lock:
            return self.weights, self.weights_update

    def _drawn(self, frame: Frame | None) -> Frame | None:
        """Frames come from the host without their image: draw it here from the state, once
        per frame for every viewer, when one asks (under the lock)."""
        if frame is None or frame.rgb is not None:
            return frame
        if self._rendered is not None and self._rendered[0] is frame:
            return self._rendered[1]
        if self._renderer is None:
            from ..training.render import StateRenderer

            self._renderer = StateRenderer(self.config.env_id)
        import dataclasses

        drawn = dataclasses.replace(frame, rgb=self._renderer.render(frame.obs))
        self._rendered = (frame, drawn)
        return drawn


# ----- the background run ---------------------------------------------------------------------

class BackgroundRun(TaskOwner):
    """One training run in a daemon thread, controlled from other threads.

    ``frame_every`` (seconds) sets how often the trainer draws a frame of the first
    environment; ``weights_every`` how often the thread publishes a weight copy for
    :meth:`policy_agent`. ``max_pause_seconds`` stops a run left paused that long (it would
    otherwise hold its pool slot forever); ``idle_timeout`` stops a run whose snapshots
    nobody has read for that long (a viewer that went away without saying so).
    ``on_end(snapshot)``, if given, is called once with the final :class:`RunSnapshot` as the
    run ends, from the run's thread and under its lock: it must be quick (e.g. queue the
    snapshot for a recorder) and whatever it raises is ignored, so it can never break a run.

    ``hosts``: train in these :class:`~pgcore.execution.hosts.RunHosts` instead of a thread
    here. With ``share=True`` as well, identical requests (same config, seed, code version
    and frame and weight intervals: :func:`pgcore.execution.sharing.identity`) share one
    computation in the hosts: a second one joins the first while it trains (and sees it
    from its first episode: the log is shared) or, once it has finished, shows its result
    at once (:attr:`RunSnapshot.reused`). What one viewer does never changes what the others
    see: the computation trains while any viewer wants it to; :meth:`pause` freezes this
    viewer's view (and its weights) where it is, and pauses the computation itself only if
    no other viewer wants it to train; :meth:`resume` joins the computation again, which may
    have moved on meanwhile (a run is deterministic: those are the episodes this viewer's
    own run would have computed); :meth:`stop` ends this viewer at what it shows and stops
    the computation only when it was the last one watching.
    """

    def __init__(self, config: TrainConfig, pool: SlotPool | None = None,
                 frame_every: float | None = 0.25, *, weights_every: float = 1.0,
                 max_pause_seconds: float | None = 1800.0, idle_timeout: float | None = None,
                 max_logged_episodes: int = 100_000, max_update_points: int = 2048,
                 max_logged_evaluations: int = 2_000,
                 on_end: Callable[[RunSnapshot], None] | None = None,
                 hosts: RunHosts | None = None, share: bool = False):
        from ..training.trainer import (
            RunControl,  # deferred: keeps `import pgcore.execution.runner` light
        )

        if not isinstance(config, TrainConfig):
            raise TypeError("config must be a TrainConfig")
        self.config = config
        self.hosts = hosts
        self.share = bool(share) and hosts is not None
        self.pool = pool if pool is not None else SlotPool()
        self.frame_every = frame_every
        self.weights_every = weights_every
        self.max_pause_seconds = max_pause_seconds
        self.idle_timeout = idle_timeout
        self.on_end = on_end
        self.control = RunControl()
        self._lock = threading.RLock()  # shared with the lifecycle: state and log move together
        self._log = RunLog(max_logged_episodes, max_update_points, max_logged_evaluations)
        hosted = hosts is not None
        self._task = TaskThread(self, self._train_hosted if hosted else self._train, kind="run",
                                slots=None if hosted else self.pool, control=self.control,
                                on_end=self._ended, lock=self._lock,
                                name=f"pgcore-run-{config.algo}")
        self._log_sizes = (max_logged_episodes, max_update_points, max_logged_evaluations)
        self._comp: _Computation | None = None  # hosted: the computation this run watches
        self._left = False  # hosted: this viewer has left its computation (stopped)
        self._last_viewer = True  # hosted: ... and it was the last one watching it
        self._pause_wanted = False  # hosted: pause() came before the computation was known
        # hosted, paused or stopped: the view frozen where it was (snapshot, weights, update)
        self._frozen: tuple[RunSnapshot, dict | None, int | None] | None = None
        self._reused = False
        self._view: tuple[RunSnapshot, str, str, int, RunSnapshot] | None = None
        self._agent = None  # the training agent: touched only by the training thread
        self._weights: dict | None = None  # published copy of the state_dict
        self._weights_update: int | None = None
        self._weights_at = -math.inf
        self._policy_cache: tuple[int, object] | None = None
        self._snapshot: RunSnapshot | None = None
        self._last_read = time.monotonic()
        self._pause_timer: threading.Timer | None = None
        self.created_at = time.time()

    # ----- control (any thread) -------------------------------------------------------------
    def start(self) -> BackgroundRun:
        """Start the thread (once). It waits for a pool slot, then trains."""
        self._task.start()
        return self

    pause_wait = 1.0
    """Seconds :meth:`pause` waits for a hosted run's host to say it has paused."""

    def pause(self) -> None:
        """Pause after the current update (a waiting run starts paused when its slot comes).
        A hosted run reports ``paused`` once its host has stopped it; this waits up to
        :attr:`pause_wait` for that, so the caller usually sees the new state at once."""
        if self.state in END_STATES:
            return
        if self.hosts is None:
            self.control.pause()
        else:
            comp = self._comp
            if comp is None:  # not started yet: it starts paused
                self._pause_wanted = True
            elif not self.control.paused:
                # the computation pauses if nobody else wants it (the host says when: usually
                # a few ms); this view freezes where it is either way
                comp.pause_for(self, self.pause_wait)
                self._freeze(comp)
            self.control.pause()
        if self.max_pause_seconds is not None:
            with self._lock:
                if self._pause_timer is None:
                    self._pause_timer = threading.Timer(self.max_pause_seconds,
                                                        self._pause_expired)
                    self._pause_timer.daemon = True
                    self._pause_timer.start()

    def resume(self) -> None:
        self._pause_wanted = False
        comp = self._comp
        if comp is not None and self.control.paused and not self.control.stopped:
            comp.attach(self)  # it trains again (for everyone); this view follows it again
            self._frozen = None
        self.control.resume()
        self._cancel_pause_timer()

    def stop(self, note: str = "") -> None:
        """Stop as soon as the loop notices (and give up a place in the pool's queue);
        ``note``, if given, is the stopped run's message."""
        self._task.stop(note)
        self._leave()
        self._cancel_pause_timer()

    def _leave(self) -> None:
        """Hosted: stop watching the computation (once); the last viewer stops it. This
        view stays where it was, unless this was the last viewer (then the run's own end,
        which comes soon, is shown)."""
        comp = self._comp
        if comp is None:
            return
        with self._lock:
            again, self._left = self._left, True
        if again:  # Stop pressed again: the run has not ended yet, so say it again
            if self._last_viewer:
                comp.stop_again()
            return
        self._last_viewer = comp.leave(self)
        if not self._last_viewer and self._frozen is None:
            self._freeze(comp)

    def _freeze(self, comp: _Computation) -> None:
        weights, update = comp.published()
        self._frozen = (comp.snapshot(fresh=True), weights, update)

    # ----- reading (any thread): join, state, message, alive come from TaskOwner ------------

    def snapshot(self) -> RunSnapshot:
        """An immutable copy of everything a viewer shows. Cheap when nothing changed."""
        now = time.monotonic()
        if self.hosts is not None:
            return self._hosted_snapshot(now)
        with self._lock:
            self._last_read = now
            state = self._task.state
            snap = self._snapshot
            if snap is not None and snap.version == self._log.version and snap.state == state:
                return snap
            log = self._log
            position = 0
            if state == "waiting":
                position = max(0, self.pool.waiting - 1)
            snap = RunSnapshot(
                state=state, message=self._task.message, config=self.config, version=log.version,
                episodes=log.episodes.copy(), updates=log.updates.copy(),
                frame=log.frame,
                evaluations=log.evaluations.copy(), evaluation_count=log.evaluations.count,
                episode_count=log.episode_count, episodes_dropped=log.episodes.dropped,
                update_count=log.updates.total, env_steps=log.env_steps,
                wall_seconds=log.wall_seconds, weights_update=self._weights_update,
                waiting_position=position)
            self._snapshot = snap
            return snap

    def _hosted_snapshot(self, now: float) -> RunSnapshot:
        """The computation's snapshot (or this viewer's frozen one) with this viewer's own
        state, message and number of fellow viewers; the same object until one moves."""
        with self._lock:
            self._last_read = now
            state, message = self._task.state, self._task.message
            comp, frozen = self._comp, self._frozen
        if comp is None:
            base = RunSnapshot(state=state, message=message, config=self.config,
                               version=self._log.version, episodes=self._log.episodes.copy(),
                               updates=self._log.updates.copy())
            return base
        base = frozen[0] if frozen is not None else comp.snapshot()
        viewers = comp.viewers if state in ACTIVE_STATES else 1
        view = self._view
        if view is not None and view[0] is base and view[1:4] == (state, message, viewers):
            return view[4]
        import dataclasses

        snap = dataclasses.replace(base, state=state, message=message, viewers=max(1, viewers),
                                   reused=self._reused)
        self._view = (base, state, message, viewers, snap)
        return snap

    @property
    def counts(self) -> tuple[int, int, float]:
        """(episodes, env steps, seconds) so far. Unlike :meth:`snapshot` it does not count
        as a viewer's read, so a recorder's heartbeat never keeps an abandoned run alive."""
        frozen, comp = self._frozen, self._comp
        if frozen is not None:
            f = frozen[0]
            return f.episode_count, f.env_steps, f.wall_seconds
        if comp is not None:
            return comp.counts()
        with self._lock:
            return self._log.episode_count, self._log.env_steps, self._log.wall_seconds

    def returns_so_far(self) -> tuple[np.ndarray, int]:
        """(the per-episode returns the log holds, the episode number of the first). Like
        :attr:`counts`, not a viewer's read: the recorder's heartbeat saves them, so a run cut
        off with its server keeps its curve on the class board."""
        with self._lock:
            ep = self._log.episodes.copy()
        returns = ep["episode_return"]
        return returns, int(ep["episode"][0]) if len(returns) else 1

    def policy_agent(self):
        """A separate agent holding the latest published weights (None before the first copy).

        Safe to play or save from any thread: it shares nothing with the training agent.
        The same object is returned until newer weights are published.
        """
        from ..algos import make_agent
        from ..rl.envs import spec_for

        with self._lock:
            weights, version = self._weights, self._weights_update
            cached = self._policy_cache
        frozen, comp = self._frozen, self._comp
        if frozen is not None:
            weights, version = frozen[1], frozen[2]
        elif comp is not None:
            weights, version = comp.published()
        if weights is None:
            return None
        if cached is not None and cached[0] == version:
            return cached[1]
        spec = spec_for(self.config)
        agent = make_agent(self.config, spec)
        agent.net.load_state_dict(weights)
        agent.net.eval()
        with self._lock:
            self._policy_cache = (version, agent)
        return agent

    # ----- the thread -----------------------------------------------------------------------
    def _train(self) -> tuple[str, str]:
        """The thread's work, once it has a slot (a failure ends the run in ``error``)."""
        import torch

        from ..training.trainer import Trainer

        try:
            torch.set_num_threads(1)
            trainer = Trainer(self.config, self.control, self.frame_every)
            self._agent = trainer.agent
            self._publish_weights()
            result = trainer.run(self._on_event)
            self._publish_weights()
            # RunEnd has already ended the run; this is belt and braces
            return end_state(result.reason), result.message
        finally:
            self._agent = None  # the trainer's envs are closed; let the agent go too
            self._cancel_pause_timer()

    # ----- hosted: the run trains in a host process (pgcore.execution.hosts) ---------------
    def _train_hosted(self) -> tuple[str, str]:
        """The thread's work for a hosted run: find or start its computation, then wait for
        its end, or for this viewer to leave it (:meth:`stop`)."""
        try:
            comp, launch = self._computation()
            self._comp = comp
            if launch:
                comp.launch()
            if self._pause_wanted and not self.control.stopped:
                comp.pause_for(self, 0.0)
                self._freeze(comp)
                self.control.pause()
            if self.control.stopped:
                self._leave()
            while not comp.done.wait(0.5):
                if self._left:
                    if not self._last_viewer:  # the others still watch it: this view ends
                        return "stopped", LEFT_SHARED
                    if not self.hosts.alive:
                        return "stopped", ""
                elif self.idle_timeout is not None and \
                        time.monotonic() - self._last_read > self.idle_timeout:
                    self.stop(f"Stopped: nobody watched it for {self.idle_timeout:.0f} s.")
            if self._left and not self._last_viewer:
                return "stopped", LEFT_SHARED
            self._frozen = None  # it ended while this viewer was paused: show how it ended
            state, message = comp.end
            if self._reused:
                message = f"{message} {REUSED_NOTE}".strip()
            return state, message
        finally:
            self._cancel_pause_timer()

    def _computation(self) -> tuple[_Computation, bool]:
        """The computation this run watches, and whether it must be launched: a running or
        finished one of the same identity when sharing, else a new one."""
        if not self.share:
            comp = _Computation(self.config, self.hosts, self.frame_every, self.weights_every,
                                self._log_sizes)
            comp.attach(self)
            return comp, True
        from .sharing import identity

        book = self.hosts.shared_runs
        key = identity(self.config, self.frame_every, self.weights_every)
        with book.lock:
            comp = book.running(key)
            if comp is not None and comp.join(self):  # (not one its last viewer has left)
                book.joined += 1  # it has its log from the first episode: all of it shows
                return comp, False
            comp = book.finished(key)
            if comp is not None:
                book.reused += 1
                self._reused = True
                return comp, False
            comp = book.add(key, _Computation(self.config, self.hosts, self.frame_every,
                                              self.weights_every, self._log_sizes, key, book))
            comp.attach(self)
            return comp, True

    def _on_event(self, event: Event) -> None:
        with self._lock:
            self._log.add(event)
        if isinstance(event, UpdateEnd):
            now = time.monotonic()
            if self.hosts is None and (self.control.paused
                                       or now - self._weights_at >= self.weights_every):
                self._publish_weights(now)
            if self.idle_timeout is not None and now - self._last_read > self.idle_timeout:
                self.stop(f"Stopped: nobody watched it for {self.idle_timeout:.0f} s.")
        elif isinstance(event, RunEnd):
            self._task.finish(end_state(event.reason), event.message)  # a stop note wins

    def _publish_weights(self, now: float | None = None) -> None:
        """Copy the training agent's weights. Called by the training thread only, between
        updates, so the copy is never taken in the middle of an optimiser step."""
        agent = self._agent
        if agent is None:
            return
        weights = {k: v.detach().clone() for k, v in agent.net.state_dict().items()}
        with self._lock:
            self._weights = weights
            self._weights_update = agent.updates
            self._log.version += 1
        self._weights_at = time.monotonic() if now is None else now

    def _ended(self, state: str, message: str) -> None:
        self._log.version += 1  # under the lock: the lifecycle has just recorded the end
        if self.on_end is not None:
            try:
                self.on_end(self.snapshot())
            except Exception:  # noqa: BLE001, S110 - a recorder's failure never ends a run
                pass

    def _pause_expired(self) -> None:
        minutes = self.max_pause_seconds / 60
        self.stop(f"Stopped after {minutes:.0f} min paused, to free its training slot.")

    def _cancel_pause_timer(self) -> None:
        with self._lock:
            timer, self._pause_timer = self._pause_timer, None
        if timer is not None:
            timer.cancel()

    def __repr__(self) -> str:
        return f"BackgroundRun({self.config.algo}, state={self.state})"
