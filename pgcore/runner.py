"""Training in the background: a bounded slot pool, a run thread, and an immutable snapshot.

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
buckets that widen as the run grows (one-step actor-critic emits an update per env step), and
only the latest :class:`~pgcore.events.Frame` is kept.

The network is never read while it is being trained: the training thread itself publishes a
copy of the weights (between two updates, so never mid-step) at most every
``weights_every`` seconds, when it is paused, and at the end. :meth:`BackgroundRun.policy_agent`
builds a separate agent from that copy, which is safe to play or save from any thread.

This module never imports streamlit.
"""

from __future__ import annotations

import itertools
import math
import os
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from .config import TrainConfig
from .events import EpisodeEnd, Event, Frame, RunEnd, UpdateEnd

STATES = ("idle", "waiting", "running", "paused", "finished", "stopped", "diverged", "error")
"""Every state a :class:`BackgroundRun` can be in (``idle``: created, not started yet)."""
ACTIVE_STATES = ("waiting", "running", "paused")
END_STATES = ("finished", "stopped", "diverged", "error")

_END_STATE = {"max_episodes": "finished", "max_steps": "finished", "max_seconds": "finished",
              "stopped": "stopped", "diverged": "diverged", "error": "error"}

EPISODE_FIELDS = ("episode", "episode_return", "length", "env_steps", "wall_seconds",
                  "discounted_return", "start_value")
"""Per-episode columns of a snapshot, in order (``episode`` is 1-based)."""

UPDATE_FIELDS = ("policy_loss", "value_loss", "entropy", "grad_norm", "advantage_mean",
                 "advantage_rms", "value_mean", "target_mean")
"""Per-update statistics, each averaged over the updates of one bucket.

``advantage_rms`` is sqrt(mean(A^2)) over the bucket's batches: the typical size of the
advantages (for one-step actor-critic, of the TD errors)."""

UPDATE_POSITION_FIELDS = ("update", "env_steps", "episodes", "wall_seconds")
"""Where a bucket ends: the last update's counters."""


def _one_line(exc: BaseException) -> str:
    """``exc`` as one short line (no traceback): its message, or its type if it has none."""
    lines = str(exc).strip().splitlines()
    text = lines[0].strip() if lines else ""
    if not text:
        return type(exc).__name__
    if isinstance(exc, ValueError) and type(exc).__name__.endswith("Error") \
            and type(exc).__module__.startswith("pgcore"):
        return text  # ConfigError / EnvError messages are written for people already
    return f"{type(exc).__name__}: {text}"[:300]


# ----- the slot pool --------------------------------------------------------------------------


