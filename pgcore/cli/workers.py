"""Training the seeds of ``train``: one after another in this process (a progress bar per
seed) or in the process's one worker pool (:func:`pgcore.execution.worker_pool`, shared with
experiments; or, with ``--executor ray``, its Ray pool), with one overall bar fed by progress
messages over the pool's queue."""

from __future__ import annotations

import math
import queue as queue_mod
import sys
import time
from collections import deque

from ..training.checkpoint import checkpoint_bytes
from ..training.config import TrainConfig
from ..training.events import EpisodeEnd
from ..training.metrics import final_average
from ..training.trainer import RunResult

PROGRESS_EVERY = 0.2
"""Seconds between progress messages from a worker."""
CHECK_EVERY = 0.05
"""Seconds between looks at a worker's stop flag."""


def _checkpoint_extra(result: RunResult) -> dict:
    return {"seed": result.config.seed, "episodes": len(result.episode_returns),
            "env_steps": int(result.env_steps), "reason": result.reason,
            "final_avg100": final_average(result.episode_returns)}


def train_seed(config: TrainConfig, on_progress=None, want_checkpoint: bool = False,
               progress_every: float = 0.0, should_stop=None) -> tuple[RunResult, bytes | None]:
    """Train one config; ``on_progress(seed, episodes, env_steps, avg100)`` after episodes.

    Returns the result (without its agent, so it can cross a process boundary) and, if
    asked, the trained agent as checkpoint bytes. ``should_stop()`` (in a worker: its stop
    flag) is looked at every :data:`CHECK_EVERY` seconds; True stops the training.
    """
    from .. import (
        cli,  # `cli.train` is pgcore.training.trainer.train, looked up here: tests replace it
    )

    window: deque[float] = deque(maxlen=100)
    last = [0.0]
    control, checked = None, [0.0]
    if should_stop is not None:
        from ..training.trainer import RunControl

        control = RunControl()

    def on_event(event) -> None:
        if control is not None:
            now = time.perf_counter()
            if now - checked[0] >= CHECK_EVERY:
                checked[0] = now
                if should_stop():
                    control.stop()
        if type(event) is not EpisodeEnd:
            return
        window.append(event.episode_return)
        if on_progress is None:
            return
        now = time.perf_counter()
        if now - last[0] >= progress_every:
            last[0] = now
            on_progress(config.seed, event.episode, event.env_steps,
                        sum(window) / len(window))

    extra = {} if control is None else {"control": control}
    result = cli.train(config, on_event=on_event, **extra)
    if on_progress is not None:
        avg = sum(window) / len(window) if window else math.nan
        on_progress(config.seed, len(result.episode_returns), result.env_steps, avg)
    data = None
    if want_checkpoint and result.agent is not None:
        data = checkpoint_bytes(result.agent, extra=_checkpoint_extra(result))
    result.agent = None
    return result, data


def _worker_train(emit, should_stop, index: int, config: TrainConfig, want_checkpoint: bool):
    """One seed in a worker of the shared pool: progress messages, then ``("done", index)``."""
    def report(seed, episodes, steps, avg):
        emit(("progress", seed, episodes, steps, avg))

    out = train_seed(config, report, want_checkpoint, PROGRESS_EVERY, should_stop)
    emit(("done", index))
    return out


class _Progress:
    """The tqdm bar(s): one per seed when sequential, one overall bar when parallel."""

    def __init__(self, config: TrainConfig, quiet: bool):
        self.by_episodes = config.max_episodes is not None
        self.per_run = config.max_episodes if self.by_episodes else config.max_steps
        self.unit = "ep" if self.by_episodes else "step"
        self.quiet = quiet
        self.bar = None
        self.counts: dict[int, int] = {}
        self.avgs: dict[int, float] = {}

    def open(self, desc: str, total: int | None) -> None:
        if self.quiet:
            return
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc=desc, unit=self.unit, file=sys.stderr,
                        dynamic_ncols=True, leave=True, mininterval=0.2)

    def update(self, seed: int, episodes: int, steps: int, avg: float) -> None:
        if self.bar is None:
            return
        self.counts[seed] = episodes if self.by_episodes else steps
        self.avgs[seed] = avg
        self.bar.n = sum(self.counts.values())
        finite = [a for a in self.avgs.values() if math.isfinite(a)]
        if finite:
            label = "avg100" if len(self.avgs) == 1 else "mean avg100"
            self.bar.set_postfix_str(f"{label} {sum(finite) / len(finite):.1f}", refresh=False)
        self.bar.update(0)  # redraws at most every mininterval

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        self.counts.clear()
        self.avgs.clear()


def run_sequential(configs, want_checkpoint, quiet):
    """``[train_seed(cfg) for cfg in configs]`` in this process, a progress bar per seed."""
    progress = _Progress(configs[0], quiet)
    out = []
    try:
        for cfg in configs:
            progress.open(f"seed {cfg.seed}", progress.per_run)
            out.append(train_seed(cfg, progress.update, want_checkpoint))
            progress.close()
    finally:
        progress.close()
    return out


def run_parallel(configs, jobs, want_checkpoint, quiet, executor=None):
    """The same as :func:`run_sequential`, at most ``jobs`` seeds at once in the shared
    worker pool (or the pool of ``executor``, a :class:`~pgcore.execution.Executor`), with
    one bar. On any exception (Ctrl-C, SIGTERM) the seeds still training are stopped before
    it propagates; the caller ends the pool."""
    from concurrent.futures.process import BrokenProcessPool

    from ..execution import Executor

    executor = executor or Executor()
    progress = _Progress(configs[0], quiet)
    total = progress.per_run * len(configs) if progress.per_run else None
    where = "processes" if executor.kind == "local" else f"at once on {executor.describe()}"
    progress.open(f"{len(configs)} seeds, {jobs} {where}", total)
    inbox: queue_mod.SimpleQueue = queue_mod.SimpleQueue()
    pool = executor.pool(min_workers=jobs)
    task = pool.open(inbox.put)
    todo = deque(enumerate(configs))
    futures: dict = {}
    done: set[int] = set()
    try:
        while True:
            while todo and sum(not f.done() for f in futures.values()) < jobs:
                i, cfg = todo.popleft()
                futures[i] = pool.submit(task, _worker_train, i, cfg, want_checkpoint)
            _drain(inbox, progress, done, timeout=0.1)
            if not todo and all(f.done() for f in futures.values()):
                break
        results = [futures[i].result() for i in range(len(configs))]  # a worker's error too
        deadline = time.monotonic() + 5.0  # the last progress messages may still be in the pipe
        while len(done) < len(configs) and time.monotonic() < deadline:
            _drain(inbox, progress, done, timeout=0.05)
        return results
    except BaseException as exc:
        pool.stop(task)
        for f in futures.values():
            f.cancel()
        if isinstance(exc, BrokenProcessPool):
            pool.broken = True
        raise
    finally:
        pool.close(task)
        progress.close()


def _drain(inbox, progress: _Progress, done: set[int], timeout: float) -> None:
    """Hand the workers' progress messages to the bar; note the seeds that are done."""
    try:
        msg = inbox.get(timeout=timeout) if timeout > 0 else inbox.get_nowait()
        while True:
            if msg[0] == "progress":
                progress.update(*msg[1:])
            elif msg[0] == "done":
                done.add(msg[1])
            msg = inbox.get_nowait()
    except queue_mod.Empty:
        pass
