"""The value-vs-policy page: its pure measurements on hand-built runs, then the page itself
under AppTest (inline experiments, a tiny budget)."""

from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import numpy as np
import pandas as pd
import pytest

from pgcore import default_config
from pgcore.execution.experiments import (
    EVAL_COLUMNS,
    NUMERIC,
    TRACE_COLUMNS,
    ExperimentSnapshot,
    RunView,
)
from pgcore.labs import stats
from pgcore.labs import value_policy as lab
from ui import value_policy as vp
from ui import verdicts as vd
from ui.charts import numbers

SIDES = lab.Sides(value=("DQN",), policy=("A2C", "RB"))
BUDGET = 10_000


# ----- hand-built runs ------------------------------------------------------------------------


def _cols(names, rows) -> dict[str, np.ndarray]:
    block = np.asarray(rows, dtype=np.float64).reshape(-1, len(names))
    return {n: block[:, j].copy() for j, n in enumerate(names)}


def make_run(label: str, seed: int = 0, returns=(), steps_per_episode: float = 10.0,
             seconds_per_step: float = 0.001, entropy: float = math.nan, evals=(), trace=(),
             state: str = "finished", algo: str = "a2c") -> RunView:
    """A run whose episodes each take ``steps_per_episode`` env steps; ``evals``: (env_steps,
    mean return) pairs; ``trace``: (env_steps, updates, flip_per_update, flip_since_last)."""
    returns = np.asarray(returns, dtype=np.float64)
    n = len(returns)
    steps = np.arange(1, n + 1) * steps_per_episode
    columns = {"episode": np.arange(1, n + 1, dtype=np.float64), "return": returns,
               "length": np.full(n, steps_per_episode), "env_steps": steps,
               "wall_seconds": steps * seconds_per_step, "entropy": np.full(n, entropy),
               "q_mean": np.full(n, np.nan), "target_distance": np.full(n, np.nan)}
    assert set(columns) == set(NUMERIC)
    ev = _cols(EVAL_COLUMNS, [(s, 0, m, 0.0, math.nan, math.nan) for s, m in evals])
    tr = _cols(TRACE_COLUMNS, [(s, 0, u, math.nan, math.nan, f, g) for s, u, f, g in trace])
    config = default_config(algo, **lab.run_overrides(BUDGET))
    return RunView(label, seed, config, state, "", columns, None, ev, tr)


def snapshot(*runs: RunView, state: str = "finished") -> ExperimentSnapshot:
    return ExperimentSnapshot(state, tuple(runs), 1, 1.0)


def ramp(n: int, top: float = 500.0) -> np.ndarray:
    return np.linspace(10.0, top, n)


DONE = vd.evidence(snapshot(*(make_run(lb) for lb in SIDES.order)), SIDES.order)
"""Every seed of every label finished: the verdicts below are judged on their numbers."""


# ----- settings -------------------------------------------------------------------------------


def test_intervals_shrink_for_small_budgets_and_cap_at_the_defaults():
    assert lab.eval_interval(150_000) == 5_000 and lab.trace_interval(150_000) == 1_000
    assert lab.eval_interval(2_000) == 100 and lab.trace_interval(2_000) == 100
    o = lab.run_overrides(150_000)
    assert o == {"max_steps": 150_000, "max_episodes": None, "eval_every": 5_000,
                 "eval_episodes": 10}
    cfg = default_config("reinforce", "value", **lab.run_overrides(2_000))
    assert cfg.max_steps == 2_000 and cfg.max_episodes is None and cfg.eval_every == 100
    assert lab.BUDGETS[0] <= 2_000 and lab.DEFAULT_BUDGET in lab.BUDGETS


# ----- one run's figures ----------------------------------------------------------------------


def test_first_reaching_and_seconds_at():
    assert lab.first_reaching([100, 200, 300], [150.0, 480.0, 300.0], 475) == 200.0
    assert lab.first_reaching([100, 200], [150.0, np.nan], 195) is None
    assert lab.first_reaching([], [], 195) is None
    assert lab.seconds_at([10, 20, 30], [1.0, 2.0, 4.0], 25) == pytest.approx(3.0)
    assert lab.seconds_at([10, 20], [1.0, 2.0], 99) == 2.0  # clamped to the last episode
    assert lab.seconds_at([10], [1.0], None) is None and lab.seconds_at([], [], 5) is None


