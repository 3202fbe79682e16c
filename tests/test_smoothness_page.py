"""The Smoothness page (views/why/smoothness.py) under AppTest: it loads, Run perturbs both
trained agents and shows the charts, the numbers table, the verdicts and the CSV; and the
pure helpers behind it (ui/smoothness.py) on hand-made curves."""

from __future__ import annotations

import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from pgcore.labs import smoothness as sm
from ui import smoothness as sc

TIMEOUT = 120
KEY = "exp.smooth"


def page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "views" / "why" / "smoothness.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_page_loads_with_bounded_widgets_and_waits_for_run():
    at = page()
    assert at.title[0].value == "Smoothness"
    assert "Press **Run**" in " ".join(i.value for i in at.info)
    sizes = at.select_slider(key=f"{KEY}.sizes")
    assert sizes.value == (sm.DEFAULT_SIZES[0], sm.DEFAULT_SIZES[-1])
    assert list(sizes.options) == [f"{s:g}" for s in sm.SIZE_GRID]
    directions = at.slider(key=f"{KEY}.directions")
    assert directions.value == sm.DEFAULT_DIRECTIONS and (directions.min, directions.max) == (1, 10)
    episodes = at.slider(key=f"{KEY}.episodes")
    assert episodes.value == sm.DEFAULT_EPISODES and (episodes.min, episodes.max) == (1, 10)
    assert at.select_slider(key=f"{KEY}.states").value == sm.DEFAULT_STATES
    assert "10 sizes × 5 directions × 2 agents = 100 perturbed networks" in \
        " ".join(c.value for c in at.caption)
    assert not at.table and not at.get("vega_lite_chart")


def test_run_at_the_defaults_shows_charts_table_verdicts_and_csv():
    at = page()
    at.button(key=f"{KEY}.run").click().run()
    assert not at.exception, at.exception
    assert len(at.get("vega_lite_chart")) == 3  # mean TV, largest TV on a state, returns
    table = at.table[0].value
    assert list(table["size ε"]) == [f"{s:g}" for s in sm.DEFAULT_SIZES]
    assert "π: mean TV" in table and "Q's argmax: flipped (= its TV)" in table
    assert table["return, softmax policy"].iloc[0] == "500"
    md = markdown(at)
    assert md.count("**The claim:**") == 3
    assert "a slope of" in md and "times less" in md and "first fell below 475" in md
    assert md.count(":green[**holds**]") == 3, md  # what the trained agents show
    assert md.count(", all measured)*") == 3, md  # each verdict names its evidence
    assert "Why the Q-network's argmax is so fragile" in " ".join(c.value for c in at.caption)
    downloads = at.get("download_button")
    assert len(downloads) == 1 and "Measurements (CSV)" in downloads[0].proto.label
    # the log toggle redraws from the stored result without running again
    at.toggle(key=f"{KEY}.log_y").set_value(True).run()
    assert not at.exception
    assert any('"type":"log"' in c.proto.spec.replace(" ", "")
               for c in at.get("vega_lite_chart"))
    assert at.table[0].value.equals(table)


def test_a_small_run_and_a_stale_run_says_so():
    at = page()
    at.select_slider(key=f"{KEY}.sizes").set_value((0.001, 0.1)).run()
    at.slider(key=f"{KEY}.directions").set_value(2).run()
    at.slider(key=f"{KEY}.episodes").set_value(1).run()
    at.select_slider(key=f"{KEY}.states").set_value(64).run()
    at.button(key=f"{KEY}.run").click().run()
    assert not at.exception, at.exception
    assert list(at.table[0].value["size ε"]) == ["0.001", "0.003", "0.01", "0.03", "0.1"]
    assert "along 2 directions by 5 sizes" in " ".join(c.value for c in at.caption)
    at.slider(key=f"{KEY}.directions").set_value(3).run()
    assert any("press **Run** again" in c.value for c in at.caption)


# ----- helpers on hand-made curves ------------------------------------------------------------

SIZES = np.array([0.001, 0.01, 0.1, 1.0])


def curve(stochastic: bool, tv=None, flips=None, returns=None) -> sm.Curve:
    d = 2
    tv = np.asarray(tv if tv is not None else np.full((4, d), np.nan), float)
    flips = np.asarray(flips if flips is not None else np.zeros((4, d)), float)
    returns = np.asarray(returns if returns is not None else np.full((4, d, 1), 500.0), float)
    tv_max = tv * 2.5 if stochastic else np.full(tv.shape, np.nan)
    return sm.Curve(SIZES, tv, tv_max, flips, returns, np.full(1, 500.0), stochastic, 100, 0, 0.1)


