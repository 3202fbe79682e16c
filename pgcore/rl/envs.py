"""Environment construction and the check that an environment fits our agents.

Our agents need a flat ``Box`` observation and an action space that a policy head
(:mod:`pgcore.rl.heads`) fits. Anything else is rejected here with a one-line :class:`EnvError`
(the CLI turns it into exit status 2). ``env_spec(env_id, action_bins=K)`` cuts a ``Box``
action space into K values per dimension (:class:`~pgcore.rl.heads.BinnedHead`, for DQN); asking
that of a discrete space is a one-line :class:`~pgcore.training.fields.ConfigError`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import gymnasium as gym

from ..training.fields import ConfigError
from .heads import Head, NoHeadError, binned_head, head_for


class EnvError(ValueError):
    """The environment id is unknown or its spaces do not fit a policy head."""


@dataclass(frozen=True)
class EnvSpec:
    """What the agent needs to know about an environment: its observation size and its
    action space, with the policy head that fits it."""

    env_id: str
    obs_dim: int
    head: Head

    @property
    def n_actions(self) -> int | None:
        """Discrete actions: how many; None for continuous (Box) actions."""
        return getattr(self.head, "n", None)

    @classmethod
    def discrete(cls, obs_dim: int, n_actions: int, env_id: str = "") -> EnvSpec:
        """A spec for ``obs_dim`` observations and ``n_actions`` discrete actions (tests, toy
        problems: no environment is looked up)."""
        from .heads import CategoricalHead

        return cls(env_id, obs_dim, CategoricalHead(n_actions))

    @classmethod
    def box(cls, obs_dim: int, low: tuple[float, ...], high: tuple[float, ...],
            env_id: str = "") -> EnvSpec:
        """A spec for ``obs_dim`` observations and continuous actions in [low, high] (one
        bound per action dimension; tests, toy problems: no environment is looked up)."""
        from .heads import GaussianHead

        return cls(env_id, obs_dim, GaussianHead(tuple(map(float, low)), tuple(map(float, high))))

    @classmethod
    def binned(cls, obs_dim: int, low: tuple[float, ...], high: tuple[float, ...], bins: int,
               env_id: str = "") -> EnvSpec:
        """A spec for ``obs_dim`` observations and continuous actions in [low, high] cut into
        ``bins`` values per dimension (tests: no environment is looked up)."""
        from .heads import BinnedHead

        return cls(env_id, obs_dim, BinnedHead(tuple(map(float, low)), tuple(map(float, high)),
                                               int(bins)))


def _check_spaces(env_id: str, obs_space, act_space, action_bins: int | None = None) -> EnvSpec:
    try:
        head = head_for(act_space)
    except NoHeadError as exc:
        raise EnvError(f"{env_id}: {exc}") from None
    if not isinstance(obs_space, gym.spaces.Box) or len(obs_space.shape) != 1:
        raise EnvError(f"{env_id} needs a flat Box observation, got {obs_space}")
    if action_bins is not None:
        head = _binned(env_id, head, action_bins)
    return EnvSpec(env_id, int(obs_space.shape[0]), head)


def _binned(env_id: str, head: Head, bins: int) -> Head:
    """``head``'s Box cut into ``bins`` values per dimension, or a one-line ConfigError."""
    if head.describe()["type"] != "Box":
        raise ConfigError(f"--action-bins only applies to continuous (Box) action spaces; "
                          f"{env_id} is discrete")
    try:
        return binned_head(head, bins)
    except NoHeadError as exc:
        raise ConfigError(f"--action-bins {bins} does not fit {env_id}: {exc}") from None


def env_spec(env_id: str, action_bins: int | None = None) -> EnvSpec:
    """Look the environment up and check its spaces, without keeping it open. With
    ``action_bins`` (a config's, for DQN) a Box action space becomes ``action_bins ** d``
    discrete joint actions (:class:`~pgcore.rl.heads.BinnedHead`)."""
    env = make_env(env_id)
    try:
        return _check_spaces(env_id, env.observation_space, env.action_space, action_bins)
    finally:
        env.close()


def spec_for(config) -> EnvSpec:
    """The spec a run of ``config`` acts in: its env, its ``action_bins`` (DQN) and, for a
    Gaussian head, whether the mean is squashed (``squash_mean``)."""
    spec = env_spec(config.env_id, config.action_bins)
    if spec.head.kind == "gaussian" and spec.head.squash != config.squash_mean:
        spec = dataclasses.replace(spec, head=dataclasses.replace(spec.head,
                                                                  squash=config.squash_mean))
    return spec


def make_env(env_id: str, render_mode: str | None = None) -> gym.Env:
    """One environment (with its registered time limit), or :class:`EnvError`."""
    try:
        return gym.make(env_id, render_mode=render_mode)
    except gym.error.Error as exc:  # unknown id, missing version, missing dependency
        raise EnvError(f"cannot make environment {env_id!r}: {_first_line(exc)}") from None
    except ImportError as exc:
        raise EnvError(f"environment {env_id!r} needs a package that is not installed: "
                       f"{_first_line(exc)}") from None


def make_vec_env(env_id: str, n_envs: int) -> gym.vector.VectorEnv:
    """``n_envs`` copies stepped together, with next-step autoreset.

    Uses Gymnasium's numpy-vectorised implementation when the environment has one
    (CartPole-v1 does), else a synchronous vector of single environments. Both reset an
    environment on the step *after* it ended: that step is a dummy (reward 0, the action is
    ignored) which the rollout masks out, and the observation returned on the ending step is
    the true final state, which is what a truncated step bootstraps from.
    """
    try:
        env = gym.make_vec(env_id, num_envs=n_envs, vectorization_mode="vector_entry_point")
    except (gym.error.Error, ValueError, TypeError, AttributeError):
        try:
            env = gym.make_vec(env_id, num_envs=n_envs, vectorization_mode="sync")
        except gym.error.Error as exc:
            raise EnvError(f"cannot make environment {env_id!r}: {_first_line(exc)}") from None
    mode = env.metadata.get("autoreset_mode")
    if mode is not None and mode != gym.vector.AutoresetMode.NEXT_STEP:
        env.close()
        raise EnvError(f"{env_id}: expected next-step autoreset from the vector env, got {mode}")
    _check_spaces(env_id, env.single_observation_space, env.single_action_space)
    return env


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__

