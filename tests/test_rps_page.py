"""The rock-paper-scissors page (views/why/rps.py) under AppTest: it loads, Run plays both
learners and shows charts, the numbers table and the verdicts, and the CSV holds the
records; and the pure helpers behind it (ui/rps.py)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from pgcore.labs import rps as game
from pgcore.labs import stats
from ui import rps as rc

TIMEOUT = 60
KEY = "exp.rps"


def page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "views" / "why" / "rps.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_page_loads_with_bounded_widgets_and_waits_for_run():
    at = page()
    assert at.title[0].value == "Stochastic optimum (RPS)"
    assert "Press **Run**" in " ".join(i.value for i in at.info)
    assert at.select_slider(key=f"{KEY}.steps").value == game.DEFAULT_STEPS
    assert at.select_slider(key=f"{KEY}.lr").value == game.DEFAULT_LR
    assert at.select_slider(key=f"{KEY}.memory").value == game.DEFAULT_MEMORY
    assert at.select_slider(key=f"{KEY}.beta").value == game.DEFAULT_BETA
    seeds = at.slider(key=f"{KEY}.seeds")
    assert seeds.value == 5 and seeds.min >= 1 and seeds.max <= 10
    assert not at.table and not at.dataframe and not at.get("vega_lite_chart")


def test_run_shows_charts_table_and_verdicts():
    at = page()
    at.button(key=f"{KEY}.run").click().run()
    assert not at.exception, at.exception
    assert len(at.get("vega_lite_chart")) == 7  # 2 x 2 policies, exploitability, payoff, simplex
    table = at.table[0].value  # the numbers (a static table: it wraps to the page)
    assert list(table["learner"]) == [rc.label(k) for k in game.KINDS]
    assert list(table["seeds"]) == [5, 5]
    assert table["final exploitability, π_T"].iloc[1] == "1.000"  # greedy: every seed
    md = markdown(at)
    assert md.count("**The claim:**") == 3
    assert md.count(":green[**holds**]") == 3, md  # the defaults meet the target
    assert "5 of 5 seeds end within 0.05" in md
    # each verdict names its evidence: every match played
    assert md.count("*(5 matches of 4,000 rounds, one per seed, all played)*") == 3, md
    downloads = at.get("download_button")
    assert len(downloads) == 1 and "Records (CSV)" in downloads[0].proto.label
    # the seed shown can change without running again
    at.selectbox(key=f"{KEY}.seed_shown").set_value(2).run()
    assert not at.exception
    assert any("seed 2" in c.proto.spec for c in at.get("vega_lite_chart"))
    assert at.table[0].value.equals(table)


def test_gentle_settings_change_the_verdict_and_a_stale_run_says_so():
    at = page()
    at.select_slider(key=f"{KEY}.steps").set_value(1_000).run()
    at.select_slider(key=f"{KEY}.lr").set_value(0.01).run()
    at.slider(key=f"{KEY}.seeds").set_value(2).run()
    at.button(key=f"{KEY}.run").click().run()
    assert not at.exception
    assert list(at.table[0].value["seeds"]) == [2, 2]
    md = markdown(at)
    assert "after 1,000 rounds" in md
    # with steps this small the learner barely leaves the uniform mix: no cycling to see
    assert ":green[**holds**]" in md and ("partly" in md or "does not hold" in md)
    at.select_slider(key=f"{KEY}.lr").set_value(0.3).run()
    assert any("press **Run** again" in c.value for c in at.caption)


# ----- helpers --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small():
    return game.simulate_all(steps=600, seeds=[0, 1])


def test_records_frame_is_the_csv(small):
    frame = rc.records_frame(small)
    n = sum(len(r.step) for runs in small.values() for r in runs)
    assert len(frame) == n
    assert set(frame["learner"]) == set(game.KINDS) and set(frame["seed"]) == {0, 1}
    back = pd.read_csv(io.BytesIO(rc.to_csv(small)))
    assert list(back.columns) == list(frame.columns)
    assert "pi_rock" in back and "average_exploitability" in back and len(back) == n
    assert ((back["pi_rock"] + back["pi_paper"] + back["pi_scissors"]) - 1).abs().max() < 1e-4


def test_frames_for_the_charts(small):
    r = rc.run_of(small, rc.PG, 1)
    pf = rc.policy_frame(r)
    assert len(pf) == 3 * len(r.step) and set(pf["hand"]) == set(game.ACTIONS)
    assert pf.groupby("step")["p"].sum().sub(1).abs().max() < 1e-9
    ef = rc.exploitability_frame(small, 1)
    assert set(ef["policy"]) == {rc.CURRENT, rc.AVERAGE} and len(ef) == 4 * len(r.step)
    assert ef["exploitability"].between(0, 1).all()
    sf = rc.simplex_frame(r)
    assert (sf["x"] ** 2 + sf["y"] ** 2).max() <= 1 + 1e-9
    for chart in (rc.policy_chart(pf, 600, "t", thirds=True),
                  rc.exploitability_chart(ef, 600, list(small), "t"),
                  rc.payoff_chart(rc.payoff_frame(small), 600, list(small)),
                  rc.simplex_chart(sf, "t")):
        chart.to_dict()  # a valid Vega-Lite spec


def _pg(average: list[float], late: float, laps: float) -> dict:
    finals = [{"average_exploitability": a} for a in average]
    return {"finals": finals, "seeds": len(average), "steps": 4000,
            "average_exploitability": stats.median_range(average),
            "late_exploitability": stats.median_range([late] * len(average)),
            "laps": stats.median_range([laps] * len(average))}


def test_verdicts_follow_the_numbers():
    assert rc.average_finding(_pg([0.01, 0.02, 0.04], 0.3, 5)).status == "holds"
    assert rc.average_finding(_pg([0.01, 0.02, 0.09], 0.3, 5)).status == "partly"
    assert rc.average_finding(_pg([0.1, 0.2, 0.04], 0.3, 5)).status == "does not hold"
    assert rc.cycle_finding(_pg([0.01], 0.3, 5)).status == "holds"
    assert rc.cycle_finding(_pg([0.01], 0.3, 0.2)).status == "partly"
    assert rc.cycle_finding(_pg([0.01], 0.02, 0.2)).status == "does not hold"
    greedy = rc.numbers(game.simulate_seeds(rc.GREEDY, steps=300, seeds=[0, 1]))
    assert rc.pure_finding(greedy).status == "holds"
    assert "holds" in rc.pure_finding(greedy).markdown()
