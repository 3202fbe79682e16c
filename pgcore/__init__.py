"""pgcore: the engine behind Policy Gradient Lab; it never imports streamlit.

It holds the agents, one module each in :mod:`pgcore.algos` with its loss written in torch:
REINFORCE (no baseline, normalised returns or a learned value baseline), the one-step
actor-critic, A2C, PPO and, for contrast, DQN (replay buffer, target network or Polyak
averaging, Double DQN). Policy heads (:mod:`pgcore.rl.heads`) cover discrete actions (softmax)
and continuous ones (a Gaussian); DQN cuts a continuous action space into a grid. Around them:
a trainer with typed live events, pause/stop and budgets; greedy evaluations; experiments
(grids of configs x seeds in parallel processes, the app's run hosts or a Ray cluster); the run
history; reference runs; safe checkpoints; and the ``python -m pgcore`` CLI (train, eval,
sweep, gradvar), which can also write an app page's setup as a command, a script and a
notebook (:mod:`pgcore.cli.export`). See docs/architecture.md for where each part lives.

>>> from pgcore import default_config, train
>>> result = train(default_config("a2c", max_episodes=5))   # doctest: +SKIP

Names are imported lazily (PEP 562), so ``python -m pgcore`` can install its Ctrl-C handling
before torch is loaded.
"""

from importlib import import_module

__version__ = "0.1.0"

_MODULES = ("algos",)
"""Submodules reachable as attributes (``pgcore.algos``), imported on first use."""

_CONFIG, _EVENTS, _TRAINER = "training.config", "training.events", "training.trainer"
_EXPORTS = {
    "PRESETS": _CONFIG, "ConfigError": _CONFIG, "TrainConfig": _CONFIG,
    "default_config": _CONFIG, "preset": _CONFIG,
    "EnvError": "rl.envs",
    "EpisodeEnd": _EVENTS, "Evaluation": _EVENTS, "Frame": _EVENTS, "RunEnd": _EVENTS,
    "UpdateEnd": _EVENTS,
    "RunControl": _TRAINER, "RunResult": _TRAINER, "Trainer": _TRAINER, "train": _TRAINER,
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
