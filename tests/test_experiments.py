"""The experiment runner: parallel == sequential, stop, failures stay local, the tidy table."""

from __future__ import annotations

import csv
import io
import time

import numpy as np
import pytest

from pgcore import default_config
from pgcore.execution import SlotPool, shutdown_worker_pool
from pgcore.execution import pool as worker_pools
from pgcore.execution.experiments import (
    COLUMNS,
    Experiment,
    ExperimentError,
    Job,
    grid,
)
from pgcore.training.metrics import summarize, wobble

WAIT = 120.0  # generous: the machine is shared and spawning workers imports torch
COMPARED = ("episode", "return", "length", "env_steps", "entropy")


def wait_for(predicate, timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def small_jobs() -> list[Job]:
    return [
        Job("reinforce", default_config("reinforce", "none", hidden=16, max_episodes=12, seed=0)),
        Job("bad env", default_config("reinforce", "none", env_id="Nope-v9", max_episodes=5)),
        Job("a2c", default_config("a2c", hidden=16, max_episodes=12, seed=1)),
    ]


def same_episodes(a, b) -> bool:
    return all(np.array_equal(a.columns[c], b.columns[c], equal_nan=True) for c in COMPARED)


@pytest.fixture(scope="module")
def inline_result():
    return Experiment(small_jobs(), mode="inline").run(timeout=WAIT)


@pytest.fixture(scope="module")
def process_result():
    """One process pool for the module: three short jobs, then a long one that gets stopped."""
    long_job = Job("long", default_config("reinforce", "none", hidden=16, max_episodes=10**6,
                                          seed=3))
    exp = Experiment([*small_jobs(), long_job], mode="process", workers=2,
                     flush_every=0.05).start()
    assert wait_for(lambda: all(r.ended for r in exp.snapshot().runs[:3])
                    and exp.snapshot().runs[3].episodes > 0)
    live = exp.snapshot()
    assert live.state == "running" and live.active
    exp.stop()
    assert exp.join(WAIT), "the experiment did not end after stop()"
    yield live, exp.snapshot()
    shutdown_worker_pool()


def test_inline_runs_every_job_and_reports_the_failure(inline_result):
    snap = inline_result
    assert snap.state == "finished"
    states = {r.label: r.state for r in snap.runs}
    assert states == {"reinforce": "finished", "bad env": "error", "a2c": "finished"}
    bad = snap.by_label("bad env")[0]
    assert "Nope-v9" in bad.message and "\n" not in bad.message and bad.episodes == 0
    assert snap.errors() == [f"bad env, seed 0: {bad.message}"]
    for label in ("reinforce", "a2c"):
        run = snap.by_label(label)[0]
        assert run.episodes == 12
        assert run.columns["episode"].tolist() == list(range(1, 13))
        assert np.all(np.diff(run.columns["env_steps"]) >= 0)  # A2C: envs can end together
        assert np.array_equal(run.columns["return"], run.columns["length"])  # CartPole: +1/step
        ent = run.columns["entropy"]
        assert np.all(np.isfinite(ent)) and np.all((ent > 0) & (ent <= np.log(2) + 1e-6))


def test_parallel_equals_sequential_and_failure_stays_local(inline_result, process_result):
    _, final = process_result
    for seq, par in zip(inline_result.runs, final.runs[:3], strict=True):
        assert (seq.label, seq.seed, seq.state) == (par.label, par.seed, par.state)
        assert same_episodes(seq, par), seq.label
    assert final.runs[1].message == inline_result.runs[1].message


def test_stop_ends_a_running_job(process_result):
    live, final = process_result
    assert final.state == "stopped" and not final.active
    long_run = final.runs[3]
    assert long_run.state == "stopped"
    assert live.runs[3].episodes <= long_run.episodes < 10**6
    # the three short jobs were not disturbed by the stop
    assert [r.state for r in final.runs[:3]] == ["finished", "error", "finished"]


def test_the_worker_pool_is_reused(process_result, inline_result):
    pool = worker_pools._POOL.current
    assert pool is not None and not pool.broken
    # a second experiment starts on the same, already running workers, with the same results
    snap = Experiment(small_jobs()[:1], mode="process").run(timeout=WAIT)
    assert worker_pools._POOL.current is pool
    assert snap.runs[0].state == "finished"
    assert same_episodes(snap.runs[0], inline_result.runs[0])


def test_stop_inline_drops_queued_jobs():
    cfg = default_config("reinforce", "none", hidden=16, max_episodes=10**6)
    exp = Experiment(grid({"x": cfg}, seeds=[0, 1, 2]), mode="inline", flush_every=0.02).start()
    assert wait_for(lambda: exp.snapshot().runs[0].episodes > 0)
    exp.stop()
    assert exp.join(WAIT)
    snap = exp.snapshot()
    assert snap.state == "stopped"
    assert [r.state for r in snap.runs] == ["stopped"] * 3
    assert snap.runs[1].episodes == snap.runs[2].episodes == 0
    assert snap.runs[1].message == "Stopped before it started."


def test_slot_pool_is_shared_and_released():
    pool = SlotPool(max_concurrent=1)
    assert pool.acquire()  # someone else (a Train-page run) holds the only slot
    exp = Experiment(grid({"x": default_config("reinforce", "none", hidden=16, max_episodes=3)},
                          [0]), mode="inline", pool=pool).start()
    time.sleep(0.3)
    assert exp.snapshot().runs[0].state == "waiting"  # waiting for the slot
    pool.release()
    assert exp.join(WAIT)
    assert exp.snapshot().runs[0].state == "finished"
    assert pool.active == 0


def test_tidy_table_and_csv(inline_result):
    snap = inline_result
    df = snap.to_frame()
    assert list(df.columns) == list(COLUMNS)
    assert len(df) == 24 and set(df["label"]) == {"reinforce", "a2c"}
    rows = list(csv.DictReader(io.StringIO(snap.to_csv().decode())))
    assert len(rows) == 24 and list(rows[0]) == list(COLUMNS)
    assert float(rows[0]["return"]) == df["return"].iloc[0]
    # snapshots are read-only copies
    with pytest.raises(ValueError):
        snap.runs[0].columns["return"][0] = 1.0
    assert snap.progress() == 1.0


def test_bad_grids_are_refused():
    cfg = default_config("reinforce", max_episodes=3)
    with pytest.raises(ExperimentError, match="no runs"):
        Experiment([])
    with pytest.raises(ExperimentError, match="more than once"):
        Experiment([Job("a", cfg), Job("a", cfg)])
    with pytest.raises(ValueError, match="mode"):
        Experiment([Job("a", cfg)], mode="threads")


def test_wobble_and_run_stats():
    assert wobble([1.0] * 50) is None
    flat = [200.0] * 300
    assert wobble(flat) == 0.0
    rng = np.random.default_rng(0)
    noisy = list(200 + rng.normal(0, 50, 300))
    assert wobble(noisy) > 10 * wobble(list(200 + rng.normal(0, 1, 300)))
    stats = summarize([10.0] * 100 + [500.0] * 200, env_steps=np.arange(1, 301) * 10)
    assert stats["episodes_to_195"] == 138  # first full window with mean >= 195
    assert stats["episodes_to_475"] == 195
    assert stats["steps_to_195"] == 1380.0
    assert stats["final_avg100"] == 500.0


def test_workers_do_not_rerun_the_main_script(monkeypatch):
    # Under `streamlit run`, __main__ is the app script; a spawned worker would re-run it.
    import multiprocessing.spawn as spawn
    import sys
    import types

    from pgcore.execution.pool import _workers_skip_main

    fake = types.ModuleType("__main__")
    fake.__file__ = "/somewhere/app.py"
    fake.__spec__ = None
    monkeypatch.setitem(sys.modules, "__main__", fake)
    assert spawn.get_preparation_data("x")["init_main_from_path"] == "/somewhere/app.py"
    with _workers_skip_main():
        data = spawn.get_preparation_data("x")
    assert "init_main_from_path" not in data and "init_main_from_name" not in data
    assert "sys_path" in data  # everything else a worker needs is still there
    assert spawn.get_preparation_data("x")["init_main_from_path"] == "/somewhere/app.py"


def test_frames_are_small_and_change_nothing(inline_result):
    job = small_jobs()[0]
    snap = Experiment([job], mode="inline", frame_every=0.0).run(timeout=WAIT)
    run = snap.runs[0]
    assert run.frame is not None
    rgb, episode, step = run.frame
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[1] <= 200
    assert 1 <= episode <= 12 and step >= 0
    assert same_episodes(run, inline_result.runs[0])  # drawing frames uses no randomness
    assert inline_result.runs[0].frame is None  # no frames unless asked


def test_stop_while_jobs_wait_for_a_slot_ends_promptly():
    # A process-mode experiment whose jobs cannot get a slot: stop() ends it, and the jobs
    # that were never sent to a worker are reported as stopped.
    pool = SlotPool(max_concurrent=1)
    assert pool.acquire()
    cfg = default_config("reinforce", "none", hidden=16, max_episodes=5)
    exp = Experiment(grid({"x": cfg}, [0, 1]), mode="process", pool=pool).start()
    time.sleep(0.3)
    exp.stop()
    assert exp.join(WAIT)
    assert [r.state for r in exp.snapshot().runs] == ["stopped", "stopped"]
    pool.release()


# ----- in the run hosts: every condition moves from the start ----------------------------------


@pytest.fixture(scope="module")
def one_host():
    from pgcore.execution.hosts import RunHosts

    h = RunHosts(hosts=1)
    yield h
    h.shutdown()


def test_in_the_hosts_the_same_episodes_and_the_failure_stays_local(one_host, inline_result):
    snap = Experiment(small_jobs(), hosts=one_host, flush_every=0.05).run(timeout=WAIT)
    assert snap.state == "finished"
    for seq, hosted in zip(inline_result.runs, snap.runs, strict=True):
        assert (seq.label, seq.seed, seq.state) == (hosted.label, hosted.seed, hosted.state)
        assert same_episodes(seq, hosted), seq.label
    assert snap.runs[1].message == inline_result.runs[1].message
    assert one_host.runs == 0  # every job ended and was forgotten


def test_in_the_hosts_every_job_trains_before_any_ends(one_host):
    """Six jobs on ONE host core: a worker pool would train them one (or two) at a time, so
    the last would have no episode until the first had ended. In the hosts they take turns:
    every job has episodes while all six are still running."""
    cfg = default_config("reinforce", "none", hidden=16, max_episodes=1000)
    exp = Experiment(grid({"a": cfg, "b": cfg.replace(lr=3e-3)}, seeds=[0, 1, 2]),
                     hosts=one_host, flush_every=0.05).start()
    try:
        seen_all = wait_for(lambda: all(r.episodes > 0 for r in exp.snapshot().runs))
        snap = exp.snapshot()
        assert seen_all, [r.state for r in snap.runs]
        assert exp.workers == 6
        # nobody waited for another to end: none has (each trains 1,000 episodes)
        assert not any(r.ended for r in snap.runs), [r.state for r in snap.runs]
    finally:
        exp.stop()
        assert exp.join(WAIT)


def test_stop_in_the_hosts_stops_every_job(one_host):
    cfg = default_config("reinforce", "none", hidden=16, max_episodes=10**6)
    exp = Experiment(grid({"x": cfg}, seeds=[0, 1, 2]), hosts=one_host,
                     flush_every=0.05).start()
    assert wait_for(lambda: all(r.episodes > 0 for r in exp.snapshot().runs))
    exp.stop()
    assert exp.join(WAIT)
    snap = exp.snapshot()
    assert snap.state == "stopped"
    assert [r.state for r in snap.runs] == ["stopped"] * 3
    assert wait_for(lambda: one_host.runs == 0, timeout=30)


def test_hosts_take_no_executor():
    from pgcore.execution.hosts import RunHosts

    class FakeHosts(RunHosts):  # never started: the argument check comes first
        def __init__(self):
            pass

    with pytest.raises(ValueError, match="hosts="):
        Experiment(small_jobs(), hosts=FakeHosts(), mode="inline")
    with pytest.raises(ValueError, match="hosts="):
        Experiment(small_jobs(), hosts=FakeHosts(), executor="ray")


def test_a_trace_without_flips_is_the_same_run_with_nan_flips():
    cfg = default_config("dqn", hidden=16, max_steps=600, max_episodes=None, learning_starts=50,
                         seed=2)
    with_flips = Experiment([Job("q", cfg)], mode="inline", trace_every=100).run(timeout=WAIT)
    without = Experiment([Job("q", cfg)], mode="inline", trace_every=100,
                         trace_flips=False).run(timeout=WAIT)
    a, b = with_flips.runs[0], without.runs[0]
    assert same_episodes(a, b)
    for col in ("env_steps", "updates", "q_mean", "target_distance"):
        np.testing.assert_array_equal(a.trace[col], b.trace[col])
    assert np.isfinite(a.trace["flip_per_update"]).all()
    assert np.isnan(b.trace["flip_per_update"]).all() and np.isnan(b.trace["flip_since_last"]).all()


def test_in_the_hosts_each_settings_seeds_spread_over_the_hosts(monkeypatch):
    """A page hands its grid seed-major (every setting's first seed first); in the hosts,
    which start every job at once, the jobs go out setting by setting, so each setting's
    seeds land on both hosts. Seed-major, two settings on two hosts each got a host of their
    own (Seeds & variance: REINFORCE's host idle after a minute, DQN's three runs sharing the
    other's core)."""
    from pgcore.execution.hosts import RunHosts
    from pgcore.labs.dqn_exercises import seed_major

    hosts = RunHosts(hosts=2)
    placed = []  # (the job's index, its host)
    submit = hosts.submit_job

    def recording(run_id, fn, args, sink):
        host = submit(run_id, fn, args, sink)
        placed.append((args[0], host))
        return host

    monkeypatch.setattr(hosts, "submit_job", recording)
    jobs = seed_major(grid({"a": default_config("reinforce", "none", hidden=16, max_episodes=3),
                            "b": default_config("a2c", hidden=16, max_episodes=3)},
                           seeds=[0, 1, 2, 3]))
    try:
        snap = Experiment(jobs, hosts=hosts, flush_every=0.05).run(timeout=WAIT)
    finally:
        hosts.shutdown()
    assert snap.state == "finished" and len(placed) == len(jobs)
    for label in ("a", "b"):
        on = [host for i, host in placed if jobs[i].label == label]
        assert set(on) == {0, 1}, (label, placed)  # (2 and 2 unless a host warmed meanwhile)
