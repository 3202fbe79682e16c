"""Every chart of every page, built from small hand-made data and read back as its Vega-Lite
spec (``to_dict()``): each condition keeps its colour and dash whatever order a page lists
the conditions in (and across the charts of one page), no axis writes SI prefixes, a log
axis never has 0 in its domain, its ticks or its data, and no legend cuts a label short or
draws pale swatches."""

from __future__ import annotations

import json
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest

from pgcore.labs import rps as game
from pgcore.labs import value_policy as value_lab
from ui import board, pendulum
from ui import dqn_exercises as dq
from ui import rps as rc
from ui import smoothness as sc
from ui import value_policy as vp
from ui.charts import experiments as ec
from ui.charts import live, palette

EP = np.arange(1, 21)


# ----- reading specs -------------------------------------------------------------------------


def _nodes(node):
    """Every dict in a spec, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _nodes(value)


def _spec(chart) -> dict:
    return chart if isinstance(chart, dict) else chart.to_dict()


def _channels(spec: dict):
    """(channel name, channel definition) of every encoding in the spec."""
    for node in _nodes(spec):
        for name, channel in (node.get("encoding") or {}).items():
            if isinstance(channel, dict):
                yield name, channel


def looks(chart, channel: str = "color") -> dict[str, object]:
    """label -> value of ``channel`` (colour, dash, shape) from the spec's explicit scales."""
    out = {}
    for name, enc in _channels(_spec(chart)):
        scale = enc.get("scale") or {}
        if name == channel and "domain" in scale and "range" in scale and \
                enc.get("type") == "nominal":
            for label, value in zip(scale["domain"], scale["range"], strict=True):
                assert out.get(label, value) == value, f"{label} has two {channel}s in one chart"
                out[label] = value
    return out


def _is_si(fmt) -> bool:
    return isinstance(fmt, str) and fmt.rstrip().endswith("s")


def check_readable(chart) -> None:
    """No SI prefixes on any axis, log axes positive and labelled in plain numbers, legends
    that fit their labels with solid swatches."""
    spec = _spec(chart)
    for name, enc in _channels(spec):
        axis = enc.get("axis")
        if isinstance(axis, dict):
            assert not _is_si(axis.get("format")), f"{name} axis formats with SI: {axis}"
            assert "~s" not in str(axis.get("labelExpr", "")), axis
        scale = enc.get("scale") or {}
        if scale.get("type") == "log":
            domain = scale.get("domain")
            if isinstance(domain, list):
                assert all(v > 0 for v in domain), f"log domain {domain}"
            assert isinstance(axis, dict) and axis.get("labelExpr") in (
                palette.NUMBER_EXPR, palette.LOG_EXPR), \
                f"a log axis needs plain labels (Vega's default is SI): {axis}"
            assert all(v > 0 for v in axis.get("values", [])), axis
        legend = enc.get("legend")
        if isinstance(legend, dict) and scale.get("domain"):
            longest = max(len(str(v)) for v in scale["domain"])
            assert legend.get("labelLimit", 160) >= 10 * longest, \
                f"legend labelLimit {legend.get('labelLimit')} cuts {longest} characters"
            assert legend.get("symbolOpacity") == 1, legend
        if name == "color" and enc.get("type") == "nominal" and "scale" not in enc and \
                enc.get("legend", True) is not None:
            pytest.fail(f"a colour legend without the palette's scale: {enc}")


def log_data_positive(chart, field: str) -> None:
    """Every value of ``field`` in the chart's own data is > 0 or missing."""
    spec = _spec(chart)
    values = [row.get(field) for rows in (spec.get("datasets") or {}).values()
              for row in rows if field in row]
    assert values, f"no {field} in the chart's data"
    assert all(v is None or (isinstance(v, float) and np.isnan(v)) or v > 0 for v in values)


# ----- hand-made data ------------------------------------------------------------------------


def bands(groups) -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"episode": EP, "mean": EP * (i + 1.0), "lo": EP * 1.0,
                                    "hi": EP * (i + 2.0), "group": g})
                      for i, g in enumerate(groups)], ignore_index=True)


def race(order) -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"algorithm": a, "env_steps": EP * 100.0,
                                    "seconds": EP * 0.5, "episode": EP, "value": EP * (i + 1.0)})
                      for i, a in enumerate(order)], ignore_index=True)


