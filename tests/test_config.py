"""``TrainConfig``: presets validate, bad values fail with a one-line message, it is frozen."""

from __future__ import annotations

import dataclasses

import pytest

from pgcore.training.config import (
    ALGOS,
    PRESETS,
    ConfigError,
    TrainConfig,
    default_config,
    preset,
)


def _assert_one_line(exc_info, *fragments: str) -> None:
    """The message is one plain line and names what is wrong."""
    msg = str(exc_info.value)
    assert msg and "\n" not in msg, msg
    for fragment in fragments:
        assert fragment in msg, f"{fragment!r} not in {msg!r}"


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_validates(name):
    cfg = preset(name)
    assert isinstance(cfg, TrainConfig)
    assert cfg.algo in ALGOS
    assert PRESETS[name].description  # the app shows it
    # a round trip through a plain dict (what a checkpoint stores) gives the same config
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg


def test_expected_presets_exist():
    for name in ("reinforce", "reinforce-normalize", "reinforce-lesson", "reinforce-value-lesson",
                 "actor-critic", "actor-critic-lesson", "a2c"):
        assert name in PRESETS


def test_actor_critic_lesson_preset_keeps_the_lessons_settings():
    # The issue: one shared 128-unit trunk, one Adam at 3e-4, critic weight 0.5, global clip 0.5,
    # truncation treated as terminal, one update per step.
    cfg = preset("actor-critic-lesson")
    assert (cfg.algo, cfg.hidden, cfg.shared_layers) == ("actor-critic", 128, 1)
    assert cfg.lr == 3e-4 and cfg.critic_lr == 3e-4
    assert cfg.value_coef == 0.5 and cfg.max_grad_norm == 0.5
    assert cfg.bootstrap_truncated is False
    assert cfg.n_envs == 1 and cfg.n_steps == 1


def test_lesson_reinforce_presets_use_the_lessons_baselines():
    assert preset("reinforce-lesson").baseline == "normalize"
    assert preset("reinforce-value-lesson").baseline == "value"


def test_default_config_per_algorithm():
    assert default_config("reinforce").baseline == "value"
    assert default_config("reinforce", "none").baseline == "none"
    assert default_config("reinforce", "normalize").baseline == "normalize"
    assert default_config("actor-critic").algo == "actor-critic"
    a2c = default_config("a2c", seed=3)
    assert a2c.algo == "a2c" and a2c.n_envs > 1 and a2c.seed == 3


@pytest.mark.parametrize("bad, fragments", [
    (dict(gamma=0), ["gamma", "(0, 1]", "0"]),
    (dict(gamma=1.5), ["gamma", "1.5"]),
    (dict(gamma=float("nan")), ["gamma"]),
    (dict(lr=-1), ["lr", "-1"]),
    (dict(lr=0.0), ["lr"]),
    (dict(value_lr=-0.1), ["value_lr"]),
    (dict(algo="trpo"), ["trpo", "reinforce", "actor-critic", "a2c", "dqn", "ppo"]),
    (dict(baseline="median"), ["median", "none", "normalize", "value"]),
    (dict(algo="actor-critic", n_envs=2), ["actor-critic", "n_envs"]),
    (dict(algo="actor-critic", n_steps=5), ["actor-critic", "n_steps"]),
    (dict(algo="reinforce", n_envs=4), ["reinforce", "n_envs"]),
    (dict(algo="a2c", baseline="normalize", n_envs=4, n_steps=5), ["normalize", "reinforce"]),
    (dict(max_episodes=None, max_steps=None, max_seconds=None), ["budget"]),
    (dict(max_episodes=0), ["max_episodes"]),
    (dict(max_seconds=-2.0), ["max_seconds"]),
    (dict(entropy_beta=-0.01), ["entropy_beta"]),
    (dict(max_grad_norm=0.0), ["max_grad_norm"]),
    (dict(gae_lambda=1.5), ["gae_lambda"]),
    (dict(hidden=0), ["hidden"]),
    (dict(shared_layers=0, head_layers=0), ["hidden layer"]),
    (dict(n_envs=2.5, algo="a2c"), ["n_envs"]),
    (dict(seed=-1), ["seed"]),
    (dict(seed=True), ["seed"]),
    (dict(reduction="median"), ["reduction"]),
    (dict(activation="gelu"), ["activation"]),
    (dict(env_id=""), ["env_id"]),
])
def test_invalid_values_raise_config_error_with_a_helpful_message(bad, fragments):
    with pytest.raises(ConfigError) as exc_info:
        TrainConfig(**bad)
    _assert_one_line(exc_info, *fragments)