def test_flip_rates_weight_rows_by_their_updates_and_skip_the_warmup():
    trace = _cols(("env_steps", "updates", "flip_per_update", "flip_since_last"),
                  [(1000, 100, 0.5, 0.9), (2000, 110, 0.1, 0.2), (3000, 140, 0.3, 0.4)])
    per_update, net, gross = lab.flip_rates(trace)
    assert per_update == pytest.approx((100 * 0.5 + 10 * 0.1 + 30 * 0.3) / 140)
    assert net == pytest.approx(0.5)
    assert gross == pytest.approx((50 + 1 + 9) / 3)
    per_update, net, gross = lab.flip_rates(trace, skip_until=1500)
    assert per_update == pytest.approx((10 * 0.1 + 30 * 0.3) / 40)  # not (0.1 + 0.3) / 2
    assert net == pytest.approx(0.3) and gross == pytest.approx((1 + 9) / 2)
    assert lab.flip_rates(trace, skip_until=5000) == (None, None, None)
    assert lab.flip_rates({}) == (None, None, None)


def test_max_drawdown_is_the_largest_fall_below_the_best_so_far():
    assert lab.max_drawdown([100, 300, 200, 250, 50, 400], window=1) == 250.0
    assert lab.max_drawdown(np.arange(300.0)) == 0.0  # never falls
    assert lab.max_drawdown([500.0] * 99) is None  # no full 100-episode window
    # with the 100-episode window: 100 episodes at 400, then 100 at 100 -> the average falls 300
    assert lab.max_drawdown([400.0] * 100 + [100.0] * 100) == pytest.approx(300.0)


def test_eval_spread_entropy_and_greedy_probability():
    assert lab.eval_spread([1, 2, 3, 4], [0, 0, 100, 300], from_step=3) == 100.0
    assert lab.eval_spread([1, 2], [0, 10], from_step=2) is None  # one evaluation only
    assert lab.final_entropy([np.nan] * 5) is None
    assert lab.final_entropy([0.7] * 50 + [0.1] * 100) == pytest.approx(0.1)
    for p in (0.5, 0.8, 0.99):
        h = -(p * math.log(p) + (1 - p) * math.log(1 - p))
        assert lab.greedy_probability(h) == pytest.approx(p, abs=1e-6)
    assert lab.greedy_probability(None) is None


def test_run_figures_read_thresholds_from_training_and_from_greedy_evaluation():
    returns = np.concatenate([np.full(100, 100.0), np.full(100, 480.0)])
    run = make_run("A2C", returns=returns, steps_per_episode=10, seconds_per_step=0.01,
                   entropy=0.2, evals=[(500, 150.0), (1000, 200.0), (1500, 490.0),
                                       (2000, 300.0)],
                   trace=[(500, 10, 0.5, 0.5), (1000, 20, 0.1, 0.2), (2000, 30, 0.3, 0.4)])
    f = lab.run_figures(run)
    # the 100-episode average first reaches 195 at episode 125: (25 * 480 + 75 * 100) / 100
    assert f["train_steps_195"] == 1250 and f["train_seconds_195"] == pytest.approx(12.5)
    assert f["train_steps_475"] == 1990  # episode 199: 99 * 480 + 100 = 47620 / 100 >= 475
    assert f["eval_steps_195"] == 1000 and f["eval_steps_475"] == 1500
    assert f["eval_steps_195_twice"] == 1000  # 200 then 490
    assert f["eval_steps_475_twice"] is None  # 490 was followed by 300
    assert f["eval_seconds_475"] == pytest.approx(15.0)
    # warm-up: the first 10% of the 10,000-step budget (the row at 500 is left out)
    assert f["flips_per_update"] == pytest.approx((10 * 0.1 + 10 * 0.3) / 20)
    assert f["flips_per_interval"] == pytest.approx(0.3)
    assert f["flips_gross"] == pytest.approx((10 * 0.1 + 10 * 0.3) / 2)
    assert f["final_avg100"] == 480.0 and f["last_eval"] == 300.0
    assert f["final_entropy"] == pytest.approx(0.2) and f["drawdown"] == 0.0
    assert f["env_steps"] == 2000


