"""Experiments: a grid of configs x seeds, trained in parallel processes, watched live.

::

    from pgcore import default_config
    from pgcore.execution.experiments import Experiment, grid

    jobs = grid({"no baseline": default_config("reinforce", "none", max_episodes=200),
                 "value baseline": default_config("reinforce", "value", max_episodes=200)},
                seeds=[0, 1, 2])
    exp = Experiment(jobs).start()        # returns at once; training runs in the background
    snap = exp.snapshot()                 # immutable; charts read this while it fills
    exp.stop()                            # stops the running jobs, drops the queued ones
    exp.join(); exp.snapshot().to_csv()   # the tidy table as CSV bytes

Two modes, the same results:

* ``mode="process"`` (default): jobs run in the process's one ``spawn`` worker pool of
  :func:`~pgcore.execution.usable_cores` workers (:func:`pgcore.execution.worker_pool`), each
  on one torch thread, shared by every experiment and ``train --seeds`` run of this process
  and kept warm between them. Workers stream finished episodes back through the pool's
  ``multiprocessing`` queue, which a thread of this process drains into each experiment's
  lock-protected store. With ``executor="ray"`` (or ``PGLAB_EXECUTOR=ray``) the same jobs run
  as Ray tasks on a cluster instead (:mod:`pgcore.execution.ray_executor`: the same function,
  the same arguments, one CPU and one torch thread each), streaming back the same messages.
  With ``hosts=`` (the app's :class:`~pgcore.execution.hosts.RunHosts`) every job starts at
  once in the run hosts and takes turns there, so every condition's curve grows from the
  first seconds instead of waiting for a free worker.
* ``mode="inline"``: the jobs run one after another in a background thread of this process
  (tests, tiny runs, machines where spawning processes is not wanted).

The trainer is deterministic given a config, so a job gives identical episodes in either mode,
on either executor and in the hosts (only ``wall_seconds`` differs). A job that fails (an
unknown environment, an exception in training) ends in state ``error`` with a one-line
message; the other jobs carry on. A diverging job ends in ``diverged`` with the trainer's message.

An optional :class:`pgcore.execution.SlotPool` is shared with the app's single runs: each job
holds a slot while it trains, so experiments and Train-page runs together never use more
processes than the pool allows. An experiment and its jobs report their states in
:data:`pgcore.execution.STATES` (a job still in the queue is ``waiting``; one handed to a
worker that has not reported yet, ``starting``).

This module never imports streamlit (nor pandas, except in :meth:`ExperimentSnapshot.to_frame`).
"""

from __future__ import annotations

import io
import itertools
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

from ..training.config import TrainConfig
from ..training.metrics import EpisodeHistory, summarize, write_csv
from . import (
    ACTIVE_STATES,
    END_STATES,
    NOT_STARTED,
    Executor,
    ExecutorError,
    SlotPool,
    TaskOwner,
    TaskThread,
    end_state,
    one_line,
    resolve_executor,
    usable_cores,
)

EPISODE_STATS = ("entropy", "q_mean", "target_distance")
"""Update statistics kept per episode: the mean over the update(s) that learned from it (for the
episode loop, the update on the episode itself; otherwise the updates made while it was being
played, or the previous value when none was). NaN where the algorithm reports no such statistic:
``entropy`` (mean policy entropy, nats) for the policy-gradient algorithms, ``q_mean`` (mean
predicted Q of the batch) and ``target_distance`` (||theta_target - theta||) for DQN."""

COLUMNS = ("label", "seed", "episode", "return", "length", "env_steps", "wall_seconds",
           *EPISODE_STATS)
"""Columns of the tidy table, one row per finished episode (see :data:`EPISODE_STATS`)."""

NUMERIC = COLUMNS[2:]
"""The per-episode columns (a job's :class:`~pgcore.training.metrics.EpisodeHistory` columns
shown)."""

EVAL_COLUMNS = ("env_steps", "episodes", "eval_return", "eval_return_std", "start_value",
                "discounted_return")
"""One row per greedy evaluation of a job (configs with ``eval_every`` or
``eval_every_episodes``): its env steps and training episodes at that point, the mean and
standard deviation of the greedy episodes' returns, the mean predicted start value and the mean
discounted return collected from those starts (their difference is the bias)."""

