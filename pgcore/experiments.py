"""Experiments: a grid of configs x seeds, trained in parallel processes, watched live.

::

    from pgcore import default_config
    from pgcore.experiments import Experiment, grid

    jobs = grid({"no baseline": default_config("reinforce", "none", max_episodes=200),
                 "value baseline": default_config("reinforce", "value", max_episodes=200)},
                seeds=[0, 1, 2])
    exp = Experiment(jobs).start()        # returns at once; training runs in the background
    snap = exp.snapshot()                 # immutable; charts read this while it fills
    exp.stop()                            # stops the running jobs, drops the queued ones
    exp.join(); exp.snapshot().to_csv()   # the tidy table as CSV bytes

Two modes, the same results:

* ``mode="process"`` (default): jobs run in a ``spawn`` process pool of ``os.cpu_count()``
  workers, each on one torch thread, shared by every experiment of this process and kept
  warm between them (:class:`WorkerPool`). Workers stream finished episodes back through a
  ``multiprocessing`` queue that a thread of this process drains into each experiment's
  lock-protected store.
* ``mode="inline"``: the jobs run one after another in a background thread of this process
  (tests, tiny runs, machines where spawning processes is not wanted).

The trainer is deterministic given a config, so a job gives identical episodes in either mode
(only ``wall_seconds`` differs). A job that fails (an unknown environment, an exception in
training) ends in state ``error`` with a one-line message; the other jobs carry on. A
diverging job ends in ``diverged`` with the trainer's message.

An optional :class:`pgcore.runner.SlotPool` is shared with the app's single runs: each job
holds a slot while it trains, so experiments and Train-page runs together never use more
processes than the pool allows.

This module never imports streamlit (nor pandas, except in :meth:`ExperimentSnapshot.to_frame`).
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import multiprocessing as mp
import os
import queue as queue_mod
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from .config import TrainConfig
from .metrics import (
    CARTPOLE_V0_SOLVED,
    CARTPOLE_V1_SOLVED,
    episodes_to_threshold,
    final_average,
    moving_average,
)
from .runner import SlotPool, _one_line

COLUMNS = ("label", "seed", "episode", "return", "length", "env_steps", "wall_seconds",
           "entropy")
"""Columns of the tidy table, one row per finished episode.

