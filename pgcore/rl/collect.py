"""Collecting experience: whole episodes (REINFORCE) and n-step rollouts over vector envs.

Both keep ``terminated`` and ``truncated`` apart and act under ``torch.no_grad()``.
Actions are stored as the policy sampled them; only what the environment is given goes through
the head's ``to_env`` / ``to_envs`` (a Gaussian head clips it to the action bounds there).
A finished episode is reported to ``on_episode(EpisodeInfo)`` as soon as it ends;
``on_step(obs, probs, value, step)`` (optional) sees every step of the first environment
(``step`` counts from 0 within its episode), which
is how the trainer takes an occasional frame without slowing the loop down.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

StepHook = Callable[[np.ndarray, np.ndarray, float, int], None]
"""``on_step(obs, policy, value, step)``: ``policy`` is what the head's ``distribution`` gives
for that state (categorical: the action probabilities)."""


@dataclass
class Episode:
    """One finished episode: what the agent saw, did and got."""

    obs: np.ndarray  # (T, obs_dim) float32, s_0 .. s_{T-1}
    actions: np.ndarray  # (T, *action_shape), the head's action dtype (categorical: int64,
    #                      Gaussian: (T, d) float32, as sampled: not clipped)
    rewards: np.ndarray  # (T,) float
    final_obs: np.ndarray  # (obs_dim,) s_T, the state after the last step
    terminated: bool  # the task ended (nothing to bootstrap)
    truncated: bool  # a time limit cut it (bootstrap from V(s_T) when there is a critic)


@dataclass
class Rollout:
    """``n_steps`` x ``n_envs`` transitions from a next-step-autoreset vector env."""

    obs: np.ndarray  # (T + 1, N, obs_dim): s_0 .. s_T; row T is the bootstrap state
    actions: np.ndarray  # (T, N, *action_shape), the head's action dtype
    rewards: np.ndarray  # (T, N) float
    terminated: np.ndarray  # (T, N) bool
    truncated: np.ndarray  # (T, N) bool
    valid: np.ndarray  # (T, N) bool: False on the dummy reset step after an episode ended


@dataclass(frozen=True)
class EpisodeInfo:
    """Summary of one finished episode."""

    episode_return: float
    length: int
    discounted_return: float
    start_value: float
    truncated: bool


def collect_episode(env, agent, seed: int | None = None,
                    on_step: StepHook | None = None) -> tuple[Episode, EpisodeInfo]:
    """Play one episode with the current policy; ``seed`` only for the run's first reset."""
    obs, _ = env.reset(seed=seed)
    gamma, head = agent.config.gamma, agent.head
    start_value = np.nan
    if agent.config.has_critic:
        start_value = float(agent.value(np.asarray(obs, np.float32)[None])[0])
    observations, actions, rewards = [], [], []
    discounted, discount = 0.0, 1.0
    while True:
        obs = np.asarray(obs, dtype=np.float32)
        action, probs, _ = agent.act(obs[None])
        if on_step is not None:
            on_step(obs, probs[0], start_value if not observations else np.nan, len(observations))
        next_obs, reward, terminated, truncated, _ = env.step(head.to_env(action[0]))
        observations.append(obs)
        actions.append(action[0])
        rewards.append(float(reward))
        discounted += discount * float(reward)
        discount *= gamma
        obs = next_obs
        if terminated or truncated:
            break
    episode = Episode(obs=np.stack(observations),
                      actions=np.asarray(actions, head.action_dtype),
                      rewards=np.asarray(rewards, np.float64),
                      final_obs=np.asarray(obs, np.float32),
                      terminated=bool(terminated), truncated=bool(truncated))
    info = EpisodeInfo(float(sum(rewards)), len(rewards), discounted, start_value,
                       bool(truncated and not terminated))
    return episode, info


