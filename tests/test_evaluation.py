"""Greedy evaluation, predicted start values, probe states and greedy flips; the experiment
store's per-episode statistics, evaluations and traces; DQN's learning-rate decay."""

from __future__ import annotations

import numpy as np
import pytest

from pgcore import Evaluation, default_config, preset, train
from pgcore.algos.dqn import DQNAgent
from pgcore.execution.experiments import COLUMNS, EVAL_COLUMNS, TRACE_COLUMNS, Experiment, grid
from pgcore.rl.envs import EnvSpec, env_spec, make_env
from pgcore.rl.heads import CategoricalHead
from pgcore.training.evaluation import (
    evaluate_greedy,
    evaluation_seeds,
    greedy_actions,
    greedy_flip_fraction,
    probe_states,
)


class AlwaysLeft:
    """A stand-in agent: always action 0, predicts 3.0 for every state."""

    head = CategoricalHead(2)

    def act(self, obs, greedy=False, with_value=False):
        return np.zeros(len(obs), dtype=np.int64), None, None

    def predicted_value(self, obs):
        return np.full(len(obs), 3.0)


def test_greedy_evaluation_by_hand():
    gamma = 0.9
    ev = evaluate_greedy(AlwaysLeft(), "CartPole-v1", 3, seed=4, gamma=gamma)
    # replay the same episodes directly: the same seeds, always left
    env = make_env("CartPole-v1")
    lengths = []
    for s in evaluation_seeds(4, 3):
        env.reset(seed=s)
        n, done = 0, False
        while not done:
            _, _, term, trunc, _ = env.step(0)
            n, done = n + 1, term or trunc
        lengths.append(n)
    env.close()
    assert list(ev.lengths) == lengths and list(ev.returns) == [float(n) for n in lengths]
    # reward 1 per step: sum_t gamma^t = (1 - gamma^L) / (1 - gamma)
    np.testing.assert_allclose(ev.discounted_returns,
                               [(1 - gamma**n) / (1 - gamma) for n in lengths])
    assert ev.start_values == (3.0, 3.0, 3.0)
    assert ev.bias == pytest.approx(3.0 - np.mean(ev.discounted_returns))
    assert ev.mean_return == pytest.approx(np.mean(lengths))


def test_evaluation_seeds_are_fixed_per_run_and_apart_across_runs():
    assert evaluation_seeds(0, 3) == evaluation_seeds(0, 3)
    assert len(set(evaluation_seeds(0, 10)) | set(evaluation_seeds(1, 10))) == 20


def test_greedy_flip_fraction_and_probe_states():
    assert greedy_flip_fraction(np.array([0, 1, 1, 0]), np.array([0, 0, 1, 1])) == 0.5
    assert greedy_flip_fraction(np.array([1, 1]), np.array([1, 1])) == 0.0
    a, b = probe_states("CartPole-v1", 64), probe_states("CartPole-v1", 64)
    assert a.shape == (64, 4) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)  # the same states every time
    assert len(np.unique(a, axis=0)) == 64


def test_dqn_predicts_max_q_and_a2c_predicts_v():
    spec = env_spec("CartPole-v1")
    agent = DQNAgent(preset("dqn", hidden=16), spec)
    obs = probe_states("CartPole-v1", 5)
    q, _ = agent.policy(obs)
    np.testing.assert_allclose(agent.predicted_value(obs), q.max(axis=1), rtol=1e-6)
    np.testing.assert_array_equal(greedy_actions(agent, obs), q.argmax(axis=1))
    from pgcore.algos import make_agent

    a2c = make_agent(default_config("a2c", hidden=16), spec)
    np.testing.assert_allclose(a2c.predicted_value(obs), a2c.value(obs))
    none = make_agent(default_config("reinforce", "none", hidden=16), spec)
    assert np.isnan(none.predicted_value(obs)).all()


@pytest.mark.parametrize("algo", ["dqn", "a2c", "reinforce"])
def test_evaluating_does_not_change_what_a_run_learns(algo):
    cfg = default_config(algo, hidden=32, max_episodes=30, max_steps=2500)
    evals = []
    with_eval = train(cfg.replace(eval_every=400, eval_episodes=2, eval_every_episodes=7),
                      on_event=lambda e: evals.append(e) if isinstance(e, Evaluation) else None)
    plain = train(cfg)
    assert with_eval.episode_returns == plain.episode_returns
    assert with_eval.env_steps == plain.env_steps
    assert evals and all(len(e.returns) == 2 for e in evals)
    by_steps = [e for e in evals if e.episodes % 7 != 0]
    steps = [e.env_steps for e in by_steps]
    assert steps == sorted(steps) and all(s >= 400 for s in steps)
    # one evaluation per crossing: the k-th step-triggered one comes after k * 400 steps
    assert all(s >= 400 * (k + 1) for k, s in enumerate(steps))
    assert {7, 14, 21, 28} <= {e.episodes for e in evals}


