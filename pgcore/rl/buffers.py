"""Replay memory: a fixed-capacity ring of transitions, sampled uniformly (DQN).

One transition is ``(s, a, r, s', terminated)``. Only ``terminated`` is stored: it is the one
flag the TD target needs (it zeroes the bootstrap). A time-limit truncation is stored as *not*
terminated, so its target bootstraps from Q(s', .) like any other step; the agent decides
that (see :meth:`pgcore.algos.dqn.DQNAgent.remember`) before calling :meth:`ReplayBuffer.add`.

When the ring is full the oldest transition is overwritten. Sampling draws indices uniformly,
with replacement, from the agent's own seeded generator: same seed, same minibatches.

>>> buf = ReplayBuffer(capacity=3, obs_dim=1)
>>> for t in range(5):                       # five transitions into three slots
...     buf.add([t], 0, float(t), [t + 1], False)
>>> len(buf), buf.rewards[: len(buf)].tolist()   # 3 and 4 overwrote 0 and 1
(3, [3.0, 4.0, 2.0])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Transitions:
    """A minibatch of ``B`` transitions (numpy arrays)."""

    obs: np.ndarray  # (B, obs_dim) float32, s
    actions: np.ndarray  # (B, *action_shape), the head's action dtype
    rewards: np.ndarray  # (B,) float32, r
    next_obs: np.ndarray  # (B, obs_dim) float32, s'
    terminated: np.ndarray  # (B,) bool: s' is a true end (no bootstrap)


@dataclass
class Transition:
    """The one transition ``(s, a, r, s', terminated, truncated)`` the one-step actor-critic
    learns from, kept by its agent between ``remember`` and ``update`` (DQN keeps a
    :class:`ReplayBuffer` instead)."""

    obs: np.ndarray  # (obs_dim,) float32, s
    action: np.ndarray  # (*action_shape,), the head's action dtype
    reward: float  # r
    next_obs: np.ndarray  # (obs_dim,) float32, s'
    terminated: bool  # s' is a true end: no bootstrap
    truncated: bool  # a time limit cut the episode at s': bootstrap from V(s')


class ReplayBuffer:
    """A ring over the last ``capacity`` transitions."""

    def __init__(self, capacity: int, obs_dim: int, action_shape: tuple = (),
                 action_dtype=np.int64):
        self.capacity = int(capacity)
        self.obs = np.zeros((capacity, obs_dim), dtype=np.float32)  # (C, obs_dim)
        self.next_obs = np.zeros((capacity, obs_dim), dtype=np.float32)  # (C, obs_dim)
        self.actions = np.zeros((capacity, *action_shape), dtype=action_dtype)  # (C, ...)
        self.rewards = np.zeros(capacity, dtype=np.float32)  # (C,)
        self.terminated = np.zeros(capacity, dtype=bool)  # (C,)
        self.pos = 0  # the slot the next transition goes into
        self.size = 0  # filled slots, at most capacity
        self.added = 0  # transitions ever added

    def __len__(self) -> int:
        return self.size

    def add(self, obs, action, reward: float, next_obs, terminated: bool) -> None:
        """Store one transition, overwriting the oldest once the ring is full."""
        i = self.pos
        self.obs[i] = obs
        self.actions[i] = action
        self.rewards[i] = reward
        self.next_obs[i] = next_obs
        self.terminated[i] = terminated
        self.pos = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)
        self.added += 1

    def sample(self, batch_size: int, rng: np.random.Generator) -> Transitions:
        """``batch_size`` transitions drawn uniformly (with replacement) with ``rng``.

        >>> buf = ReplayBuffer(capacity=4, obs_dim=1)
        >>> for t in range(4):
        ...     buf.add([t], t % 2, 1.0, [t + 1], t == 3)
        >>> a = buf.sample(3, np.random.default_rng(7)).obs.ravel().tolist()
        >>> b = buf.sample(3, np.random.default_rng(7)).obs.ravel().tolist()
        >>> a == b                                # same seed, same minibatch
        True
        """
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        idx = rng.integers(0, self.size, size=batch_size)  # (B,)
        return Transitions(self.obs[idx], self.actions[idx], self.rewards[idx],
                           self.next_obs[idx], self.terminated[idx])

    # ----- checkpoint-free state (for tests and copies) ------------------------------------
    def state(self) -> dict:
        """The filled part of the ring as plain arrays, oldest first."""
        order = np.roll(np.arange(self.size), -self.pos if self.size == self.capacity else 0)
        return {"obs": self.obs[order], "actions": self.actions[order],
                "rewards": self.rewards[order], "next_obs": self.next_obs[order],
                "terminated": self.terminated[order]}