class VecCollector:
    """Steps a next-step-autoreset vector env and cuts its stream into :class:`Rollout` s.

    After an environment ends (terminated or truncated), its next step is the vector env's
    reset step: reward 0, action ignored. That transition is marked ``valid = False`` and is
    neither learned from nor counted as an environment step.
    """

    def __init__(self, env, agent, seed: int):
        self.env, self.agent = env, agent
        self.n = env.num_envs
        obs, _ = env.reset(seed=seed)
        self.obs = np.asarray(obs, dtype=np.float32)  # (N, obs_dim)
        self.prev_done = np.zeros(self.n, dtype=bool)  # next step is a reset step
        self.fresh = np.ones(self.n, dtype=bool)  # obs is an episode's first state
        self.ep_return = np.zeros(self.n)
        self.ep_length = np.zeros(self.n, dtype=np.int64)
        self.ep_discounted = np.zeros(self.n)
        self.ep_discount = np.ones(self.n)
        self.start_value = np.full(self.n, np.nan)
        self.env_steps = 0  # valid environment steps so far (reset steps excluded)

    def collect(self, n_steps: int, on_episode: Callable[[EpisodeInfo], None],
                on_step: StepHook | None = None,
                should_stop: Callable[[], bool] | None = None) -> tuple[Rollout, int]:
        """``n_steps`` vector steps; returns the rollout and the number of valid env steps.
        ``should_stop()``, if given, is asked before each vector step after the first (it
        may block, e.g. while a run is paused; it draws no random numbers): if it says
        True the rollout ends there, shorter. A rollout is thousands of env steps (PPO on
        Pendulum: 4 x 1,024), so a stop or pause asked for only between rollouts would wait
        for all of them and the update after."""
        N, gamma = self.n, self.agent.config.gamma
        obs_buf = np.empty((n_steps + 1, N, self.obs.shape[1]), dtype=np.float32)
        head = self.agent.head
        actions = np.empty((n_steps, N, *head.action_shape), dtype=head.action_dtype)
        rewards = np.empty((n_steps, N), dtype=np.float64)
        terminated = np.empty((n_steps, N), dtype=bool)
        truncated = np.empty((n_steps, N), dtype=bool)
        valid = np.empty((n_steps, N), dtype=bool)
        for t in range(n_steps):
            if t and should_stop is not None and should_stop():
                n_steps = t
                obs_buf, actions, rewards = obs_buf[: t + 1], actions[:t], rewards[:t]
                terminated, truncated, valid = terminated[:t], truncated[:t], valid[:t]
                break
            obs_buf[t] = self.obs
            starting = self.fresh & ~self.prev_done
            need_values = on_step is not None or bool(starting.any())
            action, probs, values = self.agent.act(self.obs, with_value=need_values)
            if need_values:
                self.start_value[starting] = values[starting]
                self.fresh[starting] = False
            if on_step is not None and not self.prev_done[0]:
                on_step(self.obs[0], probs[0], float(values[0]), int(self.ep_length[0]))
            next_obs, reward, term, trunc, _ = self.env.step(head.to_envs(action))
            ok = ~self.prev_done
            actions[t], rewards[t], valid[t] = action, reward, ok
            terminated[t], truncated[t] = term & ok, trunc & ok
            # episode bookkeeping for the valid steps
            self.ep_return[ok] += reward[ok]
            self.ep_length[ok] += 1
            self.ep_discounted[ok] += self.ep_discount[ok] * reward[ok]
            self.ep_discount[ok] *= gamma
            self.env_steps += int(ok.sum())
            done = (term | trunc) & ok
            for i in np.flatnonzero(done):
                on_episode(EpisodeInfo(float(self.ep_return[i]), int(self.ep_length[i]),
                                       float(self.ep_discounted[i]), float(self.start_value[i]),
                                       bool(trunc[i] and not term[i])))
                self.ep_return[i] = self.ep_discounted[i] = 0.0
                self.ep_length[i] = 0
                self.ep_discount[i] = 1.0
            self.fresh |= self.prev_done  # a reset step just delivered a first state
            self.prev_done = done
            self.obs = np.asarray(next_obs, dtype=np.float32)
        obs_buf[n_steps] = self.obs
        rollout = Rollout(obs_buf, actions, rewards, terminated, truncated, valid)
        return rollout, int(valid.sum())
