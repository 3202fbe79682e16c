"""The DQN exercise pages (target network, hard copy or Polyak, overestimation): each renders,
runs a tiny experiment and shows its charts and numbers; and the pure helpers behind them
(ui/dqn_exercises.py) on hand-built data.

The experiments run inline (``PGLAB_EXPERIMENT_MODE=inline``), as in test_experiment_pages.py;
AppTest cannot fire ``run_every``, so the tests call ``at.run()`` in a loop.
"""

from __future__ import annotations

import dataclasses
import json
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
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from pgcore.execution.experiments import (
    EVAL_COLUMNS,
    NUMERIC,
    TRACE_COLUMNS,
    ExperimentSnapshot,
    RunView,
)
from pgcore.labs import dqn_exercises as lab
from pgcore.labs import stats
from pgcore.training.config import preset
from ui import dqn_exercises as dq
from ui import navigation
from ui.charts import numbers
from ui.verdicts import evidence

TIMEOUT = 60
WAIT = 150.0


# ----- the pages under AppTest ----------------------------------------------------------------


@pytest.fixture
def inline(monkeypatch):
    monkeypatch.setenv("PGLAB_EXPERIMENT_MODE", "inline")
    yield
    from pgcore.execution import stop_all

    stop_all()


def page(name: str) -> AppTest:
    at = AppTest.from_file(str(navigation.page(name).path), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def charts(at: AppTest) -> list:
    return list(at.get("vega_lite_chart"))


def chart_rows(proto) -> pd.DataFrame:
    """The rows of every dataset of a chart (Streamlit sends them as Arrow IPC streams)."""
    frames = [pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in proto.datasets]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def run_tiny(at: AppTest, key: str, n_runs: int) -> None:
    """Two seeds, 20 episodes, Start, then rerun until every run has ended."""
    assert "Press **Start**" in " ".join(m.value for m in at.info)
    at.slider(key=f"{key}.seeds").set_value(2).run()
    at.number_input(key=f"{key}.episodes").set_value(20).run()
    at.button(key=f"{key}.start").click().run()
    assert not at.exception, at.exception
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        at.run()
        assert not at.exception, at.exception
        if f"{n_runs} of {n_runs} runs done" in captions(at):
            break
        time.sleep(0.3)
    else:
        pytest.fail(f"the {n_runs} runs did not finish within {WAIT:.0f} s")
    assert not at.error, [e.value for e in at.error]
    badges = [m.value for m in at.markdown if "-badge[" in m.value]
    assert badges == [":green-badge[finished]"]


def test_target_network_page(inline):
    at = page("dqn_target")
    assert at.number_input(key="exp.dqn_target.episodes").value == 400
    assert at.slider(key="exp.dqn_target.seeds").value == 3
    assert "8 runs take about" not in captions(at) and "6 runs take about" in captions(at)
    run_tiny(at, "exp.dqn_target", 4)
    specs = [c.proto.spec for c in charts(at)]
    assert len(specs) == 4  # per setting: returns and Q
    assert sum('"symlog"' in s for s in specs) == 2
    table = at.dataframe[0].value
    assert list(table["setting"]) == ["C = 1000 (frozen target)", "C = 1 (no target network)"]
    assert list(table["seeds"]) == [2, 2]
    assert all(v != "–" for v in table["final 100-episode average"])
    assert all(v != "–" for v in table["peak mean Q"])
    md = markdown(at)
    assert md.count("**The lesson:**") == 3
    # every seed finished, but 20 episodes cannot show a 100-episode average
    assert "too early" in md and "needs 100 episodes per run, and these runs have 20" in md
    assert "*(both seeds of C = 1000 (frozen target) and C = 1 (no target network) " \
           "finished)*" in md
    assert "Partial" not in captions(at)
    at.button(key="exp.dqn_target.reset").click().run()
    assert "Press **Start**" in " ".join(m.value for m in at.info)


def test_polyak_page(inline):
    at = page("dqn_polyak")
    run_tiny(at, "exp.dqn_polyak", 6)
    specs = [json.loads(c.proto.spec) for c in charts(at)]
    assert len(specs) == 3  # returns, trace close-up, trace over the whole run
    close_up = charts(at)[1].proto
    assert "Close-up, seed 0" in close_up.spec
    # the trace chart carries rows of all three settings
    trace = chart_rows(close_up)
    assert set(trace["setting"]) == {"hard copy every 1,000", "Polyak τ = 0.005",
                                     "hard copy every 200"}
    assert trace["distance"].notna().all() and (trace["distance"] >= 0).all()
    table = at.dataframe[0].value
    assert list(table["setting"]) == ["hard copy every 1,000", "Polyak τ = 0.005",
                                      "hard copy every 200"]
    assert all(v != "–" for v in table["mean ‖θ_target − θ‖"])
    md = markdown(at)
    assert md.count("**The lesson:**") == 2
    assert "needs 5,000 env steps" in md  # 20 episodes are far too few for the pace
    assert "(1 − τ)/τ ≈ 199" in captions(at)
    at.selectbox(key="exp.dqn_polyak.trace_seed").set_value(1).run()
    assert "Close-up, seed 1" in charts(at)[1].proto.spec


def test_overestimation_page(inline):
    at = page("dqn_overestimation")
    run_tiny(at, "exp.dqn_over", 4)
    assert len(charts(at)) == 2
    rows = chart_rows(charts(at)[0].proto)  # plain DQN's chart: per seed, then the means
    per_seed = rows[rows["seed"].notna()]
    assert set(per_seed["seed"]) == {0, 1} and set(per_seed["episodes"]) == {20}  # one eval
    assert set(per_seed["series"]) == {dq.PREDICTED, dq.COLLECTED}
    table = at.dataframe[0].value
    assert list(table[""]) == ["plain DQN", "Double DQN", "Double minus plain (paired by seed)"]
    assert all("95% CI" in v for v in table["mean bias (predicted − collected)"])
    assert list(table["seeds"]) == [2, 2, 2]
    # the page's number is the mean over seeds of predicted - collected in its chart
    wide = per_seed.pivot(index="seed", columns="series", values="value")
    expected = stats.t_interval(wide[dq.PREDICTED] - wide[dq.COLLECTED])
    assert table["mean bias (predicted − collected)"][0] == numbers.interval_text(expected)
    assert "multiplier is 12.7" in captions(at)  # 2 seeds: say the interval is wide
    assert markdown(at).count("**The lesson:**") == 2
    at.radio(key="exp.dqn_over.span").set_value("all evaluations").run()
    assert any("Bias over the all evaluations" in s.value for s in at.subheader)


# ----- hand-built snapshots -------------------------------------------------------------------

CFG = preset("dqn-lesson-c1000")


def run(label: str, seed: int, returns, q=None, td=None, evals=None, trace=None,
        config=CFG, state: str = "finished") -> RunView:
    returns = np.asarray(returns, dtype=np.float64)
    n = len(returns)
    cols = {c: np.full(n, np.nan) for c in NUMERIC}
    cols["episode"] = np.arange(1, n + 1, dtype=np.float64)
    cols["return"] = returns
    cols["length"] = returns.copy()
    cols["env_steps"] = np.cumsum(returns)
    cols["wall_seconds"] = np.arange(n) * 0.1
    if q is not None:
        cols["q_mean"] = np.asarray(q, dtype=np.float64)
    if td is not None:
        cols["target_distance"] = np.asarray(td, dtype=np.float64)
    return RunView(label, seed, config.replace(seed=seed), state, "", cols, None,
                   _table(evals, EVAL_COLUMNS), _table(trace, TRACE_COLUMNS))


def _table(given: dict | None, names) -> dict[str, np.ndarray]:
    """Columns ``names`` from ``given``; those not given are NaN (as long as the others)."""
    given = given or {}
    n = len(next(iter(given.values()))) if given else 0
    return {c: np.asarray(given[c], dtype=np.float64) if c in given else np.full(n, np.nan)
            for c in names}


def snapshot(*runs: RunView, state: str = "finished") -> ExperimentSnapshot:
    return ExperimentSnapshot(state, tuple(runs), 1, 1.0)


ALL_DONE = evidence(snapshot(run("a", 0, [10.0]), run("a", 1, [10.0])))
"""Complete evidence: the claims below are judged on their numbers."""


def climb_and_park(n=400):  # from 20 to 500 over 150 episodes, then 500
    return np.concatenate([np.linspace(20, 500, 150), np.full(n - 150, 500.0)])


def spike_and_collapse(n=400):  # up to 350, then back down to 20
    return np.concatenate([np.linspace(20, 350, 150), np.full(100, 350.0),
                           np.full(n - 250, 20.0)])


def test_final_and_best_and_median_range():
    final, best = lab.final_and_best(spike_and_collapse())
    assert final == 20.0 and best == 350.0
    assert lab.final_and_best([]) == (None, None)
    assert lab.final_and_best([10.0, 30.0]) == (20.0, 20.0)  # shorter than the window
    assert stats.median_range([3, None, 1, float("nan"), 2]) == {"median": 2.0, "lo": 1.0,
                                                                 "hi": 3.0, "n": 3}
    assert numbers.range_text(stats.median_range([1, 2, 3])) == "2 (1 – 3)"
    assert numbers.range_text(stats.median_range([])) == "–"


def test_t_interval_of_known_per_seed_means():
    iv = stats.t_interval([1.0, 2.0, 3.0])  # s = 1, n = 3, t(2) = 4.303
    assert iv["mean"] == 2.0 and iv["half"] == pytest.approx(4.303 / math.sqrt(3))
    assert iv["lo"] == pytest.approx(2 - 4.303 / math.sqrt(3))
    one = stats.t_interval([5.0])
    assert one["mean"] == 5.0 and one["lo"] is None
    assert "no interval" in numbers.interval_text(one)
    assert stats.t_quantile(1) == 12.706 and stats.t_quantile(100) == 1.96
    with pytest.raises(ValueError):
        stats.t_quantile(0)


def test_bias_numbers_from_evaluations():
    evals = pd.DataFrame({"seed": [0, 0, 1, 1], "episodes": [20, 40, 20, 40],
                          "predicted": [30.0, 52.0, 12.0, 14.0],
                          "collected": [20.0, 40.0, 10.0, 10.0], "eval_return": [0.0] * 4})
    nums = dq.bias_numbers(evals)
    assert nums["per_seed"] == {0: 11.0, 1: 3.0}
    assert nums["bias"]["mean"] == 7.0
    assert nums["bias"]["half"] == pytest.approx(12.706 * np.std([11, 3], ddof=1) / math.sqrt(2))
    assert nums["collected"] == 20.0 and nums["evaluations"] == 4
    # the second half of a 60-episode budget keeps only episode 40
    late = dq.bias_numbers(dq.in_span(evals, dq.SPANS[0], 60))
    assert late["per_seed"] == {0: 12.0, 1: 4.0}
    assert dq.in_span(evals, dq.SPANS[1], 60) is evals
    # Double minus plain, paired by seed
    double = {"per_seed": {0: 1.0, 1: 2.0, 2: 9.0}}
    diff = dq.bias_difference(nums, double)
    assert diff["n"] == 2 and diff["mean"] == pytest.approx(((1 - 11) + (2 - 3)) / 2)
    assert dq.bias_numbers(evals.iloc[:0])["bias"]["mean"] is None


def _bias(per_seed: dict, collected: float = 80.0) -> dict:
    return {"per_seed": per_seed, "bias": stats.t_interval(per_seed.values()),
            "collected": collected, "evaluations": len(per_seed)}


def test_overestimation_claims():
    plain = _bias({0: 20.0, 1: 24.0, 2: 22.0})
    double = _bias({0: 1.0, 1: -1.5, 2: 0.5})
    diff = dq.bias_difference(plain, double)
    assert dq.float_claim(plain, "span", ALL_DONE).status == "holds"
    assert dq.hug_claim(plain, double, diff, "span", ALL_DONE).status == "holds"
    # Double no closer than plain
    assert dq.hug_claim(plain, plain, dq.bias_difference(plain, plain), "span",
                        ALL_DONE).status == \
        "does not hold"
    # both below the collected return: plain does not float above, and the page says why
    under = _bias({0: -20.0, 1: -25.0, 2: -22.0})
    claim = dq.float_claim(under, "span", ALL_DONE)
    assert claim.status == "does not hold" and "below" in claim.text
    assert "no optimism" in dq.hug_claim(under, under, dq.bias_difference(under, under),
                                         "span", ALL_DONE).text
    # above on average, but the interval includes zero
    noisy = _bias({0: 30.0, 1: -10.0})
    claim = dq.float_claim(noisy, "span", ALL_DONE)
    assert claim.status == "partly" and "very wide" in claim.text
    assert dq.float_claim(_bias({}), "span", ALL_DONE).status == "too early"
    assert "holds" in dq.float_claim(plain, "span", ALL_DONE).markdown()


def test_early_underestimate():
    evals = pd.DataFrame({"seed": [0, 0], "episodes": [20, 40], "predicted": [1.0, 90.0],
                          "collected": [9.0, 50.0], "eval_return": [0.0, 0.0]})
    assert dq.early_underestimate(evals)
    assert not dq.early_underestimate(evals.assign(predicted=[10.0, 90.0]))
    assert not dq.early_underestimate(evals.iloc[:0])


def _target_snap(stable_curves, broken_curves, stable_q=30.0, broken_q=5000.0):
    runs = [run("frozen", s, c, q=np.full(len(c), stable_q)) for s, c in
            enumerate(stable_curves)]
    runs += [run("none", s, c, q=np.full(len(c), broken_q)) for s, c in
             enumerate(broken_curves)]
    snap = snapshot(*runs)
    return lab.target_numbers(snap, "frozen"), lab.target_numbers(snap, "none")


def test_parking_and_collapse_are_detected():
    stable, broken = _target_snap([climb_and_park()] * 3, [spike_and_collapse()] * 3)
    assert stable["final"]["median"] == 500.0 and broken["best"]["median"] == 350.0
    assert dq.parks_claim(stable, ALL_DONE).status == "holds"
    assert dq.collapse_claim(broken, stable, ALL_DONE).status == "holds"
    assert dq.q_claim(broken, stable, ALL_DONE).status == "holds"  # 5000 >> 99
    # the other way round: the "frozen" runs collapse, the "none" runs park
    stable, broken = _target_snap([spike_and_collapse()] * 3, [climb_and_park()] * 3,
                                  stable_q=40.0, broken_q=50.0)
    assert dq.parks_claim(stable, ALL_DONE).status == "does not hold"
    claim = dq.collapse_claim(broken, stable, ALL_DONE)
    assert claim.status == "does not hold" and "none loses" in claim.text
    assert dq.q_claim(broken, stable, ALL_DONE).status == "does not hold"
    # climbs to 500 and falls back: partly
    fall = np.concatenate([climb_and_park(300), np.full(100, 300.0)])
    stable, _ = _target_snap([fall] * 2, [fall] * 2)
    assert dq.parks_claim(stable, ALL_DONE).status == "partly"
    # a slow learner still at its best: the claim does not hold, and more episodes may help
    slow = np.linspace(20, 200, 400)
    stable, broken = _target_snap([slow] * 2, [np.full(400, 22.0)] * 2)
    claim = dq.parks_claim(stable, ALL_DONE)
    assert claim.status == "does not hold" and "more episodes" in claim.text
    assert "no spike" in dq.collapse_claim(broken, stable, ALL_DONE).text
    # one of three seeds collapses: partly
    _, broken = _target_snap([slow], [spike_and_collapse(), climb_and_park(), climb_and_park()])
    assert dq.collapse_claim(broken, stable, ALL_DONE).status == "partly"
    # fewer than 100 episodes: too early
    stable, broken = _target_snap([slow[:50]], [slow[:50]])
    assert dq.parks_claim(stable, ALL_DONE).status == "too early"
    assert dq.collapse_claim(broken, stable, ALL_DONE).status == "too early"


def test_target_curves_and_table():
    snap = snapshot(run("frozen", 0, [10.0, 20.0, 30.0], q=[np.nan, 1.0, 2.0]),
                    run("frozen", 1, [40.0, 40.0], q=[np.nan, 3.0]))
    curves = dq.return_curves(snap, "frozen")
    avg = curves[(curves["seed"] == "seed 0") & (curves["series"] != "return")]
    assert avg["value"].tolist() == [10.0, 15.0, 20.0]
    q = dq.q_curves(snap, "frozen")
    assert q["episode"].tolist() == [2, 3, 2] and q["q"].tolist() == [1.0, 2.0, 3.0]
    assert lab.q_top(snap) == 3.0
    table = dq.target_table([lab.target_numbers(snap, "frozen")])
    assert table["final 100-episode average"][0] == "30.0 (20.0 – 40.0)"
    assert table["peak mean Q"][0] == "2.5 (2.0 – 3.0)"
    assert dq.q_chart(q, 3, "t").to_dict()["layer"][0]["encoding"]["y"]["scale"]["type"] == \
        "symlog"
    dq.return_chart(curves, 3, "t").to_dict()  # builds


def test_gradient_steps_and_copies():
    assert lab.gradient_steps(CFG, 63) == 0 and lab.gradient_steps(CFG, 64) == 1
    assert lab.gradient_steps(CFG, 2_063) == 2_000
    tuned = preset("dqn")  # an update every 2 env steps from step 32
    assert lab.gradient_steps(tuned, 33) == 1 and lab.gradient_steps(tuned, 34) == 2
    returns = np.full(10, 306.3)  # 3,063 env steps: 3,000 gradient steps, 3 copies
    snap = snapshot(run("frozen", 0, returns, q=np.full(10, 2.5)))
    c = lab.copies_numbers(snap, "frozen")
    assert c["copies"]["median"] == 3 and c["q_last"]["median"] == 2.5
    assert c["allowed"] == pytest.approx((1 - 0.99 ** 4) / 0.01)


def test_equivalent_period():
    c, p = lab.equivalent_period(4.0, 2.0, 10.0)  # distance linear in C
    assert c == pytest.approx(400) and p == pytest.approx(1.0)
    c, p = lab.equivalent_period(math.sqrt(400), math.sqrt(200), math.sqrt(1000))  # sqrt(C)
    assert c == pytest.approx(400) and p == pytest.approx(0.5)
    assert lab.equivalent_period(1.0, 2.0, 1.5) == (None, pytest.approx(math.log(0.75)
                                                                          / math.log(5)))
    assert lab.equivalent_period(None, 1.0, 2.0) == (None, None)


def _saw(period: int, n: int = 20_000, every: int = 50) -> dict:
    steps = np.arange(every, n + 1, every, dtype=np.float64)
    return {"env_steps": steps, "target_distance": (steps % period) / period + 0.01}


def _smooth(n: int = 20_000, every: int = 50) -> dict:
    steps = np.arange(every, n + 1, every, dtype=np.float64)
    return {"env_steps": steps, "target_distance": 0.5 + 0.02 * np.sin(steps / 300.0)}


def test_sawtooth_and_smooth_trail_are_told_apart():
    hard = run("hard", 0, [100.0] * 200, td=np.full(200, 0.5), trace=_saw(1000))
    poly = run("poly", 0, [100.0] * 200, td=np.full(200, 0.5), trace=_smooth())
    assert dq.sawtooth_dip(hard) < 0.3
    assert dq.sawtooth_dip(poly) > 0.9
    numbers = dq.distance_numbers(snapshot(hard, poly))
    assert dq.smooth_claim(numbers, "poly", ["hard"], ALL_DONE).status == "holds"
    assert dq.smooth_claim(numbers, "hard", ["poly"], ALL_DONE).status == "does not hold"
    assert dq.sawtooth_dip(run("x", 0, [10.0])) is None  # no trace


def _pace_snap(d_1000: float, d_polyak: float, d_200: float, episodes: int = 200):
    runs = []
    for seed in (0, 1):
        for label, d in (("c1000", d_1000), ("polyak", d_polyak), ("c200", d_200)):
            runs.append(run(label, seed, [100.0] * episodes, td=np.full(episodes, d)))
    numbers = dq.distance_numbers(snapshot(*runs))
    return numbers, lab.polyak_equivalents(numbers, "polyak", "c200", "c1000")


def test_mean_distance_and_pace_claim():
    # equal-length episodes: the length-weighted mean is the plain mean, NaN left out
    r = run("a", 0, [10.0, 30.0, 10.0], td=[np.nan, 1.0, 3.0])
    assert lab.mean_distance(r) == pytest.approx((30 * 1 + 10 * 3) / 40)
    assert lab.mean_distance(r, upto=40.0) == 1.0  # only the episodes ended by step 40
    numbers, equiv = _pace_snap(10.0, 2.1, 2.0)  # linear: Polyak at C = 210
    assert equiv["period"]["median"] == pytest.approx(210)
    assert dq.pace_claim(equiv, ALL_DONE).status == "holds"
    _, equiv = _pace_snap(10.0, 4.0, 2.0)  # C = 400: the mean-lag reading
    claim = dq.pace_claim(equiv, ALL_DONE)
    assert claim.status == "partly" and "400" in claim.text
    _, equiv = _pace_snap(10.0, 20.0, 2.0)
    assert dq.pace_claim(equiv, ALL_DONE).status == "does not hold"
    _, equiv = _pace_snap(2.0, 4.0, 3.0)  # C = 1000 trails less than C = 200: no scale
    assert dq.pace_claim(equiv, ALL_DONE).status == "too early"
    _, equiv = _pace_snap(10.0, 2.1, 2.0, episodes=20)  # 2,000 env steps: too few copies
    claim = dq.pace_claim(equiv, ALL_DONE)
    assert claim.status == "too early" and "5,000" in claim.text
    table = dq.distance_table(numbers)
    assert table["mean ‖θ_target − θ‖"].tolist() == ["10.000", "2.100", "2.000"]


def test_trace_zoom_and_bins():
    runs = [run("hard", s, [100.0] * 100, trace=_saw(1000, n=10_000)) for s in (0, 1)]
    runs.append(run("poly", 0, [100.0] * 100, trace=_smooth(n=8_000)))
    snap = snapshot(*runs)
    trace = dq.trace_frame(snap, 0)
    assert set(trace["setting"]) == {"hard", "poly"} and len(trace) == 200 + 160
    late = dq.zoom(trace, "late", 4_000)
    assert late["env_steps"].min() == 4_000 and late["env_steps"].max() <= 8_000 + 50
    early = dq.zoom(trace, "early", 4_000)
    assert early["env_steps"].min() == 1_000 and early["env_steps"].max() == 5_000
    bins = dq.binned_trace(trace, max_points=5)
    assert bins.groupby("setting").size().max() <= 5
    assert b"label,seed,env_steps" in snap.trace_csv()
    assert dq.trace_frame(snap, 7).empty
    dq.distance_chart(late, "t", ["hard", "poly"]).to_dict()  # builds


def test_eval_frame_chart_and_csv():
    ev = {"env_steps": [100, 200], "episodes": [20, 40], "eval_return": [9, 30],
          "eval_return_std": [1, 2], "start_value": [1.0, 50.0],
          "discounted_return": [8.0, 25.0]}
    snap = snapshot(run("plain", 0, [10.0] * 40, evals=ev), run("plain", 1, [10.0] * 40))
    frame = dq.eval_frame(snap, "plain")
    assert frame["predicted"].tolist() == [1.0, 50.0] and set(frame["seed"]) == {0}
    spec = dq.eval_chart(frame, 40, "plain", y_max=50).to_dict()
    assert dq.PREDICTED in json.dumps(spec, ensure_ascii=False)
    assert snap.evals_csv().startswith(b"label,seed,env_steps,episodes")
    empty = dq.eval_frame(snapshot(run("x", 0, [1.0])), "x")
    assert empty.empty
    dq.eval_chart(empty, 10, "x").to_dict()  # a setting without evaluations yet still draws
    nums = dq.bias_numbers(dq.in_span(empty, dq.SPANS[0], 400))
    table = dq.bias_table({"x": nums, "diff": {"bias": dq.bias_difference(nums, nums)}})
    assert table["mean bias (predicted − collected)"].tolist() == ["–", "–"]
    assert table["evaluations"].tolist() == ["0", "–"]


def test_duration_text():
    # every run starts at once and the cores are shared: the time is the runs' total work
    # over the cores (no waves of runs waiting for a free core)
    assert dq.duration_text(6, 400, 2) == "about 2 minutes on 2 cores"
    assert dq.duration_text(1, 20, 1) == "about a minute on 1 core"
    assert dq.duration_text(12, 400, 2) == "about 3 minutes on 2 cores"
    assert dq.duration_text(9, 400, 1) == "about 5 minutes on 1 core"


def test_seed_major_keeps_settings_together():
    from pgcore.execution.experiments import grid

    jobs = lab.seed_major(grid({"a": CFG, "b": CFG, "c": CFG}, [0, 1]))
    assert [(j.label, j.seed) for j in jobs] == [("a", 0), ("b", 0), ("c", 0), ("a", 1),
                                                 ("b", 1), ("c", 1)]


# ----- no verdict before every seed has finished ------------------------------------------------


def _early_target(state: str = "running"):
    """C = 1000 with two seeds finished (climb and park) and one still running; C = 1 with one
    seed running (already spiked and collapsed, its Q far above the ceiling) and two queued
    with no episode at all: what the page once judged "does not hold" at 3 of 6 runs.
    ``state="stopped"``: the same runs, the experiment stopped."""
    live, queued = ("running", "waiting") if state == "running" else ("stopped", "stopped")
    runs = [run("frozen", 0, climb_and_park(), q=np.full(400, 30.0)),
            run("frozen", 1, climb_and_park(), q=np.full(400, 30.0)),
            run("frozen", 2, climb_and_park(200), q=np.full(200, 30.0), state=live),
            run("none", 0, spike_and_collapse(), q=np.full(400, 5000.0), state=live),
            run("none", 1, [], state=queued), run("none", 2, [], state=queued)]
    snap = snapshot(*runs, state=state)
    return snap, lab.target_numbers(snap, "frozen"), lab.target_numbers(snap, "none")


def test_target_claims_are_too_early_until_every_seed_finished():
    snap, stable, broken = _early_target()
    ev = evidence(snap, ["frozen", "none"])
    claims = [dq.parks_claim(stable, ev.of(["frozen"])), dq.collapse_claim(broken, stable, ev),
              dq.q_claim(broken, stable, ev)]
    assert [c.status for c in claims] == ["too early"] * 3
    for c in claims:
        assert "until every seed has finished" in c.text
        assert "frozen: 2 of 3 seeds finished, 1 running" in c.evidence
        md = c.markdown()
        assert ":gray[**too early**]" in md and "holds" not in md  # no verdict, either way
    # a claim names only the settings it compares
    assert "none" not in claims[0].evidence
    assert "none: 0 of 3 seeds finished, 1 running, 2 waiting" in claims[1].evidence
    # the same numbers with every seed finished give the verdicts they support
    done = evidence(snapshot(*(dataclasses.replace(r, state="finished") for r in snap.runs
                               if r.episodes)))
    assert done.complete
    assert dq.collapse_claim(broken, stable, done).status == "holds"
    assert dq.q_claim(broken, stable, done).status == "holds"
    assert dq.parks_claim(stable, done.of(["frozen"])).status == "holds"


def test_a_stopped_experiment_stays_too_early_and_says_why():
    snap, stable, broken = _early_target("stopped")
    claim = dq.collapse_claim(broken, stable, evidence(snap, ["frozen", "none"]))
    assert claim.status == "too early"
    assert "stopped before every seed finished" in claim.text
    assert "none: 0 of 3 seeds finished, 3 stopped" in claim.evidence
    assert not claim.evidence.startswith("so far")


def test_polyak_and_overestimation_claims_wait_for_every_seed():
    numbers, equiv = _pace_snap(10.0, 2.1, 2.0)  # would hold
    runs = [run(lb, s, [100.0] * 200, td=np.full(200, 1.0),
                state="running" if lb == "c200" and s == 1 else "finished")
            for s in (0, 1) for lb in ("c1000", "polyak", "c200")]
    ev = evidence(snapshot(*runs, state="running"))
    assert ev.of(["c1000", "polyak"]).complete and not ev.complete
    for claim in (dq.pace_claim(equiv, ev), dq.smooth_claim(numbers, "polyak", ["c200"], ev)):
        assert claim.status == "too early"
        assert "c200: 1 of 2 seeds finished, 1 running" in claim.evidence
    assert dq.pace_claim(equiv, ALL_DONE).status == "holds"
    plain = _bias({0: 20.0, 1: 24.0, 2: 22.0})
    double = _bias({0: 1.0, 1: -1.5, 2: 0.5})
    runs = [run("plain", s, [10.0]) for s in range(3)]
    runs += [run("double", 0, [10.0]), run("double", 1, [10.0], state="running"),
             run("double", 2, [], state="waiting")]
    ev = evidence(snapshot(*runs, state="running"), ["plain", "double"])
    diff = dq.bias_difference(plain, double)
    for claim in (dq.float_claim(plain, "span", ev), dq.hug_claim(plain, double, diff, "span", ev)):
        assert claim.status == "too early"
        assert "double: 1 of 3 seeds finished, 1 running, 1 waiting" in claim.evidence