TRACE_COLUMNS = ("env_steps", "episodes", "updates", "q_mean", "target_distance",
                 "flip_per_update", "flip_since_last")
"""With ``Experiment(trace_every=N)``: one row every N env steps of a job, read after an
update: its update count, the latest ``q_mean`` and ``target_distance`` (NaN where the algorithm
has none), and how much the greedy action moves on a fixed set of probe states
(:func:`pgcore.training.evaluation.probe_states`): the mean fraction flipped by one update over the
interval, and the fraction flipped since the previous row."""

RUN_FIGURES = ("episodes", "episodes_to_195", "episodes_to_475", "steps_to_195", "steps_to_475",
               "seconds_to_195", "seconds_to_475", "final_avg100", "wobble")
"""The :func:`~pgcore.training.metrics.summarize` figures of
:meth:`ExperimentSnapshot.summaries`."""
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


def spread_order(jobs: Sequence[Job]) -> list[int]:
    """The order in which to hand ``jobs`` to a pool that starts them all at once (the run
    hosts): each setting's seeds one after another, the settings in the order they first
    appear. Each job goes to the least busy host, so jobs handed on one after another
    alternate between the hosts and each setting's seeds spread over them. In seed-major
    order (what a page wants from a pool of a few workers: every setting's first seed first),
    two settings on two hosts would each get a host of their own: a quick setting's host idle
    once it is done, the other's crowded for the rest of the experiment.

    >>> from types import SimpleNamespace as Run
    >>> spread_order([Run(label="a"), Run(label="b"), Run(label="a"), Run(label="b")])
    [0, 2, 1, 3]
    """
    first: dict[str, int] = {}
    for job in jobs:
        first.setdefault(job.label, len(first))
    return sorted(range(len(jobs)), key=lambda i: first[jobs[i].label])


# ----- one job (in a worker process or an inline thread) ---------------------------------------


class _EpisodeRows:
    """Turns the trainer's events into table rows (without label/seed), each with the
    per-episode means of :data:`EPISODE_STATS`."""

    def __init__(self, per_episode_update: bool):
        self.per_episode_update = per_episode_update  # the episode loop: one update each
        self.rows: list[tuple] = []
        self.pending: list | None = None  # REINFORCE: the row waiting for its update
        k = len(EPISODE_STATS)
        self.sums, self.counts = [0.0] * k, [0] * k
        self.last = [math.nan] * k

    def episode(self, e) -> None:
        row = [e.episode, float(e.episode_return), int(e.length), int(e.env_steps),
               float(e.wall_seconds), *([math.nan] * len(EPISODE_STATS))]
        if self.per_episode_update:
            self._flush_pending()
            self.pending = row
            return
        for j in range(len(EPISODE_STATS)):
            if self.counts[j]:
                self.last[j] = self.sums[j] / self.counts[j]
            row[5 + j] = self.last[j]
            self.sums[j], self.counts[j] = 0.0, 0
        self.rows.append(tuple(row))

    def update(self, u) -> None:
        values = [float(u.stats.get(name, math.nan)) for name in EPISODE_STATS]
        if self.per_episode_update:
            if self.pending is not None:
                self.pending[5:] = values
                self._flush_pending()
            return
        for j, v in enumerate(values):
            if math.isfinite(v):
                self.sums[j] += v
                self.counts[j] += 1

    def _flush_pending(self) -> None:
        if self.pending is not None:
            self.rows.append(tuple(self.pending))
            self.pending = None

    def take(self, final: bool = False) -> list[tuple]:
        if final:
            self._flush_pending()
        rows, self.rows = self.rows, []
        return rows