``entropy`` is the mean policy entropy (nats) of the update(s) that learned from that episode:
for REINFORCE the update on the episode itself; for actor-critic and A2C the mean over the
updates made while it was being played (the previous value when none was)."""

NUMERIC = COLUMNS[2:]
JOB_STATES = ("queued", "starting", "running", "finished", "stopped", "diverged", "error")
"""``starting``: handed to a worker process that has not reported yet (it may still be
starting up)."""
END_STATES = ("finished", "stopped", "diverged", "error")
_END_STATE = {"max_episodes": "finished", "max_steps": "finished", "max_seconds": "finished",
              "stopped": "stopped", "diverged": "diverged", "error": "error"}
MAX_JOBS = 200


class ExperimentError(ValueError):
    """The grid itself is unusable (no jobs, duplicate label/seed pairs, too many jobs)."""


@dataclass(frozen=True)
class Job:
    """One training run of a grid: a label (the config variant) and a config (its seed inside)."""

    label: str
    config: TrainConfig

    @property
    def seed(self) -> int:
        return self.config.seed


def grid(configs: Mapping[str, TrainConfig] | Sequence[tuple[str, TrainConfig]],
         seeds: Iterable[int]) -> list[Job]:
    """Every config with every seed, label-major: ``[(label1, s1), (label1, s2), ...]``.

    The seed of each config is replaced by the grid's seeds (validated like any config).
    """
    items = list(configs.items()) if isinstance(configs, Mapping) else list(configs)
    seeds = list(seeds)
    return [Job(str(label), cfg.replace(seed=int(s))) for label, cfg in items for s in seeds]


def check_jobs(jobs: Sequence[Job]) -> list[Job]:
    """Validate a job list: at least one, at most :data:`MAX_JOBS`, unique (label, seed)."""
    jobs = list(jobs)
    if not jobs:
        raise ExperimentError("the experiment has no runs: give at least one config and seed")
    if len(jobs) > MAX_JOBS:
        raise ExperimentError(f"too many runs ({len(jobs)}); at most {MAX_JOBS} per experiment")
    seen = set()
    for job in jobs:
        if not isinstance(job, Job) or not isinstance(job.config, TrainConfig):
            raise ExperimentError("every job must be a Job(label, TrainConfig)")
        key = (job.label, job.seed)
        if key in seen:
            raise ExperimentError(f"run {job.label!r} seed {job.seed} appears more than once")
        seen.add(key)
    return jobs


# ----- one job (in a worker process or an inline thread) ---------------------------------------


class _EpisodeRows:
    """Turns the trainer's events into table rows (without label/seed), with the entropy."""

    def __init__(self, algo: str):
        self.per_episode_update = algo == "reinforce"
        self.rows: list[tuple] = []
        self.pending: list | None = None  # REINFORCE: the row waiting for its update
        self.ent_sum, self.ent_n, self.last_ent = 0.0, 0, math.nan

    def episode(self, e) -> None:
        row = [e.episode, float(e.episode_return), int(e.length), int(e.env_steps),
               float(e.wall_seconds), math.nan]
        if self.per_episode_update:
            self._flush_pending()
            self.pending = row
            return
        if self.ent_n:
            self.last_ent = self.ent_sum / self.ent_n
        row[5] = self.last_ent
        self.ent_sum, self.ent_n = 0.0, 0
        self.rows.append(tuple(row))

    def update(self, u) -> None:
        if self.per_episode_update:
            if self.pending is not None:
                self.pending[5] = float(u.entropy)
                self._flush_pending()
            return
        if math.isfinite(u.entropy):
            self.ent_sum += float(u.entropy)
            self.ent_n += 1

    def _flush_pending(self) -> None:
        if self.pending is not None:
            self.rows.append(tuple(self.pending))
            self.pending = None

    def take(self, final: bool = False) -> list[tuple]:
        if final:
            self._flush_pending()
        rows, self.rows = self.rows, []
        return rows


