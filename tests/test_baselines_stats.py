"""Statistical test: baselines and the policy-gradient estimator, at a fixed policy.

For one fixed (seeded, untrained) policy on CartPole-v1 we sample many episodes and compute,
per episode, the REINFORCE gradient estimate

    g = sum_t grad log pi(a_t|s_t) * A_t

for three advantages: raw returns A = G_t (``none``), A = G_t - V(s_t) with a FIXED critic
(``value``), and per-episode standardised returns (``normalize``). Theory says:

* ``value``: E[grad log pi(a_t|s_t) * b(s_t)] = 0 for any b that depends only on the state,
  so E[g_value] = E[g_raw] exactly (no bias), and a good b lowers the variance.
* ``normalize``: NOT exactly unbiased, so we only test that it points the same way. Two
  reasons: the subtracted mean is the mean of the whole episode's returns, which depends on
  a_t itself and on the actions after it (a baseline must not depend on a_t); and dividing by
  the episode's std rescales each episode's gradient by a random, action-dependent weight
  (short, low-spread episodes count for more), which changes the expectation, not just its
  scale.

Tolerances are standard errors from the central limit theorem (per-episode gradients are
i.i.d.). Everything is seeded, so the test is deterministic; the margins below were chosen so
that a correct implementation passes by a wide margin at these seeds, not tuned to just pass.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from torch.func import functional_call, grad, vmap

from pgcore.algos import make_agent
from pgcore.algos.reinforce import reinforce_advantages
from pgcore.rl.envs import EnvSpec
from pgcore.rl.heads import policy_terms, sample_actions
from pgcore.rl.returns import discounted_returns
from pgcore.training.config import TrainConfig

GAMMA = 0.99
N_FIT, N_REF, N_TEST = 200, 300, 500  # episodes: fit the critic / reference direction / test
Z = 4.0  # "a few standard errors": |z| < 4 has probability 0.99994 under a normal null


def _sample_episodes(agent, n: int, seed: int, n_envs: int = 25):
    """``n`` episodes with the agent's current (fixed) policy, ``n_envs`` envs acting in batch.

    Returns a list of (obs (T, 4) float32, actions (T,) int64, rewards (T,) float64).
    """
    rng = np.random.default_rng(seed)
    envs = [gym.make("CartPole-v1") for _ in range(n_envs)]
    todo = [n // n_envs + (i < n % n_envs) for i in range(n_envs)]  # episodes per env
    obs = [env.reset(seed=seed * 1000 + i)[0] for i, env in enumerate(envs)]
    trajs = [([], [], []) for _ in envs]
    episodes = []
    active = [i for i in range(n_envs) if todo[i] > 0]
    while active:
        batch = np.asarray([obs[i] for i in active], np.float32)
        probs, _ = agent.policy(batch)
        actions = sample_actions(probs, rng)
        still = []
        for i, o, a in zip(active, batch, actions, strict=True):
            next_obs, r, term, trunc, _ = envs[i].step(int(a))
            trajs[i][0].append(o)
            trajs[i][1].append(int(a))
            trajs[i][2].append(float(r))
            obs[i] = next_obs
            if term or trunc:
                o_, a_, r_ = trajs[i]
                episodes.append((np.stack(o_), np.asarray(a_, np.int64), np.asarray(r_)))
                trajs[i] = ([], [], [])
                todo[i] -= 1
                if todo[i] == 0:
                    continue
                obs[i] = envs[i].reset()[0]
            still.append(i)
        active = still
    for env in envs:
        env.close()
    assert len(episodes) == n
    return episodes


def _fit_critic(agent, episodes, steps: int = 300) -> float:
    """Regress V(s) on Monte Carlo returns G_t; returns the fraction of variance explained."""
    x = torch.as_tensor(np.concatenate([o for o, _, _ in episodes]))
    y = torch.as_tensor(np.concatenate([discounted_returns(r, GAMMA) for _, _, r in episodes]),
                        dtype=torch.float32)
    head = agent.net.value_head
    opt = torch.optim.Adam(head.parameters(), lr=1e-2)
    for _ in range(steps):
        _, v = agent.net(x)
        loss = (v - y).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        _, v = agent.net(x)
        return float(1 - (v - y).pow(2).mean() / y.var())


class _Sample:
    """Per-step gradients of log pi for a set of episodes, and what advantages are built from."""

    def __init__(self, jac, starts, actions, values, returns):
        self.jac = jac  # (n_steps, n_params): grad log pi(a_t|s_t) for every step
        self.starts = starts  # index of each episode's first step
        self.actions, self.values = actions, values  # (n_steps,) each; values = fixed V(s_t)
        self.returns = returns  # list of per-episode G_t arrays

    def advantages(self, baseline: str) -> np.ndarray:
        """A_t for every step, concatenated, from pgcore's own ``reinforce_advantages``."""
        return np.concatenate([
            reinforce_advantages(g, baseline, self.values[s:s + len(g)])
            for g, s in zip(self.returns, self.starts, strict=True)])

    def gradients(self, adv: np.ndarray) -> np.ndarray:
        """(n_episodes, n_params): per episode, g = sum_t A_t grad log pi(a_t|s_t).

        The estimator is linear in A, so this is the exact gradient of sum_t log pi * A_t.
        """
        return np.add.reduceat(self.jac * adv[:, None], self.starts, axis=0)