def test_config_error_is_a_value_error():
    # callers that only know ValueError (argparse type= functions, for instance) still catch it
    assert issubclass(ConfigError, ValueError)


def test_a_budget_alone_is_enough():
    TrainConfig(max_episodes=None, max_steps=1000)
    TrainConfig(max_episodes=None, max_seconds=1.5)
    TrainConfig(max_episodes=10)


def test_gamma_one_is_allowed():
    assert TrainConfig(gamma=1.0).gamma == 1.0


def test_from_dict_rejects_unknown_fields():
    with pytest.raises(ConfigError) as exc_info:
        TrainConfig.from_dict({"algo": "reinforce", "learning_rate": 0.1})
    _assert_one_line(exc_info, "learning_rate")
    with pytest.raises(ConfigError):
        TrainConfig.from_dict(["not", "a", "mapping"])


def test_from_dict_validates_values():
    with pytest.raises(ConfigError, match="gamma"):
        TrainConfig.from_dict({"gamma": 2.0})


def test_config_is_frozen():
    cfg = TrainConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.lr = 0.5  # type: ignore[misc]
    assert hash(cfg) == hash(TrainConfig())  # frozen dataclasses hash by value


def test_replace_revalidates():
    cfg = default_config("reinforce")
    new = cfg.replace(lr=3e-4)
    assert new.lr == 3e-4 and cfg.lr != 3e-4  # a new object; the old one is unchanged
    with pytest.raises(ConfigError, match="gamma"):
        cfg.replace(gamma=0)
    with pytest.raises(ConfigError, match="n_envs"):
        dataclasses.replace(default_config("actor-critic"), n_envs=2)


def test_preset_overrides_and_unknown_names():
    cfg = preset("a2c", seed=7, max_episodes=5)
    assert cfg.seed == 7 and cfg.max_episodes == 5
    with pytest.raises(ConfigError) as exc_info:
        preset("no-such-preset")
    _assert_one_line(exc_info, "no-such-preset")
    with pytest.raises(ConfigError):
        preset("a2c", gamma=3.0)  # overrides are validated too
    with pytest.raises(ConfigError, match="trpo"):
        default_config("trpo")


def test_derived_properties():
    assert TrainConfig(algo="reinforce", baseline="value").has_critic
    assert not TrainConfig(algo="reinforce", baseline="none").has_critic
    assert not TrainConfig(algo="reinforce", baseline="normalize").has_critic
    assert TrainConfig(algo="actor-critic").has_critic
    assert TrainConfig(algo="a2c", n_envs=4).has_critic

    assert TrainConfig(lr=1e-3).critic_lr == 1e-3  # value_lr None: same as lr
    assert TrainConfig(lr=1e-3, value_lr=5e-3).critic_lr == 5e-3

    assert TrainConfig(algo="a2c", n_envs=8, n_steps=5).batch_size == 40
    assert TrainConfig(algo="actor-critic").batch_size == 1


def test_to_dict_is_plain_and_complete():
    d = preset("a2c").to_dict()
    assert set(d) == {f.name for f in dataclasses.fields(TrainConfig)}
    assert all(isinstance(v, (str, int, float, bool, type(None))) for v in d.values())


def test_from_dict_ignores_other_algorithms_stored_values():
    """A stored config holds every field with the defaults of its day; another algorithm's
    field must not make it unreadable when that default later changes."""
    stored = default_config("a2c", seed=4).to_dict()
    stored["buffer_size"] = 12_345  # a DQN field, as an older default might have left it
    cfg = TrainConfig.from_dict(stored)
    assert cfg == default_config("a2c", seed=4)
    with pytest.raises(ConfigError, match="n_envs"):  # the algorithm's own fields still count
        TrainConfig.from_dict({**stored, "n_envs": 0})
    with pytest.raises(ConfigError, match="unknown config field"):
        TrainConfig.from_dict({**stored, "no_such_field": 1})
