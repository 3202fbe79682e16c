"""The experiment pages' live charts are templates filled with Arrow tables
(``ui.charts.experiments.*_spec``): each is held equal to the chart altair builds from the same
frames (``*_chart``: same marks, encodings, colours and dashes from the one palette, same
data), keeps its words (``ui.style.chart_words``), and is built once per snapshot content for
every session (``ui.charts.specs.SharedSpecs``)."""

from __future__ import annotations

import gc
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from pgcore import default_config
from pgcore.execution.experiments import EVAL_COLUMNS, TRACE_COLUMNS, RunView
from ui import style
from ui.charts import experiments as ec
from ui.charts import specs
from ui.charts.bands import seed_band

# ----- reading a spec with its data in place ---------------------------------------------------


def _rows(data) -> list[dict]:
    if isinstance(data, bytes):
        data = pa.ipc.open_stream(data).read_all()
    if isinstance(data, pa.Table):
        return data.to_pylist()
    if isinstance(data, pd.DataFrame):
        return data.to_dict("records")
    return list(data)


def _value(v):
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, float, np.integer, np.floating)):
        v = float(v)
        return None if math.isnan(v) else round(v, 9)
    return v


def _inherited(spec, data=None):
    """``spec`` with a parent's data moved down into each child view that has none (Vega-Lite
    inherits it; altair moves data that every child shares up to the parent)."""
    if not isinstance(spec, dict):
        return spec
    own = spec.get("data", data)
    children = [k for k in ("layer", "vconcat", "hconcat", "concat") if k in spec]
    if not children:
        return spec if own is None else {**spec, "data": own}
    out = {k: v for k, v in spec.items() if k != "data"}
    for k in children:
        out[k] = [_inherited(child, own) for child in spec[k]]
    return out


def resolved(spec: dict, datasets: dict | None = None):
    """``spec`` with each named dataset written, as rows, where a layer names it (and inline
    values as rows too), so a spec with Arrow data and one with altair's JSON compare."""
    if datasets is None:
        datasets = spec.get("datasets") or {}
        spec = _inherited(spec)
    if isinstance(spec, dict):
        out = {}
        for k, v in spec.items():
            if k == "datasets":
                continue
            if k == "data" and isinstance(v, dict):
                rows = _rows(datasets[v["name"]]) if "name" in v else _rows(v["values"])
                out[k] = [{c: _value(x) for c, x in r.items()} for r in rows]
            else:
                out[k] = resolved(v, datasets)
        return out
    if isinstance(spec, list):
        return [resolved(v, datasets) for v in spec]
    return spec


# ----- data like a page's -----------------------------------------------------------------------

RNG = np.random.default_rng(3)
CURVES = [RNG.normal(100, 30, 60) for _ in range(3)] + [RNG.normal(100, 30, 40)]
BAND = seed_band(CURVES, max_points=25)  # the last points: one seed, no spread (NaN)
SEEDS = pd.concat([pd.DataFrame({"episode": np.arange(1, len(c) + 1), "value": c,
                                 "seed": f"seed {i}"}) for i, c in enumerate(CURVES)],
                  ignore_index=True)
REF = pd.DataFrame({"x": [1, 20, 40], "lo": [10.0, 50, 90], "mid": [20.0, 80, 150],
                    "hi": [30.0, 120, 200]})
GROUPS = pd.concat([BAND.assign(group="β = 0"), BAND.assign(group="β = 0.01")],
                   ignore_index=True)
ROWS = pd.DataFrame({"setting": ["learned value baseline", "no baseline", "no baseline"],
                     "seed": [0, 0, 1], "episodes_to_195": [31.0, None, 44.0],
                     "episodes_to_475": [None, None, 58.0]})
RACE = pd.DataFrame({"algorithm": ["PPO"] * 3 + ["A2C"] * 3,
                     "env_steps": [10.0, 200, 3000, 5, 150, 2500],
                     "seconds": [0.1, 2, 3, 1, 2, 3.5], "episode": [1, 2, 3] * 2,
                     "value": [10.0, 20, 30, 5, 6, np.nan]})
ORDER = ["REINFORCE", "A2C", "PPO"]