class _Trace:
    """Every ``every`` env steps (checked after each update) a :data:`TRACE_COLUMNS` row; with
    ``flips``, the greedy action on the probe states is compared after every update (a
    forward pass over 256 states per update: about a seventh of a lesson DQN run's time, so
    a page that does not show flips leaves them out, NaN)."""

    def __init__(self, every: int, agent, env_id: str, flips: bool = True):
        from ..training.evaluation import greedy_actions, probe_states

        self.every, self.agent = int(every), agent
        self.greedy = greedy_actions
        self.states = probe_states(env_id) if flips else None
        self.actions = None if self.states is None else self.greedy(agent, self.states)
        self.at_row = self.actions  # the greedy actions before any update
        self.next = self.every
        self.flips, self.n = 0.0, 0
        self.rows: list[tuple] = []

    def update(self, u) -> None:
        actions = None
        if self.states is not None:
            actions = self.greedy(self.agent, self.states)
            self.flips += float(np.mean(actions != self.actions))
            self.n += 1
            self.actions = actions
        if u.env_steps < self.next:
            return
        self.next = (u.env_steps // self.every + 1) * self.every
        stats = u.stats
        per_update, since_last = math.nan, math.nan
        if actions is not None:
            per_update = self.flips / self.n
            since_last = float(np.mean(actions != self.at_row))
        self.rows.append((int(u.env_steps), int(u.episodes), int(u.update),
                          float(stats.get("q_mean", math.nan)),
                          float(stats.get("target_distance", math.nan)),
                          per_update, since_last))
        self.at_row = actions
        self.flips, self.n = 0.0, 0

    def take(self) -> list[tuple]:
        rows, self.rows = self.rows, []
        return rows


def _eval_row(ev) -> tuple:
    return (int(ev.env_steps), int(ev.episodes), ev.mean_return, float(np.std(ev.returns)),
            float(np.mean(ev.start_values)), float(np.mean(ev.discounted_returns)))


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
            check_every: float = 0.05, frame_every: float | None = None,
            trace_every: int | None = None, trace_flips: bool = True) -> None:
    """Train one job, sending ``("start", i)``, ``("rows", i, rows)`` and ``("end", i, state,
    message)`` to ``emit``; ``("evals", i, rows)`` for its greedy evaluations
    (:data:`EVAL_COLUMNS`); with ``trace_every`` env steps, ``("trace", i, rows)``
    (:data:`TRACE_COLUMNS`); with ``frame_every`` seconds, ``("frame", i, rgb, episode,
    step)`` thumbnails of its first environment. Never raises: a failure becomes an
    ``error`` end message."""
    from ..training.events import EpisodeEnd, Evaluation, Frame, RunEnd, UpdateEnd
    from ..training.trainer import RunControl, Trainer

    if should_stop():
        emit(("end", index, "stopped", NOT_STARTED))
        return
    emit(("start", index))
    rows = _EpisodeRows(config.algorithm.loop == "episode")
    control = RunControl()
    clock = {"flush": time.perf_counter(), "check": 0.0}
    ended: list = []
    evals: list[tuple] = []
    trace: list[_Trace] = []  # made with the trainer (it needs the agent)

    def flush(final: bool = False) -> None:
        batch = rows.take(final=final)
        if batch:
            emit(("rows", index, batch))
        if evals:
            emit(("evals", index, list(evals)))
            evals.clear()
        if trace:
            batch = trace[0].take()
            if batch:
                emit(("trace", index, batch))

    def on_event(event) -> None:
        kind = type(event)
        if kind is EpisodeEnd:
            rows.episode(event)
        elif kind is UpdateEnd:
            rows.update(event)
            if trace:
                trace[0].update(event)
        elif kind is Evaluation:
            evals.append(_eval_row(event))
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
            flush()

    try:
        trainer = Trainer(config, control=control, frame_every=frame_every)
        if trace_every is not None:
            trace.append(_Trace(trace_every, trainer.agent, config.env_id, trace_flips))
        result = trainer.run(on_event)
        state, message = end_state(result.reason), result.message
    except BaseException as exc:  # noqa: BLE001 - one job's failure must not end the others
        state, message = "error", f"The run failed: {one_line(exc)}"
    flush(final=True)
    emit(("end", index, state, message))


def _process_job(emit: Callable[[tuple], None], should_stop: Callable[[], bool], index: int,
                 config: TrainConfig, flush_every: float,
                 frame_every: float | None = None, trace_every: int | None = None,
                 trace_flips: bool = True) -> None:
    """One job in a worker of the shared pool (``emit`` and ``should_stop`` are the pool's)."""
    run_job(index, config, emit, should_stop, flush_every, frame_every=frame_every,
            trace_every=trace_every, trace_flips=trace_flips)