def test_run_figures_of_a_run_that_reached_nothing():
    run = make_run("DQN", returns=np.full(50, 20.0), evals=[(400, 30.0)], algo="dqn")
    f = lab.run_figures(run)
    assert all(f[f"{k}_{t}"] is None for k in ("train_steps", "eval_steps", "eval_seconds")
               for t in lab.THRESHOLDS)
    assert f["drawdown"] is None and f["final_entropy"] is None
    assert f["flips_per_update"] is None and f["eval_spread"] is None


# ----- across seeds ---------------------------------------------------------------------------


def test_spread_and_reached_texts_say_how_many_seeds_got_there():
    assert numbers.spread_text([3.0, 1.0, 2.0]) == "2 [1–3]"
    assert numbers.spread_text([4000.0]) == "4,000"
    assert numbers.spread_text([None, None]) == "–"
    assert numbers.reached_text([5000.0, None, 7000.0]) == "6,000 [5,000–7,000] (2 of 3 seeds)"
    assert numbers.reached_text([None, None, None]) == "not reached (0 of 3 seeds)"
    assert stats.censored_median([10.0, None, 30.0]) == 30.0
    assert math.isinf(stats.censored_median([10.0, None, None]))
    assert lab.count_at_least([480.0, None, 300.0], 475) == (1, 3)


def _three(value_eval: float, policy_eval: float, value_flip: float, policy_flip: float,
           seeds=(0, 1)) -> ExperimentSnapshot:
    """DQN, A2C and RB on ``seeds`` with greedy evaluation reaching 500 at the given steps
    and the given flip fraction per trace interval."""
    runs = []
    for label, at, flip, ent, algo in (("DQN", value_eval, value_flip, math.nan, "dqn"),
                                       ("A2C", policy_eval, policy_flip, 0.05, "a2c"),
                                       ("RB", policy_eval * 1.5, policy_flip, 0.6, "a2c")):
        for s in seeds:
            evals = [(k * 500, 500.0 if k * 500 >= at else 100.0) for k in range(1, 21)]
            trace = [(k * 1000, 10 * k, flip / 10, flip) for k in range(1, 11)]
            runs.append(make_run(label, s, ramp(300), entropy=ent, evals=evals, trace=trace,
                                 algo=algo))
    return snapshot(*runs)


def test_sample_efficiency_verdict_follows_the_measurement():
    fast = vp.figures(_three(value_eval=2000, policy_eval=6000, value_flip=0.2,
                             policy_flip=0.05))
    v = vp.sample_efficiency_verdict(fast, SIDES, DONE)
    assert v.status == vd.HOLDS and "≥ 475" in v.text and "DQN 2,000" in v.text
    slow = vp.figures(_three(value_eval=8000, policy_eval=3000, value_flip=0.2,
                             policy_flip=0.05))
    v = vp.sample_efficiency_verdict(slow, SIDES, DONE)
    assert v.status == vd.DOES_NOT_HOLD and "disagrees" in v.text and "A2C" in v.text
    between = vp.figures(_three(value_eval=4000, policy_eval=3000, value_flip=0.2,
                                policy_flip=0.05))  # A2C at 3,000, RB at 4,500
    v = vp.sample_efficiency_verdict(between, SIDES, DONE)
    assert v.status == vd.PARTLY and "DQN beat RB but not A2C" in v.text
    never = vp.figures(snapshot(*(make_run(lb, returns=np.full(10, 9.0))
                                  for lb in SIDES.order)))
    assert vp.sample_efficiency_verdict(never, SIDES, DONE).status == vd.TOO_EARLY


