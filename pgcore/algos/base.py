"""What an algorithm module hands the registry: one :class:`Algorithm` record.

An algorithm module (``reinforce.py``, ``actor_critic.py``, ``a2c.py``) reads top to bottom:
its config fields, its loss and ``update()``, its presets, and at the bottom one
``ALGORITHM = Algorithm(...)`` that says everything the rest of pgcore and the app need to
know: its name and labels, which fields it adds to :class:`~pgcore.training.config.TrainConfig`,
which loop it runs (:data:`LOOPS`), how to build its agent, its live diagnostic panels, its presets.
Nothing outside the module branches on the name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..training.fields import Field

LOOPS = ("episode", "rollout", "transition")
"""The trainer's loop kinds: ``episode`` (play a whole episode, then ``update(Episode)``),
``rollout`` (``n_steps`` from each of ``n_envs`` vector envs, then ``update(Rollout)``; the
algorithm must have the ``n_envs`` and ``n_steps`` fields) and ``transition`` (one env step
at a time into the agent's memory with ``agent.remember(obs, action, reward, next_obs,
terminated, truncated)``, then ``update(agent.buffer)`` whenever
``agent.update_due(env_steps)``: DQN's replay memory, the one-step actor-critic's last
transition)."""


@dataclass(frozen=True)
class Preset:
    """A named starting point: a short description and the fields it sets."""

    name: str
    description: str
    values: dict = field(default_factory=dict)
    label: str = ""
    """Short label for the Train page's preset picker (defaults to the name)."""

    def config(self, **overrides):
        """The preset's config, with ``overrides`` applied on top (then validated)."""
        from ..training.config import TrainConfig

        return TrainConfig(**{**self.values, **overrides})


@dataclass(frozen=True)
class Panel:
    """One live diagnostic chart: a statistic ``update()`` reports, its title and y scale."""

    key: str
    title: str
    scale: str = "linear"
    """``linear``, ``log`` or ``symlog``."""
    column: int = 0
    """Which column of the diagnostics grid it stacks in."""
    needs_critic: bool = False
    """Drawn only when the run has a critic."""


@dataclass(frozen=True)
class Algorithm:
    """Everything pgcore and the app need to know about one algorithm."""

    name: str
    """The ``algo`` value (``--algo``), e.g. ``"a2c"``."""
    label: str
    """For pickers: ``"A2C (parallel envs)"``."""
    title: str
    """For sentences and legends: ``"A2C"``."""
    summary: str
    """One line for ``--help``."""
    fields: tuple[Field, ...]
    """The config fields it uses beyond the run-level ones, in widget order. A field it does
    not list must keep its default in its configs."""
    loop: str
    """One of :data:`LOOPS`."""
    make_agent: Callable
    """``make_agent(config, spec)``: a fresh, seeded agent with ``act``, ``update``, ``net``."""
    presets: tuple[Preset, ...]
    """The first is where the Train page starts for this algorithm (its :attr:`default`;
    REINFORCE's is plain REINFORCE, where the lesson starts); ``default_preset`` may name
    another as the tuned default that :func:`~pgcore.training.config.default_config` builds on."""
    panels: tuple[Panel, ...] = ()
    has_critic: Callable = lambda config: True
    """Whether a config of this algorithm learns V(s)."""
    validate: Callable | None = None
    """``validate(config)``: None or a one-line reason for combinations its fields allow."""
    default_preset: Callable | None = None
    """``default_preset(overrides) -> preset name``: which default to start from when the
    overrides say something (REINFORCE picks its normalised-returns default for
    ``baseline="none"``); None: always the first preset."""
    variant_fields: tuple[str, ...] = ()
    """Fields that make a different "kind" of run within the algorithm (REINFORCE's
    ``baseline``): reference bands and default configs are matched on them."""
    batch_size: Callable = lambda config: 1
    """Transitions per update (REINFORCE: one episode, reported as 1)."""
    diverged_hint: str = ("Try a smaller learning rate, gradient clipping, or a smaller "
                          "entropy bonus.")
    """What to change when a run of it diverges (the end message's second sentence)."""
    no_critic_hint: str = ""
    """What the Train page says where the critic's V(s) chart would be, for a run without a
    critic (REINFORCE: pick the value baseline to get one)."""
    notes: Callable = lambda config: None
    """``notes(config)``: markdown the Train page shows beside a run of this config (the
    lesson's collapsing actor-critic), or None."""
    frame_stats: tuple[tuple[str, str], ...] = ()
    """``(statistic, sentence)`` pairs the Train page shows under the frame with the latest
    value of that update statistic, e.g. DQN's ``("epsilon", "ε = {:.3f}: ...")``."""
    greedy_label: str = "Always take the most likely action"
    """The "watch the agent" toggle: act greedily instead of as in training."""
    explore_help: str = "Off: sample actions from π(·|s), as in training."
    """What the toggle's off position does."""

    def __post_init__(self):
        if self.loop not in LOOPS:
            raise ValueError(f"{self.name}: loop must be one of {LOOPS}, got {self.loop!r}")
        if not self.presets:
            raise ValueError(f"{self.name}: needs at least one preset (its default)")

    @property
    def default(self) -> Preset:
        return self.presets[0]

    def preset_for(self, overrides: dict) -> Preset:
        if self.default_preset is None:
            return self.default
        name = self.default_preset(overrides)
        return next(p for p in self.presets if p.name == name)