# ----- jobs shared by identical experiments ---------------------------------------------------


def _relabel(msg: tuple, index: int) -> tuple:
    """A job's message (``(kind, index, ...)``) as job ``index`` of another experiment."""
    return (msg[0], index, *msg[2:])


class _SharedJob:
    """One job in the run hosts that identical jobs of several experiments watch
    (``Experiment(share=True)``: same config, seed, trace and frame settings and code
    version, :mod:`pgcore.execution.sharing`). It runs as job 0 of its own task of the hosts'
    job pool; what it sends so far (the latest frame only) is replayed to a subscriber that
    comes later, so it sees the job from its first episode, then every message is passed on as
    it comes, as that subscriber's own job index. It trains while any subscriber watches; the
    last one to leave stops it. A finished one is kept for reuse (the book's rule)."""

    def __init__(self, pool, key, book, args: tuple):
        self.pool, self.key, self.book, self.args = pool, key, book, args
        self.lock = threading.Lock()
        self.messages: list[tuple] = []
        self.frame: tuple | None = None
        self.subs: dict[int, tuple[int, Callable[[tuple], None], Future]] = {}
        self.end: str | None = None
        self._ids = itertools.count()
        self._stopping = False
        self.task_id = pool.open(self._on_message)

    def launch(self) -> None:
        try:
            fut = self.pool.submit(self.task_id, _process_job, 0, *self.args)
        except BaseException as exc:
            self._on_message(("end", 0, "error", f"The run failed: {one_line(exc)}"))
            raise
        fut.add_done_callback(self._host_done)

    def subscribe(self, index: int,
                  deliver: Callable[[tuple], None]) -> tuple[int, Future] | None:
        """``deliver`` gets every message so far, then each new one, as job ``index``; the
        future ends with the job (or when this subscriber leaves). None (nothing delivered)
        if the job is being stopped, its last subscriber gone: a new one needs its own."""
        fut: Future = Future()
        fut.set_running_or_notify_cancel()
        with self.lock:
            if self._stopping and self.end is None:
                return None
            sub = next(self._ids)
            for msg in self.messages:
                deliver(_relabel(msg, index))
            if self.frame is not None:
                deliver(_relabel(self.frame, index))
            if self.end is not None:
                fut.set_result(None)
            else:
                self.subs[sub] = (index, deliver, fut)
        return sub, fut

    def leave(self, sub: int) -> None:
        """The subscriber stops: its job ends ``stopped`` where it is; the last one to leave
        stops the job in the hosts."""
        with self.lock:
            entry = self.subs.pop(sub, None)
            if entry is not None:
                index, deliver, fut = entry
                deliver(("end", index, "stopped", "Stopped."))
                fut.set_result(None)
            last = not self.subs and self.end is None and not self._stopping
            self._stopping = self._stopping or last
        if last:
            self.book.forget(self.key, self)  # no new experiment joins a stopping job
            self.pool.stop(self.task_id)

    def _on_message(self, msg: tuple) -> None:
        """A message of the job (in the hosts' drain thread): kept and passed on."""
        with self.lock:
            if self.end is not None:
                return
            if msg[0] == "frame":
                self.frame = msg
            else:
                self.messages.append(msg)
            for index, deliver, _ in self.subs.values():
                deliver(_relabel(msg, index))
            if msg[0] != "end":
                return
            self.end = msg[2]
            for _, _, fut in self.subs.values():
                fut.set_result(None)
            self.subs.clear()
        self.book.ended(self.key, self, msg[2])
        self.pool.close(self.task_id)

    def _host_done(self, fut: Future) -> None:
        """The host's word on the job: a failure without an end message (its host died)."""
        exc = fut.exception()
        if exc is not None:
            self._on_message(("end", 0, "error", f"The run failed: {one_line(exc)}"))


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
    """:data:`NUMERIC`: ``episode``, ``return``, ``length``, ``env_steps``, ``wall_seconds``
    and the :data:`EPISODE_STATS` (read-only copies of the job's episode history)."""
    frame: tuple | None = field(default=None, repr=False)
    """The latest thumbnail ``(rgb, episode, step)`` when the experiment draws frames."""
    evals: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    """:data:`EVAL_COLUMNS`, one entry per greedy evaluation (empty arrays without any)."""
    trace: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    """:data:`TRACE_COLUMNS`, one entry per trace row (empty arrays without a trace)."""

    @property
    def episodes(self) -> int:
        return len(self.columns["episode"])

    @property
    def returns(self) -> np.ndarray:
        return self.columns["return"]

    @property
    def ended(self) -> bool:
        return self.state in END_STATES

    @property
    def env_steps_seen(self) -> int:
        """The latest env-step count this job has reported (episodes, evaluations, trace)."""
        last = [float(c[-1]) for c in (self.columns["env_steps"], self.evals.get("env_steps"),
                                      self.trace.get("env_steps")) if c is not None and len(c)]
        return int(max(last)) if last else 0

    def summary(self) -> dict:
        """:func:`pgcore.training.metrics.summarize` of this job's episodes so far."""
        c = self.columns
        return summarize(c["return"], c["env_steps"], c["wall_seconds"])


