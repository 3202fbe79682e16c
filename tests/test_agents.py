"""Agents: action sampling, log-probs and entropy, and what one update does to the weights."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from pgcore.algos import make_agent
from pgcore.algos.a2c import ActorCriticAgent
from pgcore.algos.reinforce import ReinforceAgent
from pgcore.rl.buffers import Transition
from pgcore.rl.collect import Episode, Rollout
from pgcore.rl.envs import EnvSpec
from pgcore.rl.heads import policy_terms, sample_actions
from pgcore.rl.returns import discounted_returns
from pgcore.training.config import TrainConfig, default_config

OBS_DIM, N_ACTIONS = 4, 2
SPEC = EnvSpec.discrete(OBS_DIM, N_ACTIONS)


def _episode(T=5, rewards=None, terminated=True, truncated=False, seed=0) -> Episode:
    rng = np.random.default_rng(seed)
    return Episode(obs=rng.normal(size=(T, OBS_DIM)).astype(np.float32),
                   actions=rng.integers(0, N_ACTIONS, size=T).astype(np.int64),
                   rewards=np.ones(T) if rewards is None else np.asarray(rewards, np.float64),
                   final_obs=rng.normal(size=OBS_DIM).astype(np.float32),
                   terminated=terminated, truncated=truncated)


def _rollout(T=3, N=2, seed=0, rewards=None, terminated=None, truncated=None,
             valid=None) -> Rollout:
    rng = np.random.default_rng(seed)
    shape = (T, N)
    return Rollout(obs=rng.normal(size=(T + 1, N, OBS_DIM)).astype(np.float32),
                   actions=rng.integers(0, N_ACTIONS, size=shape).astype(np.int64),
                   rewards=np.ones(shape) if rewards is None else np.asarray(rewards, float),
                   terminated=np.zeros(shape, bool) if terminated is None else terminated,
                   truncated=np.zeros(shape, bool) if truncated is None else truncated,
                   valid=np.ones(shape, bool) if valid is None else valid)


def _reinforce(**overrides) -> ReinforceAgent:
    cfg = TrainConfig(**{"algo": "reinforce", "hidden": 16, "seed": 0, **overrides})
    return make_agent(cfg, SPEC)


def _actor_critic(**overrides) -> ActorCriticAgent:
    cfg = TrainConfig(**{"algo": "a2c", "hidden": 16, "seed": 0, "n_envs": 2, "n_steps": 3,
                         **overrides})
    return make_agent(cfg, SPEC)


def _weights(agent) -> list[torch.Tensor]:
    return [p.detach().clone() for p in agent.net.parameters()]


def _changed(before, agent) -> bool:
    return any(not torch.equal(b, p) for b, p in zip(before, agent.net.parameters(), strict=True))


# ----- sampling ----------------------------------------------------------------------------------


def test_sample_actions_frequencies_match_probs():
    probs_row = np.array([0.2, 0.5, 0.3])
    n = 20_000
    actions = sample_actions(np.tile(probs_row, (n, 1)), np.random.default_rng(0))
    assert actions.shape == (n,) and actions.dtype == np.int64
    counts = np.bincount(actions, minlength=3)
    expected = n * probs_row
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    # Pearson's chi-square with 3 - 1 = 2 degrees of freedom has survival function exp(-x/2),
    # so P(chi2 > -2 ln 0.001 = 13.8) = 0.001: a correct sampler fails this 1 time in 1000
    # (and never with this fixed seed).
    assert chi2 < -2 * math.log(1e-3), (counts, expected)


def test_sample_actions_per_row_and_zero_probability():
    rng = np.random.default_rng(1)
    probs = np.array([[1.0, 0.0], [0.0, 1.0]] * 500)
    np.testing.assert_array_equal(sample_actions(probs, rng), [0, 1] * 500)
    never_middle = sample_actions(np.tile([0.5, 0.0, 0.5], (2000, 1)), rng)
    assert 1 not in never_middle and {0, 2} == set(never_middle.tolist())


def test_sample_actions_is_reproducible():
    probs = np.tile([0.3, 0.7], (100, 1))
    a = sample_actions(probs, np.random.default_rng(5))
    b = sample_actions(probs, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)


def test_act_greedy_and_shapes():
    agent = _actor_critic()
    obs = np.random.default_rng(0).normal(size=(6, OBS_DIM)).astype(np.float32)
    actions, probs, values = agent.act(obs, with_value=True)
    assert actions.shape == (6,) and probs.shape == (6, N_ACTIONS) and values.shape == (6,)
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-6)
    greedy, _, no_values = agent.act(obs, greedy=True)
    np.testing.assert_array_equal(greedy, probs.argmax(-1))
    assert no_values is None


# ----- log-probs and entropy ---------------------------------------------------------------------


def test_policy_terms_match_torch_categorical():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(7, 4, generator=gen, requires_grad=True)
    actions = torch.randint(0, 4, (7,), generator=gen)
    log_probs, entropy = policy_terms(logits, actions)
    dist = torch.distributions.Categorical(logits=logits)
    torch.testing.assert_close(log_probs, dist.log_prob(actions))
    torch.testing.assert_close(entropy, dist.entropy())
    # the gradients agree too
    g1 = torch.autograd.grad((log_probs + entropy).sum(), logits)[0]
    g2 = torch.autograd.grad((dist.log_prob(actions) + dist.entropy()).sum(), logits)[0]
    torch.testing.assert_close(g1, g2)


def test_policy_terms_extreme_logits_stay_finite():
    logits = torch.tensor([[50.0, -50.0], [0.0, 0.0]])
    log_probs, entropy = policy_terms(logits, torch.tensor([0, 1]))
    assert torch.isfinite(log_probs).all() and torch.isfinite(entropy).all()
    assert entropy[1].item() == pytest.approx(math.log(2))


# ----- updates -----------------------------------------------------------------------------------


@pytest.mark.parametrize("baseline", ["none", "normalize", "value"])
def test_reinforce_update_changes_the_weights(baseline):
    agent = _reinforce(baseline=baseline)
    before = _weights(agent)
    stats = agent.update(_episode(T=5, rewards=[1.0, 0.0, 2.0, 1.0, 1.0]))
    assert _changed(before, agent)
    assert agent.updates == 1 and stats.batch_size == 5
    assert math.isfinite(stats.policy_loss) and math.isfinite(stats.grad_norm)
    assert math.isfinite(stats.value_loss) == (baseline == "value")  # NaN without a critic


def test_actor_critic_update_changes_the_weights():
    agent = _actor_critic()
    before = _weights(agent)
    stats = agent.update(_rollout())
    assert _changed(before, agent)
    assert stats.batch_size == 6
    assert all(math.isfinite(getattr(stats, f)) for f in
               ("policy_loss", "value_loss", "entropy", "grad_norm", "advantage_mean",
                "advantage_std", "value_mean", "target_mean"))


def test_reinforce_sum_vs_mean_reduction():
    # Same seed, same weights, same episode: the summed policy loss is T times the mean one.
    ep = _episode(T=6, rewards=[1.0, 2.0, 0.0, 1.0, 3.0, 1.0])
    s = _reinforce(baseline="none", reduction="sum").update(ep)
    m = _reinforce(baseline="none", reduction="mean").update(ep)
    assert s.policy_loss == pytest.approx(6 * m.policy_loss, rel=1e-5)
    assert s.entropy == pytest.approx(m.entropy, rel=1e-6)  # the reported entropy is a mean


def test_actor_critic_sum_vs_mean_reduction_over_valid_steps():
    # One invalid (reset) step: the batch is the 5 valid transitions, not all 6.
    valid = np.array([[True, True], [True, False], [True, True]])
    ro = _rollout(valid=valid)
    s = _actor_critic(reduction="sum").update(ro)
    m = _actor_critic(reduction="mean").update(ro)
    assert s.batch_size == m.batch_size == 5
    assert s.policy_loss == pytest.approx(5 * m.policy_loss, rel=1e-5)
    assert s.value_loss == pytest.approx(m.value_loss, rel=1e-6)  # critic loss is always a mean


def _peaked(agent):
    """Make the initial policy far from uniform, so the entropy has room to grow."""
    with torch.no_grad():
        agent.net.policy_head[-1].bias.copy_(torch.tensor([3.0, -3.0]))
    return agent


def _mean_entropy(agent, obs) -> float:
    probs, _ = agent.policy(obs)
    return float(-(probs * np.log(probs)).sum(-1).mean())


def test_entropy_bonus_is_subtracted_from_the_loss_pure_entropy_case():
    # All rewards 0 and no baseline: every advantage is 0, so the policy loss is exactly 0 and
    # the only gradient is the entropy bonus. loss = 0 - beta * H, so a descent step on the loss
    # must INCREASE the entropy (adding beta * H to the loss would decrease it).
    ep = _episode(T=8, rewards=np.zeros(8))
    agent = _peaked(_reinforce(baseline="none", entropy_beta=0.5, lr=1e-2))
    h0 = _mean_entropy(agent, ep.obs)
    stats = agent.update(ep)
    assert stats.policy_loss == 0.0 and stats.advantage_mean == 0.0
    h1 = _mean_entropy(agent, ep.obs)
    assert h1 > h0 + 1e-3, (h0, h1)

    # beta = 0 and zero advantages: the gradient is zero and Adam leaves the weights alone.
    agent0 = _peaked(_reinforce(baseline="none", entropy_beta=0.0, lr=1e-2))
    before = _weights(agent0)
    agent0.update(ep)
    assert not _changed(before, agent0)


def test_entropy_bonus_is_subtracted_in_actor_critic():
    # Pure-entropy case for the actor-critic loss: V(s) = 0 everywhere (zeroed output layer) and
    # all rewards 0, so every TD error, advantage and critic error is 0 and only -beta * H
    # drives the update. A descent step must increase the entropy; with beta = 0, no change.
    ro = _rollout(T=4, N=2, rewards=np.zeros((4, 2)))
    obs = ro.obs[:-1].reshape(-1, OBS_DIM)
    for beta in (0.0, 0.5):
        agent = _peaked(_actor_critic(n_steps=4, entropy_beta=beta, lr=1e-2))
        with torch.no_grad():
            agent.net.value_head[-1].weight.zero_()
            agent.net.value_head[-1].bias.zero_()
        h0 = _mean_entropy(agent, obs)
        before = _weights(agent)
        stats = agent.update(ro)
        assert stats.advantage_mean == 0.0 and stats.value_loss == 0.0
        if beta == 0.0:
            assert not _changed(before, agent)
        else:
            assert _mean_entropy(agent, obs) > h0 + 1e-3


# ----- bootstrapping at truncation ---------------------------------------------------------------


def test_reinforce_truncated_episode_bootstraps_from_v_of_final_state():
    rewards = [1.0, 1.0, 1.0]
    ep = _episode(T=3, rewards=rewards, terminated=False, truncated=True)
    gamma = 0.5

    agent = _reinforce(baseline="value", gamma=gamma, bootstrap_truncated=True)
    v_final = float(agent.value(ep.final_obs[None])[0])  # V(s_T) before the update
    stats = agent.update(ep)
    # G = [1 + .5 + .25 + .125 V, 1 + .5 + .25 V, 1 + .5 V]
    expected = discounted_returns(rewards, gamma, bootstrap=v_final).mean()
    assert stats.target_mean == pytest.approx(expected, rel=1e-6)

    lesson = _reinforce(baseline="value", gamma=gamma, bootstrap_truncated=False)
    # no bootstrap: G = [1.75, 1.5, 1], mean 1.41666...
    assert lesson.update(ep).target_mean == pytest.approx(4.25 / 3)
    assert abs(v_final) > 1e-3  # otherwise the two cases could not be told apart


def test_reinforce_terminated_episode_never_bootstraps():
    ep = _episode(T=3, rewards=[1.0, 1.0, 1.0], terminated=True, truncated=False)
    stats = _reinforce(baseline="value", gamma=0.5, bootstrap_truncated=True).update(ep)
    assert stats.target_mean == pytest.approx(4.25 / 3)  # mean of [1.75, 1.5, 1]


def test_reinforce_terminated_wins_over_truncated():
    # Gymnasium's TimeLimit sets truncated=True on the last allowed step even if the task also
    # ended there (the pole falls on step 500, Acrobot reaches the goal on step 500). The state
    # is terminal, so nothing may be bootstrapped, as returns.td_errors/gae_advantages do.
    ep = _episode(T=3, rewards=[1.0, 1.0, 1.0], terminated=True, truncated=True)
    stats = _reinforce(baseline="value", gamma=0.5, bootstrap_truncated=True).update(ep)
    assert stats.target_mean == pytest.approx(4.25 / 3)  # mean of [1.75, 1.5, 1]


def _transition(seed=0, terminated=False, truncated=False, reward=1.0) -> Transition:
    rng = np.random.default_rng(seed)
    obs, next_obs = rng.standard_normal((2, OBS_DIM)).astype(np.float32)
    return Transition(obs, np.int64(1), reward, next_obs, terminated, truncated)


def test_actor_critic_truncated_step_bootstraps_only_when_asked():
    # One step, truncated: target = r + gamma * V(s_1) with bootstrapping, r alone when
    # truncation is treated as terminal (the lesson); terminated: always r.
    gamma = 0.9
    tr = _transition(truncated=True)
    targets = {}
    for flag in (True, False):
        agent = make_agent(TrainConfig(algo="actor-critic", hidden=16, gamma=gamma,
                                       bootstrap_truncated=flag), SPEC)
        v_next = float(agent.value(tr.next_obs[None])[0])
        targets[flag] = (agent.update(tr).target_mean, v_next)
    t_boot, v_next = targets[True]
    assert t_boot == pytest.approx(1.0 + gamma * v_next, rel=1e-5)
    assert targets[False][0] == pytest.approx(1.0)
    assert abs(v_next) > 1e-3

    agent = make_agent(TrainConfig(algo="actor-critic", hidden=16, gamma=gamma), SPEC)
    assert agent.update(_transition(terminated=True)).target_mean == pytest.approx(1.0)
    agent = make_agent(TrainConfig(algo="actor-critic", hidden=16, gamma=gamma), SPEC)
    both = _transition(terminated=True, truncated=True)
    assert agent.update(both).target_mean == pytest.approx(1.0)  # terminated wins


def test_agents_with_the_same_seed_start_identical():
    a = make_agent(default_config("a2c", seed=3), SPEC)
    b = make_agent(default_config("a2c", seed=3), SPEC)
    c = make_agent(default_config("a2c", seed=4), SPEC)
    assert not _changed(_weights(a), b)
    assert _changed(_weights(a), c)


def test_make_agent_picks_the_class():
    assert isinstance(make_agent(default_config("reinforce"), SPEC), ReinforceAgent)
    assert isinstance(make_agent(default_config("actor-critic"), SPEC),
                      ActorCriticAgent)
    assert isinstance(make_agent(default_config("a2c"), SPEC), ActorCriticAgent)
