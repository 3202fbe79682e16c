"""DQN on a discretised continuous action space (issue 10: "an argmax needs a finite list").

:class:`BinnedHead` cuts a ``Box`` into ``bins`` values per dimension; DQN's Q-network then has
``bins ** d`` outputs and ``to_env`` hands the environment the grid point. Also: the
``action_bins`` field and ``--action-bins`` flag, the ``dqn-pendulum`` preset, the k^d table, and
the places where continuous actions used to crash (gradient variance, probe states, the CLI's
CartPole-only columns, ``make_agent`` for DQN on a Box).
"""

from __future__ import annotations

import io

import gymnasium as gym
import numpy as np
import pytest
import torch

from pgcore import cli, default_config, preset, train
from pgcore.algos import make_agent
from pgcore.algos.common import check_action_space
from pgcore.labs.gradvar import measure, policy_parameters, sample_episodes
from pgcore.rl.envs import EnvSpec, env_spec, make_env
from pgcore.rl.heads import (
    MAX_JOINT_ACTIONS,
    BinnedHead,
    CategoricalHead,
    GaussianHead,
    NoHeadError,
    QHead,
    discretisation_table,
    head_from_description,
    joint_actions,
    q_head_for,
)
from pgcore.training.checkpoint import (
    CheckpointError,
    checkpoint_bytes,
    load_checkpoint,
    load_checkpoint_bytes,
    save_checkpoint,
)
from pgcore.training.config import ConfigError
from pgcore.training.evaluation import greedy_actions, probe_states, random_action
from pgcore.training.render import play_episode
from pgcore.training.trainer import Trainer

PENDULUM = "Pendulum-v1"
TORQUE = BinnedHead((-2.0,), (2.0,), 5)
PLANE = BinnedHead((-1.0, 0.0), (1.0, 2.0), 3)  # 2-D: 9 joint actions
BOX_MESSAGE = ("dqn needs a discrete action space; Pendulum-v1 has a continuous one (Box) "
               "(or set --action-bins K to discretise it)")
DISCRETE_MESSAGE = ("--action-bins only applies to continuous (Box) action spaces; "
                    "CartPole-v1 is discrete")


def _short_dqn(bins: int, steps: int = 300, **overrides):
    """The dqn-pendulum preset with ``bins`` torque values, a few hundred env steps."""
    return preset("dqn-pendulum", action_bins=bins, max_episodes=None, max_steps=steps,
                  learning_starts=200, seed=0, **overrides)


