"""One frozen, validated configuration for every training run, plus named presets.

A :class:`TrainConfig` is built once (from CLI flags, app widgets or a preset), validated in
``__post_init__`` and never mutated: ``dataclasses.replace(cfg, lr=3e-4)`` makes a new one, and
validates it again. Invalid values raise :class:`ConfigError` whose message is one plain sentence,
so the CLI can print it and exit 2 and the app can show it next to the widget.

Presets are the per-algorithm defaults (tuned to learn CartPole-v1 reliably) and the lesson's
exact settings (``*-lesson``), kept so the app can reproduce what the lesson's code does.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

ALGOS = ("reinforce", "actor-critic", "a2c")
BASELINES = ("none", "normalize", "value")
REDUCTIONS = ("mean", "sum")
ACTIVATIONS = ("relu", "tanh")


class ConfigError(ValueError):
    """A configuration value is out of range or two values do not fit together."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run. Frozen: use ``dataclasses.replace`` to vary it."""

    algo: str = "reinforce"
    """Which algorithm: ``reinforce`` (Monte Carlo, one update per episode), ``actor-critic``
    (one-step TD actor-critic, an update every env step) or ``a2c`` (n-step advantage
    actor-critic over ``n_envs`` parallel environments)."""

    env_id: str = "CartPole-v1"
    """Gymnasium environment id. Needs a flat Box observation and Discrete actions."""

    seed: int = 0
    """Seeds torch (weights), the action sampler and the environments: same seed, same run."""

    gamma: float = 0.99
    """Discount factor in (0, 1]: how much a reward one step later is worth."""

    lr: float = 1e-3
    """Adam learning rate for the policy (and for a shared trunk)."""

    value_lr: float | None = None
    """Adam learning rate for the critic's own layers; ``None`` means the same as ``lr``."""

    hidden: int = 128
    """Units in every hidden layer."""

    shared_layers: int = 0
    """Hidden layers shared by actor and critic (the trunk). 0 means two separate networks."""

    head_layers: int = 2
    """Hidden layers in each head on top of the trunk (actor head and critic head)."""

    activation: str = "relu"
    """Hidden-layer nonlinearity: ``relu`` (the lesson) or ``tanh``."""

    ortho_init: bool = False
    """Orthogonal weight init with a near-zero policy output layer (uniform first policy),
    as Stable-Baselines3 does; ``False`` keeps PyTorch's default init (the lesson)."""

    baseline: str = "value"
    """REINFORCE only: ``none`` (raw returns G_t), ``normalize`` (returns standardised per
    episode) or ``value`` (a learned V(s); advantage G_t - V(s_t) with V detached)."""

    entropy_beta: float = 0.0
    """Entropy bonus: maximise J + beta * H(pi), so ``beta * H`` is subtracted from the loss."""

    value_coef: float = 0.5
    """Weight of the critic's loss in the total loss (matters when a trunk is shared)."""

    max_grad_norm: float | None = None
    """Clip the global gradient norm to this value before each step; ``None`` = no clipping."""

    n_envs: int = 1
    """Parallel environments (A2C). Actor-critic and REINFORCE use one."""

    n_steps: int = 1
    """Env steps per environment between updates (A2C's rollout length; 1 for actor-critic)."""

    gae_lambda: float = 1.0
    """GAE lambda in [0, 1]: 1 gives plain n-step returns, 0 the one-step TD error."""

    normalize_advantages: bool = False
    """Standardise the advantages of each update batch (mean 0, std 1)."""

    bootstrap_truncated: bool = True
    """On a time-limit truncation, bootstrap from V(s') instead of treating s' as terminal.
    ``False`` reproduces the lesson, which treats ``terminated or truncated`` as the end."""

    reduction: str = "mean"
    """How the policy loss combines time steps: ``mean`` or ``sum`` (the lesson sums)."""

    max_episodes: int | None = 1000
    """Budget: stop after this many finished episodes (``None`` = no episode cap)."""

    max_steps: int | None = None
    """Budget: stop after this many environment steps (``None`` = no step cap)."""

    max_seconds: float | None = None
    """Budget: stop after this much training wall time, pauses excluded (``None`` = no cap)."""

    def __post_init__(self) -> None:
        _validate(self)

    # ----- derived values -------------------------------------------------------------------
    @property
    def has_critic(self) -> bool:
        """Whether the run learns a value function V(s)."""
        return self.algo != "reinforce" or self.baseline == "value"

    @property
    def critic_lr(self) -> float:
        """The learning rate actually used for the critic's own layers."""
        return self.lr if self.value_lr is None else self.value_lr

    @property
    def batch_size(self) -> int:
        """Transitions per update for actor-critic / A2C (REINFORCE: one whole episode)."""
        return self.n_envs * self.n_steps

    def to_dict(self) -> dict:
        """Plain dict of the fields (JSON- and checkpoint-safe)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        """Build from a dict, rejecting unknown keys with a clear message."""
        if not isinstance(data, dict):
            raise ConfigError("config must be a mapping of field names to values")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown config field(s): {', '.join(unknown)}")
        return cls(**data)

    def replace(self, **changes) -> TrainConfig:
        """A validated copy with some fields changed."""
        return dataclasses.replace(self, **changes)


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _validate(c: TrainConfig) -> None:
    def fail(msg: str) -> None:
        raise ConfigError(msg)

    if c.algo not in ALGOS:
        fail(f"unknown algorithm {c.algo!r}: choose one of {', '.join(ALGOS)}")
    if c.baseline not in BASELINES:
        fail(f"unknown baseline {c.baseline!r}: choose one of {', '.join(BASELINES)}")
    if c.activation not in ACTIVATIONS:
        fail(f"activation must be one of {', '.join(ACTIVATIONS)}, got {c.activation!r}")
    if not isinstance(c.ortho_init, bool) or not isinstance(c.normalize_advantages, bool) \
            or not isinstance(c.bootstrap_truncated, bool):
        fail("ortho_init, normalize_advantages and bootstrap_truncated must be true or false")
    if c.reduction not in REDUCTIONS:
        fail(f"reduction must be one of {', '.join(REDUCTIONS)}, got {c.reduction!r}")
    if not isinstance(c.env_id, str) or not c.env_id.strip():
        fail("env_id must be a non-empty Gymnasium environment id")
    if not isinstance(c.seed, int) or isinstance(c.seed, bool) or not 0 <= c.seed < 2**31:
        fail(f"seed must be a whole number from 0 to {2**31 - 1}, got {c.seed!r}")
    if not _is_number(c.gamma) or not 0.0 < c.gamma <= 1.0:
        fail(f"gamma must be in (0, 1], got {c.gamma!r}")
    for name in ("lr", "value_lr"):
        v = getattr(c, name)
        if v is None and name == "value_lr":
            continue
        if not _is_number(v) or not 0.0 < v <= 1.0:
            fail(f"{name} (learning rate) must be a number in (0, 1], got {v!r}")
    _int_in(c.hidden, "hidden", 1, 4096)
    _int_in(c.shared_layers, "shared_layers", 0, 8)
    _int_in(c.head_layers, "head_layers", 0, 8)
    if c.shared_layers + c.head_layers < 1:
        fail("the network needs at least one hidden layer (shared_layers + head_layers >= 1)")
    if not _is_number(c.entropy_beta) or not 0.0 <= c.entropy_beta <= 1.0:
        fail(f"entropy_beta must be in [0, 1], got {c.entropy_beta!r}")
    if not _is_number(c.value_coef) or not 0.0 < c.value_coef <= 100.0:
        fail(f"value_coef must be in (0, 100], got {c.value_coef!r}")
    if c.max_grad_norm is not None and (not _is_number(c.max_grad_norm) or c.max_grad_norm <= 0):
        fail(f"max_grad_norm must be a positive number or None, got {c.max_grad_norm!r}")
    _int_in(c.n_envs, "n_envs", 1, 1024)
    _int_in(c.n_steps, "n_steps", 1, 10_000)
    if not _is_number(c.gae_lambda) or not 0.0 <= c.gae_lambda <= 1.0:
        fail(f"gae_lambda must be in [0, 1], got {c.gae_lambda!r}")
    if c.algo == "actor-critic" and (c.n_envs != 1 or c.n_steps != 1):
        fail("actor-critic is one-step: n_envs and n_steps must both be 1 (use a2c for more)")
    if c.algo == "reinforce" and c.n_envs != 1:
        fail("reinforce plays one episode at a time: n_envs must be 1 (use a2c for more)")
    if c.algo != "reinforce" and c.baseline != "value":
        fail(f"baseline {c.baseline!r} applies to reinforce only; {c.algo} always uses V(s)")
    for name in ("max_episodes", "max_steps"):
        v = getattr(c, name)
        if v is not None:
            _int_in(v, name, 1, 10**9)
    if c.max_seconds is not None and (not _is_number(c.max_seconds) or c.max_seconds <= 0):
        fail(f"max_seconds must be a positive number or None, got {c.max_seconds!r}")
    if c.max_episodes is None and c.max_steps is None and c.max_seconds is None:
        fail("set at least one budget: max_episodes, max_steps or max_seconds")


def _int_in(v, name: str, lo: int, hi: int) -> None:
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise ConfigError(f"{name} must be a whole number from {lo} to {hi}, got {v!r}")


# ----- presets --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preset:
    """A named starting point: a short description and the fields it sets."""

    name: str
    description: str
    values: dict = field(default_factory=dict)

    def config(self, **overrides) -> TrainConfig:
        """The preset's config, with ``overrides`` applied on top (then validated)."""
        return TrainConfig(**{**self.values, **overrides})


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        Preset(
            "reinforce",
            "REINFORCE with a learned value baseline: our tuned default.",
            dict(algo="reinforce", baseline="value", lr=1e-3, value_lr=1e-2, hidden=128,
                 shared_layers=0, head_layers=2, activation="tanh", ortho_init=True,
                 gamma=0.99, reduction="mean"),
        ),
        Preset(
            "reinforce-normalize",
            "REINFORCE with per-episode normalised returns: our tuned default.",
            dict(algo="reinforce", baseline="normalize", lr=1e-3, hidden=128,
                 shared_layers=0, head_layers=2, activation="tanh", ortho_init=True,
                 gamma=0.99, reduction="mean"),
        ),
        Preset(
            "reinforce-lesson",
            "The lesson's REINFORCE as written: normalised returns, Adam 1e-3, summed loss.",
            dict(algo="reinforce", baseline="normalize", lr=1e-3, hidden=128,
                 shared_layers=0, head_layers=2, gamma=0.99, reduction="sum",
                 bootstrap_truncated=False),
        ),
        Preset(
            "reinforce-value-lesson",
            "The lesson's REINFORCE with a value baseline: two Adams at 1e-3, summed loss.",
            dict(algo="reinforce", baseline="value", lr=1e-3, value_lr=1e-3, hidden=128,
                 shared_layers=0, head_layers=2, gamma=0.99, reduction="sum",
                 bootstrap_truncated=False),
        ),
        Preset(
            "actor-critic",
            "One-step actor-critic that learns CartPole-v1: separate actor and critic, no "
            "gradient clipping, a critic that learns 10x faster than the actor: our default.",
            dict(algo="actor-critic", lr=1e-4, value_lr=1e-3, hidden=128, shared_layers=0,
                 head_layers=2, activation="tanh", gamma=0.99, value_coef=0.5,
                 max_grad_norm=None, n_envs=1, n_steps=1),
        ),
        Preset(
            "actor-critic-lesson",
            "The lesson's one-step actor-critic as written (shared 128-unit trunk, Adam 3e-4, "
            "value weight 0.5, global clip 0.5, truncation treated as terminal): it collapses.",
            dict(algo="actor-critic", lr=3e-4, value_lr=None, hidden=128, shared_layers=1,
                 head_layers=1, gamma=0.99, value_coef=0.5, max_grad_norm=0.5,
                 bootstrap_truncated=False, n_envs=1, n_steps=1, reduction="sum"),
        ),
        Preset(
            "a2c",
            "A2C over 16 parallel CartPoles, 8-step returns, shared tanh trunk: our tuned default.",
            dict(algo="a2c", lr=3e-3, value_lr=1e-2, hidden=64, shared_layers=1, head_layers=1,
                 activation="tanh", ortho_init=True, gamma=0.99, value_coef=0.5,
                 max_grad_norm=5.0, n_envs=16, n_steps=8, gae_lambda=1.0, entropy_beta=0.0),
        ),
    ]
}

DEFAULT_PRESET = {"reinforce": "reinforce", "actor-critic": "actor-critic", "a2c": "a2c"}
LESSON_PRESET = {"reinforce": "reinforce-lesson", "actor-critic": "actor-critic-lesson"}


def preset(name: str, **overrides) -> TrainConfig:
    """The named preset's config with ``overrides``; unknown names raise ConfigError."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}")
    return PRESETS[name].config(**overrides)


def default_config(algo: str = "reinforce", baseline: str | None = None,
                   **overrides) -> TrainConfig:
    """Our tuned defaults for ``algo`` (and, for REINFORCE, ``baseline``), plus overrides."""
    if algo not in ALGOS:
        raise ConfigError(f"unknown algorithm {algo!r}: choose one of {', '.join(ALGOS)}")
    name = DEFAULT_PRESET[algo]
    if algo == "reinforce" and baseline in ("none", "normalize"):
        name = "reinforce-normalize"
    if baseline is not None:
        overrides["baseline"] = baseline
    return preset(name, **overrides)
