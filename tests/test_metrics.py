"""pgcore.metrics against values worked out by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from pgcore import default_config
from pgcore.metrics import (
    CARTPOLE_V0_SOLVED,
    CARTPOLE_V1_SOLVED,
    across_seed_stats,
    episodes_to_threshold,
    final_average,
    moving_average,
    rolling_std,
    run_summary,
    threshold_crossing,
    window_full,
)
from pgcore.trainer import RunResult


def test_thresholds_are_the_cartpole_criteria():
    assert CARTPOLE_V0_SOLVED == 195.0
    assert CARTPOLE_V1_SOLVED == 475.0


def test_moving_average_partial_then_full_windows():
    # [2], [2,4], [2,4,6], [4,6,8], [6,8,10]
    np.testing.assert_allclose(moving_average([2, 4, 6, 8, 10], window=3), [2, 3, 4, 6, 8])


def test_moving_average_full_only_masks_partial_windows():
    out = moving_average([2, 4, 6, 8, 10], window=3, full_only=True)
    assert np.isnan(out[:2]).all()
    np.testing.assert_allclose(out[2:], [4, 6, 8])
    np.testing.assert_array_equal(window_full(5, 3), [False, False, True, True, True])


def test_moving_average_edge_cases():
    np.testing.assert_allclose(moving_average([5, 1, 7], window=1), [5, 1, 7])
    np.testing.assert_allclose(moving_average([1, 2, 3], window=10), [1, 1.5, 2])
    assert np.isnan(moving_average([1, 2, 3], window=10, full_only=True)).all()
    assert moving_average([], window=100).shape == (0,)
    with pytest.raises(ValueError):
        moving_average([1, 2], window=0)
    with pytest.raises(ValueError):
        moving_average([[1, 2]], window=1)


def test_moving_average_default_window_is_100():
    x = np.arange(1, 201, dtype=float)
    out = moving_average(x)
    assert out[98] == pytest.approx(50.0)  # mean of 1..99
    assert out[99] == pytest.approx(50.5)  # mean of 1..100
    assert out[199] == pytest.approx(150.5)  # mean of 101..200


def test_episodes_to_threshold_needs_a_full_window():
    assert episodes_to_threshold([300.0] * 99, 195) is None  # average 300, but only 99 episodes
    assert episodes_to_threshold([300.0] * 100, 195) == 100
    assert episodes_to_threshold([195.0] * 100, 195) == 100  # "reaches" means >=
    assert episodes_to_threshold([], 195) is None


def test_episodes_to_threshold_on_a_ramp():
    # returns 1, 2, ..., 300: the window ending at episode k averages k - 49.5,
    # which first reaches 150.5 at k = 200.
    returns = np.arange(1, 301, dtype=float)
    assert episodes_to_threshold(returns, 150.5) == 200
    assert episodes_to_threshold(returns, 150.6) == 201
    assert episodes_to_threshold(returns, 1000) is None
    assert episodes_to_threshold([10, 20, 30, 40], 25, window=2) == 3  # (20 + 30) / 2


def test_episodes_to_threshold_first_crossing_not_last():
    returns = [0.0] * 100 + [500.0] * 100 + [0.0] * 100
    # window ending at k holds k - 100 fives-hundreds: average 5 * (k - 100) >= 475 at k = 195
    assert episodes_to_threshold(returns, 475) == 195


def test_rolling_std():
    np.testing.assert_allclose(rolling_std([1, 3, 3, 5], window=2), [0, 1, 0, 1])
    s = math.sqrt(8 / 9)  # std of (1, 3, 3) and of (3, 3, 5): mean 7/3 resp. 11/3
    np.testing.assert_allclose(rolling_std([1, 3, 3, 5], window=3), [0, 1, s, s])
    out = rolling_std([1, 3, 3, 5], window=3, full_only=True)
    assert np.isnan(out[:2]).all()
    np.testing.assert_allclose(rolling_std([500.0] * 150, window=100), 0.0)


def test_across_seed_stats_with_unequal_lengths():
    stats = across_seed_stats([[1, 2, 3], [3, 4]])
    np.testing.assert_allclose(stats.mean, [2, 3, 3])
    np.testing.assert_allclose(stats.std, [1, 1, 0])
    np.testing.assert_array_equal(stats.count, [2, 2, 1])
    sample = across_seed_stats([[1, 2, 3], [3, 4]], ddof=1)
    np.testing.assert_allclose(sample.std[:2], [math.sqrt(2), math.sqrt(2)])
    assert np.isnan(sample.std[2])  # one seed: no sample std


def test_across_seed_stats_three_seeds():
    stats = across_seed_stats([[0, 10], [3, 10], [6, 10]])
    np.testing.assert_allclose(stats.mean, [3, 10])
    np.testing.assert_allclose(stats.std, [math.sqrt(6), 0])  # ((9 + 0 + 9) / 3) ** 0.5
    with pytest.raises(ValueError):
        across_seed_stats([])


def test_final_average():
    assert final_average([1, 2, 3, 4, 5], window=2) == 4.5
    assert final_average(list(range(200))) == pytest.approx(149.5)  # mean of 100..199
    assert final_average([7.0]) == 7.0
    assert final_average([]) is None


def _fake_result(returns, seconds_per_episode=0.01, wall=None, reason="max_episodes", seed=3):
    lengths = [int(r) for r in returns]
    steps = np.cumsum(lengths).tolist()
    seconds = [seconds_per_episode * (i + 1) for i in range(len(returns))]
    return RunResult(default_config("reinforce", seed=seed), reason=reason, message="",
                     episode_returns=[float(r) for r in returns], episode_lengths=lengths,
                     episode_env_steps=steps, episode_seconds=seconds,
                     env_steps=steps[-1] if steps else 0,
                     wall_seconds=wall if wall is not None else (seconds[-1] if seconds else 0.0))


def test_run_summary_fields_and_values():
    # 100 episodes of 200 (average 200 >= 195 at episode 100), then 500s: the window ending
    # at 100 + k averages 200 + 3k, which first reaches 475 at k = 92 (200 + 276 = 476).
    returns = [200] * 100 + [500] * 150
    result = _fake_result(returns, wall=5.0)
    s = run_summary(result)
    issue_fields = {"seed", "episodes_to_195", "episodes_to_475", "steps_to_475",
                    "seconds_to_475", "final_avg100", "steps_per_second", "episode_returns"}
    assert issue_fields <= set(s)
    assert {"episodes", "env_steps", "wall_seconds", "reason"} <= set(s)
    assert s["seed"] == 3
    assert s["episodes_to_195"] == 100
    assert s["steps_to_195"] == 100 * 200
    assert s["seconds_to_195"] == pytest.approx(1.00)
    assert s["episodes_to_475"] == 192
    assert s["steps_to_475"] == 100 * 200 + 92 * 500
    assert s["seconds_to_475"] == pytest.approx(1.92)
    assert s["final_avg100"] == 500.0
    assert s["episodes"] == 250
    assert s["env_steps"] == 100 * 200 + 150 * 500
    assert s["steps_per_second"] == pytest.approx(s["env_steps"] / 5.0)
    assert s["wall_seconds"] == 5.0
    assert s["reason"] == "max_episodes"
    assert s["episode_returns"] == [float(r) for r in returns]
    json.dumps(s, allow_nan=False)  # plain JSON


def test_run_summary_never_reached_and_empty():
    s = run_summary(_fake_result([20, 30, 40]))
    assert s["episodes_to_195"] is None and s["steps_to_475"] is None
    assert s["seconds_to_475"] is None
    assert s["final_avg100"] == 30.0
    empty = run_summary(_fake_result([], reason="stopped"))
    assert empty["final_avg100"] is None
    assert empty["steps_per_second"] == 0.0
    assert empty["episodes"] == 0 and empty["episode_returns"] == []
    json.dumps(empty, allow_nan=False)


def test_threshold_crossing_uses_the_episode_totals():
    result = _fake_result([300] * 120)
    assert threshold_crossing(result, 195) == (100, 30_000, pytest.approx(1.0))
    assert threshold_crossing(result, 475) == (None, None, None)