def cases():
    """(name, the altair chart, the filled template) for every experiment chart kind, with
    and without typical-run bands, thresholds and empty data."""
    empty = ec.empty_band()
    return [
        ("seeds band", ec.seeds_band_chart(SEEDS, BAND, 60, "A2C"),
         ec.seeds_band_spec(SEEDS, BAND, 60, "A2C")),
        ("seeds band, reference", ec.seeds_band_chart(SEEDS, BAND, 60, "DQN", reference=REF,
                                                      y_max=None, thresholds=False),
         ec.seeds_band_spec(SEEDS, BAND, 60, "DQN", reference=REF, y_max=None,
                            thresholds=False)),
        ("seeds band, no episodes yet", ec.seeds_band_chart(SEEDS.iloc[:0], empty, 10, "A2C"),
         ec.seeds_band_spec(SEEDS.iloc[:0], empty, 10, "A2C")),
        ("groups band", ec.groups_band_chart(GROUPS, 60, "t", "return", (0, 520),
                                             thresholds=True, reference=REF.assign(
                                                 group="β = 0")),
         ec.groups_band_spec(GROUPS, 60, "t", "return", (0, 520), thresholds=True,
                             reference=REF.assign(group="β = 0"))),
        ("groups band, entropy", ec.groups_band_chart(GROUPS, 60, "t", "entropy", (0, 0.72)),
         ec.groups_band_spec(GROUPS, 60, "t", "entropy", (0, 0.72))),
        ("groups band, empty", ec.groups_band_chart(empty.assign(group=[]), 60, "t", "y"),
         ec.groups_band_spec(empty.assign(group=[]), 60, "t", "y")),
        ("strip", ec.strip_chart(ROWS, 60), ec.strip_spec(ROWS, 60)),
        ("strip, empty", ec.strip_chart(ROWS.iloc[:0], 60), ec.strip_spec(ROWS.iloc[:0], 60)),
        ("race, steps, reference", ec.race_chart(RACE, "env_steps", "steps", ORDER,
                                                 reference=REF.assign(algorithm="A2C")),
         ec.race_spec(RACE, "env_steps", "steps", ORDER, reference=REF.assign(algorithm="A2C"))),
        ("race, seconds", ec.race_chart(RACE, "seconds", "s", ORDER),
         ec.race_spec(RACE, "seconds", "s", ORDER)),
    ]


@pytest.mark.parametrize("case", cases(), ids=[c[0] for c in cases()])
def test_each_template_filled_is_the_chart_altair_builds(case):
    _, chart, spec = case
    built = chart.to_dict()
    assert resolved(spec) == resolved(built)
    assert all(isinstance(v, pa.Table) for v in spec["datasets"].values())
    wired = specs.wire(spec)
    assert all(isinstance(v, bytes) for v in wired["datasets"].values())
    assert resolved(wired) == resolved(built)


def test_the_comparison_sees_a_different_colour_or_data():
    chart = ec.groups_band_chart(GROUPS, 60, "t", "y").to_dict()
    other = ec.groups_band_spec(GROUPS.replace("β = 0.01", "β = 0.1"), 60, "t", "y")
    assert resolved(other) != resolved(chart)
    shifted = ec.seeds_band_spec(SEEDS.assign(value=SEEDS["value"] + 1), BAND, 60, "A2C")
    assert resolved(shifted) != resolved(ec.seeds_band_chart(SEEDS, BAND, 60, "A2C").to_dict())


def test_the_race_range_follows_the_runs_in_one_template():
    a = ec.race_spec(RACE, "env_steps", "steps", ORDER, reference=REF.assign(algorithm="A2C"))
    b = ec.race_spec(RACE.assign(env_steps=RACE["env_steps"] * 2), "env_steps", "steps",
                     ORDER, reference=REF.assign(algorithm="A2C"))
    assert "987654321" not in str(a) and "6000.0" in str(b) and "3000.0" in str(a)


@pytest.mark.parametrize("case", cases()[:2] + cases()[3:5] + cases()[6:7] + cases()[8:9],
                         ids=lambda c: c[0])
def test_a_filled_template_has_the_words_of_its_altair_chart(case):
    _, chart, spec = case
    assert style._words_of(specs.wire(spec), None) == style._words_of(chart.to_dict(), None)
    assert style._words_of(specs.wire(spec), None)[1]  # a data table for a screen reader


# ----- built once per snapshot content, for every session ---------------------------------------


def runs(n: int, seeds=(0, 1), shift: float = 0.0) -> tuple[RunView, ...]:
    """A snapshot's runs with ``n`` episodes each, as one session's store would hold them."""
    config = default_config("reinforce", "none", max_episodes=100)
    out = []
    for seed in seeds:
        ret = np.arange(n, dtype=np.float64) + seed + shift
        cols = {"episode": np.arange(1, n + 1, dtype=np.float64), "return": ret,
                "length": ret, "env_steps": np.cumsum(ret), "wall_seconds": ret * 0.01,
                "entropy": np.full(n, 0.5), "q_mean": np.full(n, np.nan),
                "target_distance": np.full(n, np.nan)}
        out.append(RunView("plain", seed, config, "running", "", cols, None,
                           {c: np.empty(0) for c in EVAL_COLUMNS},
                           {c: np.empty(0) for c in TRACE_COLUMNS}))
    return tuple(out)


