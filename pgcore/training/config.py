"""One frozen, validated configuration for every training run, plus named presets.

A :class:`TrainConfig` is built once (from CLI flags, app widgets or a preset), validated in
``__post_init__`` and never mutated: ``dataclasses.replace(cfg, lr=3e-4)`` makes a new one, and
validates it again. Invalid values raise :class:`ConfigError` whose message is one plain sentence,
so the CLI can print it and exit 2 and the app can show it next to the widget.

Its fields are the run-level ones below (:data:`RUN_FIELDS`: environment, seed, network,
optimiser, budgets) plus the fields each registered algorithm adds (:mod:`pgcore.algos`):
``baseline`` comes from REINFORCE's module, ``n_envs`` from A2C's. A config is flat, so a dict of
it is plain data (checkpoints, reference files, ``sweep --set``). A field that the config's
algorithm does not use must keep its default.

Presets are the per-algorithm defaults (tuned to learn CartPole-v1 reliably), the lesson's
exact settings (``*-lesson``) and plain REINFORCE (``reinforce-plain``: no baseline, where the
lesson starts); each algorithm module declares its own.
"""

from __future__ import annotations

import dataclasses

from .. import algos
from ..algos.base import Preset
from .fields import (
    ConfigError,
    Field,
    boolean,
    is_number,
    non_empty_text,
    number,
    one_of,
    optional,
    positive,
    whole,
)

__all__ = ["ALGOS", "DEFAULT_PRESET", "PRESETS", "RUN_FIELDS", "ConfigError", "Preset",
           "TrainConfig", "default_config", "preset"]

ACTIVATIONS = ("relu", "tanh")

