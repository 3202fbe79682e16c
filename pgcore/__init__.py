"""pgcore: policy-gradient agents (REINFORCE, actor-critic, A2C), a trainer with live events,
checkpoints and a CLI. The engine behind Policy Gradient Lab; it never imports streamlit.

>>> from pgcore import default_config, train
>>> result = train(default_config("a2c", max_episodes=5))   # doctest: +SKIP
"""

from .config import PRESETS, ConfigError, TrainConfig, default_config, preset
from .envs import EnvError
from .events import EpisodeEnd, Frame, RunEnd, UpdateEnd
from .trainer import RunControl, RunResult, Trainer, train

__version__ = "0.1.0"

__all__ = ["PRESETS", "ConfigError", "EnvError", "EpisodeEnd", "Frame", "RunControl", "RunEnd",
           "RunResult", "TrainConfig", "Trainer", "UpdateEnd", "default_config", "preset",
           "train", "__version__"]