def strip_rows(settings) -> pd.DataFrame:
    return pd.DataFrame([{"setting": s, "seed": k, "episodes_to_195": 10.0 * (k + 1),
                          "episodes_to_475": None} for s in settings for k in range(2)])


def vp_curves(order) -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"algorithm": a, "env_steps": EP * 500.0, "mean": EP * 1.0,
                                    "lo": EP * 0.5, "hi": EP * 2.0, "n": 2})
                      for a in order], ignore_index=True)


def trace(order) -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"setting": s, "env_steps": EP * 50, "distance": EP * 0.1})
                      for s in order], ignore_index=True)


def exploitability(kinds) -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"step": EP, "learner": rc.label(k), "policy": p,
                                    "exploitability": 0.5})
                      for k in kinds for p in (rc.CURRENT, rc.AVERAGE)], ignore_index=True)


def payoff(kinds) -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"step": EP, "learner": rc.label(k), "seed": f"seed {s}",
                                    "payoff": 0.1}) for k in kinds for s in range(2)],
                     ignore_index=True)


def smooth_changes(with_zeros: bool = False) -> pd.DataFrame:
    rows = []
    for i, series in enumerate(sc.SERIES):
        for size in (0.001, 0.01, 0.1, 1.0):
            for k in range(3):
                tv = 0.0 if with_zeros and size == 0.001 and i else size * (i + 1) / 4
                rows.append({"series": series, "size": size, "direction": k, "tv": tv,
                             "tv_max": min(1.0, 2 * tv)})
    return pd.DataFrame(rows)


def smooth_returns() -> pd.DataFrame:
    return pd.DataFrame([{"agent": a, "size": s, "direction": k, "return": 400.0}
                         for a in sc.AGENTS for s in (0.01, 0.1, 1.0) for k in range(2)])


def learners(names) -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"learner": n, "run": "r", "algo": "a2c", "episode": EP,
                                    "average": EP * 1.0}) for n in names], ignore_index=True)


BASELINE = ["no baseline", "learned value baseline"]
RACE = ["REINFORCE", "REINFORCE + baseline", "actor-critic", "A2C", "PPO"]
POLYAK = ["hard copy every 1,000", "Polyak τ = 0.005", "hard copy every 200"]
ENTROPY = ["β = 0", "β = 0.01"]
VP = list(value_lab.RUNNERS)
KINDS = list(game.KINDS)
PENDULUM = ["PPO, Gaussian policy", "DQN, 5 torque values"]
CLASS = ["Ada", "Grace", "Alan"]


def two_orders():
    """(name, build(order), order[, labels]) of every chart that draws several conditions
    (``labels``: what the chart calls them, when not ``order`` itself)."""
    return [
        ("baseline: learning curves", lambda o: ec.groups_band_chart(
            bands(o), 20, "t", "return", (0, 520), thresholds=True), BASELINE),
        ("baseline: when each seed got there", lambda o: ec.strip_chart(strip_rows(o), 20),
         BASELINE),
        ("entropy", lambda o: ec.groups_band_chart(bands(o), 20, "t", "return"), ENTROPY),
        ("hard copy or Polyak: returns", lambda o: ec.groups_band_chart(
            bands(o), 20, "t", "return"), POLYAK),
        ("hard copy or Polyak: distance", lambda o: dq.distance_chart(trace(o), "t", o,
                                                                      points=True), POLYAK),
        ("race", lambda o: ec.race_chart(race(o), "env_steps", "steps", o), RACE),
        ("value vs policy", lambda o: vp.curves_chart(vp_curves(o), o, "t", "y", 10_000), VP),
        ("rps: exploitability", lambda o: rc.exploitability_chart(
            exploitability(o), 20, o, "t"), KINDS, [rc.label(k) for k in KINDS]),
        ("rps: payoff", lambda o: rc.payoff_chart(payoff(o), 20, o), KINDS,
         [rc.label(k) for k in KINDS]),
        ("continuous actions", lambda o: json.loads(pendulum._compare_template(
            tuple(o), 1_000)), PENDULUM),
        ("class board", lambda o: board.curves_chart(learners(o)), CLASS),
    ]


