"""Greedy evaluation and fixed-state probes: how good is the policy *without* exploration,
what does the agent predict about a state, and how much does its greedy choice move.

Training returns understate an epsilon-greedy DQN (one step in a hundred is random) and mix a
stochastic policy's luck into its score, so algorithms are compared on the same footing here:
the greedy action (argmax of pi or of Q) on separate, separately seeded environments.
Evaluating never touches the training environment or the agent's random generators (greedy
acting draws no random numbers), so a run with evaluations learns exactly as one without.

::

    result = evaluate_greedy(agent, "CartPole-v1", episodes=10, seed=10_000, gamma=0.99)
    result.mean_return, result.start_values, result.discounted_returns
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EVAL_SEED_OFFSET = 1_000_003
"""Evaluation episodes of a run with seed s start from seeds s * EVAL_SEED_OFFSET + k, far
from any training seed; every evaluation of a run uses the same start states."""


class GreedyFigures:
    """What a greedy evaluation's episodes add up to, for a record with per-episode
    ``returns``, ``discounted_returns`` and ``start_values`` (:class:`GreedyEvaluation`, the
    trainer's :class:`~pgcore.training.events.Evaluation` event)."""

    returns: tuple[float, ...]
    discounted_returns: tuple[float, ...]
    start_values: tuple[float, ...]

    @property
    def mean_return(self) -> float:
        return mean_return(self.returns)

    @property
    def bias(self) -> float:
        """mean (predicted - collected) over the episodes: > 0 is overestimation."""
        return start_value_bias(self.start_values, self.discounted_returns)


@dataclass(frozen=True)
class GreedyEvaluation(GreedyFigures):
    """Per episode (each a tuple, one entry per episode): the undiscounted return, the
    discounted return ``sum_t gamma^t r_t`` collected from the start state, and what the agent
    predicted for that start state before acting (:meth:`Agent.predicted_value`: V(s_0), or
    max_a Q(s_0, a) for DQN; NaN when the agent predicts no value)."""

    returns: tuple[float, ...]
    discounted_returns: tuple[float, ...]
    start_values: tuple[float, ...]
    lengths: tuple[int, ...]


def mean_return(returns) -> float:
    """The mean of the evaluation episodes' returns (NaN for none)."""
    return float(np.mean(returns)) if len(returns) else float("nan")


def start_value_bias(start_values, discounted_returns) -> float:
    """mean_i (predicted_i - collected_i): what the agent predicted for each start state minus
    the discounted return it then collected; positive means it overestimates (NaN for none).

    >>> start_value_bias([10.0, 4.0], [8.0, 5.0])
    0.5
    """
    if not len(start_values):
        return float("nan")
    return float(np.mean(np.subtract(start_values, discounted_returns)))


def evaluation_seeds(run_seed: int, episodes: int) -> list[int]:
    """The start seeds of a run's evaluation episodes (the same at every evaluation)."""
    base = int(run_seed) * EVAL_SEED_OFFSET + 17
    return [base + k for k in range(episodes)]


def evaluate_greedy(agent, env_id: str, episodes: int, seed: int, gamma: float,
                    env=None) -> GreedyEvaluation:
    """Play ``episodes`` greedy episodes, each reset with its own seed from
    :func:`evaluation_seeds` (``seed`` is the run's seed). ``env`` reuses an open environment.

    >>> # a CartPole agent that always pushes left falls in about 10 steps:
    >>> # evaluate_greedy(agent, "CartPole-v1", 3, 0, 0.99).returns -> (9.0, 10.0, 9.0)
    """
    from ..rl.envs import make_env  # this module stays light: events.py imports its arithmetic

    own = env is None
    env = make_env(env_id) if own else env
    head = agent.head
    returns, discounted, starts, lengths = [], [], [], []
    try:
        for start_seed in evaluation_seeds(seed, episodes):
            obs, _ = env.reset(seed=start_seed)
            obs = np.asarray(obs, dtype=np.float32)
            starts.append(float(agent.predicted_value(obs[None])[0]))
            total, disc, discount, length = 0.0, 0.0, 1.0, 0
            while True:
                action = agent.act(obs[None], greedy=True)[0][0]
                obs, reward, terminated, truncated, _ = env.step(head.to_env(action))
                obs = np.asarray(obs, dtype=np.float32)
                reward = float(reward)
                total += reward
                disc += discount * reward
                discount *= gamma
                length += 1
                if terminated or truncated:
                    break
            returns.append(total)
            discounted.append(disc)
            lengths.append(length)
    finally:
        if own:
            env.close()
    return GreedyEvaluation(tuple(returns), tuple(discounted), tuple(starts), tuple(lengths))


def random_action(space, rng: np.random.Generator):
    """A uniformly random action of a ``Discrete(n)`` (an int in 0..n-1) or a bounded ``Box``
    (float32, uniform in [low, high] per dimension) space, drawn from ``rng``."""
    if hasattr(space, "n"):
        return int(rng.integers(space.n))
    return rng.uniform(space.low, space.high).astype(np.float32)


def probe_states(env_id: str, n: int = 256, seed: int = 12_345) -> np.ndarray:
    """A fixed set of ``n`` states (n, obs_dim) visited by a uniformly random policy from
    seeded resets: the states on which :func:`greedy_flip_fraction` compares two moments of
    a run (the same states for every algorithm and seed; discrete or bounded Box actions)."""
    from ..rl.envs import make_env

    env = make_env(env_id)
    rng = np.random.default_rng(seed)
    states = []
    try:
        obs, _ = env.reset(seed=seed)
        while len(states) < n:
            states.append(np.asarray(obs, dtype=np.float32))
            action = random_action(env.action_space, rng)
            obs, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                obs, _ = env.reset(seed=int(rng.integers(2**31)))
    finally:
        env.close()
    return np.stack(states)


def greedy_actions(agent, states: np.ndarray) -> np.ndarray:
    """The agent's greedy action (argmax pi or argmax Q) in each of ``states`` (n, obs_dim)."""
    return np.asarray(agent.act(states, greedy=True)[0])


def greedy_flip_fraction(before: np.ndarray, after: np.ndarray) -> float:
    """The fraction of probe states whose greedy action changed: mean_i [a_i != a'_i].

    >>> greedy_flip_fraction(np.array([0, 1, 1, 0]), np.array([0, 0, 1, 1]))
    0.5
    """
    before, after = np.asarray(before), np.asarray(after)
    return float(np.mean(before != after)) if before.size else float("nan")
