"""BackgroundRun and SlotPool: control from another thread, bounded logs, the pool's queue."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pytest

from pgcore import UpdateEnd, preset
from pgcore.execution import SlotPool, stop_all
from pgcore.execution.runner import (
    EPISODE_FIELDS,
    BackgroundRun,
    RunLog,
    RunSnapshot,
)
from tests.helpers import wait_for as _wait_for

WAIT = 60.0  # generous upper bound for a condition on a shared, busy machine


def wait_for(predicate, timeout: float = WAIT, every: float = 0.02) -> bool:
    return _wait_for(predicate, timeout, every)


@pytest.fixture(autouse=True)
def _stop_every_run():
    yield
    stop_all()


def small(name: str = "a2c", **kw):
    kw.setdefault("max_episodes", 10_000)
    return preset(name, **kw)


def test_start_runs_to_its_budget_and_snapshot_is_consistent():
    run = BackgroundRun(preset("a2c", max_episodes=30), SlotPool(1), frame_every=0.05)
    assert run.state == "idle"
    run.start()
    assert run.join(WAIT)
    snap = run.snapshot()
    assert snap.state == "finished"
    assert snap.message == "Reached the episode budget."
    assert snap.episode_count == 30 and snap.n_episodes_logged == 30
    assert list(snap.episodes["episode"]) == list(range(1, 31))
    ep = snap.episodes
    assert np.all(ep["length"] >= 1) and np.all(ep["episode_return"] == ep["length"])  # CartPole
    assert np.all(np.diff(ep["env_steps"]) >= 0)  # A2C: counted per rollout
    assert np.all(np.isfinite(ep["start_value"]))  # A2C has a critic
    assert snap.update_count > 0 and snap.updates["count"].sum() == snap.update_count
    assert snap.progress() == 1.0
    assert snap.weights_update == snap.update_count  # final weights published
    with pytest.raises(RuntimeError):
        run.start()


def test_snapshot_is_immutable_and_reused_while_nothing_changes():
    run = BackgroundRun(preset("reinforce", max_episodes=3), SlotPool(1), frame_every=None)
    run.start()
    assert run.join(WAIT)
    a, b = run.snapshot(), run.snapshot()
    assert a is b and isinstance(a, RunSnapshot)
    with pytest.raises(ValueError):
        a.episodes["episode_return"][0] = 1.0
    with pytest.raises(AttributeError):
        a.state = "running"  # frozen


def test_pause_resume_stop():
    run = BackgroundRun(small("a2c"), SlotPool(1), frame_every=0.05).start()
    assert wait_for(lambda: run.snapshot().episode_count >= 5)
    run.pause()
    assert run.state == "paused"
    time.sleep(0.3)  # the loop reaches its pause point after the current update
    n = run.snapshot().update_count
    time.sleep(0.5)
    assert run.snapshot().update_count == n  # nothing moves while paused
    assert run.snapshot().weights_update is not None
    run.resume()
    assert run.state == "running"
    assert wait_for(lambda: run.snapshot().update_count > n)
    run.stop()
    assert run.join(WAIT)
    snap = run.snapshot()
    assert snap.state == "stopped" and snap.message == "Stopped."
    assert snap.frame is not None and snap.frame.rgb is not None and snap.frame.rgb.ndim == 3
    assert snap.frame.probs.shape == (2,) and abs(snap.frame.probs.sum() - 1) < 1e-6


def test_stop_while_paused_ends_the_run():
    run = BackgroundRun(small("a2c"), SlotPool(1), frame_every=None).start()
    assert wait_for(lambda: run.snapshot().episode_count >= 1)
    run.pause()
    run.stop()
    assert run.join(WAIT)
    assert run.state == "stopped"


def test_pause_is_capped():
    run = BackgroundRun(small("a2c"), SlotPool(1), frame_every=None,
                        max_pause_seconds=0.3).start()
    assert wait_for(lambda: run.snapshot().episode_count >= 1)
    run.pause()
    assert run.join(WAIT)
    assert run.state == "stopped" and "paused" in run.message


def test_idle_timeout_stops_an_unwatched_run():
    run = BackgroundRun(small("a2c"), SlotPool(1), frame_every=None, idle_timeout=0.3).start()
    assert run.join(WAIT)
    assert run.state == "stopped" and "nobody watched" in run.message


def test_update_stats_stay_bounded_for_one_step_actor_critic():
    # One UpdateEnd per env step: thousands of updates, at most max_update_points rows.
    run = BackgroundRun(preset("actor-critic", max_steps=3000, max_episodes=None), SlotPool(1),
                        frame_every=None, max_update_points=64).start()
    assert run.join(WAIT)
    snap = run.snapshot()
    assert snap.state == "finished"
    assert snap.update_count >= 2900
    u = snap.updates
    assert len(u["entropy"]) <= 64 + 1  # closed buckets + the one filling
    assert u["count"].sum() == snap.update_count
    assert np.all(np.diff(u["update"]) > 0) and u["update"][-1] == snap.update_count
    assert np.all((u["entropy"] >= 0) & (u["entropy"] <= np.log(2) + 1e-6))
    assert np.all(u["advantage_rms"] >= np.abs(u["advantage_mean"]) - 1e-9)


def test_run_log_drops_the_oldest_episodes_past_its_cap():
    from pgcore import EpisodeEnd

    log = RunLog(max_episodes=8, max_update_points=4)
    for i in range(1, 21):
        log.add(EpisodeEnd(i, float(i), i, i * 10, float(i), 0.5, 0.1))
    cols = log.episodes.copy()
    assert set(cols) == set(EPISODE_FIELDS)
    assert len(cols["episode"]) <= 8 and cols["episode"][-1] == 20
    assert log.episodes.dropped + len(cols["episode"]) == 20
    assert list(cols["episode"]) == list(range(21 - len(cols["episode"]), 21))
    for i in range(1, 11):  # buckets: merged pairwise when full, means stay exact
        log.add(UpdateEnd(i, i, i, float(i), {"policy_loss": float(i), "value_loss": 0.0,
                                              "entropy": 0.5, "grad_norm": 1.0}))
    u = log.updates.copy()
    assert len(u["policy_loss"]) <= 4 + 1 and u["count"].sum() == 10
    assert np.isclose((u["policy_loss"] * u["count"]).sum(), sum(range(1, 11)))


def test_pool_caps_concurrency_and_a_waiting_run_starts_when_a_slot_frees():
    pool = SlotPool(1)
    first = BackgroundRun(small("a2c"), pool, frame_every=None).start()
    assert wait_for(lambda: first.state == "running")
    second = BackgroundRun(preset("a2c", max_episodes=5), pool, frame_every=None).start()
    assert wait_for(lambda: pool.waiting == 1)
    assert second.state == "waiting" and pool.active == 1
    time.sleep(0.3)
    assert second.snapshot().episode_count == 0  # still waiting, nothing trained
    first.stop()
    assert second.join(WAIT)  # started by itself once the slot came free, then finished
    assert second.state == "finished" and second.snapshot().episode_count == 5
    assert pool.active == 0 and pool.waiting == 0


def test_stop_while_waiting_leaves_the_queue():
    pool = SlotPool(1)
    first = BackgroundRun(small("a2c"), pool, frame_every=None).start()
    assert wait_for(lambda: first.state == "running")
    second = BackgroundRun(small("a2c"), pool, frame_every=None).start()
    assert wait_for(lambda: second.state == "waiting")
    second.stop()
    assert second.join(WAIT)
    assert second.state == "stopped" and pool.waiting == 0 and pool.active == 1
    first.stop()
    assert first.join(WAIT) and pool.active == 0


def test_pool_never_exceeds_its_cap_under_contention():
    pool = SlotPool(2)
    peak, current, lock = [0], [0], threading.Lock()

    def worker():
        assert pool.acquire()
        with lock:
            current[0] += 1
            peak[0] = max(peak[0], current[0])
        time.sleep(0.02)
        with lock:
            current[0] -= 1
        pool.release()

    threads = [threading.Thread(target=worker) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    assert peak[0] == 2 and pool.active == 0 and pool.waiting == 0
    with pytest.raises(RuntimeError):
        pool.release()
    with pytest.raises(ValueError):
        SlotPool(0)


def test_a_failing_run_ends_in_error_with_one_line_and_frees_its_slot():
    pool = SlotPool(1)
    run = BackgroundRun(preset("a2c", env_id="NoSuchEnv-v0"), pool, frame_every=None).start()
    assert run.join(WAIT)
    assert run.state == "error"
    assert "NoSuchEnv-v0" in run.message and "\n" not in run.message
    assert "Traceback" not in run.message
    assert pool.active == 0
    # DQN refuses continuous actions, also as a one-line error
    run2 = BackgroundRun(preset("dqn", env_id="Pendulum-v1"), pool, frame_every=None).start()
    assert run2.join(WAIT) and run2.state == "error"
    assert "discrete action space" in run2.message and "\n" not in run2.message


def test_an_exception_inside_training_becomes_error(monkeypatch):
    from pgcore.algos.a2c import ActorCriticAgent

    def boom(self, rollout):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(ActorCriticAgent, "update", boom)
    pool = SlotPool(1)
    run = BackgroundRun(preset("a2c", max_episodes=5), pool, frame_every=None).start()
    assert run.join(WAIT)
    assert run.state == "error" and run.message == "The run failed: RuntimeError: boom"
    assert pool.active == 0


def test_diverged_run_is_reported_as_diverged(monkeypatch):
    from pgcore.algos import DivergedError
    from pgcore.algos.reinforce import ReinforceAgent

    def diverge(self, episode):
        raise DivergedError("the loss became nan at update 1")

    monkeypatch.setattr(ReinforceAgent, "update", diverge)
    run = BackgroundRun(preset("reinforce", max_episodes=5), SlotPool(1), frame_every=None)
    run.start()
    assert run.join(WAIT)
    assert run.state == "diverged" and "smaller learning rate" in run.message


def test_policy_agent_is_a_separate_copy_that_training_does_not_touch():
    run = BackgroundRun(small("a2c"), SlotPool(1), frame_every=None, weights_every=0.0).start()
    assert wait_for(lambda: run.snapshot().update_count >= 20)
    agent = run.policy_agent()
    assert agent is not None
    before = [p.detach().clone() for p in agent.net.parameters()]
    n = run.snapshot().update_count
    assert wait_for(lambda: run.snapshot().update_count >= n + 20)
    after = list(agent.net.parameters())
    assert all(np.array_equal(a, p.detach()) for a, p in zip(before, after, strict=True))
    newer = run.policy_agent()
    assert newer is not agent  # newer weights were published meanwhile
    from pgcore.training.render import play_episode

    ret, length, frames = play_episode(newer, "CartPole-v1", seed=1, render=False)
    assert ret == length >= 1 and frames == []
    run.stop()
    assert run.join(WAIT)
    final = run.policy_agent()
    assert final is run.policy_agent()  # cached until new weights arrive


def test_a_run_with_greedy_evaluations_keeps_them_in_its_snapshot():
    from pgcore import default_config
    from pgcore.execution.runner import EVALUATION_FIELDS
    from pgcore.training.trainer import Trainer

    cfg = default_config("dqn", hidden=32, max_episodes=30, eval_every=300, eval_episodes=2)
    run = BackgroundRun(cfg, SlotPool(1), frame_every=None).start()
    assert run.join(WAIT)
    snap = run.snapshot()
    assert snap.state == "finished"
    ev = snap.evaluations
    assert set(ev) == set(EVALUATION_FIELDS)
    n = len(ev["episodes"])
    assert n >= 1 and snap.evaluation_count == n
    assert n == snap.env_steps // 300 or n == snap.env_steps // 300 - 1  # a due one may miss
    steps = ev["env_steps"]
    assert np.all(steps >= 300 * np.arange(1, n + 1)) and np.all(np.diff(steps) > 0)
    assert np.all(np.diff(ev["episodes"]) >= 0) and ev["episodes"][-1] <= snap.episode_count
    assert np.all(ev["min_return"] <= ev["mean_return"])
    assert np.all(ev["mean_return"] <= ev["max_return"])
    assert np.all(ev["min_return"] >= 1)  # CartPole: every greedy episode lasts a step
    with pytest.raises(ValueError):
        ev["mean_return"][0] = 0.0  # read-only
    # the same numbers the trainer reports (a seeded run is deterministic)
    expected = Trainer(cfg, frame_every=None).run().evaluations
    assert [e.env_steps for e in expected] == steps.tolist()
    assert [e.episodes for e in expected] == ev["episodes"].tolist()
    assert np.allclose([e.mean_return for e in expected], ev["mean_return"])
    assert np.allclose([min(e.returns) for e in expected], ev["min_return"])
    assert np.allclose([max(e.returns) for e in expected], ev["max_return"])

    plain = BackgroundRun(preset("reinforce", max_episodes=3), SlotPool(1),
                          frame_every=None).start()
    assert plain.join(WAIT)
    off = plain.snapshot()
    assert off.evaluation_count == 0
    assert set(off.evaluations) == set(EVALUATION_FIELDS)
    assert all(len(col) == 0 for col in off.evaluations.values())


def test_run_log_keeps_a_bounded_number_of_evaluations():
    from pgcore import Evaluation
    from pgcore.execution.runner import EVALUATION_FIELDS

    log = RunLog(max_evaluations=8)
    first = None
    for i in range(1, 21):
        returns = (float(i), float(i + 2), float(i + 7))
        log.add(Evaluation(i * 100, 3 * i, returns, returns, (0.0, 0.0, 0.0)))
        if i == 5:
            first = log.evaluations.copy()
    ev = log.evaluations.copy()
    assert set(ev) == set(EVALUATION_FIELDS)
    kept = len(ev["env_steps"])
    assert 0 < kept <= 8 and log.evaluations.dropped + kept == 20
    assert log.evaluations.count == 20
    assert ev["env_steps"].tolist() == [100 * i for i in range(21 - kept, 21)]  # the newest
    assert ev["episodes"].tolist() == [3 * i for i in range(21 - kept, 21)]
    assert np.allclose(ev["min_return"], np.arange(21 - kept, 21))
    assert np.allclose(ev["mean_return"], np.arange(21 - kept, 21) + 3.0)
    assert np.allclose(ev["max_return"], np.arange(21 - kept, 21) + 7.0)
    assert first["env_steps"].tolist() == [100, 200, 300, 400, 500]  # an earlier copy stays
    assert all(not col.flags.writeable for col in ev.values())
    assert log.env_steps == 2000