def test_eval_settings_are_checked():
    from pgcore.training.config import ConfigError

    for bad in (dict(eval_every=0), dict(eval_episodes=0), dict(eval_every_episodes=-2)):
        with pytest.raises(ConfigError):
            default_config("dqn", **bad)


def test_experiment_keeps_episode_stats_evaluations_and_a_trace():
    jobs = grid({"dqn": default_config("dqn", hidden=32, max_episodes=25, eval_every=300,
                                       eval_episodes=2),
                 "a2c": default_config("a2c", hidden=32, max_episodes=25)}, [0])
    snap = Experiment(jobs, mode="inline", trace_every=100).run(120)
    dqn, a2c = snap.by_label("dqn")[0], snap.by_label("a2c")[0]
    assert dqn.state == a2c.state == "finished"
    # DQN reports Q and the target distance, not an entropy; A2C the other way round
    assert np.isnan(dqn.columns["entropy"]).all()
    assert np.isfinite(dqn.columns["q_mean"][-5:]).all()
    assert np.isfinite(dqn.columns["target_distance"][-5:]).all()
    assert np.isfinite(a2c.columns["entropy"]).all() and np.isnan(a2c.columns["q_mean"]).all()
    # evaluations: only where configured
    assert set(dqn.evals) == set(EVAL_COLUMNS) and len(dqn.evals["env_steps"]) >= 1
    assert len(a2c.evals["env_steps"]) == 0
    bias = dqn.evals["start_value"] - dqn.evals["discounted_return"]
    assert np.isfinite(bias).all()
    # the trace: a row per 100 env steps (read after an update), flips are fractions
    for r in (dqn, a2c):
        t = r.trace
        assert set(t) == set(TRACE_COLUMNS) and len(t["env_steps"]) >= 2
        assert (np.diff(t["env_steps"]) > 0).all()
        for c in ("flip_per_update", "flip_since_last"):
            assert ((t[c] >= 0) & (t[c] <= 1)).all()
    assert np.isnan(a2c.trace["q_mean"]).all() and np.isfinite(dqn.trace["q_mean"]).all()
    header = snap.to_csv().decode().splitlines()[0].split(",")
    assert header == list(COLUMNS) and "q_mean" in header


def test_experiment_without_a_trace_has_empty_trace_columns():
    jobs = grid({"dqn": default_config("dqn", hidden=16, max_episodes=3)}, [0])
    r = Experiment(jobs, mode="inline").run(60).runs[0]
    assert all(len(v) == 0 for v in r.trace.values())
    with pytest.raises(ValueError):
        Experiment(jobs, mode="inline", trace_every=0)


def test_dqn_learning_rate_decays_linearly_to_its_end():
    spec = EnvSpec("toy", 4, CategoricalHead(2))
    agent = DQNAgent(preset("dqn", hidden=16, lr=1e-3, lr_end=0.0, lr_decay_steps=100,
                            learning_starts=8, minibatch_size=8, buffer_size=200), spec)
    rng = np.random.default_rng(0)
    seen = []
    for i in range(150):
        agent.remember(rng.normal(size=4).astype(np.float32), i % 2, 1.0,
                       rng.normal(size=4).astype(np.float32), False, False)
        if i >= 8:
            stats = agent.update(agent.buffer)
            seen.append((agent.steps, stats["lr"], agent.optimizer.param_groups[0]["lr"]))
    for steps, lr, used in seen:
        expected = 1e-3 * max(0.0, 1 - steps / 100)
        assert lr == pytest.approx(expected) and used == pytest.approx(expected)
    constant = DQNAgent(preset("dqn", hidden=16, lr=5e-4, lr_end=None), spec)
    constant.net.env_steps.fill_(10**6)
    assert constant.learning_rate == 5e-4


def test_progress_counts_env_steps_when_the_budget_is_in_steps():
    from pgcore.execution.experiments import ExperimentSnapshot, RunView

    def view(state, steps, max_episodes=None, max_steps=1000, episodes=0):
        cfg = default_config("dqn", max_episodes=max_episodes, max_steps=max_steps)
        cols = {c: np.zeros(episodes) for c in COLUMNS[2:]}
        cols["env_steps"] = np.linspace(0, steps, episodes) if episodes else np.zeros(0)
        return RunView("x", 0, cfg, state, "", cols)

    snap = ExperimentSnapshot("running", (view("running", 250, episodes=5),
                                          view("finished", 1000, episodes=9)), 1, 1.0)
    assert snap.progress() == pytest.approx((0.25 + 1.0) / 2)
    by_episodes = ExperimentSnapshot("running", (view("running", 250, max_episodes=10,
                                                      episodes=5),), 1, 1.0)
    assert by_episodes.progress() == pytest.approx(0.5)
    assert ExperimentSnapshot("running", (view("running", 0),), 1, 1.0).progress() == 0.0
