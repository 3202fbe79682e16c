"""REINFORCE (Williams, 1992): Monte Carlo policy gradient, one update per finished episode.

Loss, for one episode of T steps (minimising it is gradient *ascent* on J)::

    L = - reduce_t[ log pi(a_t|s_t) * A_t ]  -  beta * reduce_t[ H(pi(.|s_t)) ]
        + value_coef * mean_t[ (V(s_t) - G_t)^2 ]                 (value baseline only)

with the advantage ``A_t`` chosen by ``config.baseline``:

* ``none``:      A_t = G_t                         (the policy gradient theorem as stated)
* ``normalize``: A_t = (G_t - mean G) / std G       (per episode; the lesson's variance fix)
* ``value``:     A_t = G_t - V(s_t), V detached     (a learned baseline: no bias, less noise)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..returns import discounted_returns, normalize
from .base import Agent, UpdateStats, _std, policy_terms


@dataclass
class Episode:
    """One finished episode: what the agent saw, did and got."""

    obs: np.ndarray  # (T, obs_dim) float32, s_0 .. s_{T-1}
    actions: np.ndarray  # (T,) int64
    rewards: np.ndarray  # (T,) float
    final_obs: np.ndarray  # (obs_dim,) s_T, the state after the last step
    terminated: bool  # the task ended (nothing to bootstrap)
    truncated: bool  # a time limit cut it (bootstrap from V(s_T) when there is a critic)


def reinforce_advantages(returns: np.ndarray, baseline: str,
                         values: np.ndarray | None = None) -> np.ndarray:
    """A_t from returns G_t for the three baselines (``values`` = V(s_t) for ``value``).

    >>> reinforce_advantages(np.array([3.0, 2.0, 1.0]), "none")
    array([3., 2., 1.])
    >>> reinforce_advantages(np.array([3.0, 2.0, 1.0]), "normalize").round(6)
    array([ 1.,  0., -1.])
    >>> reinforce_advantages(np.array([3.0, 2.0, 1.0]), "value", values=np.array([2.5, 2.5, 2.5]))
    array([ 0.5, -0.5, -1.5])
    """
    if baseline == "none":
        return returns
    if baseline == "normalize":
        return normalize(returns)
    if baseline == "value":
        return returns - values
    raise ValueError(f"unknown baseline {baseline!r}")


class ReinforceAgent(Agent):
    """Policy network (and, for the ``value`` baseline, a critic) trained per episode."""

    def update(self, episode: Episode) -> UpdateStats:
        cfg = self.config
        obs = torch.as_tensor(episode.obs, dtype=torch.float32)  # (T, obs_dim)
        actions = torch.as_tensor(episode.actions, dtype=torch.int64)  # (T,)
        logits, values = self.net(obs)  # (T, A), (T,) or None
        log_probs, entropy = policy_terms(logits, actions)  # (T,), (T,)

        bootstrap = 0.0
        # bootstrap only a pure time-limit cut: if the task also ended on that step, it is terminal
        if (episode.truncated and not episode.terminated and values is not None
                and cfg.bootstrap_truncated):
            bootstrap = float(self.value(episode.final_obs[None])[0])  # V(s_T)
        returns = discounted_returns(episode.rewards, cfg.gamma, bootstrap)  # (T,)
        values_np = None if values is None else values.detach().double().numpy()
        advantages = reinforce_advantages(returns, cfg.baseline, values_np)  # (T,)
        if cfg.normalize_advantages and cfg.baseline != "normalize":
            advantages = normalize(advantages)
        adv = torch.as_tensor(advantages, dtype=torch.float32)

        policy_loss = -self.reduce(log_probs * adv)
        entropy_term = self.reduce(entropy)
        loss = policy_loss - cfg.entropy_beta * entropy_term
        value_loss = torch.tensor(float("nan"))
        if values is not None:
            returns_t = torch.as_tensor(returns, dtype=torch.float32)
            value_loss = F.mse_loss(values, returns_t)
            loss = loss + cfg.value_coef * value_loss
        grad_norm = self.optimize(loss)
        return UpdateStats(
            policy_loss=float(policy_loss.detach()), value_loss=float(value_loss.detach()),
            entropy=float(entropy.detach().mean()), grad_norm=grad_norm,
            advantage_mean=float(adv.mean()), advantage_std=_std(adv),
            value_mean=float("nan") if values_np is None else float(values_np.mean()),
            target_mean=float(returns.mean()), batch_size=len(episode.actions))
