"""Typed events the trainer emits. The app, the CLI and the tests consume the same stream."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from .evaluation import GreedyFigures


@dataclass(frozen=True)
class EpisodeEnd:
    """An episode finished (in A2C, in whichever environment finished it)."""

    episode: int
    """1-based count of finished episodes, including this one."""
    episode_return: float
    """Undiscounted sum of rewards (CartPole: steps the pole stayed up)."""
    length: int
    """Steps in the episode."""
    env_steps: int
    """Total environment steps of the run when this episode ended."""
    wall_seconds: float
    """Training wall time when it ended (pauses excluded)."""
    discounted_return: float
    """sum_t gamma^t r_t from the first state: what V(s_0) should predict."""
    start_value: float
    """The critic's V(s_0) when the episode began (NaN without a critic)."""
    truncated: bool = False
    """True if a time limit ended it (CartPole-v1: 500 steps), False if the task did."""


@dataclass(frozen=True)
class UpdateEnd:
    """A gradient step was taken. ``stats`` holds the named scalars the algorithm's
    ``update()`` reported; they read as attributes too (``event.policy_loss``).

    The policy-gradient algorithms report ``policy_loss``, ``value_loss`` (NaN without a
    critic), ``entropy`` (mean H(pi(.|s)) over the batch, in nats; CartPole's max is
    ln 2 = 0.693), ``grad_norm`` (before clipping), ``advantage_mean``, ``advantage_std``,
    ``advantage_rms``, ``value_mean`` (mean V(s_t), NaN without a critic), ``target_mean`` (what
    the critic regresses on) and ``batch_size``. A new statistic is one more key.
    """

    update: int
    env_steps: int
    episodes: int
    wall_seconds: float
    stats: Mapping[str, float] = field(default_factory=dict)

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self.__dict__["stats"][name]
        except KeyError:
            raise AttributeError(f"UpdateEnd has no statistic {name!r}") from None


@dataclass(frozen=True)
class Frame:
    """A look at the agent playing: the state, what its head says about it (pi(.|s) for a
    policy, Q(s, .) for DQN), V(s), and an RGB image if renderable."""

    episode: int
    """The episode being played (1-based; one more than the episodes finished so far)."""
    step: int
    """Steps taken so far in that episode by the environment shown."""
    obs: np.ndarray
    probs: np.ndarray
    """The agent's head's ``distribution`` for this state (categorical: the action
    probabilities; DQN: the Q-values)."""
    value: float
    rgb: np.ndarray | None = field(default=None, repr=False)
    head: object = field(default=None, repr=False)
    """The agent's head (:mod:`pgcore.rl.heads`): ``head.overlay(probs, names)`` is what a frame
    shows about the state. None: the env's policy head."""


@dataclass(frozen=True)
class Evaluation(GreedyFigures):
    """A greedy evaluation finished (``eval_every`` env steps or ``eval_every_episodes``
    episodes into the run): :class:`pgcore.training.evaluation.GreedyEvaluation` per-episode
    tuples."""

    env_steps: int
    """The run's env steps when it was taken (training is paused meanwhile)."""
    episodes: int
    """Training episodes finished by then."""
    returns: tuple[float, ...]
    discounted_returns: tuple[float, ...]
    """sum_t gamma^t r_t of each greedy episode, from its start state."""
    start_values: tuple[float, ...]
    """What the agent predicted for each start state (V(s_0), or max_a Q(s_0, a))."""


@dataclass(frozen=True)
class RunEnd:
    """The run is over. ``reason`` is one of :data:`END_REASONS`."""

    reason: str
    message: str
    episodes: int
    env_steps: int
    wall_seconds: float


END_REASONS = ("max_episodes", "max_steps", "max_seconds", "stopped", "diverged", "error")

Event = EpisodeEnd | UpdateEnd | Evaluation | Frame | RunEnd