def small_frame(rgb: np.ndarray, max_width: int = 200) -> np.ndarray:
    """A small copy of an RGB frame for a thumbnail: CartPole's empty sky and floor cropped,
    then every k-th pixel so the width is at most ``max_width``."""
    rgb = np.asarray(rgb, dtype=np.uint8)
    if rgb.shape[:2] == (400, 600):  # CartPole: the cart and pole live in rows 120-345
        rgb = rgb[120:345]
    k = max(1, -(-rgb.shape[1] // max_width))
    return np.ascontiguousarray(rgb[::k, ::k])


def run_job(index: int, config: TrainConfig, emit: Callable[[tuple], None],
            should_stop: Callable[[], bool], flush_every: float = 0.2,
            check_every: float = 0.05, frame_every: float | None = None) -> None:
    """Train one job, sending ``("start", i)``, ``("rows", i, rows)`` and ``("end", i, state,
    message)`` to ``emit`` (and, with ``frame_every`` seconds, ``("frame", i, rgb, episode,
    step)`` thumbnails of its first environment). Never raises: a failure becomes an
    ``error`` end message."""
    from .events import EpisodeEnd, Frame, RunEnd, UpdateEnd
    from .trainer import RunControl, Trainer

    if should_stop():
        emit(("end", index, "stopped", "Stopped before it started."))
        return
    emit(("start", index))
    rows = _EpisodeRows(config.algo)
    control = RunControl()
    clock = {"flush": time.perf_counter(), "check": 0.0}
    ended = []

    def on_event(event) -> None:
        kind = type(event)
        if kind is EpisodeEnd:
            rows.episode(event)
        elif kind is UpdateEnd:
            rows.update(event)
        elif kind is RunEnd:
            ended.append(event)
            return
        elif kind is Frame:
            if event.rgb is not None:
                emit(("frame", index, small_frame(event.rgb), event.episode, event.step))
            return
        now = time.perf_counter()
        if now - clock["check"] >= check_every:
            clock["check"] = now
            if should_stop():
                control.stop()
        if now - clock["flush"] >= flush_every:
            clock["flush"] = now
            batch = rows.take()
            if batch:
                emit(("rows", index, batch))

    try:
        trainer = Trainer(config, control=control, frame_every=frame_every)
        result = trainer.run(on_event)
        state, message = _END_STATE.get(result.reason, "finished"), result.message
    except BaseException as exc:  # noqa: BLE001 - one job's failure must not end the others
        state, message = "error", f"The run failed: {_one_line(exc)}"
    batch = rows.take(final=True)
    if batch:
        emit(("rows", index, batch))
    emit(("end", index, state, message))


# worker-process globals, set by _init_worker
_QUEUE = None
_STOPS = None
STOP_SLOTS = 4096
"""Stop flags shared with the workers: experiment ``k`` uses flag ``k % STOP_SLOTS``."""


def _init_worker(queue, stops, parent: int) -> None:
    """Process setup: one torch thread, no Ctrl-C (the parent handles it), an orphan watchdog."""
    global _QUEUE, _STOPS
    import signal

    import torch

    torch.set_num_threads(1)
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # pragma: no cover - not the main thread
        pass
    _QUEUE, _STOPS = queue, stops

    def watchdog() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watchdog, name="pgcore-orphan-watchdog", daemon=True).start()


def _process_job(exp_id: int, index: int, config: TrainConfig, flush_every: float,
                 frame_every: float | None = None) -> None:
    slot = exp_id % STOP_SLOTS

    def emit(msg: tuple) -> None:
        _QUEUE.put((exp_id, msg))

    run_job(index, config, emit, lambda: _STOPS[slot] != 0, flush_every,
            frame_every=frame_every)


_SPAWN_LOCK = threading.Lock()


@contextmanager
def _workers_skip_main():
    """Spawned workers must not re-run this process's ``__main__``.

    A ``spawn`` child normally re-imports the parent's main script (as ``__mp_main__``). Under
    ``streamlit run`` that script is the app itself, which cannot run outside a Streamlit
    session; and the workers need nothing from it (the job function lives here). So, while
    this process starts workers, the main-module entries are left out of the data a child
    prepares itself from. ``ProcessPoolExecutor`` starts ``spawn`` workers inside ``submit``,
    in the calling thread, so wrapping ``submit`` is enough.
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


class WorkerPool:
    """The process-wide ``spawn`` pool every process-mode experiment shares.

    Starting a worker means a new Python that imports torch: about 1.5 s of CPU each. So the
    workers are started once (on the first process-mode experiment, ``os.cpu_count()`` of
    them) and reused: the next experiment starts at once. Workers report through one queue,
    tagged with their experiment's id; one thread here hands each message to its experiment.
    :func:`shutdown_worker_pool` ends it (the CLI does at exit; a server keeps it).
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
        self._sinks: dict[int, Callable[[tuple], None]] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._drain, daemon=True,
                                        name="pgcore-worker-pool-drain")
        self._thread.start()

    def register(self, exp_id: int, sink: Callable[[tuple], None]) -> None:
        with self._lock:
            self.stops[exp_id % STOP_SLOTS] = 0
            self._sinks[exp_id] = sink

    def unregister(self, exp_id: int) -> None:
        with self._lock:
            self._sinks.pop(exp_id, None)

    def stop(self, exp_id: int) -> None:
        self.stops[exp_id % STOP_SLOTS] = 1

    def submit(self, exp_id: int, index: int, config: TrainConfig, flush_every: float,
               frame_every: float | None):
        with _workers_skip_main():
            return self.executor.submit(_process_job, exp_id, index, config, flush_every,
                                        frame_every)

    def _drain(self) -> None:
        while True:
            try:
                exp_id, msg = self.queue.get(timeout=0.2)
            except queue_mod.Empty:
                if self._closed.is_set():
                    return
                continue
            except (EOFError, OSError, ValueError):  # pragma: no cover - queue closed
                return
            with self._lock:
                sink = self._sinks.get(exp_id)
            if sink is not None:
                sink(msg)

    def shutdown(self) -> None:
        """Stop every job, end the workers, close the queue."""
        for i in range(STOP_SLOTS):
            self.stops[i] = 1
        self.executor.shutdown(wait=True, cancel_futures=True)
        self._closed.set()
        self._thread.join(5.0)
        self.queue.close()
        self.queue.join_thread()


