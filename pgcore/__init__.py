"""pgcore: policy-gradient agents (REINFORCE, one-step actor-critic, A2C, PPO) and DQN for
contrast, a trainer with live events, checkpoints and a CLI. The engine behind Policy Gradient
Lab; it never imports streamlit.

>>> from pgcore import default_config, train
>>> result = train(default_config("a2c", max_episodes=5))   # doctest: +SKIP

Names are imported lazily (PEP 562), so ``python -m pgcore`` can install its Ctrl-C handling
before torch is loaded.
"""

from importlib import import_module

__version__ = "0.1.0"

_MODULES = ("algos",)
"""Submodules reachable as attributes (``pgcore.algos``), imported on first use."""

_EXPORTS = {
    "PRESETS": "config", "ConfigError": "config", "TrainConfig": "config",
    "default_config": "config", "preset": "config",
    "EnvError": "envs",
    "EpisodeEnd": "events", "Evaluation": "events", "Frame": "events", "RunEnd": "events",
    "UpdateEnd": "events",
    "RunControl": "trainer", "RunResult": "trainer", "Trainer": "trainer", "train": "trainer",
}

__all__ = [*sorted(_EXPORTS), "__version__"]


def __getattr__(name: str):
    if name in _MODULES:
        return import_module(f".{name}", __name__)
    if name in _EXPORTS:
        value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'pgcore' has no attribute {name!r}")


def __dir__():
    return __all__
