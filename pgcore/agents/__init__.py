"""Agents: each owns its loss and ``update()``. ``make_agent`` picks one for a config."""

from ..config import TrainConfig
from .actor_critic import ActorCriticAgent, Rollout
from .base import Agent, DivergedError, UpdateStats, policy_terms, sample_actions
from .reinforce import Episode, ReinforceAgent, reinforce_advantages


def make_agent(config: TrainConfig, obs_dim: int, n_actions: int) -> Agent:
    """A fresh, seeded agent for ``config`` (REINFORCE, or actor-critic for both AC and A2C)."""
    cls = ReinforceAgent if config.algo == "reinforce" else ActorCriticAgent
    return cls(config, obs_dim, n_actions)


__all__ = ["Agent", "ActorCriticAgent", "DivergedError", "Episode", "ReinforceAgent", "Rollout",
           "UpdateStats", "make_agent", "policy_terms", "reinforce_advantages", "sample_actions"]