_POOL: WorkerPool | None = None
_POOL_LOCK = threading.Lock()
_EXP_IDS = itertools.count(1)


def worker_pool() -> WorkerPool:
    """The shared pool (started on first use, replaced if a worker died and broke it)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL.broken:
            old, _POOL = _POOL, WorkerPool(os.cpu_count() or 1)
            if old is not None:
                threading.Thread(target=old.shutdown, daemon=True).start()
            _register_exit_hook()
        return _POOL


def shutdown_worker_pool() -> None:
    """End the shared pool's workers (running jobs are stopped first). Safe to call twice."""
    global _POOL
    with _POOL_LOCK:
        pool, _POOL = _POOL, None
    if pool is not None:
        pool.shutdown()


_EXIT_HOOK = []


def _register_exit_hook() -> None:
    """Stop the workers' jobs when the interpreter exits. Registered with threading's exit
    hooks (which run before ``concurrent.futures`` waits for its workers), so a long job
    cannot hold up the exit."""
    if _EXIT_HOOK:
        return
    _EXIT_HOOK.append(True)

    def stop_jobs() -> None:
        pool = _POOL
        if pool is not None:
            for i in range(STOP_SLOTS):
                pool.stops[i] = 1

    register = getattr(threading, "_register_atexit", None)
    try:
        if register is None:
            raise RuntimeError
        register(stop_jobs)
    except RuntimeError:  # pragma: no cover - old Python, or called during shutdown
        import atexit

        atexit.register(stop_jobs)


# ----- the store and its snapshots -------------------------------------------------------------


@dataclass(frozen=True)
class RunView:
    """One job as seen in a snapshot: its state and its episodes (read-only arrays)."""

    label: str
    seed: int
    config: TrainConfig = field(repr=False)
    state: str
    message: str
    columns: dict[str, np.ndarray] = field(repr=False)
    """``episode``, ``return``, ``length``, ``env_steps``, ``wall_seconds``, ``entropy``."""
    frame: tuple | None = field(default=None, repr=False)
    """The latest thumbnail ``(rgb, episode, step)`` when the experiment draws frames."""

    @property
    def episodes(self) -> int:
        return len(self.columns["episode"])

    @property
    def returns(self) -> np.ndarray:
        return self.columns["return"]

    @property
    def ended(self) -> bool:
        return self.state in END_STATES


