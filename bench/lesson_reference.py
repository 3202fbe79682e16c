"""The lesson's three agents, re-implemented for comparison: same behaviour, our own code.

This module is the yardstick the benchmarks measure pgcore against. It reproduces what the
lesson's code *does* -- network sizes, optimisers, learning rates, loss reductions, the order
in which random numbers are drawn -- and, deliberately, *how* it does it: every env step runs
the policy with autograd on, builds a ``torch.distributions.Categorical`` and keeps the
resulting log-probability (and its graph) until the update. That per-step style is exactly
what pgcore avoids, so keeping it here is the point of the speed comparison.

The three agents:

* ``reinforce``: Monte Carlo policy gradient. Returns are standardised within each episode
  (mean 0, unbiased std + 1e-8), the loss is the *sum* over steps of -log pi(a_t|s_t) G_t,
  one Adam step at 1e-3 per episode. Policy: 4-128-128-2 ReLU MLP with a softmax.
* ``reinforce-value``: the same policy plus a separate 4-128-128-1 critic. Advantage
  G_t - V(s_t) with V detached (raw returns, no standardisation); summed policy loss;
  critic trained by mean squared error on G_t; two Adams, both at 1e-3.
* ``actor-critic``: one-step actor-critic. A shared Linear(4,128)+ReLU trunk feeds an actor
  head (128-128-2) and a critic head (128-128-1); one Adam at 3e-4; loss = -log pi * delta
  (delta detached) + 0.5 * delta^2; global gradient norm clipped at 0.5; an update every env
  step. Terminated *or truncated* zeroes V(s') (the lesson treats a time-limit cut as the end).
  Each env step runs the network twice: once on s to act, once on s' for the target, and the
  second pass also samples an (unused) action, which advances torch's RNG like the lesson.

Seeding, as the lesson would be run: ``torch.manual_seed(seed)`` before the networks are
built, ``env.reset(seed=seed)`` for the first episode only (later resets continue the env's
own RNG). Actions are sampled from torch's global RNG.

``run_lesson(algo, seed, episodes)`` trains one agent and returns per-episode returns, env
steps and wall seconds (and the part of those seconds spent in updates).
"""

from __future__ import annotations

import time

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Categorical

ALGOS = ("reinforce", "reinforce-value", "actor-critic")
_ALIASES = {"reinforce-baseline": "reinforce-value", "reinforce-normalize": "reinforce",
            "actor-critic-lesson": "actor-critic", "ac": "actor-critic"}