def test_greedy_medians_within_one_evaluation_are_a_tie():
    """DQN at 3,000 and A2C at 3,500 with evaluations every 500 env steps: one evaluation
    apart, which the measurement cannot order, so DQN is not the faster one (as the page
    once said of 35,000 against 35,007 with evaluations every 5,000)."""
    snap = _three(value_eval=3000, policy_eval=3400, value_flip=0.2,
                  policy_flip=0.05)  # A2C reaches 500 at 3,500, RB at 5,500
    figs, done = vp.figures(snap), vd.evidence(snap, SIDES.order)
    assert vp.sample_efficiency_verdict(figs, SIDES, done).status == vd.HOLDS  # no tie allowed
    v = vp.sample_efficiency_verdict(figs, SIDES, done, eval_every=500)
    assert v.status == vd.PARTLY and "DQN beat RB but not A2C" in v.text
    assert "within one evaluation, 500 env steps" in v.text
    assert v.evidence == "both seeds of DQN, A2C and RB finished"
    found = vp.verdicts(snap, figs, SIDES, 2, trace_every=1000, eval_every=500)
    assert found["sample efficiency"] == v


def test_a_threshold_reached_by_no_side_falls_back_to_195():
    runs = [make_run(lb, s, returns=np.full(10, 9.0), evals=[(500, 100.0), (1000, m)])
            for lb, m in (("DQN", 200.0), ("A2C", 100.0), ("RB", 100.0)) for s in (0, 1)]
    v = vp.sample_efficiency_verdict(vp.figures(snapshot(*runs)), SIDES, DONE)
    assert v.status == vd.HOLDS and "≥ 195" in v.text


def test_training_average_that_ranks_differently_makes_it_partly():
    runs = []
    for lb, returns, reach in (("DQN", [100.0] * 200 + [300.0] * 100, 500),
                               ("A2C", [300.0] * 100, 1500), ("RB", [300.0] * 100, 1500)):
        for s in (0, 1):
            runs.append(make_run(lb, s, returns, evals=[(500 * k, 200.0 if 500 * k >= reach
                                                         else 50.0) for k in range(1, 5)]))
    v = vp.sample_efficiency_verdict(vp.figures(snapshot(*runs)), SIDES, DONE)
    assert v.status == vd.PARTLY and "≥ 195: DQN 500; A2C 1,500" in v.text
    assert "ranks them differently" in v.text and "DQN 2,480; A2C 1,000" in v.text  # episode 248


def test_stability_verdict_compares_flips_per_env_step():
    more = vp.figures(_three(2000, 6000, value_flip=0.2, policy_flip=0.05))
    assert vp.stability_verdict(more, SIDES, DONE, 1000).status == vd.HOLDS
    less = vp.figures(_three(2000, 6000, value_flip=0.01, policy_flip=0.05))
    v = vp.stability_verdict(less, SIDES, DONE, 1000)
    assert v.status == vd.DOES_NOT_HOLD and "disagrees" in v.text
    assert "per 1,000 env steps" in v.text
    # many small updates whose flips cancel out: gross far above net
    churn = [make_run(lb, s, ramp(10), trace=[(k * 1000, k * u, f, 0.1) for k in range(1, 6)])
             for lb, u, f in (("DQN", 250, 0.03), ("A2C", 8, 0.0125), ("RB", 2, 0.05))
             for s in (0, 1)]
    v = vp.stability_verdict(vp.figures(snapshot(*churn)), SIDES, DONE, 1000)
    assert v.status == vd.PARTLY  # equal net flips: no side moves more
    assert "DQN 7.500 (75.0× the net)" in v.text and "A2C 0.100 (1.0× the net)" in v.text
    no_trace = vp.figures(snapshot(*(make_run(lb, returns=ramp(10)) for lb in SIDES.order)))
    assert vp.stability_verdict(no_trace, SIDES, DONE, 1000).status == vd.TOO_EARLY


