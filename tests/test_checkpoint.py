"""Checkpoints: round trip, and every kind of bad file rejected with a one-line CheckpointError."""

from __future__ import annotations

import builtins
import io
import pickle

import numpy as np
import pytest
import torch

from pgcore import default_config, train
from pgcore.algos import make_agent
from pgcore.rl.envs import EnvSpec
from pgcore.training.checkpoint import (
    FORMAT_VERSION,
    CheckpointError,
    checkpoint_bytes,
    checkpoint_dict,
    load_checkpoint,
    load_checkpoint_bytes,
    save_checkpoint,
)

OBS = np.random.default_rng(123).normal(size=(64, 4)).astype(np.float32)


@pytest.fixture(scope="module")
def trained_agent():
    """An agent whose weights and Adam state have moved away from the initial ones."""
    return train(default_config("reinforce", max_episodes=3, seed=7)).agent


def _saved_dict(agent) -> dict:
    return torch.load(io.BytesIO(checkpoint_bytes(agent)), weights_only=True)


def _bytes(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _error(data: bytes) -> str:
    with pytest.raises(CheckpointError) as info:
        load_checkpoint_bytes(data)
    msg = str(info.value)
    assert msg and "\n" not in msg  # one line
    return msg


@pytest.mark.parametrize("algo", ["reinforce", "actor-critic", "a2c"])
def test_round_trip_same_policy(tmp_path, algo):
    agent = make_agent(default_config(algo, seed=5), EnvSpec.discrete(4, 2))
    with torch.no_grad():  # move away from the init so a fresh agent would differ
        for p in agent.net.parameters():
            p.add_(0.1 * torch.randn_like(p))
    path = save_checkpoint(tmp_path / "agent.pt", agent, extra={"note": "hi", "n": [1, 2.5]})
    loaded, config, meta = load_checkpoint(path)
    assert config == agent.config
    assert meta["format_version"] == FORMAT_VERSION
    assert (meta["obs_dim"], meta["n_actions"]) == (4, 2)
    assert meta["extra"] == {"note": "hi", "n": [1, 2.5]}
    assert meta["has_optimizer"]
    p0, v0 = agent.policy(OBS, with_value=True)
    p1, v1 = loaded.policy(OBS, with_value=True)
    np.testing.assert_array_equal(p0, p1)
    if v0 is not None:
        np.testing.assert_array_equal(v0, v1)
    agent.rng = np.random.default_rng(0)
    loaded.rng = np.random.default_rng(0)
    np.testing.assert_array_equal(agent.act(OBS)[0], loaded.act(OBS)[0])
    np.testing.assert_array_equal(agent.act(OBS, greedy=True)[0], loaded.act(OBS, greedy=True)[0])


def test_round_trip_keeps_optimizer_state(trained_agent):
    loaded, _, _ = load_checkpoint_bytes(checkpoint_bytes(trained_agent))
    a = trained_agent.optimizer.state_dict()
    b = loaded.optimizer.state_dict()
    assert a["state"].keys() == b["state"].keys() and a["state"]
    for k in a["state"]:
        for name, value in a["state"][k].items():
            torch.testing.assert_close(b["state"][k][name], value)
    no_opt, _, meta = load_checkpoint_bytes(checkpoint_bytes(trained_agent, optimizer=False))
    assert not meta["has_optimizer"]
    np.testing.assert_array_equal(no_opt.policy(OBS)[0], trained_agent.policy(OBS)[0])


def test_file_contents_are_plain(trained_agent):
    d = _saved_dict(trained_agent)
    assert d["format_version"] == 2
    assert d["action_space"] == {"type": "Discrete", "n": 2}
    assert isinstance(d["pgcore_version"], str)
    assert d["config"] == trained_agent.config.to_dict()
    assert (d["obs_dim"], d["n_actions"]) == (4, 2)
    assert set(d["model"]) == set(trained_agent.net.state_dict())
    assert "optimizer" in d


class _Evil:
    """Unpickling this calls open(marker, "w"): a stand-in for arbitrary code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (builtins.open, (self.marker, "w"))


def test_the_evil_pickle_really_would_run_code(tmp_path):
    """Sanity check of the test payload itself: plain pickle does run it."""
    marker = tmp_path / "ran-plain"
    pickle.loads(pickle.dumps(_Evil(marker))).close()
    assert marker.exists()


@pytest.mark.parametrize("container", ["torch-zip", "raw-pickle-2", "raw-pickle-5"])
def test_pickle_that_would_run_code_is_refused(tmp_path, container, trained_agent):
    marker = tmp_path / "pwned"
    if container == "torch-zip":  # a real-looking checkpoint with one poisoned entry
        d = checkpoint_dict(trained_agent)
        d["extra"] = {"payload": _Evil(marker)}
        data = _bytes(d)
    else:
        protocol = int(container[-1])
        data = pickle.dumps({"format_version": 1, "config": _Evil(marker)}, protocol=protocol)
    path = tmp_path / "evil.pt"
    path.write_bytes(data)
    # protocol 5 trips over its first opcode before reaching the payload: still refused
    expected = "not a valid checkpoint" if container == "raw-pickle-5" else "refusing to load"
    with pytest.raises(CheckpointError, match=expected):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match=expected):
        load_checkpoint_bytes(data)
    assert not marker.exists()


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nope.pt")
    with pytest.raises(CheckpointError, match="not a file"):
        load_checkpoint(tmp_path)


def test_corrupt_and_foreign_files(tmp_path, trained_agent):
    good = checkpoint_bytes(trained_agent)
    assert "not a valid checkpoint" in _error(good[: len(good) // 2])  # truncated
    assert "not a valid checkpoint" in _error(b"definitely not torch")
    assert "empty" in _error(b"")
    broken_index = good[:-64] + b"\xff" * 64  # the zip's central directory is at the end
    assert "not a valid checkpoint" in _error(broken_index)
    assert "no format_version" in _error(_bytes([1, 2, 3]))
    assert "no format_version" in _error(_bytes({"model": {}}))
    path = tmp_path / "bad.pt"
    path.write_bytes(b"\x00" * 100)
    with pytest.raises(CheckpointError, match="not a valid checkpoint"):
        load_checkpoint(path)


@pytest.mark.parametrize("version", [0, 3, "1", None, True])
def test_wrong_format_version(trained_agent, version):
    d = _saved_dict(trained_agent)
    d["format_version"] = version
    assert "format_version" in _error(_bytes(d))


def test_version_1_files_still_load(trained_agent):
    # format 1 stored the number of discrete actions only, with no action_space
    d = _saved_dict(trained_agent)
    d["format_version"] = 1
    del d["action_space"]
    agent, _, meta = load_checkpoint_bytes(_bytes(d))
    assert meta["action_space"] == {"type": "Discrete", "n": 2} and agent.n_actions == 2
    for k, v in trained_agent.net.state_dict().items():
        assert torch.equal(agent.net.state_dict()[k], v)


@pytest.mark.parametrize("space, fragment", [
    ({"type": "Box", "shape": [1]}, "unknown action space"),
    ({"type": "Discrete", "n": 1}, "n >= 2"),
    ("Discrete", "mapping"),
])
def test_bad_action_space_is_refused(trained_agent, space, fragment):
    d = _saved_dict(trained_agent)
    d["action_space"] = space
    assert fragment in _error(_bytes(d))


def test_incomplete_checkpoint(trained_agent):
    d = _saved_dict(trained_agent)
    del d["model"]
    assert "missing model" in _error(_bytes(d))


def test_invalid_config(trained_agent):
    d = _saved_dict(trained_agent)
    d["config"]["gamma"] = 1.5
    assert "invalid config" in _error(_bytes(d)) and "gamma" in _error(_bytes(d))
    d = _saved_dict(trained_agent)
    d["config"]["warp_drive"] = True
    assert "warp_drive" in _error(_bytes(d))
    d = _saved_dict(trained_agent)
    d["config"] = "reinforce"
    assert "invalid config" in _error(_bytes(d))


def test_shape_mismatch_hidden_size(trained_agent):
    d = _saved_dict(trained_agent)
    d["config"]["hidden"] = 64  # the weights are 128 wide
    msg = _error(_bytes(d))
    assert "shape" in msg and "(128, 4)" in msg and "(64, 4)" in msg


def test_missing_or_extra_weights(trained_agent):
    d = _saved_dict(trained_agent)
    key = next(iter(d["model"]))
    d["model"].pop(key)
    assert "missing" in _error(_bytes(d))
    d = _saved_dict(trained_agent)
    d["model"]["bonus.weight"] = torch.zeros(3)
    assert "unexpected" in _error(_bytes(d))


def test_non_finite_weights(trained_agent):
    d = _saved_dict(trained_agent)
    key = next(iter(d["model"]))
    d["model"][key][0] = float("nan")
    assert "NaN" in _error(_bytes(d))
    d = _saved_dict(trained_agent)
    state = next(iter(d["optimizer"]["state"].values()))
    state["exp_avg"].view(-1)[0] = float("inf")
    assert "optimizer" in _error(_bytes(d))


def test_optimizer_state_that_does_not_fit(trained_agent):
    d = _saved_dict(trained_agent)
    d["optimizer"]["param_groups"] = d["optimizer"]["param_groups"][:1]
    assert "optimizer" in _error(_bytes(d))


def test_environment_sizes_must_match(trained_agent):
    d = _saved_dict(trained_agent)
    d["config"]["env_id"] = "Acrobot-v1"  # 6 observations, 3 actions; weights are 4 -> 2
    msg = _error(_bytes(d))
    assert "Acrobot-v1" in msg and "6" in msg and "3" in msg
    agent, _, _ = load_checkpoint_bytes(_bytes(d), check_env=False)  # opt-out still loads
    assert agent.net.obs_dim == 4


def test_unknown_environment(trained_agent):
    d = _saved_dict(trained_agent)
    d["config"]["env_id"] = "Nope-v9"
    assert "Nope-v9" in _error(_bytes(d))


def test_acrobot_round_trip():
    agent = make_agent(default_config("a2c", env_id="Acrobot-v1"), EnvSpec.discrete(6, 3))
    loaded, config, meta = load_checkpoint_bytes(checkpoint_bytes(agent))
    assert config.env_id == "Acrobot-v1" and (meta["obs_dim"], meta["n_actions"]) == (6, 3)
    obs = np.zeros((2, 6), np.float32)
    np.testing.assert_array_equal(loaded.policy(obs)[0], agent.policy(obs)[0])


def test_extra_must_be_plain_data(tmp_path, trained_agent):
    with pytest.raises(CheckpointError, match="plain data"):
        checkpoint_bytes(trained_agent, extra={"when": object()})
    with pytest.raises(CheckpointError):
        checkpoint_bytes(trained_agent, extra={1: "non-string key"})
    with pytest.raises(CheckpointError):
        save_checkpoint(tmp_path / "missing-dir" / "a.pt", trained_agent)
    assert not (tmp_path / "missing-dir").exists()


def test_bytes_must_be_bytes():
    with pytest.raises(CheckpointError):
        load_checkpoint_bytes("a string")  # type: ignore[arg-type]