def _mlp(sizes: list[int]) -> nn.Sequential:
    """Linear layers of the given widths with a ReLU between consecutive ones."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def _as_batch(state) -> torch.Tensor:
    return torch.FloatTensor(np.asarray(state)).unsqueeze(0)


def _discounted(rewards: list[float], gamma: float) -> torch.Tensor:
    """G_t = r_t + gamma * G_{t+1}, computed backwards in Python floats like the lesson."""
    out = [0.0] * len(rewards)
    running = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        running = rewards[t] + gamma * running
        out[t] = running
    return torch.FloatTensor(out)


class SoftmaxPolicy(nn.Module):
    """pi(a|s): an MLP whose softmax output is the action distribution."""

    def __init__(self, obs_dim: int, n_actions: int, hidden: int = 128):
        super().__init__()
        self.body = _mlp([obs_dim, hidden, hidden, n_actions])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.softmax(self.body(x), dim=-1)

    def sample(self, state) -> tuple[int, torch.Tensor]:
        """Draw an action with autograd on; the log-prob keeps its graph for the update."""
        dist = Categorical(self(_as_batch(state)))
        a = dist.sample()
        return int(a.item()), dist.log_prob(a)


class ReinforceLesson:
    """Monte Carlo REINFORCE with per-episode standardised returns and a summed loss."""

    def __init__(self, obs_dim: int, n_actions: int, lr: float = 1e-3, gamma: float = 0.99):
        self.gamma = gamma
        self.policy = SoftmaxPolicy(obs_dim, n_actions)
        self.opt = torch.optim.Adam(self.policy.parameters(), lr=lr)
        self.log_probs: list[torch.Tensor] = []
        self.rewards: list[float] = []

    def act(self, state) -> int:
        action, log_prob = self.policy.sample(state)
        self.log_probs.append(log_prob)
        return action

    def observe(self, reward: float) -> None:
        self.rewards.append(float(reward))

    def end_episode(self) -> None:
        g = _discounted(self.rewards, self.gamma)
        g = (g - g.mean()) / (g.std() + 1e-8)
        loss = -(torch.cat(self.log_probs) * g).sum()
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        self.log_probs.clear()
        self.rewards.clear()


class ReinforceValueLesson(ReinforceLesson):
    """REINFORCE with a learned V(s) baseline: separate critic, two Adams."""

    def __init__(self, obs_dim: int, n_actions: int, lr: float = 1e-3, value_lr: float = 1e-3,
                 gamma: float = 0.99):
        super().__init__(obs_dim, n_actions, lr=lr, gamma=gamma)  # the policy is built first
        self.critic = _mlp([obs_dim, 128, 128, 1])
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=value_lr)
        self.states: list[np.ndarray] = []

    def act(self, state) -> int:
        self.states.append(np.asarray(state))
        return super().act(state)

    def end_episode(self) -> None:
        g = _discounted(self.rewards, self.gamma)
        v = self.critic(torch.FloatTensor(np.array(self.states))).squeeze(-1)
        adv = g - v.detach()
        policy_loss = -(torch.cat(self.log_probs) * adv).sum()
        value_loss = F.mse_loss(v, g)
        self.opt.zero_grad()
        policy_loss.backward()
        self.opt.step()
        self.critic_opt.zero_grad()
        value_loss.backward()
        self.critic_opt.step()
        self.log_probs.clear()
        self.rewards.clear()
        self.states.clear()


class ActorCriticLesson:
    """One-step actor-critic on a shared trunk, updated after every environment step."""

    def __init__(self, obs_dim: int, n_actions: int, lr: float = 3e-4, gamma: float = 0.99,
                 value_coef: float = 0.5, max_grad_norm: float = 0.5, hidden: int = 128):
        self.gamma, self.value_coef, self.max_grad_norm = gamma, value_coef, max_grad_norm
        # Built in this order (trunk, actor, critic) so the seeded initial weights match.
        self.trunk = nn.Sequential(nn.Linear(obs_dim, hidden), nn.ReLU())
        self.actor = _mlp([hidden, hidden, n_actions])
        self.critic = _mlp([hidden, hidden, 1])
        self.params = [*self.trunk.parameters(), *self.actor.parameters(),
                       *self.critic.parameters()]
        self.opt = torch.optim.Adam(self.params, lr=lr)

    def evaluate(self, state) -> tuple[int, torch.Tensor, torch.Tensor]:
        """Sample an action at ``state``; return it with log pi(a|s) and V(s), graphs kept."""
        h = self.trunk(_as_batch(state))
        dist = Categorical(F.softmax(self.actor(h), dim=-1))
        a = dist.sample()
        return int(a.item()), dist.log_prob(a), self.critic(h).squeeze()

    def learn(self, log_prob: torch.Tensor, value: torch.Tensor, reward: float,
              next_value: torch.Tensor, done: float) -> None:
        target = reward + self.gamma * next_value.detach() * (1.0 - done)
        delta = target - value
        loss = -log_prob * delta.detach() + self.value_coef * delta.pow(2)
        self.opt.zero_grad()
        loss.sum().backward()
        nn.utils.clip_grad_norm_(self.params, max_norm=self.max_grad_norm)
        self.opt.step()


def canonical_algo(algo: str) -> str:
    algo = _ALIASES.get(algo, algo)
    if algo not in ALGOS:
        raise ValueError(f"unknown lesson algorithm {algo!r}: choose one of {', '.join(ALGOS)}")
    return algo


def run_lesson(algo: str, seed: int, episodes: int, env_id: str = "CartPole-v1",
               stop_at: float | None = None) -> dict:
    """Train the lesson's ``algo`` for ``episodes`` episodes (or until the 100-episode average
    reaches ``stop_at``). Returns ``dict(algo, seed, returns, steps, seconds, update_seconds)``:
    per-episode return, env steps, wall seconds (including the update) and the part of those
    seconds spent updating."""
    algo = canonical_algo(algo)
    torch.manual_seed(seed)
    env = gym.make(env_id)
    obs_dim, n_actions = env.observation_space.shape[0], env.action_space.n
    returns: list[float] = []
    steps: list[int] = []
    seconds: list[float] = []
    update_seconds: list[float] = []
    window_sum = 0.0
    try:
        if algo == "actor-critic":
            agent = ActorCriticLesson(obs_dim, n_actions)
        elif algo == "reinforce-value":
            agent = ReinforceValueLesson(obs_dim, n_actions)
        else:
            agent = ReinforceLesson(obs_dim, n_actions)
        for ep in range(episodes):
            t0 = time.perf_counter()
            state, _ = env.reset(seed=seed if ep == 0 else None)
            total, n, t_update = 0.0, 0, 0.0
            done = False
            if algo == "actor-critic":
                while not done:
                    action, log_prob, value = agent.evaluate(state)
                    state, reward, terminated, truncated, _ = env.step(action)
                    _, _, next_value = agent.evaluate(state)
                    done = terminated or truncated
                    tu = time.perf_counter()
                    agent.learn(log_prob, value, float(reward), next_value, float(done))
                    t_update += time.perf_counter() - tu
                    total += reward
                    n += 1
            else:
                while not done:
                    state, reward, terminated, truncated, _ = env.step(agent.act(state))
                    agent.observe(reward)
                    done = terminated or truncated
                    total += reward
                    n += 1
                tu = time.perf_counter()
                agent.end_episode()
                t_update = time.perf_counter() - tu
            seconds.append(time.perf_counter() - t0)
            update_seconds.append(t_update)
            returns.append(float(total))
            steps.append(n)
            window_sum += total
            if len(returns) > 100:
                window_sum -= returns[-101]
            if stop_at is not None and len(returns) >= 100 and window_sum / 100 >= stop_at:
                break
    finally:
        env.close()
    return {"algo": algo, "seed": seed, "returns": returns, "steps": steps, "seconds": seconds,
            "update_seconds": update_seconds}


if __name__ == "__main__":  # a quick look: python bench/lesson_reference.py reinforce 0 50
    import sys

    torch.set_num_threads(1)
    a = sys.argv[1] if len(sys.argv) > 1 else "reinforce"
    s = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    n_ep = int(sys.argv[3]) if len(sys.argv) > 3 else 50
    out = run_lesson(a, s, n_ep)
    total_steps, total_sec = sum(out["steps"]), sum(out["seconds"])
    print(f"{a} seed {s}: {n_ep} episodes, last-10 mean return "
          f"{np.mean(out['returns'][-10:]):.1f}, {total_steps / total_sec:,.0f} env steps/s")