RUN_FIELDS: tuple[Field, ...] = (
    Field("algo", "reinforce",
          "Which algorithm: one of the registered names (``pgcore.algos.names()``).",
          lambda name, v: algos.get(v) and None, flag=None),
    Field("env_id", "CartPole-v1",
          "Gymnasium environment id. Needs a flat Box observation and actions a policy head fits.",
          non_empty_text("a non-empty Gymnasium environment id"), flag="--env",
          cli_help="Gymnasium env id (default CartPole-v1)"),
    Field("seed", 0, "Seeds torch (weights), the action sampler and the environments: same "
          "seed, same run.", whole(0, 2**31 - 1), label="Seed", widget="number", low=0,
          high=2**31 - 1, step=1, rank=80, flag=None, help="Same seed and settings, same run."),
    Field("gamma", 0.99, "Discount factor in (0, 1]: how much a reward one step later is worth.",
          number(0.0, 1.0, low_open=True), label="Discount γ", rank=20,
          options=(0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.999, 1.0),
          help="How much a reward one step later is worth.",
          cli_help="discount factor in (0, 1]"),
    Field("lr", 1e-3, "Adam learning rate for the policy (and for a shared trunk).",
          number(0.0, 1.0, low_open=True, what="learning rate"), label="Learning rate",
          options=algos.common.LR_OPTIONS, format="g", rank=10,
          help="Adam's step size for the policy (and a shared trunk).",
          cli_help="policy (and shared trunk) learning rate; the critic keeps its own"),
    Field("hidden", 128, "Units in every hidden layer.", whole(1, 4096), label="Hidden units",
          options=(16, 32, 64, 128, 256, 512), rank=40, flag=None,
          help="Units in every hidden layer."),
    Field("shared_layers", 0, "Hidden layers shared by actor and critic (the trunk). 0 means "
          "two separate networks.", whole(0, 8), label="Shared layers (trunk)", widget="number",
          low=0, high=4, step=1, advanced=True, rank=130, flag=None,
          help="Hidden layers shared by actor and critic; 0 = two networks."),
    Field("head_layers", 2, "Hidden layers in each head on top of the trunk (actor head and "
          "critic head).", whole(0, 8), label="Layers per head", widget="number", low=0,
          high=4, step=1, advanced=True, rank=140, flag=None,
          help="Hidden layers in each head on top of the trunk."),
    Field("activation", "relu", "Hidden-layer nonlinearity: ``relu`` (the lesson) or ``tanh``.",
          one_of(ACTIVATIONS), label="Activation", widget="radio", options=ACTIVATIONS,
          advanced=True, rank=170, flag=None),
    Field("ortho_init", False, "Orthogonal weight init with a near-zero policy output layer "
          "(uniform first policy), as Stable-Baselines3 does; ``False`` keeps PyTorch's default "
          "init (the lesson).", boolean(), label="Orthogonal init", widget="checkbox",
          advanced=True, rank=190, flag=None,
          help="Orthogonal weights and a near-uniform first policy."),
    Field("max_grad_norm", None, "Clip the global gradient norm to this value before each "
          "step; ``None`` = no clipping.",
          optional(positive(), what="a positive number or None"),
          label="Gradient clipping (max norm)", format="off", advanced=True, rank=150, flag=None,
          options=(None, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0),
          help="Rescale the whole gradient when its norm exceeds this.", kind="float | None"),
    Field("bootstrap_truncated", True, "On a time-limit truncation, bootstrap from V(s') "
          "instead of treating s' as terminal. ``False`` reproduces the lesson, which treats "
          "``terminated or truncated`` as the end.", boolean(),
          label="Bootstrap truncated episodes", widget="checkbox", advanced=True, rank=210,
          flag=None, help="At the 500-step time limit, use V(s') instead of treating the end "
                          "as terminal (the lesson treats it as terminal)."),
    Field("max_episodes", 1000, "Budget: stop after this many finished episodes (``None`` = "
          "no episode cap).", optional(whole(1, 10**9)), label="Episode budget", kind="int | None",
          widget="number", low=10, high=20_000, step=100, rank=70, flag=None,
          help="Stop after this many episodes (at most 20,000)."),
    Field("max_steps", None, "Budget: stop after this many environment steps (``None`` = no "
          "step cap).", optional(whole(1, 10**9)), flag=None, kind="int | None"),
    Field("eval_every", None, "Greedy evaluation every this many env steps (``None`` = "
          "off): ``eval_episodes`` episodes with the greedy action on separate seeded "
          "environments, reported as :class:`~pgcore.training.events.Evaluation` events.",
          optional(whole(1, 10**9)), flag="--eval-every", kind="int | None",
          label="Greedy evaluation every", format="off", advanced=True, rank=230,
          options=(None, 1_000, 2_000, 5_000, 10_000, 20_000),
          help="Every this many env steps, play `eval_episodes` (10) episodes with the greedy "
               "action on separate, seeded environments and mark their mean on the returns "
               "chart. Not counted as training time, and it does not change what the run "
               "learns.",
          cli_help="greedy evaluation every N env steps (off by default)"),
    Field("eval_every_episodes", None, "Greedy evaluation every this many training episodes "
          "(``None`` = off); may be combined with ``eval_every``.",
          optional(whole(1, 10**9)), flag=None, kind="int | None"),
    Field("eval_episodes", 10, "Episodes per greedy evaluation.", whole(1, 1000),
          flag="--eval-episodes", cli_help="episodes per greedy evaluation"),
    Field("max_seconds", None, "Budget: stop after this much training wall time, pauses "
          "excluded (``None`` = no cap).", optional(positive(), what="a positive number or None"),
          label="Time budget (seconds)", widget="number", low=10, high=1800, step=60,
          advanced=True, rank=220, flag=None, kind="float | None",
          help="Every run also stops after this long (at most 1800)."),
)
"""The fields every run has, whatever its algorithm."""


