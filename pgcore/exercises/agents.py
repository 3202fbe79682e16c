"""pgcore's agents with a learner's function in place of pgcore's own maths, for the exercise
notebooks: train one with ``pgcore.train(config, agent=...)`` and compare its curve with the
reference runs of the same config.

Each factory takes the config and the learner's functions (any left out, pgcore's own) and
returns an agent of that config's algorithm whose update calls them at the point where the
algorithm module calls its own:

* :func:`reinforce_agent`: REINFORCE's returns and loss (exercises 1 and 2);
* :func:`a2c_agent`: A2C's entropy and loss, through autograd (exercise 3; pgcore's own A2C
  computes the same gradient by hand);
* :func:`dqn_agent`: DQN's TD target, target update and Double DQN target (exercises 4-6).

With pgcore's maths the runs learn as pgcore's own agents do (``tests/test_exercises.py``).
Nothing here branches on an algorithm's name. Never imports streamlit.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ..algos.a2c import ActorCriticAgent, rollout_targets
from ..algos.common import Agent, Loss, Stats
from ..algos.dqn import DQNAgent
from ..algos.reinforce import ReinforceAgent
from ..rl.collect import Rollout
from ..rl.envs import spec_for

NAN = float("nan")


def _one_torch_thread() -> None:
    """One torch thread, as the CLI and the app's workers run: at these network sizes more
    threads only add overhead (an autograd A2C update ran ~25x slower on two threads of a busy
    two-core machine). A notebook's process trains one run at a time, so this is its setting."""
    torch.set_num_threads(1)


# ----- REINFORCE (exercises 1 and 2) ----------------------------------------------------------


def _returns_with_bootstrap(fn: Callable) -> Callable:
    """The learner's ``discounted_returns(rewards, gamma)`` as ReinforceAgent calls it, with a
    bootstrap value b after the last step: G_t + gamma^(T - t) b (exact; b = 0 unless a time
    limit cut the episode and there is a critic)."""

    def returns(rewards, gamma: float, bootstrap: float = 0.0) -> np.ndarray:
        g = np.asarray(fn(np.asarray(rewards, dtype=np.float64), gamma), dtype=np.float64)
        if bootstrap:
            g = g + bootstrap * gamma ** np.arange(len(g), 0, -1)
        return g

    return returns


def _policy_loss(fn: Callable) -> Callable:
    """The learner's ``reinforce_loss(log_probs, weights)`` as REINFORCE's loss: the weights
    are the agent's advantages (the returns G_t without a baseline)."""

    def loss(log_probs, entropy, advantages, *, beta=0.0, reduction="mean", values=None,
             returns=None, value_coef=1.0) -> Loss:
        policy = fn(log_probs, advantages)
        entropy_term = entropy.mean()
        return Loss(policy - beta * entropy_term, policy, torch.tensor(NAN), entropy_term)

    return loss


def _baseline_loss(fn: Callable) -> Callable:
    """The learner's ``value_baseline_loss(log_probs, returns, values)`` as REINFORCE's loss:
    it forms the advantage itself from G and V(s)."""

    def loss(log_probs, entropy, advantages, *, beta=0.0, reduction="mean", values=None,
             returns=None, value_coef=1.0) -> Loss:
        policy, value = fn(log_probs, returns, values)
        entropy_term = entropy.mean()
        return Loss(policy + value_coef * value - beta * entropy_term, policy, value,
                    entropy_term)

    return loss


def reinforce_agent(config, discounted_returns: Callable | None = None,
                    reinforce_loss: Callable | None = None,
                    value_baseline_loss: Callable | None = None) -> Agent:
    """A REINFORCE agent for ``config`` computing its returns with the learner's
    ``discounted_returns(rewards, gamma)`` and its loss with ``reinforce_loss(log_probs,
    returns)`` (no baseline) or ``value_baseline_loss(log_probs, returns, values)`` (the
    learned value baseline: ``config.baseline == "value"``)."""
    hooks = {}
    if discounted_returns is not None:
        hooks["discounted_returns"] = staticmethod(_returns_with_bootstrap(discounted_returns))
    if reinforce_loss is not None and value_baseline_loss is not None:
        raise ValueError("give reinforce_loss or value_baseline_loss, not both")
    if reinforce_loss is not None:
        hooks["loss"] = staticmethod(_policy_loss(reinforce_loss))
    if value_baseline_loss is not None:
        if not config.has_critic:
            raise ValueError("value_baseline_loss needs a critic: baseline='value'")
        hooks["loss"] = staticmethod(_baseline_loss(value_baseline_loss))
    cls = type("LearnerReinforceAgent", (ReinforceAgent,), hooks)
    _one_torch_thread()
    return cls(config, spec_for(config))


# ----- A2C with the entropy bonus (exercise 3) ------------------------------------------------