class SlotPool:
    """At most ``max_concurrent`` runs train at once; the others wait their turn (FIFO).

    Thread-safe. ``acquire`` blocks until a slot is free *and* every earlier waiter has been
    served, or until ``cancel`` is set (then it returns False without taking a slot).
    """

    def __init__(self, max_concurrent: int | None = None):
        n = (os.cpu_count() or 1) if max_concurrent is None else max_concurrent
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"max_concurrent must be a whole number >= 1, got {max_concurrent!r}")
        self.max_concurrent = n
        self._cond = threading.Condition()
        self._active = 0
        self._queue: deque[int] = deque()
        self._tickets = itertools.count()

    def acquire(self, cancel: threading.Event | None = None, timeout: float | None = None) -> bool:
        """Take a slot (True), or give up when ``cancel`` is set or ``timeout`` passes (False)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            ticket = next(self._tickets)
            self._queue.append(ticket)
            try:
                while True:
                    if cancel is not None and cancel.is_set():
                        return False
                    if self._active < self.max_concurrent and self._queue[0] == ticket:
                        self._active += 1
                        return True
                    wait = 0.2 if deadline is None else min(0.2, deadline - time.monotonic())
                    if wait <= 0:
                        return False
                    self._cond.wait(wait)  # woken by release()/wake(); polls cancel anyway
            finally:
                self._queue.remove(ticket)
                self._cond.notify_all()  # the next in line may go now

    def release(self) -> None:
        """Give a slot back (exactly once per successful ``acquire``)."""
        with self._cond:
            if self._active <= 0:
                raise RuntimeError("SlotPool.release() called more often than acquire()")
            self._active -= 1
            self._cond.notify_all()

    def wake(self) -> None:
        """Wake every waiter so it re-checks its cancel event now."""
        with self._cond:
            self._cond.notify_all()

    @property
    def active(self) -> int:
        """Slots in use."""
        with self._cond:
            return self._active

    @property
    def waiting(self) -> int:
        """Runs waiting for a slot."""
        with self._cond:
            return len(self._queue)

    def __repr__(self) -> str:
        return f"SlotPool(active={self.active}, waiting={self.waiting}, max={self.max_concurrent})"


# ----- the bounded log ------------------------------------------------------------------------


class _Growable:
    """Columns of float64 that grow geometrically up to ``cap`` rows, then drop the oldest half."""

    def __init__(self, names: tuple[str, ...], cap: int, initial: int = 256):
        self.names = names
        self.cap = cap
        self.data = np.full((len(names), min(initial, cap)), np.nan)
        self.n = 0
        self.dropped = 0  # rows dropped from the front so far

    def append(self, row: tuple[float, ...]) -> None:
        if self.n == self.data.shape[1]:
            if self.n >= self.cap:
                half = self.n // 2
                self.data[:, : self.n - half] = self.data[:, half: self.n]
                self.n -= half
                self.dropped += half
            else:
                grown = np.full((len(self.names), min(self.cap, 2 * self.n)), np.nan)
                grown[:, : self.n] = self.data[:, : self.n]
                self.data = grown
        self.data[:, self.n] = row
        self.n += 1

    def copy(self) -> dict[str, np.ndarray]:
        block = self.data[:, : self.n].copy()
        block.setflags(write=False)
        return {name: block[i] for i, name in enumerate(self.names)}


class _UpdateBuckets:
    """Per-update statistics averaged into at most ``max_points`` buckets.

    Each bucket holds ``size`` consecutive updates (the last one may hold fewer). When the
    buckets are full, neighbours are merged pairwise and ``size`` doubles, so the whole run
    stays covered at an even resolution and memory never grows past ``max_points`` rows.
    """

    def __init__(self, max_points: int = 2048):
        if max_points < 4 or max_points % 2:
            raise ValueError("max_points must be an even number >= 4")
        self.max_points = max_points
        self.size = 1
        k = len(UPDATE_FIELDS)
        self.sums = np.zeros((max_points, k))
        self.counts = np.zeros(max_points, dtype=np.int64)
        self.pos = np.zeros((max_points, len(UPDATE_POSITION_FIELDS)))
        self.n = 0  # closed buckets
        self.open_sum = np.zeros(k)
        self.open_count = 0
        self.open_pos = np.zeros(len(UPDATE_POSITION_FIELDS))
        self.total = 0

    def add(self, u: UpdateEnd) -> None:
        rms_sq = u.advantage_mean ** 2 + u.advantage_std ** 2
        self.open_sum += (u.policy_loss, u.value_loss, u.entropy, u.grad_norm,
                          u.advantage_mean, rms_sq, u.value_mean, u.target_mean)
        self.open_count += 1
        self.open_pos[:] = (u.update, u.env_steps, u.episodes, u.wall_seconds)
        self.total += 1
        if self.open_count >= self.size:
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
        self.open_count = 0

    def copy(self) -> dict[str, np.ndarray]:
        sums, counts, pos = self.sums[: self.n], self.counts[: self.n], self.pos[: self.n]
        if self.open_count:  # include the bucket still filling, so the latest update shows
            sums = np.vstack([sums, self.open_sum])
            counts = np.append(counts, self.open_count)
            pos = np.vstack([pos, self.open_pos])
        with np.errstate(invalid="ignore", divide="ignore"):
            means = sums / counts[:, None]
        means[:, UPDATE_FIELDS.index("advantage_rms")] = np.sqrt(
            means[:, UPDATE_FIELDS.index("advantage_rms")])
        out = {name: means[:, i].copy() for i, name in enumerate(UPDATE_FIELDS)}
        out.update({name: pos[:, i].copy() for i, name in enumerate(UPDATE_POSITION_FIELDS)})
        out["count"] = counts.copy()
        for arr in out.values():
            arr.setflags(write=False)
        return out


class RunLog:
    """Everything a viewer needs from a run, bounded in memory. Not thread-safe by itself:
    :class:`BackgroundRun` guards it with its lock."""

    def __init__(self, max_episodes: int = 100_000, max_update_points: int = 2048):
        self.episodes = _Growable(EPISODE_FIELDS, cap=max_episodes)
        self.updates = _UpdateBuckets(max_update_points)
        self.frame: Frame | None = None
        self.episode_count = 0
        self.env_steps = 0
        self.wall_seconds = 0.0
        self.version = 0  # bumped on every change: a snapshot can be reused until it moves

    def add(self, event: Event) -> None:
        if isinstance(event, EpisodeEnd):
            self.episodes.append((event.episode, event.episode_return, event.length,
                                  event.env_steps, event.wall_seconds, event.discounted_return,
                                  event.start_value))
            self.episode_count = event.episode
            self.env_steps = max(self.env_steps, event.env_steps)
            self.wall_seconds = event.wall_seconds
        elif isinstance(event, UpdateEnd):
            self.updates.add(event)
            self.env_steps = max(self.env_steps, event.env_steps)
            self.wall_seconds = event.wall_seconds
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
    """Columns :data:`UPDATE_FIELDS` + :data:`UPDATE_POSITION_FIELDS` + ``count`` (bucketed)."""
    frame: Frame | None = field(default=None, repr=False)
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

_ALL_RUNS: weakref.WeakSet = weakref.WeakSet()
_ALL_RUNS_LOCK = threading.Lock()


def live_runs() -> list[BackgroundRun]:
    """Every run of this process that is still waiting, running or paused."""
    with _ALL_RUNS_LOCK:
        runs = list(_ALL_RUNS)
    return [r for r in runs if r.state in ACTIVE_STATES]


def stop_all(timeout: float = 10.0) -> None:
    """Stop every live run of this process and wait for their threads (tests, shutdown)."""
    runs = live_runs()
    for r in runs:
        r.stop()
    for r in runs:
        r.join(timeout)


class BackgroundRun:
    """One training run in a daemon thread, controlled from other threads.

    ``frame_every`` (seconds) sets how often the trainer draws a frame of the first
    environment; ``weights_every`` how often the thread publishes a weight copy for
    :meth:`policy_agent`. ``max_pause_seconds`` stops a run left paused that long (it would
    otherwise hold its pool slot forever); ``idle_timeout`` stops a run whose snapshots
    nobody has read for that long (a viewer that went away without saying so).
    """

    def __init__(self, config: TrainConfig, pool: SlotPool | None = None,
                 frame_every: float | None = 0.25, *, weights_every: float = 1.0,
                 max_pause_seconds: float | None = 1800.0, idle_timeout: float | None = None,
                 max_logged_episodes: int = 100_000, max_update_points: int = 2048):
        from .trainer import RunControl  # deferred: keeps `import pgcore.runner` light

        if not isinstance(config, TrainConfig):
            raise TypeError("config must be a TrainConfig")
        self.config = config
        self.pool = pool if pool is not None else SlotPool()
        self.frame_every = frame_every
        self.weights_every = weights_every
        self.max_pause_seconds = max_pause_seconds
        self.idle_timeout = idle_timeout
        self.control = RunControl()
        self._lock = threading.Lock()
        self._log = RunLog(max_logged_episodes, max_update_points)
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._waiting = False
        self._end_state: str | None = None
        self._message = ""
        self._stop_note = ""
        self._agent = None  # the training agent: touched only by the training thread
        self._weights: dict | None = None  # published copy of the state_dict
        self._weights_update: int | None = None
        self._weights_at = -math.inf
        self._policy_cache: tuple[int, object] | None = None
        self._snapshot: RunSnapshot | None = None
        self._last_read = time.monotonic()
        self._pause_timer: threading.Timer | None = None
        self.created_at = time.time()
        with _ALL_RUNS_LOCK:
            _ALL_RUNS.add(self)

    # ----- control (any thread) -------------------------------------------------------------
    def start(self) -> BackgroundRun:
        """Start the thread (once). It waits for a pool slot, then trains."""
        with self._lock:
            if self._thread is not None:
                raise RuntimeError("this run was already started")
            self._waiting = True
            self._thread = threading.Thread(target=self._main, daemon=True,
                                            name=f"pgcore-run-{self.config.algo}")
        self._thread.start()
        return self

    def pause(self) -> None:
        """Pause after the current update (a waiting run starts paused when its slot comes)."""
        if self.state in END_STATES:
            return
        self.control.pause()
        if self.max_pause_seconds is not None:
            with self._lock:
                if self._pause_timer is None:
                    self._pause_timer = threading.Timer(self.max_pause_seconds,
                                                        self._pause_expired)
                    self._pause_timer.daemon = True
                    self._pause_timer.start()

    def resume(self) -> None:
        self.control.resume()
        self._cancel_pause_timer()

    def stop(self, note: str = "") -> None:
        """Stop as soon as the loop notices (and give up a place in the pool's queue)."""
        with self._lock:
            if note and not self._stop_note:
                self._stop_note = note
        self._cancel.set()
        self.control.stop()
        self.pool.wake()
        self._cancel_pause_timer()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end; True if it has."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # ----- reading (any thread) -------------------------------------------------------------
    @property
    def state(self) -> str:
        with self._lock:
            return self._state_locked()

    def _state_locked(self) -> str:
        if self._end_state is not None:
            return self._end_state
        if self._thread is None:
            return "idle"
        if self._waiting:
            return "waiting"
        return "paused" if self.control.paused else "running"

    @property
    def message(self) -> str:
        """The end message (empty while the run is active)."""
        with self._lock:
            return self._message

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def snapshot(self) -> RunSnapshot:
        """An immutable copy of everything a viewer shows. Cheap when nothing changed."""
        now = time.monotonic()
        with self._lock:
            self._last_read = now
            state = self._state_locked()
            snap = self._snapshot
            if snap is not None and snap.version == self._log.version and snap.state == state:
                return snap
            log = self._log
            position = 0
            if state == "waiting":
                position = max(0, self.pool.waiting - 1)
            snap = RunSnapshot(
                state=state, message=self._message, config=self.config, version=log.version,
                episodes=log.episodes.copy(), updates=log.updates.copy(), frame=log.frame,
                episode_count=log.episode_count, episodes_dropped=log.episodes.dropped,
                update_count=log.updates.total, env_steps=log.env_steps,
                wall_seconds=log.wall_seconds, weights_update=self._weights_update,
                waiting_position=position)
            self._snapshot = snap
            return snap

    def policy_agent(self):
        """A separate agent holding the latest published weights (None before the first copy).

        Safe to play or save from any thread: it shares nothing with the training agent.
        The same object is returned until newer weights are published.
        """
        from .agents import make_agent
        from .envs import env_spec

        with self._lock:
            weights, version = self._weights, self._weights_update
            cached = self._policy_cache
        if weights is None:
            return None
        if cached is not None and cached[0] == version:
            return cached[1]
        spec = env_spec(self.config.env_id)
        agent = make_agent(self.config, spec.obs_dim, spec.n_actions)
        agent.net.load_state_dict(weights)
        agent.net.eval()
        with self._lock:
            self._policy_cache = (version, agent)
        return agent

    # ----- the thread -----------------------------------------------------------------------
    def _main(self) -> None:
        acquired = False
        try:
            acquired = self.pool.acquire(cancel=self._cancel)
            with self._lock:
                self._waiting = False
            if not acquired:
                self._finish("stopped", self._stop_note or "Stopped before it started.")
                return
            import torch

            from .trainer import Trainer

            torch.set_num_threads(1)
            trainer = Trainer(self.config, self.control, self.frame_every)
            self._agent = trainer.agent
            self._publish_weights()
            result = trainer.run(self._on_event)
            self._publish_weights()
            if self._end_state is None:  # RunEnd always comes; this is belt and braces
                self._finish(_END_STATE.get(result.reason, "finished"), result.message)
        except BaseException as exc:  # noqa: BLE001 - any failure becomes a one-line state
            with self._lock:
                self._waiting = False
            self._finish("error", f"The run failed: {_one_line(exc)}")
        finally:
            self._agent = None  # the trainer's envs are closed; let the agent go too
            self._cancel_pause_timer()
            if acquired:
                self.pool.release()

    def _on_event(self, event: Event) -> None:
        with self._lock:
            self._log.add(event)
        if isinstance(event, UpdateEnd):
            now = time.monotonic()
            if self.control.paused or now - self._weights_at >= self.weights_every:
                self._publish_weights(now)
            if self.idle_timeout is not None and now - self._last_read > self.idle_timeout:
                self.stop(f"Stopped: nobody watched it for {self.idle_timeout:.0f} s.")
        elif isinstance(event, RunEnd):
            state = _END_STATE.get(event.reason, "finished")
            message = event.message
            if state == "stopped" and self._stop_note:
                message = self._stop_note
            self._finish(state, message)

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

    def _finish(self, state: str, message: str) -> None:
        with self._lock:
            if self._end_state is None:
                self._end_state = state
                self._message = message
                self._log.version += 1

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
