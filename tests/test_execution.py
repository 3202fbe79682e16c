"""The execution layer: one task lifecycle and state vocabulary for runs, experiments and labs,
one stop_all, and one spawn worker pool shared by experiments and ``train --seeds``."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from pgcore import default_config, preset
from pgcore.cli import workers as cli_workers
from pgcore.cli.workers import run_parallel, run_sequential
from pgcore.execution import (
    ACTIVE_STATES,
    END_STATES,
    NOT_STARTED,
    STATES,
    SlotPool,
    TaskThread,
    end_state,
    experiments,
    live_tasks,
    one_line,
    runner,
    shutdown_worker_pool,
    stop_all,
    worker_pool,
)
from pgcore.execution import pool as worker_pools
from pgcore.execution.experiments import Experiment, Job, grid
from pgcore.execution.runner import BackgroundRun
from pgcore.labs.gradvar import GradVarLab
from tests.helpers import wait_for as _wait_for

WAIT = 120.0  # generous: the machine is shared and spawning workers imports torch


def wait_for(predicate, timeout: float = WAIT, every: float = 0.02) -> bool:
    return _wait_for(predicate, timeout, every)


@pytest.fixture(autouse=True)
def _stop_everything():
    yield
    stop_all()


class Watcher:
    """Records every state an object reports, from a thread polling it."""

    def __init__(self, obj):
        self.obj, self.seen, self._stop = obj, [], threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            s = self.obj.state
            if not self.seen or self.seen[-1] != s:
                self.seen.append(s)
            time.sleep(0.002)

    def done(self) -> list[str]:
        self._stop.set()
        self._thread.join()
        s = self.obj.state
        if self.seen[-1] != s:
            self.seen.append(s)
        return self.seen


# ----- one vocabulary ---------------------------------------------------------------------------


def test_every_module_shares_one_vocabulary():
    assert set(ACTIVE_STATES) | set(END_STATES) | {"idle"} == set(STATES)
    assert not set(ACTIVE_STATES) & set(END_STATES)
    # the task kinds' modules use the very same objects, not copies
    assert runner.ACTIVE_STATES is ACTIVE_STATES
    assert runner.END_STATES is END_STATES and experiments.END_STATES is END_STATES
    assert runner.SlotPool is SlotPool
    assert [end_state(r) for r in ("max_episodes", "max_steps", "max_seconds", "stopped",
                                   "diverged", "error", "?")] == \
        ["finished"] * 3 + ["stopped", "diverged", "error", "finished"]


def test_a_run_an_experiment_and_a_lab_report_states_from_the_same_set():
    pool = SlotPool(1)
    assert pool.acquire()  # everybody waits first
    run = BackgroundRun(preset("reinforce", max_episodes=3), pool, frame_every=None)
    exp = Experiment(grid({"x": default_config("reinforce", "none", hidden=16,
                                               max_episodes=3)}, [0, 1]),
                     mode="inline", pool=pool)
    lab = GradVarLab(default_config("reinforce", "value", hidden=16), train_episodes=2,
                     pool=pool, n_batches=3, batch_size=2, critic_episodes=4,
                     reference_batches=3)
    tasks = [run, exp, lab]
    assert [t.state for t in tasks] == ["idle"] * 3
    watchers = [Watcher(t) for t in tasks]

    class SecondJob:
        @property
        def state(self):
            return exp.snapshot().runs[1].state

    job_states = Watcher(SecondJob())
    for t in tasks:
        t.start()
    assert wait_for(lambda: run.state == "waiting" and lab.state == "waiting")
    assert exp.state == "running" and exp.snapshot().runs[0].state == "waiting"
    assert wait_for(lambda: all(len(w.seen) >= 2 for w in watchers))  # the pollers saw it too
    pool.release()
    for t in tasks:
        assert t.join(WAIT)
    seen = [w.done() for w in watchers] + [job_states.done()]
    for states in seen:
        assert set(states) <= set(STATES), states
        assert states[-1] == "finished", states
    assert seen[0][:2] == ["idle", "waiting"] and seen[2][:2] == ["idle", "waiting"]
    assert seen[1][:2] == ["idle", "running"]
    assert seen[3][0] == "waiting"  # a job still in the experiment's queue
    assert lab.snapshot()["state"] == "finished" and exp.snapshot().state == "finished"
    assert pool.active == 0


def test_stop_all_stops_a_run_an_experiment_and_a_lab():
    long = default_config("reinforce", "none", hidden=16, max_episodes=10**6)
    run = BackgroundRun(preset("a2c", max_episodes=10**6), SlotPool(1), frame_every=None).start()
    exp = Experiment(grid({"x": long}, [0, 1]), mode="inline", flush_every=0.02).start()
    lab = GradVarLab(default_config("reinforce", "value", hidden=16),
                     train_episodes=100_000).start()
    assert wait_for(lambda: run.snapshot().episode_count > 0
                    and exp.snapshot().runs[0].episodes > 0
                    and len(lab.snapshot()["train_returns"]) > 0)
    assert set(live_tasks()) >= {run, exp, lab}
    stop_all(timeout=WAIT)
    assert [t.state for t in (run, exp, lab)] == ["stopped"] * 3
    assert not any(t in live_tasks() for t in (run, exp, lab))
    assert [r.state for r in exp.snapshot().runs] == ["stopped", "stopped"]
    assert exp.snapshot().runs[1].message == NOT_STARTED


# ----- the lifecycle ----------------------------------------------------------------------------


class Thing:
    """The smallest task: the lifecycle and a work function."""

    def __init__(self, work, slots=None):
        self.work_fn = work
        self._task = TaskThread(self, lambda: self.work_fn(self._task), kind="thing",
                                slots=slots)

    def start(self):
        self._task.start()
        return self

    def stop(self, note: str = ""):
        self._task.stop(note)

    def join(self, timeout=None):
        return self._task.join(timeout)

    @property
    def state(self):
        return self._task.state


def test_a_task_that_fails_ends_in_error_with_one_line_and_frees_its_slot():
    def fail(task):
        raise RuntimeError("boom\nsecond line\nthird")

    slots = SlotPool(1)
    thing = Thing(fail, slots).start()
    assert thing.join(WAIT)
    assert thing.state == "error"
    assert thing._task.message == "The thing failed: RuntimeError: boom"
    assert slots.active == 0 and thing not in live_tasks()
    # pgcore's own errors are written for people: no type name in front
    from pgcore.rl.envs import EnvError

    assert one_line(EnvError("no such environment\nmore")) == "no such environment"
    assert one_line(KeyError()) == "KeyError"


def test_an_experiment_and_a_lab_that_fail_end_in_error_with_one_line(monkeypatch):
    def broken(self):
        raise OSError("the disk is on fire\nreally")

    monkeypatch.setattr(Experiment, "_main_inline", broken)
    exp = Experiment([Job("x", default_config("reinforce", max_episodes=3))], mode="inline")
    exp.start()
    assert exp.join(WAIT)
    snap = exp.snapshot()
    assert snap.state == exp.state == "error" and not snap.active
    assert exp.message == "The experiment failed: OSError: the disk is on fire"
    assert [(r.state, r.message) for r in snap.runs] == [("error", exp.message)]

    lab = GradVarLab(default_config("reinforce", "value", env_id="NoSuchEnv-v0"),
                     train_episodes=0).start()
    assert lab.join(WAIT)
    snap = lab.snapshot()
    assert snap["state"] == "error" and snap["message"].startswith("The measurement failed: ")
    assert "NoSuchEnv-v0" in snap["message"] and "\n" not in snap["message"]


def test_the_lifecycle_waits_stops_and_ends_once():
    slots = SlotPool(1)
    assert slots.acquire()
    release = threading.Event()

    def work(task):
        release.wait(WAIT)
        assert task.finish("finished", "first")
        assert not task.finish("error", "second")  # the first end wins
        return "stopped", "ignored"

    waiting = Thing(work, slots).start()
    assert wait_for(lambda: waiting.state == "waiting")
    waiting.stop("Stopped while it waited.")
    assert waiting.join(WAIT)
    assert waiting.state == "stopped" and waiting._task.message == "Stopped while it waited."
    never = Thing(work, slots).start()
    assert wait_for(lambda: never.state == "waiting")
    never.stop()
    assert never.join(WAIT) and never._task.message == NOT_STARTED
    slots.release()

    thing = Thing(work, slots).start()
    assert wait_for(lambda: thing.state == "running") and thing in live_tasks()
    with pytest.raises(RuntimeError, match="already started"):
        thing.start()
    release.set()
    assert thing.join(WAIT)
    assert thing.state == "finished" and thing._task.message == "first"
    assert slots.active == 0
    with pytest.raises(ValueError):
        thing._task.finish("running", "not an end")


# ----- one worker pool --------------------------------------------------------------------------


def _same_results(a, b) -> bool:
    return all(ra.config.seed == rb.config.seed
               and np.array_equal(ra.episode_returns, rb.episode_returns)
               and np.array_equal(ra.episode_lengths, rb.episode_lengths)
               and np.array_equal(ra.episode_env_steps, rb.episode_env_steps)
               for (ra, _), (rb, _) in zip(a, b, strict=True))


def test_one_pool_serves_an_experiment_and_train_seeds(monkeypatch, capsys):
    shutdown_worker_pool()
    pool = worker_pool()
    used = []
    submit = pool.submit

    def spy(task_id, fn, *args):
        used.append(fn.__name__)
        return submit(task_id, fn, *args)

    monkeypatch.setattr(pool, "submit", spy)
    try:
        jobs = grid({"x": default_config("reinforce", "none", hidden=16, max_episodes=8)}, [0, 1])
        exp = Experiment(jobs, mode="process", workers=1).start()
        configs = [default_config("a2c", hidden=16, max_episodes=6, seed=s) for s in (0, 1)]
        parallel = run_parallel(configs, 2, want_checkpoint=True, quiet=False)
        assert exp.join(WAIT)
        assert worker_pools._POOL.current is pool  # nobody started a second pool
        assert used.count("_process_job") == 2 and used.count("_worker_train") == 2
        assert pool.tasks == 0  # both closed their share
    finally:
        shutdown_worker_pool()
    err = capsys.readouterr().err
    assert "2 seeds, 2 processes" in err and "12/12" in err  # progress came over the queue
    assert [r.state for r in exp.snapshot().runs] == ["finished", "finished"]
    inline = Experiment(jobs, mode="inline").run(timeout=WAIT)
    for a, b in zip(exp.snapshot().runs, inline.runs, strict=True):
        assert np.array_equal(a.returns, b.returns)
    sequential = run_sequential(configs, want_checkpoint=True, quiet=True)
    assert _same_results(parallel, sequential)  # the pool gives exactly --jobs 1's results
    assert all(data is not None for _, data in parallel)  # --save's checkpoints came back


def test_a_stopped_train_seeds_run_stops_its_workers(monkeypatch):
    # what Ctrl-C does: the exception propagates, the seeds still training are stopped
    shutdown_worker_pool()
    configs = [default_config("reinforce", "none", hidden=16, max_episodes=10**6, seed=s)
               for s in (0, 1)]
    calls = [0]
    real_drain = cli_workers._drain

    def drain(inbox, progress, done, timeout):
        real_drain(inbox, progress, done, timeout)
        calls[0] += 1
        if calls[0] == 30:  # ~3 s in: the workers are training
            raise KeyboardInterrupt

    monkeypatch.setattr(cli_workers, "_drain", drain)
    pool = worker_pool()
    try:
        with pytest.raises(KeyboardInterrupt):
            run_parallel(configs, 2, want_checkpoint=False, quiet=True)
        assert pool.tasks == 0
        t0 = time.monotonic()
    finally:
        shutdown_worker_pool()  # waits for the workers: quick, because they were stopped
    assert time.monotonic() - t0 < 30


def test_a_slot_pools_wait_estimate_comes_from_recent_holds():
    pool = SlotPool(2)
    now = [100.0]
    pool._clock = lambda: now[0]
    assert pool.wait_estimate(0) is None  # no run has given a slot back yet
    for hold in (30.0, 50.0, 40.0):  # three runs held a slot for 30, 50 and 40 s
        assert pool.acquire()
        now[0] += hold
        pool.release()
    assert pool.acquire() and pool.acquire()  # both slots busy now, for 0 s so far
    assert pool.wait_estimate(0) == 40.0  # the median hold
    assert pool.wait_estimate(3) == 40.0 + 40.0  # one more round of 2 slots ahead
    now[0] += 25.0  # the oldest holder has had 25 of its typical 40 s
    assert pool.wait_estimate(0) == 15.0
    now[0] += 100.0  # past a typical hold: any moment now
    assert pool.wait_estimate(1) == 0.0
    pool.release()
    pool.release()