def every_chart():
    """Every chart the pages draw (one or more per page), for the readability checks."""
    seeds = pd.DataFrame({"episode": np.tile(EP, 2), "value": np.tile(EP * 1.0, 2),
                          "seed": np.repeat(["seed 0", "seed 1"], len(EP))})
    band = pd.DataFrame({"episode": EP, "mean": EP * 1.0, "lo": EP - 1.0, "hi": EP + 1.0,
                         "n": 2})
    ref = pd.DataFrame({"x": EP, "lo": EP * 0.5, "mid": EP * 1.0, "hi": EP * 2.0,
                        "series": "x"})
    curves = pd.concat([pd.DataFrame({"seed": f"seed {s}", "episode": EP, "series": series,
                                      "value": EP * 1.0}) for s in range(3)
                        for series in ("return", "100-episode average")], ignore_index=True)
    q = pd.DataFrame({"seed": "seed 0", "episode": EP, "q": np.exp(EP * 0.5)})
    evals = pd.DataFrame({"seed": [0, 0, 1, 1], "episodes": [5, 10, 5, 10],
                          "predicted": [1.0, 9.0, 2.0, 8.0], "collected": [2.0, 7.0, 2.0, 6.0],
                          "eval_return": [9.0, 30.0, 9.0, 30.0]})
    policy = pd.DataFrame({"step": np.repeat(EP, 3), "hand": np.tile(list(game.ACTIONS), len(EP)),
                           "order": np.tile([0, 1, 2], len(EP)), "p": 1 / 3})
    simplex = pd.DataFrame({"step": np.tile(EP, 2), "policy": np.repeat([rc.CURRENT,
                                                                          rc.AVERAGE], len(EP)),
                            "x": 0.1, "y": 0.1})
    built = {
        "train: returns": live.returns_chart(100, reference=True, evaluations=5),
        "train: returns, Pendulum": json.loads(pendulum._returns_template(100)),
        "train: log panel": live.update_chart("value_loss", "value loss", "log", 100),
        "train: linear panel": live.update_chart("entropy", "entropy", "linear", 100),
        "train: symlog panel": live.update_chart("adv", "advantage", "symlog", 100),
        "train: critic": live.value_chart(100),
        "pendulum: σ": json.loads(pendulum._std_template(100)),
        "seeds & variance": ec.seeds_band_chart(seeds, band, 20, "A2C", reference=ref),
        "dqn: returns": dq.return_chart(curves, 20, "t"),
        "dqn: Q": dq.q_chart(q, 20, "t", y_max=float(q["q"].max())),
        "dqn: evaluations": dq.eval_chart(evals, 20, "t", y_max=9.0),
        "value vs policy: flips": vp.curves_chart(vp_curves(VP), VP, "t", "y", 10_000,
                                                  y_domain=(0, 1), thresholds=False,
                                                  y_type="sqrt", y_ticks=[0, 0.1, 1]),
        "smoothness: change": sc.change_chart(smooth_changes()),
        "smoothness: change, log": sc.change_chart(smooth_changes(True), log_y=True),
        "smoothness: jump": sc.jump_chart(smooth_changes()),
        "smoothness: return": sc.return_chart(smooth_returns()),
        "rps: policy": rc.policy_chart(policy, 20, "t", thirds=True),
        "rps: simplex": rc.simplex_chart(simplex, "t"),
    }
    for name, build, order, *_ in two_orders():
        built[name] = build(order)
    return built


# ----- the tests -------------------------------------------------------------------------------


@pytest.mark.parametrize("case", two_orders(), ids=[c[0] for c in two_orders()])
def test_each_condition_keeps_its_look_in_any_order(case):
    name, build, order, *rest = case
    labels = rest[0] if rest else order
    forward, backward = build(list(order)), build(list(reversed(order)))
    for channel in ("color", "strokeDash"):
        a, b = looks(forward, channel), looks(backward, channel)
        if channel == "color":
            assert set(labels) <= set(a), f"{name}: no colour scale for {labels}"
        assert {v: a.get(v) for v in labels} == {v: b.get(v) for v in labels}, \
            f"{name}: {channel} changes with the order"
    known = [v for v in labels if palette.known(v)]
    assert {v: looks(forward)[v] for v in known} == {v: palette.style(v).color for v in known}
    dashes = looks(forward, "strokeDash")
    assert all(dashes[v] == palette.style(v).stroke_dash for v in known if v in dashes)