class _ConfigMethods:
    """Behaviour of :class:`TrainConfig` (its fields are assembled from the registry)."""

    __slots__ = ()

    def __post_init__(self) -> None:
        _validate(self)

    # ----- derived values -------------------------------------------------------------------
    @property
    def algorithm(self) -> algos.Algorithm:
        """The registry entry of ``algo``."""
        return algos.get(self.algo)

    @property
    def has_critic(self) -> bool:
        """Whether the run learns a value function V(s)."""
        return bool(self.algorithm.has_critic(self))

    @property
    def critic_lr(self) -> float:
        """The learning rate actually used for the critic's own layers."""
        return self.lr if self.value_lr is None else self.value_lr

    @property
    def batch_size(self) -> int:
        """Transitions per update (REINFORCE: one whole episode, reported as 1)."""
        return self.algorithm.batch_size(self)

    def to_dict(self) -> dict:
        """Plain dict of the fields (JSON- and checkpoint-safe)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        """Build from a dict, rejecting unknown keys with a clear message.

        A stored dict (a checkpoint's, a reference file's) holds every field, also those of
        other algorithms, with the defaults of the day it was written. Those values mean
        nothing for this config's algorithm, so they are dropped and today's defaults used:
        changing another algorithm's default never makes an old file unreadable.
        """
        if not isinstance(data, dict):
            raise ConfigError("config must be a mapping of field names to values")
        unknown = sorted(set(data) - set(FIELDS))
        if unknown:
            raise ConfigError(f"unknown config field(s): {', '.join(map(str, unknown))}")
        algo = data.get("algo", FIELDS["algo"].default)
        if algo in algos.REGISTRY:  # an unknown one fails below, with its own message
            foreign = {f.name for f in _ALGORITHM_FIELDS} - {f.name for f in algos.get(algo).fields}
            data = {k: v for k, v in data.items() if k not in foreign}
        return cls(**data)

    def replace(self, **changes) -> TrainConfig:
        """A validated copy with some fields changed."""
        return dataclasses.replace(self, **changes)


_ALGORITHM_FIELDS = algos.algorithm_fields()
FIELDS: dict[str, Field] = {f.name: f for f in (*RUN_FIELDS, *_ALGORITHM_FIELDS)}
"""Every config field by name: the run-level ones, then each algorithm's."""

TrainConfig = dataclasses.make_dataclass(
    "TrainConfig",
    [(f.name, f.type, dataclasses.field(default=f.default, metadata={"doc": f.doc}))
     for f in FIELDS.values()],
    bases=(_ConfigMethods,), frozen=True)
# pickles (to spawn workers) as pgcore.training.config.TrainConfig
TrainConfig.__module__ = __name__
TrainConfig.__doc__ = (
    "Everything that defines a training run. Frozen: use ``dataclasses.replace`` to vary it.\n\n"
    + "\n".join(f"* ``{f.name}`` (default ``{f.default!r}``): {f.doc}" for f in FIELDS.values()))


def _validate(c) -> None:
    algorithm = algos.get(c.algo)
    for f in FIELDS.values():
        reason = f.check(getattr(c, f.name))
        if reason:
            raise ConfigError(reason)
    if c.shared_layers + c.head_layers < 1:
        raise ConfigError("the network needs at least one hidden layer "
                          "(shared_layers + head_layers >= 1)")
    if c.max_episodes is None and c.max_steps is None and c.max_seconds is None:
        raise ConfigError("set at least one budget: max_episodes, max_steps or max_seconds")
    if algorithm.validate is not None:
        reason = algorithm.validate(c)
        if reason:
            raise ConfigError(reason)
    used = {f.name for f in algorithm.fields}
    for f in _ALGORITHM_FIELDS:
        value = getattr(c, f.name)
        if f.name not in used and not _same(value, f.default):
            raise ConfigError(f"{f.name} {value!r} applies to {', '.join(algos.owners(f.name))} "
                              f"only, not to {c.algo}")


def _same(a, b) -> bool:
    if is_number(a) and is_number(b) and not isinstance(a, bool) and not isinstance(b, bool):
        return float(a) == float(b)
    return a == b


# ----- presets --------------------------------------------------------------------------------

PRESETS: dict[str, Preset] = {p.name: p for a in algos.REGISTRY.values() for p in a.presets}
"""Every algorithm's presets by name."""

DEFAULT_PRESET: dict[str, str] = {a.name: a.default.name for a in algos.REGISTRY.values()}
"""Each algorithm's first preset: where the Train page starts when that algorithm is picked."""

ALGOS: tuple[str, ...] = algos.names()


def preset(name: str, **overrides) -> TrainConfig:
    """The named preset's config with ``overrides``; unknown names raise ConfigError."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}")
    return PRESETS[name].config(**overrides)


def default_config(algo: str = "reinforce", baseline: str | None = None,
                   **overrides) -> TrainConfig:
    """Our tuned defaults for ``algo`` (and, for REINFORCE, ``baseline``), plus overrides."""
    if baseline is not None:
        overrides["baseline"] = baseline
    return preset(algos.get(algo).preset_for(overrides).name, **overrides)
