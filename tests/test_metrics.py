"""pgcore.training.metrics against values worked out by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from pgcore import default_config
from pgcore.cli.training import run_record
from pgcore.training.metrics import (
    CARTPOLE_V0_SOLVED,
    CARTPOLE_V1_SOLVED,
    EpisodeHistory,
    across_seed_stats,
    episodes_to_threshold,
    final_average,
    moving_average,
    rolling_std,
    summarize,
    threshold_crossing,
    window_full,
)
from pgcore.training.trainer import RunResult


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
                     history=EpisodeHistory.from_arrays([float(r) for r in returns], lengths,
                                                         steps, seconds),
                     env_steps=steps[-1] if steps else 0,
                     wall_seconds=wall if wall is not None else (seconds[-1] if seconds else 0.0))


def test_run_summary_fields_and_values():
    # 100 episodes of 200 (average 200 >= 195 at episode 100), then 500s: the window ending
    # at 100 + k averages 200 + 3k, which first reaches 475 at k = 92 (200 + 276 = 476).
    returns = [200] * 100 + [500] * 150
    result = _fake_result(returns, wall=5.0)
    s = run_record(result)
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
    s = run_record(_fake_result([20, 30, 40]))
    assert s["episodes_to_195"] is None and s["steps_to_475"] is None
    assert s["seconds_to_475"] is None
    assert s["final_avg100"] == 30.0
    empty = run_record(_fake_result([], reason="stopped"))
    assert empty["final_avg100"] is None
    assert empty["steps_per_second"] == 0.0
    assert empty["episodes"] == 0 and empty["episode_returns"] == []
    json.dumps(empty, allow_nan=False)


def test_threshold_crossing_uses_the_episode_totals():
    result = _fake_result([300] * 120)
    assert threshold_crossing(result, 195) == (100, 30_000, pytest.approx(1.0))
    assert threshold_crossing(result, 475) == (None, None, None)


# ----- the per-episode history and the one summary -------------------------------------------


def _tiny():
    """Five episodes (returns = lengths, CartPole-style), each 0.5 s."""
    returns = [100.0, 290.0, 480.0, 490.0, 460.0]
    return returns, np.cumsum(returns).tolist(), [0.5 * (i + 1) for i in range(5)]


def test_summarize_a_tiny_history_by_hand():
    # window 2: the averages at episodes 2..5 are 195, 385, 485, 475
    returns, steps, seconds = _tiny()
    h = EpisodeHistory.from_arrays(returns, returns, steps, seconds)
    s = summarize(h, window=2)
    assert s["episodes"] == 5
    assert (s["episodes_to_195"], s["steps_to_195"], s["seconds_to_195"]) == (2, 390, 1.0)
    assert (s["episodes_to_475"], s["steps_to_475"], s["seconds_to_475"]) == (4, 1360, 2.0)
    assert s["final_avg100"] == 475.0  # (490 + 460) / 2
    assert s["best_avg100"] == 485.0  # (480 + 490) / 2
    # changes of the average: 190, 100, -10 (mean 280/3); population variance 60200/9
    assert s["wobble"] == pytest.approx(2 * math.sqrt(60200 / 9))
    assert s["env_steps"] == 1820 and s["wall_seconds"] == 2.5
    assert s["steps_per_second"] == pytest.approx(1820 / 2.5)
    assert isinstance(s["steps_to_195"], int) and isinstance(s["env_steps"], int)
    # the same from plain sequences, and the run's own totals when given
    assert summarize(returns, steps, seconds, window=2) == s
    late = summarize(returns, steps, seconds, run_steps=2000, run_seconds=4.0, window=2)
    assert late["steps_per_second"] == 500.0 and late["env_steps"] == 2000
    json.dumps(s, allow_nan=False)


def test_summarize_returns_only_and_a_run_result():
    s = summarize([200.0] * 100 + [500.0] * 150)
    assert s["episodes_to_195"] == 100 and s["episodes_to_475"] == 192
    assert s["steps_to_195"] is None and s["seconds_to_475"] is None
    assert s["env_steps"] is None and s["steps_per_second"] is None
    assert s["final_avg100"] == 500.0 and s["best_avg100"] == 500.0
    # the average climbs 3 a step for 100 episodes, then stays: changes 3 (x100) and 0 (x50)
    assert s["wobble"] == pytest.approx(100 * math.sqrt(2))
    short = summarize([10.0, 20.0])
    assert short["best_avg100"] is None and short["wobble"] is None
    assert short["final_avg100"] == 15.0
    result = _fake_result([200] * 100 + [500] * 150, wall=5.0)
    r = summarize(result)  # a RunResult: its history, and the run's own totals
    assert r["env_steps"] == result.env_steps and r["wall_seconds"] == 5.0
    assert r["steps_to_475"] == 100 * 200 + 92 * 500
    assert r["wobble"] == s["wobble"]
    assert summarize([])["episodes"] == 0 and summarize([])["final_avg100"] is None
    with pytest.raises(ValueError):
        summarize([1.0, 2.0], env_steps=[1])


def test_history_append_views_and_copies():
    h = EpisodeHistory(extra=("entropy",))
    h.append(10.0, 10, 10, 0.25, 8.5, 1.0, entropy=0.69)
    h.append(12.0, 12, 22, 0.5)
    assert len(h) == h.count == 2 and h.dropped == 0
    assert h["episode"].tolist() == [1.0, 2.0]
    assert h.returns.tolist() == [10.0, 12.0] and h.env_steps.tolist() == [10.0, 22.0]
    assert h["discounted_return"][0] == 8.5 and math.isnan(h["entropy"][1])
    with pytest.raises(ValueError):
        h.returns[0] = 1.0  # views are read-only
    copies = h.arrays(["return", "entropy"])
    renamed = h.arrays({"episode_return": "return"})
    h.append(30.0, 30, 52, 0.75)
    assert copies["return"].tolist() == [10.0, 12.0] and list(renamed) == ["episode_return"]
    with pytest.raises(ValueError):
        copies["return"][0] = 1.0
    with pytest.raises(KeyError):
        h.append(1.0, 1, 53, 1.0, nope=1.0)
    with pytest.raises(KeyError):
        h["nope"]
    import pickle

    again = pickle.loads(pickle.dumps(h))
    assert again.arrays().keys() == h.arrays().keys()
    assert all(np.array_equal(a, b, equal_nan=True)
               for a, b in zip(again.arrays().values(), h.arrays().values(), strict=True))
    again.append(40.0, 40, 92, 1.0)
    assert again["episode"].tolist() == [1.0, 2.0, 3.0, 4.0] and len(h) == 3


def test_bounded_history_drops_the_oldest_half():
    h = EpisodeHistory(cap=8, initial=4)
    for i in range(1, 21):
        h.append(float(i), i, 10 * i, 0.1 * i)
    # full at 8: drops 4 at episodes 9, 13 and 17, so it holds 13..20
    assert len(h) == 8 and h.dropped == 12 and h.count == 20
    assert h["episode"].tolist() == list(range(13, 21))
    assert h.returns.tolist() == [float(i) for i in range(13, 21)]
    assert h.env_steps[-1] == 200
    batch = EpisodeHistory(cap=8, initial=4)
    batch.extend([(i, float(i), i, 10 * i, 0.1 * i) for i in range(1, 21)],
                 ["episode", "return", "length", "env_steps", "wall_seconds"])
    assert batch.dropped == 12 and batch["episode"].tolist() == list(range(13, 21))
    assert all(np.array_equal(a, b, equal_nan=True)
               for a, b in zip(batch.arrays().values(), h.arrays().values(), strict=True))
    batch.extend([(21.0, 21, 210, 2.1)], ["return", "length", "env_steps", "wall_seconds"])
    assert batch["episode"][-1] == 21 and batch.count == 21  # numbered on
    s = summarize(h, window=2)
    assert s["episodes"] == 20 and s["final_avg100"] == 19.5
    assert s["env_steps"] == 200  # episode numbers and totals stay true
    with pytest.raises(ValueError):
        EpisodeHistory(cap=1)


def test_history_from_arrays_checks_lengths():
    h = EpisodeHistory.from_arrays([1.0, 2.0], entropy=[0.5, 0.4])
    assert h.columns[-1] == "entropy" and h["episode"].tolist() == [1.0, 2.0]
    assert np.isnan(h.env_steps).all()
    assert summarize(h)["steps_to_195"] is None and summarize(h)["env_steps"] is None
    with pytest.raises(ValueError):
        EpisodeHistory.from_arrays([1.0, 2.0], lengths=[1])
    assert len(EpisodeHistory.from_arrays([])) == 0


def test_csv_round_trip_and_formats():
    import csv
    import io

    from pgcore.training.metrics import write_csv

    h = EpisodeHistory.from_arrays([9.0, 0.1 + 0.2], [9, 12], [9, 21], [1 / 3, 0.5],
                                   entropy=[0.693147180559945, math.nan])
    columns = ["episode", "return", "length", "env_steps", "wall_seconds", "entropy"]
    buf = io.StringIO()
    write_csv(buf, [(("a, b", 3), h), (("c", 4), h)], columns, lead=["label", "seed"],
              precise=True)
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert [r["label"] for r in rows] == ["a, b", "a, b", "c", "c"]
    mine = [r for r in rows if r["seed"] == "3"]
    back = EpisodeHistory.from_arrays(
        [float(r["return"]) for r in mine], [int(r["length"]) for r in mine],
        [int(r["env_steps"]) for r in mine], [float(r["wall_seconds"]) for r in mine],
        episode=[int(r["episode"]) for r in mine],
        entropy=[float(r["entropy"]) if r["entropy"] else math.nan for r in mine])
    assert all(np.array_equal(back[c], h[c], equal_nan=True) for c in columns)
    # the default formats: whole numbers, exact returns, microseconds, 6 digits, NaN empty
    text = h.to_csv(columns)
    assert text.splitlines() == ["episode,return,length,env_steps,wall_seconds,entropy",
                                 "1,9.0,9,9,0.333333,0.693147",
                                 "2,0.30000000000000004,12,21,0.500000,"]
    with pytest.raises(ValueError):
        write_csv(io.StringIO(), [((), h)], columns, lead=["seed"])


def test_run_result_lists_come_from_its_history():
    result = _fake_result([20, 30])
    assert isinstance(result.history, EpisodeHistory) and result.episodes == 2
    assert result.episode_returns == [20.0, 30.0] and result.episode_lengths == [20, 30]
    assert result.episode_env_steps == [20, 50] and result.episode_seconds == [0.01, 0.02]
    assert all(type(v) is int for v in result.episode_lengths + result.episode_env_steps)
    result.episode_returns.append(1.0)  # a copy: the history is unchanged
    assert len(result.history) == 2