def test_baseline_vs_none_draws_each_setting_in_one_colour_on_both_charts():
    """The bug behind this: the dot chart coloured by sorted name, the curves by position."""
    dots = looks(ec.strip_chart(strip_rows(BASELINE), 20))
    curves = looks(ec.groups_band_chart(bands(BASELINE), 20, "t", "return"))
    assert dots == {v: curves[v] for v in dots} and set(dots) == set(BASELINE)
    assert dots["no baseline"] != dots["learned value baseline"]


def test_the_same_algorithm_is_the_same_colour_on_every_page():
    a2c = palette.style("A2C").color
    assert looks(ec.race_chart(race(RACE), "env_steps", "steps", RACE))["A2C"] == a2c
    assert looks(vp.curves_chart(vp_curves(VP), VP, "t", "y", 10_000))["A2C"] == a2c
    assert looks(sc.change_chart(smooth_changes()))[sc.PI] == a2c
    assert looks(sc.return_chart(smooth_returns()))[sc.POLICY_NAME] == a2c
    dqn = palette.style("DQN").color
    assert looks(vp.curves_chart(vp_curves(VP), VP, "t", "y", 10_000))["DQN"] == dqn
    assert looks(json.loads(pendulum._compare_template(tuple(PENDULUM), 1_000)))[
        "DQN, 5 torque values"] == dqn


@pytest.mark.parametrize("name", list(every_chart()))
def test_every_chart_is_readable(name):
    check_readable(_built()[name])


@lru_cache(maxsize=1)
def _built() -> dict:
    return every_chart()


def test_a_log_axis_never_gets_a_zero():
    chart = sc.change_chart(smooth_changes(with_zeros=True), log_y=True)
    log_data_positive(chart, "median")
    log_data_positive(chart, "lo")
    assert "left out (a log axis has no 0)" in json.dumps(chart.to_dict(), ensure_ascii=False)
    assert "left out" not in json.dumps(sc.change_chart(smooth_changes(), log_y=True)
                                        .to_dict())


def test_the_checks_catch_what_they_are_for():
    import altair as alt

    frame = pd.DataFrame({"x": [1, 2], "y": [1.0, 10.0], "g": ["a", "b"]})
    si = alt.Chart(frame).mark_line().encode(x="x:Q", y=alt.Y("y:Q", axis=alt.Axis(format="~s")))
    with pytest.raises(AssertionError, match="SI"):
        check_readable(si)
    zero = alt.Chart(frame).mark_line().encode(
        x="x:Q", y=alt.Y("y:Q", scale=alt.Scale(type="log", domain=[0, 10]),
                         axis=palette.log_axis()))
    with pytest.raises(AssertionError, match="log domain"):
        check_readable(zero)
    default = alt.Chart(frame).mark_line().encode(x="x:Q", y=alt.Y("y:Q", scale=alt.Scale(
        type="log")))
    with pytest.raises(AssertionError, match="default is SI"):
        check_readable(default)
    short = alt.Chart(frame).mark_line().encode(x="x:Q", y="y:Q", color=alt.Color(
        "g:N", scale=alt.Scale(domain=["a" * 40, "b"], range=["#000000", "#332288"]),
        legend=alt.Legend(symbolOpacity=1)))
    with pytest.raises(AssertionError, match="labelLimit"):
        check_readable(short)
    by_position = alt.Chart(frame).mark_line().encode(x="x:Q", y="y:Q", color="g:N")
    with pytest.raises(pytest.fail.Exception, match="palette"):
        check_readable(by_position)


def test_the_train_page_s_log_panels_get_no_zero():
    """A log-scaled update statistic at or below 0 becomes a gap (null), never a point."""
    from types import SimpleNamespace

    snap = SimpleNamespace(updates={"update": np.arange(4), "episodes": np.arange(4.0),
                                    "value_loss": np.array([0.0, 2.0, -1.0, 1e-9])})
    panel = SimpleNamespace(key="value_loss", scale="log")
    values = live.updates_data(snap, (panel,)).column("value_loss").to_pylist()
    assert np.isnan(values[0]) and np.isnan(values[2]) and values[1] == 2.0
    assert values[3] == pytest.approx(1e-9)