def policy_curve(scale: float = 1.0, returns=None) -> sm.Curve:
    tv = np.outer(SIZES * 0.1 * scale, [0.8, 1.2])  # proportional to eps
    return curve(True, tv=tv, flips=np.outer([0.0, 0.01, 0.05, 0.2], [1, 1]), returns=returns)


def q_curve(flips=(0.02, 0.2, 0.45, 0.5), returns=None) -> sm.Curve:
    return curve(False, flips=np.outer(flips, [0.9, 1.1]), returns=returns)


def test_frames_csv_and_charts():
    p, q = policy_curve(), q_curve()
    changes = sc.change_frame(p, q)
    assert len(changes) == 3 * 4 * 2 and set(changes["series"]) == {sc.PI, sc.PI_ARGMAX,
                                                                     sc.Q_ARGMAX}
    q_rows = changes[changes["series"] == sc.Q_ARGMAX]
    assert set(q_rows["tv_max"]) == {1.0}  # every size flipped something
    b = sc.bands(changes, "tv", "series")
    row = b[(b["series"] == sc.Q_ARGMAX) & (b["size"] == 0.01)].iloc[0]
    assert (row["lo"], row["median"], row["hi"]) == pytest.approx((0.18, 0.2, 0.22))
    back = pd.read_csv(io.BytesIO(sc.to_csv(p, q)))
    assert len(back) == 2 * 4 * 2 and "return_1" in back and "played_tv" in back
    assert set(back["agent"]) == {sc.POLICY_NAME, sc.Q_NAME}
    qb = back[back["agent"] == sc.Q_NAME]
    assert np.allclose(qb["played_tv"], qb["argmax_flip_fraction"])
    for chart in (sc.change_chart(changes), sc.change_chart(changes, log_y=True),
                  sc.jump_chart(changes), sc.return_chart(sc.return_frame(p, q))):
        chart.to_dict()  # a valid Vega-Lite spec
    table = sc.numbers_table(p, q)
    assert list(table["size ε"]) == ["0.001", "0.01", "0.1", "1"]
    assert table["Q's argmax: flipped (= its TV)"].iloc[1] == "20.0% (18.0% – 22.0%)"


def test_verdicts_follow_the_numbers():
    p, q = policy_curve(), q_curve()
    assert [f.status for f in sc.findings(p, q)] == ["holds", "holds", "too early"]
    assert "a slope of 1.00" in sc.smooth_finding(p).text
    jump = sc.jump_finding(p, q).text
    assert "is ε = 0.01: it flips on 20.0%" in jump and "π's own argmax flipped on 1.0%" in jump
    # pi moving as much as the flips: no jump to speak of
    assert sc.jump_finding(policy_curve(scale=300.0), q).status == "does not hold"
    assert sc.jump_finding(policy_curve(scale=50.0), q).status == "partly"
    # a Q-network that never flips on 5% of the states
    assert sc.jump_finding(p, q_curve(flips=(0, 0, 0.01, 0.02))).status == "does not hold"
    # pi not proportional to eps (square root)
    sqrt = curve(True, tv=np.outer(np.sqrt(SIZES) * 0.01, [1, 1]))
    assert sc.smooth_finding(sqrt).status == "partly"
    # returns: Q breaks at 0.1, the policy at 1 -> holds, 10 times; the reverse does not hold
    broken_q = np.full((4, 2, 1), 500.0)
    broken_q[2:] = 100.0
    broken_p = np.full((4, 2, 1), 500.0)
    broken_p[3:] = 20.0
    finding = sc.return_finding(policy_curve(returns=broken_p), q_curve(returns=broken_q))
    assert finding.status == "holds" and "a 10 times larger change" in finding.text
    assert sc.return_finding(policy_curve(returns=broken_q),
                             q_curve(returns=broken_p)).status == "does not hold"
    assert sc.return_finding(p, q).status == "too early"  # nobody broke
    assert "holds" in sc.findings(p, q)[0].markdown()


def test_gap_sentence_reads_the_q_values():
    text = sc.gap_sentence(np.array([[64.0, 64.05], [66.0, 65.95], [65.0, 65.1]]))
    assert "about 65.1 each" in text and "median gap between them is 0.05" in text