def _per_step_gradients(agent, episodes) -> _Sample:
    """grad log pi(a_t|s_t) w.r.t. the policy's parameters for every step, in one vmapped call."""
    net = agent.net
    names = [n for n, _ in net.named_parameters() if not n.startswith("value_head")]
    params = {n: p.detach() for n, p in net.named_parameters() if n in names}
    frozen = {n: p.detach() for n, p in net.named_parameters() if n not in names}

    def log_pi(p, obs, action):
        logits, _ = functional_call(net, {**p, **frozen}, (obs[None],))
        return policy_terms(logits, action[None])[0][0]

    obs = torch.as_tensor(np.concatenate([o for o, _, _ in episodes]))
    actions = torch.as_tensor(np.concatenate([a for _, a, _ in episodes]))
    per_step = vmap(grad(log_pi), in_dims=(None, 0, 0))(params, obs, actions)
    jac = torch.cat([per_step[n].reshape(len(obs), -1) for n in names], 1).double().numpy()
    with torch.no_grad():
        _, values = net(obs)
    lengths = [len(a) for _, a, _ in episodes]
    return _Sample(jac=jac, starts=np.cumsum([0] + lengths[:-1]), actions=actions.numpy(),
                   values=values.double().numpy(),
                   returns=[discounted_returns(r, GAMMA) for _, _, r in episodes])


@pytest.fixture(scope="module")
def sample():
    cfg = TrainConfig(algo="reinforce", baseline="value", hidden=16, gamma=GAMMA, seed=0)
    # seeded, untrained policy: the FIXED policy of the test
    agent = make_agent(cfg, EnvSpec.discrete(4, 2))
    r2 = _fit_critic(agent, _sample_episodes(agent, N_FIT, seed=1))
    # The critic is fitted on its own episodes and then frozen, so on the reference and test
    # episodes V(s) is a fixed function of the state: a legitimate baseline.
    ref = _per_step_gradients(agent, _sample_episodes(agent, N_REF, seed=2))
    test = _per_step_gradients(agent, _sample_episodes(agent, N_TEST, seed=3))
    # Reference direction: the mean gradient on INDEPENDENT episodes (the value-baseline
    # estimate, the least noisy). Being independent of the test sample, projections of the
    # test gradients onto it are i.i.d. scalars, to which the CLT applies directly.
    u = ref.gradients(ref.advantages("value")).mean(0)
    test.u = u / np.linalg.norm(u)
    test.critic_r2 = r2
    test.g = {b: test.gradients(test.advantages(b)) for b in ("none", "value", "normalize")}
    return test


def _cos(a, b) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _paired_z(d: np.ndarray) -> float:
    """Mean of i.i.d. scalars in units of its standard error (CLT)."""
    return float(d.mean() / (d.std(ddof=1) / np.sqrt(len(d))))