@dataclass(frozen=True)
class ExperimentSnapshot:
    """An immutable view of a whole experiment at one moment."""

    state: str
    """``idle``, ``running``, ``finished`` (every job ended by itself), ``stopped``, ``error``
    (the experiment itself failed; its jobs say why)."""
    runs: tuple[RunView, ...]
    version: int
    elapsed: float
    """Seconds since the start (wall clock, all jobs)."""

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

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
        """Fraction of the budget done over all jobs (ended jobs count as done): of each
        job's episode budget, or of its env-step budget when it has only that (the steps seen
        in its episodes, evaluations and trace)."""
        done = total = 0.0
        for r in self.runs:
            total += 1.0
            if r.ended:
                done += 1.0
            elif r.config.max_episodes:
                done += min(1.0, r.episodes / r.config.max_episodes)
            elif r.config.max_steps:
                done += min(1.0, r.env_steps_seen / r.config.max_steps)
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
        """The tidy table as CSV (UTF-8 bytes, a header row, full float precision):
        :func:`pgcore.training.metrics.write_csv` of every job's episodes, led by its label and
        seed."""
        return self._csv("columns", NUMERIC)

    def evals_csv(self) -> bytes:
        """Every job's greedy evaluations (label, seed, :data:`EVAL_COLUMNS`) as CSV."""
        return self._csv("evals", EVAL_COLUMNS, precise=True)

    def trace_csv(self) -> bytes:
        """Every job's trace (label, seed, :data:`TRACE_COLUMNS`) as CSV."""
        return self._csv("trace", TRACE_COLUMNS, precise=True)

    def _csv(self, table: str, names: Sequence[str], precise: bool = False) -> bytes:
        buf = io.StringIO()
        write_csv(buf, (((r.label, r.seed), getattr(r, table)) for r in self.runs
                        if len(getattr(r, table).get(names[0], ()))), names,
                  lead=COLUMNS[:2], precise=precise)
        return buf.getvalue().encode()

    def summaries(self) -> list[dict]:
        """Per job: label, seed, state, message and its :data:`RUN_FIGURES` (of
        :meth:`RunView.summary`)."""
        out = []
        for r in self.runs:
            s = r.summary()
            figures = {k: s[k] for k in RUN_FIGURES}
            for k in ("steps_to_195", "steps_to_475"):  # floats, as the sweep has always written
                if figures[k] is not None:
                    figures[k] = float(figures[k])
            out.append({"label": r.label, "seed": r.seed, "state": r.state,
                        "message": r.message, **figures})
        return out


def _columns(rows: list[tuple], names: Sequence[str]) -> dict[str, np.ndarray]:
    """Rows of tuples as read-only float64 columns."""
    block = np.asarray(rows, dtype=np.float64).reshape(-1, len(names))
    out = {}
    for j, name in enumerate(names):
        col = block[:, j].copy()
        col.setflags(write=False)
        out[name] = col
    return out