def test_policy_verdict_reports_how_deterministic_the_policies_became():
    figs = vp.figures(_three(2000, 6000, 0.2, 0.05))  # A2C 0.05 nats, RB 0.6 nats
    v = vp.policy_verdict(figs, SIDES, DONE, 2)
    assert v.status == vd.HOLDS and "0.050 nats" in v.text and "0.600 nats" in v.text
    runs = [make_run(lb, returns=ramp(10), entropy=e) for lb, e in
            (("DQN", math.nan), ("A2C", 0.05), ("RB", 0.1))]
    assert vp.policy_verdict(vp.figures(snapshot(*runs)), SIDES, DONE, 2).status == vd.PARTLY


def test_comparison_table_has_the_five_rows_with_claims_and_numbers():
    snap = _three(2000, 6000, 0.2, 0.05)
    figs = vp.figures(snap)
    table = vp.comparison_table(snap, figs, SIDES, 2, 1000)
    assert list(table["aspect"]) == list(vp.ASPECTS)
    assert list(table.columns) == ["aspect", "lesson: value-based", "measured: DQN",
                                   "lesson: policy-based", "measured: A2C", "measured: RB",
                                   vp.VERDICT_COLUMN]
    rows = table.set_index("aspect")
    assert "2 Q outputs" in rows.loc["action space", "measured: DQN"]
    assert "15,625" in rows.loc["action space", "measured: DQN"]
    assert "a Gaussian head, 2 outputs per action dimension (12 for 6" in rows.loc[
        "action space", "measured: A2C"]
    assert "argmax" in rows.loc["policy type", "measured: DQN"]
    assert "0.050" in rows.loc["policy type", "measured: A2C"]
    assert "**2,000** env steps" in rows.loc["sample efficiency", "measured: DQN"]
    assert "**0.200**" in rows.loc["stability", "measured: DQN"]
    assert rows.loc["sample efficiency", vp.VERDICT_COLUMN] == vd.HOLDS
    assert rows.loc["convergence", vp.VERDICT_COLUMN] == vd.UNTESTED
    assert "2 of 2 (greedy)" in rows.loc["convergence", "measured: DQN"]
    m = vp.measurements_table(figs, SIDES, 1000)
    assert len(m) == len(vp.MEASUREMENTS) and list(m.columns) == ["measurement", *SIDES.order]
    assert m.set_index("measurement").loc["final policy entropy (nats)", "DQN"].startswith(
        "none")


def _half_finished() -> ExperimentSnapshot:
    """The page as it once was at 60 s: DQN's two seeds finished (greedy 500 from 2,000 env
    steps), A2C's first finished and its second running, REINFORCE + baseline's two still
    queued with no episode at all."""
    full = _three(value_eval=2000, policy_eval=6000, value_flip=0.2, policy_flip=0.05)
    runs = [r for r in full.runs if r.label == "DQN"]
    a2c = [r for r in full.runs if r.label == "A2C"]
    runs += [a2c[0], make_run("A2C", 1, ramp(50), entropy=0.3, state="running")]
    runs += [make_run("RB", s, state="waiting") for s in (0, 1)]
    return snapshot(*runs, state="running")


def test_verdicts_are_too_early_while_runs_are_running_or_queued():
    snap = _half_finished()
    figs = vp.figures(snap)
    found = vp.verdicts(snap, figs, SIDES, 2, trace_every=1000, eval_every=500)
    for aspect in ("policy type", "stability", "sample efficiency"):
        v = found[aspect]
        assert v.status == vd.TOO_EARLY, (aspect, v)
        assert "until every seed has finished" in v.text
        assert "RB: 0 of 2 seeds finished, 2 waiting" in v.evidence
        assert "A2C: 1 of 2 seeds finished, 1 running" in v.evidence
        assert "with less experience" not in v.text  # the old, wrong claim
    assert "DQN: both seeds" not in found["policy type"].evidence  # DQN plays no part there
    assert "DQN: 2 of 2 seeds finished" in found["sample efficiency"].evidence
    conv = found["convergence"]
    assert conv.status == vd.UNTESTED and "so far, 3 of 6 runs finished" in conv.text
    assert found["action space"].status == vd.HOLDS  # by construction, no runs needed
    table = vp.comparison_table(snap, figs, SIDES, 2, 1000, found)
    assert set(table[vp.VERDICT_COLUMN]) == {vd.HOLDS, vd.TOO_EARLY, vd.UNTESTED}
    # the same experiment once every run has finished: the verdicts as before
    full = _three(value_eval=2000, policy_eval=6000, value_flip=0.2, policy_flip=0.05)
    found = vp.verdicts(full, vp.figures(full), SIDES, 2, 1000, 500)
    assert found["sample efficiency"].status == vd.HOLDS
    assert "with less experience" in found["sample efficiency"].text
    assert found["stability"].status == vd.HOLDS and found["policy type"].status == vd.HOLDS


