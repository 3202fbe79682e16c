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
    """

    def __init__(self, config: TrainConfig, pool: SlotPool | None = None,
                 frame_every: float | None = 0.25, *, weights_every: float = 1.0,
                 max_pause_seconds: float | None = 1800.0, idle_timeout: float | None = None,
                 max_logged_episodes: int = 100_000, max_update_points: int = 2048,
                 max_logged_evaluations: int = 2_000,
                 on_end: Callable[[RunSnapshot], None] | None = None,
                 hosts: RunHosts | None = None):
        from ..training.trainer import (
            RunControl,  # deferred: keeps `import pgcore.execution.runner` light
        )

        if not isinstance(config, TrainConfig):
            raise TypeError("config must be a TrainConfig")
        self.config = config
        self.hosts = hosts
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
        self._run_id: int | None = None  # hosted: the run's id on the hosts
        self._pause_wanted = False  # hosted: pause() was called; the host has not said so yet
        self._paused_ack = threading.Event()  # hosted: set when the host says it has paused
        self._hosted_end: tuple[str, str] | None = None
        self._hosted_done = threading.Event()
        self._renderer = None  # hosted: draws the frames the host sends without an image
        self._rendered: tuple[Frame, Frame] | None = None
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
        else:  # "paused" once the host says the run has stopped (_on_hosted)
            self._pause_wanted = True
            self._paused_ack.clear()
            self._tell_host("pause")
            if self._run_id is not None:  # usually a few ms: the caller then sees "paused"
                self._paused_ack.wait(self.pause_wait)
        if self.max_pause_seconds is not None:
            with self._lock:
                if self._pause_timer is None:
                    self._pause_timer = threading.Timer(self.max_pause_seconds,
                                                        self._pause_expired)
                    self._pause_timer.daemon = True
                    self._pause_timer.start()

    def resume(self) -> None:
        self._pause_wanted = False
        self.control.resume()
        self._tell_host("resume")
        self._cancel_pause_timer()

    def stop(self, note: str = "") -> None:
        """Stop as soon as the loop notices (and give up a place in the pool's queue);
        ``note``, if given, is the stopped run's message."""
        self._task.stop(note)
        self._tell_host("stop")
        self._cancel_pause_timer()

    # ----- reading (any thread): join, state, message, alive come from TaskOwner ------------

    def snapshot(self) -> RunSnapshot:
        """An immutable copy of everything a viewer shows. Cheap when nothing changed."""
        now = time.monotonic()
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
                frame=self._drawn(log.frame),
                evaluations=log.evaluations.copy(), evaluation_count=log.evaluations.count,
                episode_count=log.episode_count, episodes_dropped=log.episodes.dropped,
                update_count=log.updates.total, env_steps=log.env_steps,
                wall_seconds=log.wall_seconds, weights_update=self._weights_update,
                waiting_position=position)
            self._snapshot = snap
            return snap

    @property
    def counts(self) -> tuple[int, int, float]:
        """(episodes, env steps, seconds) so far. Unlike :meth:`snapshot` it does not count
        as a viewer's read, so a recorder's heartbeat never keeps an abandoned run alive."""
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
        """The thread's work for a hosted run: start it on a host, then wait for its end
        (its events arrive meanwhile in the hosts' drain thread, :meth:`_on_hosted`)."""
        try:
            self._run_id = self.hosts.new_id()
            self.hosts.start(self._run_id, self.config, self._on_hosted, self.frame_every,
                             self.weights_every)
            if self._pause_wanted:
                self._tell_host("pause")
            if self.control.stopped:
                self._tell_host("stop")
            while not self._hosted_done.wait(0.5):
                if self.control.stopped and not self.hosts.alive:
                    return "stopped", ""
            return self._hosted_end
        finally:
            self._cancel_pause_timer()
            if self._renderer is not None:
                with self._lock:
                    renderer, self._renderer = self._renderer, None
                renderer.close()

    def _tell_host(self, command: str) -> None:
        if self.hosts is not None and self._run_id is not None:
            self.hosts.send(self._run_id, command)

    def _on_hosted(self, kind: str, payload) -> None:
        """A message from the run's host (in the hosts' drain thread)."""
        if kind == "events":
            for event in payload:
                self._on_event(event)
        elif kind == "weights":
            import torch

            updates, arrays = payload
            weights = {k: torch.from_numpy(v) for k, v in arrays.items()}
            with self._lock:
                self._weights, self._weights_update = weights, updates
                self._log.version += 1
        elif kind == "paused":
            if self._pause_wanted and not self.control.stopped:
                self.control.pause()  # now the run reports "paused": it has really stopped
            self._paused_ack.set()
        elif kind == "end":
            self._hosted_end = tuple(payload)
            self._hosted_done.set()

    def _drawn(self, frame: Frame | None) -> Frame | None:
        """A hosted run's frame comes without its image: draw it here from the state, once
        per frame, when a reader asks (under the lock)."""
        if frame is None or frame.rgb is not None or self.hosts is None:
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