@dataclass(frozen=True)
class ExperimentSnapshot:
    """An immutable view of a whole experiment at one moment."""

    state: str
    """``idle``, ``running``, ``finished`` (every job ended by itself), ``stopped``."""
    runs: tuple[RunView, ...]
    version: int
    elapsed: float
    """Seconds since the start (wall clock, all jobs)."""

    @property
    def active(self) -> bool:
        return self.state == "running"

    @property
    def labels(self) -> list[str]:
        """The config labels, in grid order."""
        return list(dict.fromkeys(r.label for r in self.runs))

    def by_label(self, label: str) -> list[RunView]:
        return [r for r in self.runs if r.label == label]

    @property
    def episode_count(self) -> int:
        return sum(r.episodes for r in self.runs)

    def errors(self) -> list[str]:
        """One line per job that failed or diverged."""
        return [f"{r.label}, seed {r.seed}: {r.message}" for r in self.runs
                if r.state in ("error", "diverged")]

    def progress(self) -> float:
        """Fraction of the episode budget done over all jobs (ended jobs count as done)."""
        done = total = 0.0
        for r in self.runs:
            budget = r.config.max_episodes
            if r.ended or not budget:
                done += 1.0
            else:
                done += min(1.0, r.episodes / budget)
            total += 1.0
        return done / total if total else 0.0

    def table(self) -> dict[str, np.ndarray | list]:
        """The tidy table as columns (:data:`COLUMNS`), one row per episode."""
        out: dict[str, list | np.ndarray] = {"label": [], "seed": []}
        parts: dict[str, list[np.ndarray]] = {c: [] for c in NUMERIC}
        for r in self.runs:
            out["label"].extend([r.label] * r.episodes)
            out["seed"].extend([r.seed] * r.episodes)
            for c in NUMERIC:
                parts[c].append(r.columns[c])
        for c in NUMERIC:
            out[c] = np.concatenate(parts[c]) if parts[c] else np.empty(0)
        return out

    def to_frame(self):
        """The tidy table as a pandas DataFrame (integer columns as int64)."""
        import pandas as pd

        df = pd.DataFrame(self.table(), columns=list(COLUMNS))
        for c in ("seed", "episode", "length", "env_steps"):
            df[c] = df[c].astype(np.int64)
        return df

    def to_csv(self) -> bytes:
        """The tidy table as CSV (UTF-8 bytes, a header row, full float precision)."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(COLUMNS)
        for r in self.runs:
            c = r.columns
            for i in range(r.episodes):
                ent = c["entropy"][i]
                w.writerow([r.label, r.seed, int(c["episode"][i]), repr(float(c["return"][i])),
                            int(c["length"][i]), int(c["env_steps"][i]),
                            f"{c['wall_seconds'][i]:.6f}",
                            "" if not math.isfinite(ent) else f"{ent:.6g}"])
        return buf.getvalue().encode()

    def summaries(self) -> list[dict]:
        """Per job: label, seed, state, message and :func:`run_stats` of its returns."""
        return [{"label": r.label, "seed": r.seed, "state": r.state, "message": r.message,
                 **run_stats(r.returns, r.columns["env_steps"], r.columns["wall_seconds"])}
                for r in self.runs]


def wobble(returns: Sequence[float], window: int = 100) -> float | None:
    """How much the learning curve wobbles: the standard deviation of the episode-to-episode
    change of the ``window``-episode moving average (full windows only), times ``window``.

    Times ``window`` puts it back in return units: one episode swapping a return of ``a`` for
    ``b`` in the window moves the average by ``(b - a) / window``. None with fewer than
    ``window + 2`` episodes.

    >>> wobble([100.0] * 150) == 0.0
    True
    """
    x = np.asarray(returns, dtype=np.float64)
    if len(x) < window + 2:
        return None
    avg = moving_average(x, window)[window - 1:]
    return float(np.diff(avg).std() * window)


def run_stats(returns, env_steps=None, wall_seconds=None) -> dict:
    """Learning-speed figures of one run's returns (None where not reached or not defined)."""
    returns = np.asarray(returns, dtype=np.float64)
    e195 = episodes_to_threshold(returns, CARTPOLE_V0_SOLVED)
    e475 = episodes_to_threshold(returns, CARTPOLE_V1_SOLVED)

    def at(arr, ep):
        return None if ep is None or arr is None else float(np.asarray(arr)[ep - 1])

    return {"episodes": int(len(returns)),
            "episodes_to_195": e195, "episodes_to_475": e475,
            "steps_to_195": at(env_steps, e195), "steps_to_475": at(env_steps, e475),
            "seconds_to_195": at(wall_seconds, e195), "seconds_to_475": at(wall_seconds, e475),
            "final_avg100": final_average(returns),
            "wobble": wobble(returns)}


class _Store:
    """Per-job columns and states; every method takes the lock."""

    def __init__(self, jobs: list[Job]):
        self.jobs = jobs
        self.lock = threading.Lock()
        self.states = ["queued"] * len(jobs)
        self.messages = [""] * len(jobs)
        self.cols: list[dict[str, list]] = [{c: [] for c in NUMERIC} for _ in jobs]
        self.frames: list[tuple | None] = [None] * len(jobs)
        self.version = 0

    def handle(self, msg: tuple) -> None:
        kind, i = msg[0], msg[1]
        with self.lock:
            if kind == "submitted":
                if self.states[i] == "queued":
                    self.states[i] = "starting"
            elif kind == "start":
                if self.states[i] in ("queued", "starting"):
                    self.states[i] = "running"
            elif kind == "rows":
                cols = self.cols[i]
                for row in msg[2]:
                    for c, v in zip(NUMERIC, row, strict=True):
                        cols[c].append(v)
            elif kind == "frame":
                rgb = np.asarray(msg[2], dtype=np.uint8)
                rgb.setflags(write=False)
                self.frames[i] = (rgb, int(msg[3]), int(msg[4]))
            elif kind == "end":
                if self.states[i] not in END_STATES:
                    self.states[i] = msg[2]
                    self.messages[i] = msg[3]
            self.version += 1

    def end_unfinished(self, state: str, message: str) -> None:
        with self.lock:
            for i, s in enumerate(self.states):
                if s not in END_STATES:
                    self.states[i] = state
                    self.messages[i] = message
            self.version += 1

    def all_ended(self) -> bool:
        with self.lock:
            return all(s in END_STATES for s in self.states)

    def ended(self, indices: Sequence[int]) -> bool:
        with self.lock:
            return all(self.states[i] in END_STATES for i in indices)


