"""The algorithm registry: one module per algorithm, one entry here.

Config validation, the trainer's dispatch, the CLI's ``--algo`` choices and flags, the Train
page's widgets and labels, the experiments and the reference bands all read this registry;
nothing outside an algorithm's own module branches on its name. Adding an algorithm is
writing ``pgcore/algos/<name>.py`` (ending in ``ALGORITHM = Algorithm(...)``) and adding its
module to :data:`_MODULES` (see docs/architecture.md).

>>> names()
('reinforce', 'actor-critic', 'a2c', 'dqn', 'ppo')
>>> get("a2c").title
'A2C'
>>> get("ppo").label
'PPO (clipped surrogate)'
>>> get("trpo")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
pgcore.training.fields.ConfigError: unknown algorithm 'trpo': choose one of reinforce,
actor-critic, ..., ppo
"""

from __future__ import annotations

from ..training.fields import ConfigError, Field
from . import a2c, actor_critic, dqn, ppo, reinforce
from .base import LOOPS, Algorithm, Panel, Preset
from .common import Agent, DivergedError

_MODULES = (reinforce, actor_critic, a2c, dqn, ppo)

REGISTRY: dict[str, Algorithm] = {m.ALGORITHM.name: m.ALGORITHM for m in _MODULES}


def names() -> tuple[str, ...]:
    """Every registered algorithm, in display order."""
    return tuple(REGISTRY)


def get(name: str) -> Algorithm:
    """The algorithm called ``name``, or a one-line :class:`ConfigError`."""
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown algorithm {name!r}: choose one of "
                          f"{', '.join(REGISTRY)}") from None


def algorithm_fields() -> tuple[Field, ...]:
    """Every field some algorithm adds, each once (algorithms may share a field object)."""
    seen: dict[str, Field] = {}
    for algo in REGISTRY.values():
        for f in algo.fields:
            if f.name in seen and seen[f.name] is not f:
                raise RuntimeError(f"{algo.name} declares its own {f.name!r}; share the field "
                                   "object of the algorithm that declared it first")
            seen.setdefault(f.name, f)
    return tuple(seen.values())


def owners(field_name: str) -> tuple[str, ...]:
    """The algorithms that use ``field_name``."""
    return tuple(a.name for a in REGISTRY.values() if any(f.name == field_name for f in a.fields))


def make_agent(config, spec) -> Agent:
    """A fresh, seeded agent for ``config`` on an env with ``spec`` (:class:`EnvSpec`)."""
    return get(config.algo).make_agent(config, spec)


__all__ = ["LOOPS", "REGISTRY", "Agent", "Algorithm", "DivergedError", "Panel", "Preset",
           "algorithm_fields", "get", "make_agent", "names", "owners"]