def test_policy_type_cells_describe_each_algorithms_own_policy():
    """A2C and REINFORCE + baseline sample from π; only DQN acts by argmax with ε. Before the
    policy-based runs reported an entropy, their cells showed DQN's description."""
    snap = _half_finished()
    rows = vp.comparison_table(snap, vp.figures(snap), SIDES, 2, 1000).set_index("aspect")
    cells = rows.loc["policy type"]
    assert cells["measured: DQN"].startswith("argmax of Q, plus a random action")
    assert "nats" in cells["measured: A2C"]  # its seeds' entropy so far
    rb = cells["measured: RB"]
    assert "π(a|s)" in rb and "no policy entropy measured yet" in rb
    assert "argmax" not in rb and "ε" not in rb
    # queued policy-based runs of every kind: never DQN's words
    waiting = snapshot(*(make_run(lb, s, state="waiting") for lb in SIDES.order
                         for s in (0, 1)), state="running")
    cells = vp.comparison_table(waiting, vp.figures(waiting), SIDES, 2, 1000).set_index(
        "aspect").loc["policy type"]
    assert cells["measured: DQN"].startswith("argmax of Q")
    for lb in SIDES.policy:
        assert "argmax" not in cells[f"measured: {lb}"] and "π(a|s)" in cells[f"measured: {lb}"]


# ----- chart data -----------------------------------------------------------------------------


def test_eval_curves_bin_each_evaluation_to_its_due_point_and_average_seeds():
    runs = [make_run("A2C", 0, ramp(5), evals=[(1002, 100.0), (2010, 300.0)]),
            make_run("A2C", 1, ramp(5), evals=[(1000, 200.0), (2000, 500.0)])]
    data = vp.eval_curves(snapshot(*runs), ["A2C"])  # eval_every = 500 at a 10k budget
    assert list(data["env_steps"]) == [1000.0, 2000.0]
    assert list(data["mean"]) == [150.0, 400.0] and list(data["n"]) == [2, 2]
    assert list(data["hi"] - data["mean"]) == [50.0, 100.0]  # one std across seeds


def test_training_curves_cover_only_the_steps_each_seed_reached():
    runs = [make_run("A2C", 0, np.full(100, 100.0), steps_per_episode=100),   # to 10,000
            make_run("A2C", 1, np.full(50, 300.0), steps_per_episode=100)]    # to 5,000
    data = vp.training_curves(snapshot(*runs), ["A2C"], points=10)
    both, one = data[data["env_steps"] <= 5000], data[data["env_steps"] > 5000]
    assert (both["mean"] == 200.0).all() and (both["n"] == 2).all()
    assert (one["mean"] == 100.0).all() and (one["n"] == 1).all() and one["lo"].isna().all()
    assert len(vp.training_curves(snapshot(), ["A2C"])) == 0


def test_step_progress_counts_ended_runs_as_done():
    runs = [make_run("A2C", 0, ramp(10), steps_per_episode=100, state="running"),
            make_run("RB", 0, ramp(5), steps_per_episode=100, state="finished")]
    assert lab.step_progress(snapshot(*runs, state="running")) == (1_000 + BUDGET, 2 * BUDGET)


def test_curves_chart_is_labelled_and_keeps_algorithm_colours():
    data = vp.eval_curves(_three(2000, 6000, 0.2, 0.05), SIDES.order)
    spec = vp.curves_chart(data, SIDES.order, "Greedy evaluation (10 episodes)", "return",
                           BUDGET).to_json()
    assert "Greedy evaluation (10 episodes)" in spec and '"DQN"' in spec and "475" in spec