# ----- the experiment --------------------------------------------------------------------------


class Experiment:
    """A grid of jobs trained in the background; see the module docstring.

    ``workers``: jobs of this experiment running at once, at most (default and maximum
    ``os.cpu_count()``, the size of the shared pool).
    ``pool``: an optional :class:`~pgcore.runner.SlotPool` each job takes a slot from.
    ``flush_every``: seconds between batches of rows sent back by a running job.
    ``frame_every``: seconds between thumbnails of each running job's first environment
    (``RunView.frame``); None (the default) draws none.
    """

    def __init__(self, jobs: Sequence[Job], *, mode: str = "process", workers: int | None = None,
                 pool: SlotPool | None = None, flush_every: float = 0.2,
                 frame_every: float | None = None):
        if mode not in ("process", "inline"):
            raise ValueError(f"mode must be 'process' or 'inline', got {mode!r}")
        self.jobs = check_jobs(jobs)
        cpus = os.cpu_count() or 1
        if workers is not None and (not isinstance(workers, int) or workers < 1):
            raise ValueError(f"workers must be a whole number >= 1, got {workers!r}")
        self.workers = max(1, min(len(self.jobs), workers or cpus, cpus))
        self.mode = mode
        self.pool = pool
        self.flush_every = flush_every
        self.frame_every = frame_every
        self._store = _Store(self.jobs)
        self._stop = threading.Event()
        self._pool_ref: tuple[WorkerPool, int] | None = None
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self._t0: float | None = None
        self._t1: float | None = None
        self._snap: ExperimentSnapshot | None = None
        self._snap_lock = threading.Lock()

    # ----- control ------------------------------------------------------------------------------
    def start(self) -> Experiment:
        """Start in the background (once); returns at once."""
        if self._thread is not None:
            raise RuntimeError("this experiment was already started")
        self._t0 = time.monotonic()
        target = self._main_process if self.mode == "process" else self._main_inline
        self._thread = threading.Thread(target=self._guarded, args=(target,), daemon=True,
                                        name="pgcore-experiment")
        self._thread.start()
        return self

    def run(self, timeout: float | None = None) -> ExperimentSnapshot:
        """Start, wait for the end, and return the final snapshot."""
        self.start()
        self.join(timeout)
        return self.snapshot()

    def stop(self) -> None:
        """Stop running jobs as soon as they notice (~0.05 s) and drop the queued ones."""
        self._stop.set()
        ref = self._pool_ref
        if ref is not None:
            ref[0].stop(ref[1])
        if self.pool is not None:
            self.pool.wake()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the end; True if everything has ended."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def state(self) -> str:
        if self._thread is None:
            return "idle"
        if not self._done.is_set():
            return "running"
        return "stopped" if self._stop.is_set() else "finished"

    def snapshot(self) -> ExperimentSnapshot:
        """An immutable copy of every job's state and episodes (cached until something moves)."""
        state = self.state
        end = self._t1 if self._t1 is not None else time.monotonic()
        elapsed = 0.0 if self._t0 is None else end - self._t0
        store = self._store
        with self._snap_lock:
            with store.lock:
                snap = self._snap
                if snap is not None and snap.version == store.version and snap.state == state:
                    return ExperimentSnapshot(state, snap.runs, snap.version, elapsed)
                runs = []
                for job, st, msg, cols, frame in zip(self.jobs, store.states, store.messages,
                                                     store.cols, store.frames, strict=True):
                    arrays = {c: np.asarray(cols[c], dtype=np.float64) for c in NUMERIC}
                    for a in arrays.values():
                        a.setflags(write=False)
                    runs.append(RunView(job.label, job.seed, job.config, st, msg, arrays,
                                        frame))
                version = store.version
            snap = ExperimentSnapshot(state, tuple(runs), version, elapsed)
            self._snap = snap
            return snap

    # ----- the background thread ------------------------------------------------------------------
    def _guarded(self, target) -> None:
        try:
            target()
        except BaseException as exc:  # noqa: BLE001 - never leave jobs hanging in "running"
            self._store.end_unfinished("error", f"The experiment failed: {_one_line(exc)}")
        finally:
            if self._stop.is_set():
                self._store.end_unfinished("stopped", "Stopped before it started.")
            self._t1 = time.monotonic()
            self._done.set()

    def _acquire(self) -> bool:
        if self.pool is None:
            return not self._stop.is_set()
        return self.pool.acquire(cancel=self._stop)

    def _release(self) -> None:
        if self.pool is not None:
            self.pool.release()

    def _main_inline(self) -> None:
        import torch

        torch.set_num_threads(1)
        for i, job in enumerate(self.jobs):
            if not self._acquire():
                break
            try:
                run_job(i, job.config, self._store.handle, self._stop.is_set, self.flush_every,
                        frame_every=self.frame_every)
            finally:
                self._release()

    def _main_process(self) -> None:
        pool = worker_pool()
        exp_id = next(_EXP_IDS)
        pool.register(exp_id, self._store.handle)
        self._pool_ref = (pool, exp_id)
        if self._stop.is_set():  # stop() came before the pool was known
            pool.stop(exp_id)
        in_flight = threading.Semaphore(self.workers)  # this experiment's share of the pool
        futures = []
        try:
            for i, job in enumerate(self.jobs):
                while not in_flight.acquire(timeout=0.05):
                    if self._stop.is_set():
                        break
                if self._stop.is_set():
                    break
                if not self._acquire():  # a slot of the app's pool, if there is one
                    in_flight.release()
                    break
                try:
                    fut = pool.submit(exp_id, i, job.config, self.flush_every, self.frame_every)
                except BaseException:
                    pool.broken = True  # e.g. BrokenProcessPool: the next experiment gets a new one
                    in_flight.release()
                    self._release()
                    raise

                def done(f, i=i) -> None:
                    in_flight.release()
                    self._job_done(f, i)

                self._store.handle(("submitted", i))
                fut.add_done_callback(done)
                futures.append(fut)
            for fut in futures:
                while not fut.done():
                    if self._stop.is_set():
                        for f in futures:
                            f.cancel()  # queued jobs never start; running ones see the flag
                    time.sleep(0.05)
        finally:
            # "end" is each job's last message; wait for those still in the pipe
            submitted = list(range(len(futures)))  # jobs are submitted in order
            deadline = time.monotonic() + 10.0
            while not self._store.ended(submitted) and time.monotonic() < deadline:
                time.sleep(0.02)
            pool.unregister(exp_id)
            if not self._stop.is_set():
                self._store.end_unfinished("error", "The worker process ended without a report.")

    def _job_done(self, fut, i: int) -> None:
        if fut.cancelled():
            self._store.handle(("end", i, "stopped", "Stopped before it started."))
            self._release()
            return
        self._release()
        exc = fut.exception()
        if exc is not None:  # the worker crashed or the job could not be sent
            from concurrent.futures.process import BrokenProcessPool

            if isinstance(exc, BrokenProcessPool) and self._pool_ref is not None:
                self._pool_ref[0].broken = True
            self._store.handle(("end", i, "error", f"The run failed: {_one_line(exc)}"))

    def __repr__(self) -> str:
        return f"Experiment({len(self.jobs)} jobs, mode={self.mode}, state={self.state})"


def run_grid(configs, seeds, *, mode: str = "process", workers: int | None = None,
             timeout: float | None = None) -> ExperimentSnapshot:
    """Convenience: build the grid, run it to the end, return the final snapshot."""
    return Experiment(grid(configs, seeds), mode=mode, workers=workers).run(timeout)