class _Store:
    """Per-job columns and states; every method takes the lock."""

    def __init__(self, jobs: list[Job]):
        self.jobs = jobs
        self.lock = threading.Lock()
        self.states = ["waiting"] * len(jobs)
        self.messages = [""] * len(jobs)
        self.cols = [EpisodeHistory(extra=EPISODE_STATS) for _ in jobs]  # NUMERIC filled
        self.evals: list[list[tuple]] = [[] for _ in jobs]
        self.trace: list[list[tuple]] = [[] for _ in jobs]
        self.frames: list[tuple | None] = [None] * len(jobs)
        self.version = 0

    def handle(self, msg: tuple) -> None:
        kind, i = msg[0], msg[1]
        with self.lock:
            if kind == "submitted":
                if self.states[i] == "waiting":
                    self.states[i] = "starting"
            elif kind == "start":
                if self.states[i] in ("waiting", "starting"):
                    self.states[i] = "running"
            elif kind == "rows":
                self.cols[i].extend(msg[2], NUMERIC)
            elif kind == "evals":
                self.evals[i].extend(msg[2])
            elif kind == "trace":
                self.trace[i].extend(msg[2])
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


class Experiment(TaskOwner):
    """A grid of jobs trained in the background; see the module docstring.

    ``workers``: jobs of this experiment running at once, at most (default and maximum: the
    pool's size, :func:`~pgcore.execution.usable_cores` locally, the cluster's CPUs on Ray).
    ``executor``: where process-mode jobs run: ``"local"`` (this machine's worker pool),
    ``"ray"`` (a Ray cluster at ``address``: None, ``"auto"``, ``HOST:PORT`` or
    ``ray://HOST:PORT``) or an :class:`~pgcore.execution.Executor`; None (the default) reads
    ``PGLAB_EXECUTOR`` and ``PGLAB_RAY_ADDRESS`` (local when unset). A bad value given here is
    an :class:`~pgcore.execution.ExecutorError` at once; a bad environment variable, or a
    cluster that cannot be reached, ends the started experiment in ``error`` with one line.
    ``hosts``: a :class:`~pgcore.execution.hosts.RunHosts` to train in instead (the app's):
    every job starts at once and takes turns with the hosts' other runs and jobs, so all the
    conditions of the grid move together from the start rather than queueing for a worker.
    ``share``: with ``hosts``, a job identical to one that trains or has finished in the
    hosts (same config, seed, trace and frame settings, code version) watches that one
    instead of training again, from its first episode (:class:`_SharedJob`); a stop ends
    this experiment's jobs, and stops a shared job only when no other experiment watches it.
    ``pool``: an optional :class:`~pgcore.execution.SlotPool` each job takes a slot from
    (no sharing then).
    ``flush_every``: seconds between batches of rows sent back by a running job.
    ``frame_every``: seconds between thumbnails of each running job's first environment
    (``RunView.frame``); None (the default) draws none.
    ``trace_every``: env steps between :data:`TRACE_COLUMNS` rows of each job
    (``RunView.trace``); None (the default) keeps no trace. ``trace_flips=False`` leaves the
    greedy flips out of it (NaN), which saves a probe-state forward pass per update.
    """

    def __init__(self, jobs: Sequence[Job], *, mode: str = "process", workers: int | None = None,
                 pool: SlotPool | None = None, flush_every: float = 0.2,
                 frame_every: float | None = None, trace_every: int | None = None,
                 trace_flips: bool = True, executor: str | Executor | None = None,
                 address: str | None = None, hosts=None, share: bool = False):
        if mode not in ("process", "inline"):
            raise ValueError(f"mode must be 'process' or 'inline', got {mode!r}")
        self.jobs = check_jobs(jobs)
        if workers is not None and (not isinstance(workers, int) or workers < 1):
            raise ValueError(f"workers must be a whole number >= 1, got {workers!r}")
        self._executor_error: ExecutorError | None = None
        if hosts is not None and (mode != "process" or executor is not None
                                  or address is not None):
            raise ValueError("hosts= trains in the run hosts: give no executor, address or "
                             "inline mode with it")
        if hosts is not None:  # the run hosts, whatever PGLAB_EXECUTOR says
            self.executor = Executor()
        elif executor is None and address is None:
            try:  # from the environment: a bad value fails the started experiment, in one line
                self.executor = Executor.from_env() if mode == "process" else Executor()
            except ExecutorError as exc:
                self.executor, self._executor_error = Executor(), exc
        else:
            self.executor = resolve_executor(executor, address)
            if mode == "inline" and self.executor.kind != "local":
                raise ExecutorError(f"the {self.executor.kind} executor needs mode='process'")
        self.hosts = hosts
        self.share = bool(share) and hosts is not None and pool is None
        self._subs: list[tuple[_SharedJob, int]] = []  # (shared job, subscription), shared
        # the pool's size caps it too, when it is known (in _main_process for a cluster);
        # the run hosts start every job at once
        local = self.executor.kind == "local" and hosts is None
        cpus = usable_cores() if local else len(self.jobs)
        self.workers = max(1, min(len(self.jobs), workers or cpus, cpus))
        self.mode = mode
        self.pool = pool
        self.flush_every = flush_every
        self.frame_every = frame_every
        if trace_every is not None and (not isinstance(trace_every, int) or trace_every < 1):
            raise ValueError(f"trace_every must be a whole number >= 1, got {trace_every!r}")
        self.trace_every = trace_every
        self.trace_flips = bool(trace_flips)
        self._store = _Store(self.jobs)
        self._task = TaskThread(self, self._work, kind="experiment", on_end=self._ended)
        self._stop = self._task.cancel  # jobs wait for slots and check it
        self._pool_ref = None  # (the worker pool, this experiment's task id) in process mode
        self._t0: float | None = None
        self._t1: float | None = None
        self._snap: ExperimentSnapshot | None = None
        self._snap_lock = threading.Lock()

    # ----- control ------------------------------------------------------------------------------
    def start(self) -> Experiment:
        """Start in the background (once); returns at once."""
        if self._task.started:
            raise RuntimeError("this experiment was already started")
        self._t0 = time.monotonic()
        self._task.start()
        return self

    def run(self, timeout: float | None = None) -> ExperimentSnapshot:
        """Start, wait for the end, and return the final snapshot."""
        self.start()
        self.join(timeout)
        return self.snapshot()

    def stop(self) -> None:
        """Stop running jobs as soon as they notice (~0.05 s) and drop the queued ones."""
        self._task.stop()
        ref = self._pool_ref
        if ref is not None:
            ref[0].stop(ref[1])
        if self.pool is not None:
            self.pool.wake()

    # join, alive, stopping, state (``idle``, ``running``, then ``finished``: every job ended by
    # itself, failed ones included; ``stopped``; or ``error``: the experiment itself failed)
    # and message come from TaskOwner.

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
                for i, job in enumerate(self.jobs):
                    arrays = store.cols[i].arrays(NUMERIC)  # read-only copies
                    runs.append(RunView(job.label, job.seed, job.config, store.states[i],
                                        store.messages[i], arrays, store.frames[i],
                                        _columns(store.evals[i], EVAL_COLUMNS),
                                        _columns(store.trace[i], TRACE_COLUMNS)))
                version = store.version
            snap = ExperimentSnapshot(state, tuple(runs), version, elapsed)
            self._snap = snap
            return snap

    # ----- the background thread ------------------------------------------------------------------
    def _work(self) -> tuple[str, str]:
        if self.mode == "process":
            self._main_process()
        else:
            self._main_inline()
        return ("stopped" if self._stop.is_set() else "finished"), ""

    def _ended(self, state: str, message: str) -> None:
        """The end is being recorded: no job may be left hanging in an active state."""
        if state == "error":
            self._store.end_unfinished("error", message)
        if self._stop.is_set():
            self._store.end_unfinished("stopped", NOT_STARTED)
        self._t1 = time.monotonic()

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
                        frame_every=self.frame_every, trace_every=self.trace_every,
                        trace_flips=self.trace_flips)
            finally:
                self._release()

    def _main_process(self) -> None:
        if self._executor_error is not None:
            raise self._executor_error
        pool = self.executor.pool() if self.hosts is None else self.hosts.job_pool()
        exp_id = pool.open(self._store.handle)
        self._pool_ref = (pool, exp_id)
        if self._stop.is_set():  # stop() came before the pool was known
            pool.stop(exp_id)
        # this experiment's share of the pool
        at_once = max(1, min(self.workers, pool.workers))
        in_flight = threading.Semaphore(at_once)
        order = (spread_order(self.jobs) if at_once >= len(self.jobs)  # all start now: spread
                 else range(len(self.jobs)))  # a queue: the order they should start in
        futures = []
        try:
            for i in order:
                job = self.jobs[i]
                while not in_flight.acquire(timeout=0.05):
                    if self._stop.is_set():
                        break
                if self._stop.is_set():
                    break
                if not self._acquire():  # a slot of the app's pool, if there is one
                    in_flight.release()
                    break
                try:
                    if self.share:
                        fut = self._subscribe(pool, i, job.config)
                    else:
                        fut = pool.submit(exp_id, _process_job, i, job.config,
                                          self.flush_every, self.frame_every,
                                          self.trace_every, self.trace_flips)
                except BaseException:  # the pool is marked broken: the next user gets a new one
                    in_flight.release()
                    self._release()
                    raise

                def done(f, i=i) -> None:
                    in_flight.release()
                    self._job_done(f, i)

                self._store.handle(("submitted", i))
                fut.add_done_callback(done)
                futures.append(fut)
            told = False
            for fut in futures:
                while not fut.done():
                    if self._stop.is_set():
                        for f in futures:
                            f.cancel()  # queued jobs never start; running ones see the flag
                        self._leave_shared()
                        if not told:  # once more, now that every job has been handed over:
                            told = True  # stop() reaches only the jobs the pool knew of
                            pool.stop(exp_id)  # then (one still being placed missed it)
                    time.sleep(0.05)
        finally:
            # "end" is each job's last message; wait for those still in the pipe
            submitted = list(range(len(futures)))  # jobs are submitted in order
            deadline = time.monotonic() + 10.0
            while not self._store.ended(submitted) and time.monotonic() < deadline:
                time.sleep(0.02)
            pool.close(exp_id)
            if not self._stop.is_set():
                self._store.end_unfinished("error", "The worker process ended without a report.")

    def _subscribe(self, pool, i: int, config: TrainConfig) -> Future:
        """Job ``i`` watches the hosts' computation of its identity (started if there is
        none): its messages go to this experiment's store as job ``i``."""
        from .sharing import identity

        args = (config, self.flush_every, self.frame_every, self.trace_every,
                self.trace_flips)
        book = self.hosts.shared_jobs
        key = identity(config, "job", *args[1:])
        launch = False
        with book.lock:
            job = book.running(key)
            joined = None if job is None else job.subscribe(i, self._store.handle)
            if joined is not None:
                book.joined += 1
            else:  # none running, or one being stopped (its book entry not yet forgotten)
                job = book.finished(key)
                if job is not None:
                    book.reused += 1
                else:
                    job = book.add(key, _SharedJob(pool, key, book, args))
                    launch = True
                joined = job.subscribe(i, self._store.handle)
            sub, fut = joined
        if launch:
            job.launch()
        self._subs.append((job, sub))
        if self._stop.is_set():
            self._leave_shared()
        return fut

    def _leave_shared(self) -> None:
        for job, sub in list(self._subs):
            job.leave(sub)

    def _job_done(self, fut, i: int) -> None:
        if fut.cancelled():
            self._store.handle(("end", i, "stopped", NOT_STARTED))
            self._release()
            return
        self._release()
        exc = fut.exception()
        if exc is not None:  # the worker crashed or the job could not be sent
            from concurrent.futures.process import BrokenProcessPool

            if isinstance(exc, BrokenProcessPool) and self._pool_ref is not None:
                self._pool_ref[0].broken = True
            self._store.handle(("end", i, "error", f"The run failed: {one_line(exc)}"))

    def __repr__(self) -> str:
        return (f"Experiment({len(self.jobs)} jobs, mode={self.mode}, "
                f"executor={self.executor.kind}, state={self.state})")