# ----- the page ---------------------------------------------------------------------------------

TIMEOUT = 60
WAIT = 150.0
KEY = "exp.value_policy"


@pytest.fixture
def inline(monkeypatch):
    monkeypatch.setenv("PGLAB_EXPERIMENT_MODE", "inline")
    yield
    from pgcore.execution import stop_all

    stop_all()


def _page():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "views" / "value" / "value_vs_policy.py"),
                           default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def _captions(at) -> str:
    return "\n".join(c.value for c in at.caption)


def test_page_renders_before_any_run(inline):
    at = _page()
    assert "Press **Start**" in " ".join(m.value for m in at.info)
    assert at.select_slider(key=f"{KEY}.budget").value == lab.DEFAULT_BUDGET
    assert at.slider(key=f"{KEY}.seeds").value == 3
    assert not at.button(key=f"{KEY}.start").disabled
    assert "Greedy evaluation every 5,000 env steps" in _captions(at)


def test_page_trains_all_three_and_fills_the_table(inline):
    at = _page()
    at.slider(key=f"{KEY}.seeds").set_value(2).run()
    at.select_slider(key=f"{KEY}.budget").set_value(lab.BUDGETS[0]).run()
    assert "Greedy evaluation every 100 env steps" in _captions(at)
    at.button(key=f"{KEY}.start").click().run()
    assert not at.exception, at.exception
    deadline = time.monotonic() + WAIT
    while "6 of 6 runs done" not in _captions(at):
        assert time.monotonic() < deadline, _captions(at)
        time.sleep(0.5)
        at.run()
        assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert f"{2 * 3 * lab.BUDGETS[0]:,} of {2 * 3 * lab.BUDGETS[0]:,} env steps" in _captions(at)
    table = at.table[0].value
    assert list(table["aspect"]) == list(vp.ASPECTS)
    measured = [c for c in table.columns if c.startswith("measured: ")]
    assert measured == ["measured: DQN", "measured: A2C", "measured: REINFORCE + baseline"]
    assert all(any(ch.isdigit() for ch in str(cell)) for c in measured for cell in table[c])
    rows = table.set_index("aspect")
    assert "2 Q outputs" in rows.loc["action space", "measured: DQN"]
    assert "nats" in rows.loc["policy type", "measured: A2C"]
    assert "per 100 env steps" in rows.loc["stability", "measured: DQN"]
    assert "last greedy eval" in rows.loc["convergence", "measured: REINFORCE + baseline"]
    assert set(table[vp.VERDICT_COLUMN]) <= {
        vd.HOLDS, vd.PARTLY, vd.DOES_NOT_HOLD, vd.UNTESTED, vd.TOO_EARLY}
    aspects = [a.capitalize() for a in vp.ASPECTS]
    verdicts = [m.value for m in at.markdown  # each aspect's verdict: "**Aspect** ..."
                if m.value.startswith("**") and m.value.split("**")[1] in aspects]
    assert [v.split("**")[1] for v in verdicts] == aspects
    # every seed finished: each measured verdict names that as its evidence, nothing is partial
    assert sum("*(both seeds of DQN, A2C and REINFORCE + baseline finished)*" in v
               for v in verdicts) == 3
    assert "Partial" not in _captions(at)
    specs = [c.proto.spec for c in at.get("vega_lite_chart")]
    assert len(specs) == 3
    assert "Training returns (with exploration)" in specs[0]
    assert "Greedy evaluation (10 episodes)" in specs[1]
    all_m = at.dataframe[0].value
    assert list(all_m.columns) == ["measurement", "DQN", "A2C", "REINFORCE + baseline"]
    per_run = at.dataframe[1].value
    assert len(per_run) == 6 and set(per_run["seed"]) == {0, 1}
    assert (per_run["env_steps"] >= lab.BUDGETS[0]).all()
    assert per_run["last_eval"].notna().all()  # every run was evaluated
    assert per_run["flips_per_interval"].notna().all()  # and traced
    assert not at.button(key=f"{KEY}.start").disabled
    assert isinstance(per_run, pd.DataFrame)