def _mean_shift_test(raw: np.ndarray, other: np.ndarray, u: np.ndarray) -> tuple[float, float]:
    """Two CLT statistics for "E[raw] == E[other]" from paired per-episode gradients.

    1. z of the mean difference projected on the reference direction u.
    2. In the whole parameter space: for zero-mean i.i.d. differences D (covariance S),
       E|mean D|^2 = tr(S)/m with standard deviation ~ sqrt(2 tr(S^2))/m (Gaussian quadratic
       form); returns the excess of |mean D|^2 over tr(S)/m in those standard deviations. A
       bias b adds |b|^2, which grows relative to the noise as m grows.
    """
    diff = raw - other
    m = len(diff)
    z = _paired_z(diff @ u)
    centred = diff - diff.mean(0)
    tr_s = float((centred**2).sum() / (m - 1))
    gram = centred @ centred.T / (m - 1)  # same nonzero spectrum as S: tr(S^2) = |gram|_F^2
    sd = np.sqrt(2 * float((gram**2).sum())) / m
    mean = diff.mean(0)
    return z, (float(mean @ mean) - tr_s / m) / sd


def test_the_fitted_critic_is_a_decent_baseline(sample):
    # Sanity: the critic explains a good part of the return's variance (otherwise the variance
    # test below would test nothing). CartPole returns also depend on the luck still to come,
    # so well below 1 is expected.
    assert sample.critic_r2 > 0.2


def test_value_baseline_mean_gradient_agrees_with_raw_returns(sample):
    raw, val, u = sample.g["none"], sample.g["value"], sample.u
    # Direction: both mean gradients point where the reference does, and where each other does.
    assert _cos(raw.mean(0), u) > 0.9
    assert _cos(val.mean(0), u) > 0.9
    assert _cos(val.mean(0), raw.mean(0)) > 0.9
    # Same mean within the CLT's standard errors. Per episode the difference is
    # sum_t V(s_t) grad log pi(a_t|s_t), whose expectation is exactly 0 for a state-only V.
    z, excess = _mean_shift_test(raw, val, u)
    assert abs(z) < Z, f"projected mean difference is {z:.2f} standard errors from 0"
    assert excess < Z, f"|mean difference|^2 exceeds its null expectation by {excess:.1f} sd"


def test_the_bias_check_detects_an_action_dependent_baseline(sample):
    # Negative control, to show the check above has power: a "baseline" that depends on the
    # action, b_t = V(s_t) + 2 * a_t, biases the gradient (E[grad log pi(a|s) a] != 0), and the
    # same statistics must flag it, although 2 is small next to returns of ~10-20.
    adv = sample.advantages("value") - 2.0 * sample.actions
    z, excess = _mean_shift_test(sample.g["none"], sample.gradients(adv), sample.u)
    assert abs(z) > Z or excess > Z, (z, excess)


def test_value_baseline_lowers_the_variance(sample):
    raw, val = sample.g["none"], sample.g["value"]
    # Total variance = trace of the covariance = mean squared distance from the mean gradient.
    s_raw = ((raw - raw.mean(0)) ** 2).sum(1)
    s_val = ((val - val.mean(0)) ** 2).sum(1)
    assert s_val.mean() < 0.75 * s_raw.mean(), (s_val.mean(), s_raw.mean())
    # ... and the reduction is many standard errors away from 0 (paired per episode).
    z = _paired_z(s_raw - s_val)
    assert z > Z, f"variance reduction only {z:.2f} standard errors"


def test_normalized_returns_point_the_same_way(sample):
    # Not exactly unbiased (see the module docstring), and on another scale (unit-free
    # advantages), so only the direction is tested: its mean gradient has a positive
    # projection on the reference direction, many standard errors above zero, and a high
    # cosine with it.
    norm, u = sample.g["normalize"], sample.u
    z = _paired_z(norm @ u)
    assert z > Z, f"projection on the reference direction only {z:.2f} standard errors"
    assert _cos(norm.mean(0), u) > 0.8