def test_a_spec_is_built_once_for_every_tab_that_reads_the_same_episodes():
    cache = specs.SharedSpecs(8)
    calls = []

    def build():
        calls.append(1)
        return {"n": len(calls)}

    mine, yours = runs(50), runs(50)  # two sessions' stores, the same shared jobs
    first = cache.get(mine, "chart", build)
    assert cache.get(mine, "chart", build) is first  # a refresh with nothing new
    assert cache.get(yours, "chart", build) is first  # another tab, the same episodes
    assert len(calls) == 1
    assert cache.get(mine, "other chart", build) is not first  # the key tells charts apart
    assert cache.get(runs(51), "chart", build)["n"] == 3  # new episodes
    assert cache.get(runs(50, shift=1.0), "chart", build)["n"] == 4  # other numbers
    assert cache.get(runs(50, seeds=(0, 2)), "chart", build)["n"] == 5
    assert cache.built == 5


def test_the_digest_memo_holds_its_runs_weakly_and_stays_bounded():
    cache = specs.SharedSpecs(4)
    held = runs(10)
    digest = cache.digest(held)
    assert digest == specs.fingerprint(runs(10)) != specs.fingerprint(runs(11))
    ids = tuple(map(id, held))
    del held
    gc.collect()
    refs, _ = cache._digests[ids]
    assert all(ref() is None for ref in refs)  # nothing kept alive by the cache
    for n in range(20):
        cache.digest(runs(n))
    assert len(cache._digests) <= 4


def test_a_cache_can_read_another_ones_digests():
    """The pages' figures and charts cache apart but digest each snapshot's runs once."""
    charts = specs.SharedSpecs(4)
    figures = specs.SharedSpecs(4, digests=charts)
    held = runs(10)
    assert figures.get(held, "rows", lambda: {"rows": 1}) == {"rows": 1}
    assert tuple(map(id, held)) in charts._digests and not figures._digests
    assert figures.built == 1 and charts.built == 0


class _MadeUp:
    """An experiment as a page reads it (state, snapshot, start, stop), its episodes made up
    and moved on by the test."""

    def __init__(self, jobs):
        self.jobs, self.state, self.n = jobs, "running", 30
        self.rng = np.random.default_rng()  # other numbers than any earlier test's
        self.full = [self.rng.normal(100, 30, 200) for _ in jobs]
        self.refill()

    def refill(self) -> None:
        """New run objects with the first ``n`` episodes (the same numbers again unless ``n``
        moved): what another session's store of the same shared jobs holds."""
        out = []
        for job, ret in zip(self.jobs, self.full, strict=True):
            r = ret[:self.n].copy()
            cols = {"episode": np.arange(1.0, self.n + 1), "return": r, "length": r,
                    "env_steps": np.cumsum(r), "wall_seconds": np.arange(self.n) * 0.1,
                    "entropy": np.full(self.n, 0.6), "q_mean": np.full(self.n, np.nan),
                    "target_distance": np.full(self.n, np.nan)}
            out.append(RunView(job.label, job.seed, job.config, "running", "", cols, None,
                               {c: np.empty(0) for c in EVAL_COLUMNS},
                               {c: np.empty(0) for c in TRACE_COLUMNS}))
        self.runs = tuple(out)

    def snapshot(self):
        from pgcore.execution.experiments import ExperimentSnapshot

        return ExperimentSnapshot(self.state, self.runs, self.n, 1.0)

    def start(self) -> None:
        pass

    def stop(self) -> None:
        self.state = "stopped"


def test_a_live_refresh_builds_charts_only_for_new_episodes(monkeypatch):
    from streamlit.testing.v1 import AppTest

    from ui import experiment_controls as controls
    from ui import navigation
    from ui.state import session_tasks

    made = []

    def start(key, jobs, *args, **kwargs):
        made.append(_MadeUp(jobs))
        session_tasks().page(key).start(made[-1])

    monkeypatch.setattr(controls, "start_experiment", start)
    at = AppTest.from_file(str(navigation.page("seeds_variance").path), default_timeout=60)
    at.run()
    at.button(key="exp.seeds.start").click().run()
    assert made and not at.exception, at.exception

    def refresh() -> tuple[int, list[str]]:
        before = controls._SPECS.built
        at.run()
        assert not at.exception, at.exception
        return controls._SPECS.built - before, [
            (c.proto.spec, [d.data.data for d in c.proto.datasets])
            for c in at.get("vega_lite_chart")]

    try:
        built, specs_drawn = refresh()
        assert len(specs_drawn) == 2 and "one seed" in specs_drawn[0][0]
        assert refresh() == (0, specs_drawn)  # nothing new: nothing built, the same charts
        made[0].refill()  # another tab's snapshot of the same shared jobs
        assert refresh() == (0, specs_drawn)
        made[0].n += 5
        made[0].refill()
        built, newer = refresh()
        assert built == 2 and newer != specs_drawn  # one chart per algorithm, once
    finally:
        at.button(key="exp.seeds.reset").click().run()