def _one_line(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


@pytest.fixture
def no_training(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise AssertionError("training started despite bad input")

    monkeypatch.setattr(cli, "train", refuse)


# ----- the head: index -> grid point ----------------------------------------------------------


def test_index_to_torque_in_one_dimension():
    # a_j = low + j * (high - low) / (bins - 1): 5 bins of [-2, 2] are 1 apart
    assert [TORQUE.to_env(np.int64(j)).tolist() for j in range(5)] == [
        [-2.0], [-1.0], [0.0], [1.0], [2.0]]
    assert BinnedHead((-2.0,), (2.0,), 3).to_envs(np.arange(3)).ravel().tolist() == [-2, 0, 2]
    eleven = BinnedHead((-2.0,), (2.0,), 11).to_envs(np.arange(11)).ravel()
    np.testing.assert_allclose(eleven, np.linspace(-2, 2, 11), atol=1e-6)
    assert eleven[0] == -2.0 and eleven[-1] == 2.0  # both ends exactly, never past them
    asym = BinnedHead((0.0,), (1.0,), 2)
    assert asym.to_envs(np.array([0, 1])).ravel().tolist() == [0.0, 1.0]


def test_index_to_grid_point_in_two_dimensions_is_row_major():
    # i = j_1 * bins + j_2: the first dimension varies slowest
    assert PLANE.n == 9
    assert PLANE.to_env(5).tolist() == [0.0, 2.0]  # j = (1, 2)
    assert PLANE.to_env(1).tolist() == [-1.0, 1.0]  # j = (0, 1)
    assert PLANE.to_env(8).tolist() == [1.0, 2.0]
    points = PLANE.to_envs(np.arange(9))
    expected = [[a, b] for a in (-1.0, 0.0, 1.0) for b in (0.0, 1.0, 2.0)]
    assert points.tolist() == expected
    with pytest.raises(ValueError):  # not one of the 9 joint actions
        PLANE.to_env(9)


def test_to_env_shapes_and_dtypes():
    one = TORQUE.to_env(np.int64(3))
    assert one.shape == (1,) and one.dtype == np.float32
    many = PLANE.to_envs(np.array([0, 4, 8], dtype=np.int64))
    assert many.shape == (3, 2) and many.dtype == np.float32
    assert TORQUE.to_envs(np.array([0, 4])).shape == (2, 1)


def test_it_is_a_discrete_head_to_everything_upstream():
    assert (TORQUE.n, TORQUE.out_dim, TORQUE.action_shape, TORQUE.action_dtype) == (
        5, 5, (), np.int64)
    assert TORQUE.state_independent_init == ()
    assert TORQUE.greedy(np.array([[0.1, 0.7, 0.2, 0.0, 0.0]])).tolist() == [1]
    assert TORQUE.describe()["type"] == "Discrete"
    spec = EnvSpec.binned(3, (-2.0,), (2.0,), 5, env_id=PENDULUM)
    assert spec.n_actions == 5
    check_action_space(default_config("dqn", env_id=PENDULUM, action_bins=5), spec)  # no error
    probs = TORQUE.distribution(torch.zeros(1, 5))  # a policy over the bins: softmax
    assert np.allclose(probs, 0.2)
    assert TORQUE.as_q_values().distribution(torch.tensor([[-3.0, 1.0, 0, 0, 0]]))[0, 0] == -3.0


def test_q_head_for_keeps_the_grid():
    assert q_head_for(CategoricalHead(2)) == QHead(2)
    q = q_head_for(TORQUE)
    assert q.q_values and q.kind == "q-values" and q.to_env(4).tolist() == [2.0]
    with pytest.raises(NoHeadError):
        q_head_for(GaussianHead((-2.0,), (2.0,)))


def test_overlay_names_each_bin_by_its_torque():
    rows = TORQUE.as_q_values().overlay(np.array([-4.0, -2.0, -1.0, -2.0, -8.0]), ("torque",))
    assert [r[0] for r in rows] == ["Q(s, torque = -2)", "Q(s, torque = -1)",
                                    "Q(s, torque = +0)", "Q(s, torque = +1)",
                                    "Q(s, torque = +2)"]
    assert [r[2] for r in rows] == ["-4.0", "-2.0", "-1.0", "-2.0", "-8.0"]
    assert PLANE.action_names()[5] == "a1 = +0, a2 = +2"


# ----- describe / checkpoints' action_space ---------------------------------------------------


@pytest.mark.parametrize("head", [TORQUE, PLANE, BinnedHead((-2.0,), (2.0,), 11)],
                         ids=["1d-5", "2d-3", "1d-11"])
def test_describe_round_trips(head):
    desc = head.describe()
    assert desc["bins"] == head.bins and desc["n"] == head.n
    assert desc["low"] == list(head.low) and desc["high"] == list(head.high)
    assert head_from_description(desc) == head
    assert head_from_description({"type": "Discrete", "n": head.n}) == CategoricalHead(head.n)


@pytest.mark.parametrize("desc, fragment", [
    ({"type": "Discrete", "n": 4, "bins": 5, "low": [-2.0], "high": [2.0]}, "bins ** d = 5"),
    ({"type": "Discrete", "n": 1, "bins": 1, "low": [-2.0], "high": [2.0]}, "bins >= 2"),
    ({"type": "Discrete", "n": 5, "bins": True, "low": [-2.0], "high": [2.0]}, "bins >= 2"),
    ({"type": "Discrete", "n": 5, "bins": 5, "low": "-2", "high": [2.0]}, "lists of numbers"),
    ({"type": "Discrete", "n": 5, "bins": 5, "low": [2.0], "high": [-2.0]}, "low < high"),
    ({"type": "Discrete", "n": 15625, "bins": 5, "low": [-1.0] * 6, "high": [1.0] * 6},
     "15,625 joint actions"),
])
def test_bad_binned_descriptions_are_one_line(desc, fragment):
    with pytest.raises(NoHeadError) as info:
        head_from_description(desc)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_bins_and_joint_actions_are_bounded():
    with pytest.raises(NoHeadError, match="at least 2 bins"):
        BinnedHead((-2.0,), (2.0,), 1)
    assert BinnedHead((-1.0, -1.0), (1.0, 1.0), 64).n == MAX_JOINT_ACTIONS == 4096
    with pytest.raises(NoHeadError) as info:
        BinnedHead((-1.0,) * 6, (1.0,) * 6, 5)
    assert str(info.value) == ("5 bins in each of 6 action dimensions make 15,625 joint "
                               "actions; at most 4,096 fit")


# ----- the k^d table --------------------------------------------------------------------------


def test_joint_actions_and_the_discretisation_table():
    assert joint_actions(5, 1) == 5 and joint_actions(3, 6) == 729
    rows = discretisation_table()
    assert [(r["d"], r["task"]) for r in rows] == [
        (1, "Pendulum"), (2, "Reacher"), (3, "Hopper"), (6, "HalfCheetah"), (17, "Humanoid")]
    assert [(r["k=3"], r["k=5"], r["k=11"]) for r in rows] == [
        (3, 5, 11), (9, 25, 121), (27, 125, 1331), (729, 15625, 1771561),
        (129140163, 762939453125, 505447028499293771)]
    assert discretisation_table(bins=(2,), dims=(4,)) == [{"d": 4, "task": "", "k=2": 16}]


# ----- the config field, the env spec and the CLI ---------------------------------------------


@pytest.mark.parametrize("bad", [1, 102, 2.5, True, "5"])
def test_action_bins_is_bounded(bad):
    with pytest.raises(ConfigError) as info:
        default_config("dqn", env_id=PENDULUM, action_bins=bad)
    assert str(info.value).startswith("action_bins must be a whole number from 2 to 101")


def test_action_bins_belongs_to_dqn():
    assert default_config("dqn").action_bins is None
    with pytest.raises(ConfigError, match="action_bins 5 applies to dqn only, not to a2c"):
        default_config("a2c", env_id=PENDULUM, action_bins=5)


def test_the_env_spec_is_binned_only_for_box_actions():
    spec = env_spec(PENDULUM, 11)
    assert spec.head == BinnedHead((-2.0,), (2.0,), 11) and spec.obs_dim == 3
    assert isinstance(env_spec(PENDULUM).head, GaussianHead)  # no bins: unchanged
    with pytest.raises(ConfigError) as info:
        env_spec("CartPole-v1", 5)
    assert str(info.value) == DISCRETE_MESSAGE
    with pytest.raises(ConfigError) as info:
        Trainer(default_config("dqn", action_bins=5))
    assert str(info.value) == DISCRETE_MESSAGE


class _SixJoints(gym.Env):
    """HalfCheetah's shape without MuJoCo: 6 torques in [-1, 1]."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (4,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (6,), np.float32)

    def __init__(self, render_mode=None):
        self.render_mode = render_mode


def test_too_many_joint_actions_for_an_env_is_one_line():
    if "pgcore-test/SixJoints-v0" not in gym.registry:
        gym.register("pgcore-test/SixJoints-v0", entry_point=_SixJoints)
    assert env_spec("pgcore-test/SixJoints-v0", 4).head.n == 4096
    with pytest.raises(ConfigError) as info:
        env_spec("pgcore-test/SixJoints-v0", 5)
    assert str(info.value) == ("--action-bins 5 does not fit pgcore-test/SixJoints-v0: 5 bins "
                               "in each of 6 action dimensions make 15,625 joint actions; at "
                               "most 4,096 fit")


def test_cli_errors_are_one_line_with_exit_2(capsys, no_training):
    assert cli.main(["train", "--algo", "dqn", "--action-bins", "5", "--episodes", "1"]) == 2
    assert _one_line(capsys.readouterr().err) == f"error: {DISCRETE_MESSAGE}"
    assert cli.main(["train", "--algo", "dqn", "--env", PENDULUM, "--action-bins", "1"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("error: --action-bins: action_bins must be a whole number from 2")
    assert cli.main(["train", "--algo", "a2c", "--env", PENDULUM, "--action-bins", "5"]) == 2
    assert "applies to dqn only" in _one_line(capsys.readouterr().err)
    assert cli.main(["sweep", "--algo", "dqn", "--set", "action_bins=5", "--episodes", "1"]) == 2
    assert _one_line(capsys.readouterr().err) == f"error: {DISCRETE_MESSAGE}"
    # without bins DQN still refuses the Box, in one line that names the way out
    assert cli.main(["train", "--algo", "dqn", "--env", PENDULUM, "--episodes", "1"]) == 2
    assert _one_line(capsys.readouterr().err) == f"error: {BOX_MESSAGE}"


def test_dqn_on_a_box_spec_is_the_one_line_config_error():
    box = EnvSpec.box(3, (-2.0,), (2.0,), env_id=PENDULUM)
    with pytest.raises(ConfigError) as info:
        make_agent(default_config("dqn", env_id=PENDULUM), box)
    assert str(info.value) == BOX_MESSAGE


# ----- training, checkpoints, playing ---------------------------------------------------------


@pytest.mark.parametrize("bins", [3, 11])
def test_dqn_trains_on_pendulum_with_bins(bins):
    result = train(_short_dqn(bins))
    agent = result.agent
    assert result.reason == "max_steps" and result.env_steps == 300 and not result.diverged
    assert len(result.episode_returns) == 1 and result.episode_returns[0] < 0  # 200-step episodes
    assert agent.head == BinnedHead((-2.0,), (2.0,), bins, q_values=True)
    assert agent.net.online.policy_head[-1].out_features == bins
    q, _ = agent.policy(np.zeros((4, 3), np.float32))
    assert q.shape == (4, bins)
    stored = agent.buffer.actions[: agent.buffer.size]
    assert stored.dtype == np.int64 and set(np.unique(stored)) <= set(range(bins))
    assert len(np.unique(stored)) == bins  # epsilon ~1: every torque was tried
    assert agent.updates == (300 - 200) // 2 + 1  # one gradient step per 2 env steps from 200


def test_the_pendulum_preset():
    cfg = preset("dqn-pendulum")
    assert (cfg.algo, cfg.env_id, cfg.action_bins) == ("dqn", PENDULUM, 5)
    assert cfg.max_episodes == 1000 and cfg.max_steps is None  # 200k env steps
    assert 0.9 <= cfg.gamma <= 0.99
    assert preset("dqn-pendulum", action_bins=11).action_bins == 11


def test_a_checkpoint_reloads_and_plays(tmp_path):
    result = train(_short_dqn(3))
    path = save_checkpoint(tmp_path / "pendulum-dqn.pt", result.agent)
    agent, config, meta = load_checkpoint(path)  # checks the env: binned Pendulum again
    assert config.action_bins == 3 and agent.head == result.agent.head
    assert meta["action_space"] == {"type": "Discrete", "n": 3, "bins": 3, "low": [-2.0],
                                    "high": [2.0]}
    states = probe_states(PENDULUM, n=32)
    assert np.array_equal(greedy_actions(agent, states), greedy_actions(result.agent, states))
    ret, length, _ = play_episode(agent, PENDULUM, seed=0, greedy=True)
    assert length == 200 and -3300 < ret < 0

    # a file whose config asks for other bins than its weights have is refused in one line
    data = torch.load(io.BytesIO(checkpoint_bytes(result.agent)), weights_only=True)
    data["config"]["action_bins"] = 5
    buf = io.BytesIO()
    torch.save(data, buf)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint_bytes(buf.getvalue())
    assert "3 binned actions" in str(info.value) and "\n" not in str(info.value)


def test_a_background_runs_published_agent_has_the_bins():
    from pgcore.execution.runner import BackgroundRun

    run = BackgroundRun(_short_dqn(3, steps=250))
    run.start()
    assert run.join(60)
    assert run.snapshot().state == "finished"
    assert run.policy_agent().head == BinnedHead((-2.0,), (2.0,), 3, q_values=True)


def test_cli_trains_saves_and_plays_a_binned_dqn(tmp_path, capsys):
    path = tmp_path / "dqn.pt"
    assert cli.main(["train", "--preset", "dqn-pendulum", "--action-bins", "3", "--episodes",
                     "0", "--max-steps", "400", "--learning-starts", "200", "--save", str(path),
                     "--quiet"]) == 0
    table = capsys.readouterr().out
    assert "best avg100" in table and "to 195" not in table and "to 475" not in table
    assert cli.main(["eval", "--checkpoint", str(path), "--episodes", "1", "--greedy"]) == 0
    out = capsys.readouterr().out
    assert "dqn on Pendulum-v1" in out and "mean return -" in out


def test_the_cartpole_table_keeps_its_solved_columns():
    rows = [{"seed": 0, "episodes": 3, "env_steps": 60, "wall_seconds": 0.1,
             "best_avg100": None, "final_avg100": 20.0, "steps_per_second": 600, "reason": "x"}]
    assert "ep to 195" in cli.format_table(rows) and "best avg100" not in cli.format_table(rows)
    other = cli.format_table(rows, solved_levels=False)
    assert "best avg100" in other and "to 195" not in other and "final avg100" in other


# ----- the other Box gaps ---------------------------------------------------------------------


def test_probe_states_on_continuous_actions():
    a, b = probe_states(PENDULUM, n=40), probe_states(PENDULUM, n=40)
    assert a.shape == (40, 3) and a.dtype == np.float32 and np.array_equal(a, b)
    assert len(np.unique(a[:, 2])) > 30  # the random torques moved the pendulum
    box = gym.spaces.Box(-2.0, 2.0, (1,), np.float32)
    draws = np.array([random_action(box, np.random.default_rng(s)) for s in range(50)])
    assert draws.dtype == np.float32 and draws.min() >= -2 and draws.max() <= 2
    rng1, rng2 = np.random.default_rng(3), np.random.default_rng(3)  # Discrete: as before
    assert [random_action(gym.spaces.Discrete(2), rng1) for _ in range(20)] == \
        [int(rng2.integers(2)) for _ in range(20)]


def test_gradient_variance_measures_a_gaussian_policy():
    spec = env_spec(PENDULUM)
    agent = make_agent(default_config("reinforce", env_id=PENDULUM, hidden=8, seed=0), spec)
    eps = sample_episodes(agent, lambda: make_env(PENDULUM), 2, seed=0)
    assert [a.shape for _, a, _ in eps] == [(200, 1), (200, 1)]
    assert eps[0][1].dtype == np.float32
    params = policy_parameters(agent.net)
    assert any(p is agent.net.state_independent for p in params)  # the log-std is measured
    result = measure(agent, lambda: make_env(PENDULUM), n_batches=2, batch_size=1,
                     critic_episodes=2, reference_batches=2, seed=0)
    assert result.n_params == sum(p.numel() for p in params)
    assert all(np.isfinite(s.trace_cov) and s.trace_cov > 0 for s in result.stats.values())


def test_gradient_variance_refuses_dqn_in_one_line():
    agent = make_agent(_short_dqn(5), env_spec(PENDULUM, 5))
    with pytest.raises(ValueError) as info:
        measure(agent, lambda: make_env(PENDULUM), n_batches=2, batch_size=1)
    assert str(info.value) == ("the gradient-variance lab measures policy gradients; dqn learns "
                               "Q-values and has no policy to measure")
