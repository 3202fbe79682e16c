"""Actor-critic with bootstrapped advantages: one-step actor-critic and A2C share this loss.

One-step actor-critic is the special case of A2C with one environment and rollouts of one
step: the advantage is then the TD error delta_t = r_t + gamma * V(s_{t+1}) - V(s_t).
A2C collects ``n_steps`` from each of ``n_envs`` environments and uses GAE(lambda)
advantages (lambda = 1: n-step returns). The loss over the batch's valid steps::

    L = - mean[ log pi(a_t|s_t) * A_t ]                     (actor; A_t detached)
        + value_coef * mean[ (V(s_t) - (A_t + V(s_t)))^2 ]   (critic: regress on the target)
        - beta * mean[ H(pi(.|s_t)) ]                        (entropy bonus)

``terminated`` zeroes V(s_{t+1}); a ``truncated`` step bootstraps from it, unless
``config.bootstrap_truncated`` is False (the lesson's treatment, kept for its preset).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..returns import gae_advantages, normalize
from .base import Agent, UpdateStats, _std, policy_terms


@dataclass
class Rollout:
    """``n_steps`` x ``n_envs`` transitions from a next-step-autoreset vector env."""

    obs: np.ndarray  # (T + 1, N, obs_dim): s_0 .. s_T; row T is the bootstrap state
    actions: np.ndarray  # (T, N) int64
    rewards: np.ndarray  # (T, N) float
    terminated: np.ndarray  # (T, N) bool
    truncated: np.ndarray  # (T, N) bool
    valid: np.ndarray  # (T, N) bool: False on the dummy reset step after an episode ended


class ActorCriticAgent(Agent):
    """Actor and critic (shared trunk or not) trained on bootstrapped advantages."""

    def update(self, rollout: Rollout) -> UpdateStats:
        cfg = self.config
        T, N = rollout.actions.shape
        obs = torch.as_tensor(rollout.obs, dtype=torch.float32).reshape((T + 1) * N, -1)
        logits, values = self.net(obs)  # ((T+1)N, A), ((T+1)N,)
        values = values.reshape(T + 1, N)
        values_now = values[:T]  # (T, N) V(s_t), with gradient
        next_values = values[1:].detach().double().numpy()  # (T, N) V(s_{t+1}), no gradient

        terminated = rollout.terminated
        if not cfg.bootstrap_truncated:  # the lesson: every end is terminal
            terminated = terminated | rollout.truncated
        advantages = gae_advantages(rollout.rewards, values_now.detach().double().numpy(),
                                    next_values, terminated, rollout.truncated,
                                    cfg.gamma, cfg.gae_lambda)  # (T, N)
        targets = advantages + values_now.detach().double().numpy()  # (T, N)

        valid = torch.as_tensor(rollout.valid.reshape(-1))  # (T*N,)
        adv = torch.as_tensor(advantages.reshape(-1), dtype=torch.float32)[valid]  # (B,)
        if cfg.normalize_advantages and adv.numel() > 1:
            adv = torch.as_tensor(normalize(adv.numpy()), dtype=torch.float32)
        actions = torch.as_tensor(rollout.actions.reshape(-1), dtype=torch.int64)[valid]
        log_probs, entropy = policy_terms(logits[: T * N][valid], actions)  # (B,), (B,)
        v = values_now.reshape(-1)[valid]  # (B,)
        target = torch.as_tensor(targets.reshape(-1), dtype=torch.float32)[valid]  # (B,)

        policy_loss = -self.reduce(log_probs * adv)
        value_loss = (target - v).pow(2).mean()
        entropy_term = self.reduce(entropy)
        loss = policy_loss + cfg.value_coef * value_loss - cfg.entropy_beta * entropy_term
        grad_norm = self.optimize(loss)
        return UpdateStats(
            policy_loss=float(policy_loss.detach()), value_loss=float(value_loss.detach()),
            entropy=float(entropy.detach().mean()), grad_norm=grad_norm,
            advantage_mean=float(adv.mean()), advantage_std=_std(adv),
            value_mean=float(v.detach().mean()), target_mean=float(target.mean()),
            batch_size=int(valid.sum()))
