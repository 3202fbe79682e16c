"""A2C: advantage actor-critic over parallel environments (one-step actor-critic is its
special case, in :mod:`pgcore.algos.actor_critic`, and shares this loss).

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

import numpy as np
import torch

from ..rl.collect import Rollout
from ..rl.returns import gae_advantages, normalize
from ..training.fields import Field, number, whole
from .base import Algorithm, Preset
from .common import (
    POLICY_GRADIENT_FIELDS,
    HandAgent,
    Loss,
    Stats,
    advantage_stats,
    policy_gradient_panels,
    reduce,
)

# ----- config ---------------------------------------------------------------------------------

N_ENVS = Field(
    "n_envs", 1, "Parallel environments stepped together; one update learns from all of them.",
    whole(1, 1024), label="Parallel environments", options=(1, 2, 4, 8, 16, 32), rank=50,
    help="A2C steps this many CartPoles together and learns from all of them in one batch.",
    cli_help="parallel environments")
N_STEPS = Field(
    "n_steps", 1, "Env steps per environment between updates (the rollout length).",
    whole(1, 10_000), label="Steps per update (n)",
    options=(1, 2, 3, 5, 8, 10, 16, 20, 32, 64, 128), rank=60,
    help="Rollout length per environment: n-step returns.",
    cli_help="env steps per environment between updates")
GAE_LAMBDA = Field(
    "gae_lambda", 1.0, "GAE lambda in [0, 1]: 1 gives plain n-step returns, 0 the one-step "
    "TD error.", number(0.0, 1.0), label="GAE λ", widget="slider", low=0.0, high=1.0,
    step=0.05, advanced=True, rank=160, flag=None,
    help="1: n-step returns; 0: one-step TD errors.")

ROLLOUT_FIELDS = (N_ENVS, N_STEPS, GAE_LAMBDA)
"""What the trainer's ``rollout`` loop reads (``n_envs``, ``n_steps``) and GAE's lambda."""


# ----- the loss -------------------------------------------------------------------------------


def rollout_targets(config, rollout: Rollout, values, next_values):
    """GAE(lambda) advantages A_t and the critic's targets R_t = A_t + V(s_t), both (T, N),
    from V(s_t) and V(s_{t+1}) (T, N, no gradient). ``terminated`` zeroes the bootstrap; a
    ``truncated`` step bootstraps unless ``config.bootstrap_truncated`` is False (the lesson's
    every-end-is-terminal). Shared by A2C and PPO."""
    terminated = rollout.terminated
    if not config.bootstrap_truncated:  # the lesson: every end is terminal
        terminated = terminated | rollout.truncated
    advantages = gae_advantages(rollout.rewards, values, next_values, terminated,
                                rollout.truncated, config.gamma, config.gae_lambda)  # (T, N)
    return advantages, advantages + values


def loss(log_probs: torch.Tensor, entropy: torch.Tensor, advantages: torch.Tensor,
         values: torch.Tensor, targets: torch.Tensor, *, beta: float = 0.0,
         value_coef: float = 0.5, reduction: str = "mean") -> Loss:
    """The actor-critic loss over a batch of B steps (A2C's rollout, or the one-step
    actor-critic's single transition); autograd's gradient of it is the update::

        L =   - reduce_t[ log pi(a_t|s_t) * A_t ]         actor (A_t held constant)
            + value_coef * mean_t[ (V(s_t) - R_t)^2 ]     critic: regress on the target R_t
            - beta * reduce_t[ H(pi(.|s_t)) ]              entropy bonus

    ``log_probs``, ``entropy`` (B,) and ``values`` (B,) carry gradients; ``advantages`` (B,)
    (GAE, or the TD error delta_t for one step) and ``targets`` (B,) (R_t = A_t + V(s_t),
    r + gamma V(s') for one step) are constants.

    A worked example, one step: pi(a|s) = 1/2, delta = 1, V(s) = 0, target 1, value_coef 0.5:
    L = -(log 1/2)(1) + 0.5 (0 - 1)^2 = ln 2 + 0.5.

    >>> terms = loss(torch.log(torch.tensor([0.5])), torch.zeros(1), torch.ones(1),
    ...              torch.zeros(1), torch.ones(1))
    >>> round(terms.total.item(), 4), round(terms.value.item(), 4)
    (1.1931, 1.0)
    """
    policy = -reduce(log_probs * advantages, reduction)
    value = ((values - targets) ** 2).mean()
    entropy_term = reduce(entropy, reduction)
    return Loss(policy + value_coef * value - beta * entropy_term, policy, value, entropy_term)


class ActorCriticAgent(HandAgent):
    """Actor and critic (shared trunk or not) trained on bootstrapped advantages.

    The algorithm is :func:`loss`. This update is its fast path: the same loss, with its
    gradient written out by hand (:class:`~pgcore.algos.common.HandAgent`), which at these
    sizes is several times faster than autograd; ``tests/test_backprop.py`` checks that it
    is autograd's gradient of :func:`loss`."""

    action_spaces = ("Discrete", "Box")  # the loss reads the policy only through the head

    def update(self, rollout: Rollout) -> Stats:
        cfg = self.config
        T, N = rollout.actions.shape[:2]
        # 1. One forward pass over every state s_0 .. s_T of every env.
        obs = rollout.obs.reshape((T + 1) * N, -1)  # ((T+1)N, obs_dim) float32
        outputs, values, cache = self.hand.forward(obs)  # ((T+1)N, out_dim), ((T+1)N,)
        values = values.astype(np.float64).reshape(T + 1, N)  # V(s_0) .. V(s_T)

        # 2. Advantages and the critic's targets (V(s_{t+1}) held fixed).
        advantages, targets = rollout_targets(cfg, rollout, values[:T], values[1:])  # (T, N)
        valid = rollout.valid.reshape(-1)  # (T*N,)
        adv = advantages.reshape(-1)[valid]  # (B,)
        if cfg.normalize_advantages and len(adv) > 1:
            adv = normalize(adv)
        target = targets.reshape(-1)[valid]  # (B,)
        v = values[:T].reshape(-1)[valid]  # (B,)
        B = len(adv)
        actions = rollout.actions.reshape(T * N, *self.head.action_shape)[valid]
        terms = self.head.terms(outputs[: T * N][valid], actions)  # log pi, H: (B,)

        # 3. The loss and its gradient with respect to the outputs and V(s_t):
        #    L = -w sum A_t log pi_t + value_coef mean (V_t - R_t)^2 - beta w sum H_t,
        #    w = 1/B (mean) or 1 (sum), so dL/dlog pi_t = -w A_t, dL/dH_t = -beta w,
        #    dL/dV_t = 2 value_coef (V_t - R_t) / B.
        w = 1.0 if cfg.reduction == "sum" else 1.0 / B
        policy_loss = -w * float(terms.log_prob @ adv)
        value_loss = float(np.mean((v - target) ** 2))
        entropy_term = w * float(terms.entropy.sum())
        loss = policy_loss + cfg.value_coef * value_loss - cfg.entropy_beta * entropy_term
        rows = np.flatnonzero(valid)  # where the learned-from rows sit among (T+1)N
        grad_outputs = np.zeros(outputs.shape, np.float32)
        grad_outputs[rows] = terms.output_grad(-w * adv, -cfg.entropy_beta * w)
        grad_values = np.zeros(len(obs), np.float32)
        grad_values[rows] = 2.0 * cfg.value_coef * (v - target) / B
        self.hand.backward(cache, grad_outputs, grad_values)
        grad_norm = self.step(loss)  # DivergedError on a NaN / inf loss or gradient
        return Stats({"policy_loss": policy_loss, "value_loss": value_loss,
                      "entropy": float(terms.entropy.mean()), "grad_norm": grad_norm,
                      **advantage_stats(adv), "value_mean": float(v.mean()),
                      "target_mean": float(target.mean()), "batch_size": B})


# ----- presets and the registry entry ---------------------------------------------------------

PRESETS = (
    Preset("a2c",
           "A2C over 16 parallel CartPoles, 8-step returns, shared tanh trunk: our tuned default.",
           dict(algo="a2c", lr=3e-3, value_lr=1e-2, hidden=64, shared_layers=1, head_layers=1,
                activation="tanh", ortho_init=True, gamma=0.99, value_coef=0.5,
                max_grad_norm=5.0, n_envs=16, n_steps=8, gae_lambda=1.0, entropy_beta=0.0),
           label="Our default"),
    Preset("a2c-pendulum",
           "A2C on Pendulum-v1 (continuous torque, a Gaussian policy with a learned log-std): "
           "4 parallel pendulums, 5-step GAE(0.9) returns, gamma 0.9, separate tanh actor and "
           "critic. 300k env steps (1500 episodes). Slow and seed-sensitive: after 500 episodes "
           "seeds 0-2 average -1070, -1532 and -1198 over their last 20, from -1133, -1594 and "
           "-1466 (PPO's preset learns Pendulum far more reliably).",
           dict(algo="a2c", env_id="Pendulum-v1", lr=1e-3, value_lr=3e-3, hidden=64,
                shared_layers=0, head_layers=2, activation="tanh", ortho_init=True, gamma=0.9,
                value_coef=0.5, max_grad_norm=None, n_envs=4, n_steps=5, gae_lambda=0.9,
                entropy_beta=0.0, max_episodes=1500),
           label="Pendulum (continuous actions)"),
)

ALGORITHM = Algorithm(
    name="a2c", label="A2C (parallel envs)", title="A2C",
    summary="advantage actor-critic: n-step (GAE) returns over parallel environments",
    fields=(*POLICY_GRADIENT_FIELDS[:1], N_ENVS, N_STEPS, *POLICY_GRADIENT_FIELDS[1:],
            GAE_LAMBDA),
    loop="rollout", make_agent=ActorCriticAgent, presets=PRESETS,
    panels=policy_gradient_panels(), batch_size=lambda config: config.n_envs * config.n_steps)
