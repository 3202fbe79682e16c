"""The gradient-variance estimator, checked on a problem whose gradient is known exactly.

:class:`TimedBandit`: a two-armed bandit played 4 times in a row (the state is the step
number), arms paying 5 and 6 (+ unit Gaussian noise). The big common offset makes raw returns
a noisy weight, which a baseline removes. The exact gradient of the shared target
E[sum_t G_t grad log pi(a_t|s_t)] is ``bandit_gradient``. Everything is seeded.
"""

from __future__ import annotations

import numpy as np
import pytest

from pgcore import default_config
from pgcore.algos import make_agent
from pgcore.labs.gradvar import (
    ESTIMATORS,
    GradVarLab,
    TimedBandit,
    bandit_gradient,
    measure,
    noise_only_p,
    sample_episodes,
)
from pgcore.rl.envs import EnvSpec, make_env
from pgcore.training.config import TrainConfig

P_MIN = 1e-3  # "within the standard error": noise alone explains the error at p >= 0.001


@pytest.fixture(scope="module")
def bandit():
    env = TimedBandit()
    agent = make_agent(TrainConfig(algo="reinforce", baseline="none", hidden=16, seed=0),
                       EnvSpec.discrete(env.horizon, 2))
    exact = bandit_gradient(agent, env)
    result = measure(agent, TimedBandit, n_batches=200, batch_size=5, reference=exact, seed=0)
    return agent, exact, result


def test_the_analytic_gradient_is_right(bandit):
    # finite differences on the closed form sum_t sum_a pi(a|t) mu_a, on one parameter
    agent, exact, _ = bandit
    import torch

    env = TimedBandit()
    w = agent.net.policy_head[-1].bias
    eps = 1e-3

    def objective() -> float:
        with torch.no_grad():
            logits, _ = agent.net(torch.eye(env.horizon))
            return float((torch.softmax(logits.double(), -1).numpy() * env.means).sum())

    with torch.no_grad():
        w[1] += eps
        up = objective()
        w[1] -= 2 * eps
        down = objective()
        w[1] += eps
    assert exact[-1] == pytest.approx((up - down) / (2 * eps), rel=1e-2)


def test_baseline_free_and_value_baseline_are_unbiased(bandit):
    _, _, result = bandit
    assert result.reference_source == "exact"
    for name in ("none", "value"):
        s = result.stats[name]
        assert s.bias_p > P_MIN, (name, s)
        assert s.relative_error < 3 * s.noise_floor, (name, s)
    assert result.stats["value"].cosine > 0.99
    assert result.stats["none"].cosine > 0.8


def test_the_value_baseline_has_lower_variance(bandit):
    _, _, result = bandit
    none, value = result.stats["none"], result.stats["value"]
    assert result.critic_r2 > 0.5  # the fitted V explains most of the return's variance
    assert value.trace_cov < 0.2 * none.trace_cov
    assert value.relative_variance < 0.2 * none.relative_variance
    assert value.wrong_way < none.wrong_way
    assert value.noise_floor < none.noise_floor


def test_the_bias_check_has_power(bandit):
    # negative control: against a reference 30% too long (about 5 noise floors),
    # the same data must be flagged
    agent, exact, _ = bandit
    wrong = measure(agent, TimedBandit, n_batches=200, batch_size=5, reference=1.3 * exact,
                    seed=0, estimators=("value",))
    assert wrong.stats["value"].bias_p < P_MIN


def test_normalized_returns_point_roughly_the_same_way(bandit):
    _, _, result = bandit
    s = result.stats["normalize"]
    assert s.cosine > 0.8
    assert 0.0 <= s.wrong_way < 0.5
    assert np.isfinite([s.trace_cov, s.relative_variance, s.relative_error]).all()


def test_sampled_reference_agrees_with_the_exact_one(bandit):
    agent, exact, _ = bandit
    result = measure(agent, TimedBandit, n_batches=50, batch_size=5, reference_batches=100,
                     seed=1, estimators=("value",))
    assert result.reference_source == "sampled"
    cos = result.reference @ exact / (np.linalg.norm(result.reference) * np.linalg.norm(exact))
    assert cos > 0.99
    assert result.stats["value"].bias_p > P_MIN


def test_noise_only_p():
    lam = np.array([1.0, 0.5, 0.25])
    assert noise_only_p(0.0, lam) == 1.0
    assert noise_only_p(100.0, lam) < 1e-4
    # mean of sum lam_i z_i^2 is sum lam: p near 0.4 there (a right-skewed distribution)
    assert 0.25 < noise_only_p(lam.sum(), lam) < 0.5


def test_sampling_is_deterministic(bandit):
    agent, _, _ = bandit
    a = sample_episodes(agent, TimedBandit, 7, seed=3, n_envs=3)
    b = sample_episodes(agent, TimedBandit, 7, seed=3, n_envs=3)
    assert len(a) == 7
    for (o1, a1, r1), (o2, a2, r2) in zip(a, b, strict=True):
        assert np.array_equal(a1, a2) and np.array_equal(r1, r2) and np.array_equal(o1, o2)


def test_cartpole_smoke():
    cfg = default_config("reinforce", "value", hidden=16, seed=0)
    agent = make_agent(cfg, EnvSpec.discrete(4, 2))
    result = measure(agent, lambda: make_env("CartPole-v1"), n_batches=4, batch_size=3,
                     reference_batches=4, critic_episodes=10, seed=0)
    assert set(result.stats) == set(ESTIMATORS)
    assert result.reference_source == "sampled" and result.mean_length > 5
    for row in result.rows():
        assert np.isfinite([v for k, v in row.items() if k != "estimator"]).all()
    # the agent's own critic can be used too
    own = measure(agent, lambda: make_env("CartPole-v1"), n_batches=3, batch_size=2,
                  reference_batches=3, critic="agent", seed=0)
    assert own.critic_r2 is None and set(own.stats) == set(ESTIMATORS)


def test_lab_trains_then_measures_and_can_stop():
    cfg = default_config("reinforce", "value", hidden=16)
    lab = GradVarLab(cfg, train_episodes=3, n_batches=3, batch_size=2, critic_episodes=6,
                     reference_batches=3).start()
    assert lab.join(120)
    snap = lab.snapshot()
    assert snap["state"] == "finished", snap["message"]
    assert len(snap["train_returns"]) == 3 and snap["fraction"] == 1.0
    assert set(snap["result"].stats) == set(ESTIMATORS)

    long = GradVarLab(cfg, train_episodes=100_000).start()
    long.stop()
    assert long.join(60)
    assert long.snapshot()["state"] == "stopped"