class AutogradA2CAgent(ActorCriticAgent):
    """A2C whose update is autograd's gradient of a loss written in torch (the learner's,
    or :func:`pgcore.algos.a2c.loss`), with ``torch.optim.Adam``: slower than pgcore's
    by-hand update, the same algorithm. ``entropy_fn(logits)`` gives H(pi(.|s)) per state;
    ``loss_fn(log_probs, advantages, values, targets, entropy, beta)`` the total loss (value
    weight 0.5, averaged over the batch)."""

    entropy_fn: Callable | None = None
    loss_fn: Callable | None = None

    def make_optimizer(self, groups: list[dict]):
        return Agent.make_optimizer(self, groups)

    def update(self, rollout: Rollout) -> Stats:
        cfg = self.config
        T, N = rollout.actions.shape[:2]
        obs = torch.as_tensor(rollout.obs).reshape((T + 1) * N, -1)  # ((T+1)N, obs_dim)
        outputs, values = self.net(obs)  # ((T+1)N, A), ((T+1)N,)
        values = values.reshape(T + 1, N)
        v_np = values.detach().double().numpy()
        advantages, targets = rollout_targets(cfg, rollout, v_np[:T], v_np[1:])  # (T, N)
        valid = rollout.valid.reshape(-1)  # (T*N,)
        rows = torch.as_tensor(valid)
        adv = torch.as_tensor(advantages.reshape(-1)[valid], dtype=torch.float32)  # (B,)
        target = torch.as_tensor(targets.reshape(-1)[valid], dtype=torch.float32)  # (B,)
        logits = outputs[: T * N][rows]  # (B, A)
        actions = rollout.actions.reshape(T * N, *self.head.action_shape)[valid]
        log_probs, entropy = self.head.log_prob_entropy(logits, actions)  # (B,), (B,)
        if self.entropy_fn is not None:
            entropy = self.entropy_fn(logits)
        v = values[:T].reshape(-1)[rows]  # (B,)
        if self.loss_fn is not None:
            total = self.loss_fn(log_probs, adv, v, target, entropy, cfg.entropy_beta)
        else:
            from ..algos.a2c import loss

            total = loss(log_probs, entropy, adv, v, target, beta=cfg.entropy_beta,
                         value_coef=cfg.value_coef, reduction=cfg.reduction).total
        grad_norm = self.optimize(total)
        return Stats({"loss": float(total.detach()), "entropy": float(entropy.detach().mean()),
                      "grad_norm": grad_norm, "value_mean": float(v.detach().mean()),
                      "target_mean": float(target.mean()), "batch_size": len(adv)})


def a2c_agent(config, policy_entropy: Callable | None = None,
              actor_critic_loss: Callable | None = None) -> Agent:
    """An A2C agent for ``config`` (value weight 0.5, the loss averaged: A2C's defaults)
    trained through autograd of the learner's ``actor_critic_loss(log_probs, advantages,
    values, targets, entropy, beta)`` with the entropies from ``policy_entropy(logits)``."""
    if actor_critic_loss is not None and (config.value_coef != 0.5
                                          or config.reduction != "mean"):
        raise ValueError("actor_critic_loss is written for value_coef 0.5 and a mean "
                         "over the batch")
    hooks = {"entropy_fn": None if policy_entropy is None else staticmethod(policy_entropy),
             "loss_fn": None if actor_critic_loss is None else staticmethod(actor_critic_loss)}
    cls = type("LearnerA2CAgent", (AutogradA2CAgent,), hooks)
    _one_torch_thread()
    return cls(config, spec_for(config))


# ----- DQN (exercises 4-6) --------------------------------------------------------------------


class LearnerDQNAgent(DQNAgent):
    """DQN whose TD target (plain or Double) and target update call the learner's functions
    where given: ``td_target_fn(rewards, next_q, terminated, truncated, gamma)``,
    ``double_fn(rewards, next_q_online, next_q_target, terminated, gamma)`` and
    ``polyak_fn(target_params, online_params, tau)`` (under ``torch.no_grad()``).

    The replay buffer stores each step's ``terminated`` only (a time-limit cut is stored as
    not terminated, so it bootstraps), so ``truncated`` is all zeros here."""

    td_target_fn: Callable | None = None
    double_fn: Callable | None = None
    polyak_fn: Callable | None = None

    def td_target(self, rewards: np.ndarray, next_obs: np.ndarray,
                  terminated: np.ndarray) -> np.ndarray:
        cfg = self.config
        fn = self.double_fn if cfg.double else self.td_target_fn
        if fn is None:
            return super().td_target(rewards, next_obs, terminated)
        rewards = np.asarray(rewards, dtype=np.float64)
        term = np.asarray(terminated, dtype=np.float64)  # (B,) 0.0 or 1.0
        next_q_target = self.net.target.numpy_forward(next_obs)[0].astype(np.float64)
        if cfg.double:
            next_q_online = self.net.online.numpy_forward(next_obs)[0].astype(np.float64)
            y = fn(rewards, next_q_online, next_q_target, term, cfg.gamma)
        else:
            y = fn(rewards, next_q_target, term, np.zeros_like(term), cfg.gamma)
        return np.asarray(y, dtype=np.float64).reshape(len(rewards))

    def update_target(self) -> None:
        if self.polyak_fn is None:
            return super().update_target()
        with torch.no_grad():
            self.polyak_fn(self.target_params, self.params, self.config.tau)
        return None


def dqn_agent(config, td_target: Callable | None = None, polyak_update: Callable | None = None,
              double_dqn_target: Callable | None = None) -> Agent:
    """A DQN agent for ``config`` using the learner's ``td_target`` (plain DQN),
    ``double_dqn_target`` (``config.double``) and ``polyak_update`` (every target update)."""
    hooks = {"td_target_fn": td_target, "double_fn": double_dqn_target,
             "polyak_fn": polyak_update}
    hooks = {k: None if f is None else staticmethod(f) for k, f in hooks.items()}
    cls = type("LearnerDQNAgent", (LearnerDQNAgent,), hooks)
    _one_torch_thread()
    return cls(config, spec_for(config))

