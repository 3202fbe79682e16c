"""The one verdict record and the one evidence rule (ui/verdicts.py): runs counted per
condition by state, "too early" until every condition has its finished seeds, the texts that
say what is missing, and the record's markdown."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import numpy as np
import pytest

from pgcore import default_config
from pgcore.execution.experiments import NUMERIC, Experiment, ExperimentSnapshot, RunView, grid
from ui import verdicts as vd

CFG = default_config("reinforce", "none", max_episodes=2)


def view(label: str, seed: int, state: str, episodes: int = 0) -> RunView:
    cols = {c: np.zeros(episodes) for c in NUMERIC}
    return RunView(label, seed, CFG.replace(seed=seed), state, "", cols)


def snap(*runs: RunView, state: str = "running") -> ExperimentSnapshot:
    return ExperimentSnapshot(state, tuple(runs), 1, 1.0)


def never() -> tuple[str, str]:
    raise AssertionError("the measurement must not run on incomplete evidence")


# ----- counting -------------------------------------------------------------------------------


def test_evidence_counts_each_conditions_runs_by_state():
    s = snap(view("A", 0, "finished", 5), view("A", 1, "diverged", 3), view("A", 2, "running", 2),
             view("B", 0, "waiting"), view("B", 1, "starting"), view("B", 2, "paused", 1),
             view("C", 0, "stopped", 1), view("C", 1, "error"))
    ev = vd.evidence(s)
    a, b, c = ev.conditions
    assert (a.finished, a.diverged, a.running, a.done, a.seeds) == (1, 1, 1, 2, 3)
    assert (b.waiting, b.running, b.done) == (1, 2, 0)
    assert (c.stopped, c.failed, c.done) == (1, 1, 0)
    assert a.text() == "2 of 3 seeds finished (1 diverged), 1 running"
    assert b.text() == "0 of 3 seeds finished, 2 running, 1 waiting"
    assert c.text() == "0 of 2 seeds finished, 1 stopped, 1 failed"
    assert not ev.complete and ev.active and not ev.stopped and ev.failed
    assert ev.so_far() == "so far, 2 of 8 runs finished"
    # in the order asked, with the page's names; a label without runs is never complete
    ev = vd.evidence(s, ["B", "A", "Z"], names={"A": "setting A"})
    assert [c.name for c in ev.conditions] == ["B", "setting A", "Z"]
    assert ev.conditions[2].text() == "no runs" and not ev.conditions[2].complete


def test_complete_means_every_seed_of_every_condition_finished_or_diverged():
    done = snap(view("A", 0, "finished", 5), view("A", 1, "diverged", 2),
                view("B", 0, "finished", 5), view("B", 1, "finished", 5), state="finished")
    ev = vd.evidence(done)
    assert ev.complete and ev.partial_note() == ""
    assert ev.text() == "A: 2 of 2 seeds finished (1 diverged); B: 2 of 2 seeds finished"
    assert ev.so_far() == "all 4 runs finished"
    plain = vd.evidence(done, ["B"])
    assert plain.complete and plain.text() == "both seeds of B finished"
    three = snap(*(view(lb, s, "finished", 1) for lb in "XYZ" for s in range(3)))
    assert vd.evidence(three).text() == "all 3 seeds of X, Y and Z finished"
    # one running seed is enough to keep a condition, and so the claim, open
    half = snap(view("A", 0, "finished", 5), view("A", 1, "running", 5))
    assert not vd.evidence(half).complete
    assert vd.evidence(half).partial_note() == (
        "Partial: so far, 1 of 2 runs finished; the verdicts wait for every seed.")
    # unless the claim needs fewer seeds
    assert vd.evidence(half, need=1).complete
    assert not vd.evidence(half, need={"A": 2}).complete
    assert not vd.evidence(snap()).complete  # nothing at all
    stopped = snap(view("A", 0, "finished", 5), view("A", 1, "stopped", 5), state="stopped")
    assert vd.evidence(stopped).partial_note() == (
        "Partial: 1 of 2 runs finished; no verdict on these runs.")


def test_of_picks_the_conditions_a_claim_compares():
    s = snap(view("A", 0, "finished", 5), view("B", 0, "running", 2))
    ev = vd.evidence(s)
    assert ev.of(["A"]).complete and not ev.of(["A", "B"]).complete
    assert not ev.of(["nope"]).complete


# ----- the rule -------------------------------------------------------------------------------


def test_judge_is_too_early_and_names_the_partial_evidence():
    s = snap(view("C = 1000", 0, "finished", 400), view("C = 1000", 1, "running", 150),
             view("C = 1", 0, "running", 80), view("C = 1", 1, "waiting"))
    v = vd.judge("the claim.", vd.evidence(s), never)
    assert v.status == vd.TOO_EARLY and not v.decided
    assert v.text == "No verdict until every seed has finished."
    assert v.evidence == ("so far, C = 1000: 1 of 2 seeds finished, 1 running; "
                          "C = 1: 0 of 2 seeds finished, 1 running, 1 waiting")


def test_judge_measures_once_the_evidence_is_complete():
    s = snap(view("A", 0, "finished", 3), view("A", 1, "finished", 3), state="finished")
    v = vd.judge("the claim.", vd.evidence(s), lambda: (vd.PARTLY, "Half of it."))
    assert (v.status, v.text, v.evidence) == (vd.PARTLY, "Half of it.", "both seeds of A finished")
    assert v.decided


def test_a_stopped_or_failed_experiment_stays_too_early_and_says_why():
    stopped = snap(view("A", 0, "finished", 3), view("A", 1, "stopped", 1), state="stopped")
    v = vd.judge("the claim.", vd.evidence(stopped), never)
    assert v.status == vd.TOO_EARLY
    assert "stopped before every seed finished" in v.text
    assert v.evidence == "A: 1 of 2 seeds finished, 1 stopped"  # not "so far": it is over
    failed = snap(view("A", 0, "finished", 3), view("A", 1, "error"), state="finished")
    v = vd.judge("the claim.", vd.evidence(failed), never)
    assert v.status == vd.TOO_EARLY and "failed" in v.text


def test_the_rule_on_a_real_inline_experiment():
    """Queued jobs of a started experiment are evidence of nothing; once it has run, every
    seed has finished; stopped at once, it says so."""
    jobs = grid({"a": CFG, "b": CFG}, [0, 1])
    exp = Experiment(jobs, mode="inline")
    assert vd.evidence(exp.snapshot()).so_far() == "so far, 0 of 4 runs finished"
    done = exp.run(timeout=120)
    ev = vd.evidence(done)
    assert done.state == "finished" and ev.complete
    assert ev.text() == "both seeds of a and b finished"
    long = Experiment(grid({"a": CFG.replace(max_episodes=3000)}, [0, 1]), mode="inline")
    long.start()
    long.stop()
    long.join(60)
    ev = vd.evidence(long.snapshot())
    assert not ev.complete and ev.stopped
    assert "stopped before every seed finished" in ev.waiting()


# ----- the record -----------------------------------------------------------------------------


def test_verdict_markdown_shows_claim_status_text_and_evidence():
    v = vd.Verdict("a baseline helps.", vd.HOLDS, "It did.", "both seeds of A finished")
    assert v.markdown() == ("**The lesson:** a baseline helps.  \n**Measured:** "
                            ":green[**holds**]. It did. *(both seeds of A finished)*")
    assert v.markdown("The claim").startswith("**The claim:** a baseline helps.")
    assert vd.Verdict("c.", vd.UNTESTED, "t.").measured() == ":gray[**not tested here**]. t."
    assert set(vd.BADGES) == set(vd.STATUSES)
    with pytest.raises(ValueError, match="unknown verdict status"):
        vd.Verdict("c.", "agrees", "t.")
    moved = vd.with_evidence(v, "elsewhere")
    assert moved.evidence == "elsewhere" and moved.text == v.text


def test_reference_evidence_says_whose_runs_they_are():
    text = vd.from_reference(["10 runs (seeds 100-109, 1,000 episodes each)"] * 2)
    assert text == ("typical result from the reference runs: 10 runs (seeds 100-109, 1,000 "
                    "episodes each), not your runs")
    assert vd.from_reference([]) == "typical result from the reference runs"


# ----- the claims of Baseline vs none and Seeds & variance --------------------------------------


def _stats(to_195, wobble, final=500.0) -> list[dict]:
    return [{"episodes_to_195": t, "wobble": w, "final_avg100": final} for t, w in
            zip(to_195, wobble, strict=True)]


def test_baseline_measure_asks_for_faster_and_steadier():
    from ui.experiment_summary import baseline_measure

    none = _stats([300, 500, None], [150.0, 160.0, 170.0])
    value = _stats([120, 130, 110], [120.0, 125.0, 130.0])
    status, text = baseline_measure(none, value)
    assert status == vd.HOLDS
    assert "no baseline 500 (2 of 3 seeds reached it), learned value baseline 120" in text
    assert "Mean wobble: no baseline 160, learned value baseline 125" in text
    assert baseline_measure(none, _stats([120, 130, 110], [170.0] * 3))[0] == vd.PARTLY
    assert baseline_measure(value, none)[0] == vd.DOES_NOT_HOLD
    # short runs: nobody reached 195 and there is no wobble yet
    short = _stats([None, None], [None, None])
    status, text = baseline_measure(short, short)
    assert status == vd.TOO_EARLY and "more episodes" in text


def _flat(levels, n: int = 200) -> list[np.ndarray]:
    """One seed per level: ``n`` episodes, each returning that level."""
    return [np.full(n, float(v)) for v in levels]


def test_spread_measure_compares_the_spread_over_the_run_and_at_the_end():
    from pgcore.labs.stats import seed_spread
    from ui.experiment_summary import spread_measure

    wide = seed_spread(_flat([80, 300, 500]))  # std 171.5 over the run and at the end
    tight = seed_spread(_flat([480, 490, 500]))  # std 8.2
    status, text = spread_measure(wide, tight)
    assert status == vd.HOLDS
    assert ("REINFORCE, no baseline 171.5 and 171.5 (finals 80 – 500), DQN 8.2 and 8.2 "
            "(finals 480 – 500)") in text
    assert spread_measure(tight, wide)[0] == vd.DOES_NOT_HOLD
    assert "Here the seeds of DQN land no closer together." in spread_measure(tight, wide)[1]
    # apart over the run, together at the end: clearly wider over the run only
    converge = seed_spread([np.r_[np.full(100, v), np.full(900, 500.0)] for v in (20, 250, 480)])
    status, text = spread_measure(converge, tight)
    assert status == vd.PARTLY and "Clearly wider over the run only." in text
    # wider on both, but not twice as wide
    assert spread_measure(seed_spread(_flat([470, 490, 510])), tight)[0] == vd.PARTLY
    assert spread_measure(seed_spread(_flat([80])), tight)[0] == vd.TOO_EARLY  # one seed


def test_the_spread_verdict_waits_for_every_seed_of_both_algorithms():
    """Seeds & variance's verdict on half-finished and finished snapshots: no verdict while a
    DQN seed still runs (though the finished seeds alone would decide it), then one."""
    from pgcore.labs.stats import seed_spread
    from ui.experiment_summary import SPREAD_CLAIM, runs_verdict, spread_measure

    def run(label, seed, returns, state="finished"):
        n = len(returns)
        cols = {c: np.zeros(n) for c in NUMERIC}
        cols.update({"return": np.asarray(returns, dtype=np.float64),
                     "episode": np.arange(1.0, n + 1), "env_steps": np.arange(1.0, n + 1)})
        return RunView(label, seed, CFG.replace(seed=seed), state, "", cols)

    def verdict(s):
        return runs_verdict(s, ["REINFORCE", "DQN"], SPREAD_CLAIM, spread_measure,
                            of=lambda runs: seed_spread([r.returns for r in runs]))

    pg = [run("REINFORCE", k, r) for k, r in enumerate(_flat([60, 250, 500], 300))]
    half = snap(*pg, run("DQN", 0, np.full(300, 480.0)), run("DQN", 1, np.full(120, 490.0),
                                                              "running"),
                run("DQN", 2, [], "waiting"))
    v = verdict(half)
    assert v.status == vd.TOO_EARLY and "until every seed has finished" in v.text
    assert v.evidence == ("so far, REINFORCE: 3 of 3 seeds finished; DQN: 1 of 3 seeds "
                          "finished, 1 running, 1 waiting")
    done = snap(*pg, *[run("DQN", k, r) for k, r in enumerate(_flat([480, 490, 500], 300))],
                state="finished")
    v = verdict(done)
    assert v.status == vd.HOLDS and v.evidence == "all 3 seeds of REINFORCE and DQN finished"
    assert "no baseline 180.2 and 180.2 (finals 60 – 500), DQN 8.2 and 8.2" in v.text
    # the same seeds the other way round: DQN spreading as far as REINFORCE
    far = snap(*pg, *[run("DQN", k, r) for k, r in enumerate(_flat([40, 260, 500], 300))],
               state="finished")
    assert verdict(far).status == vd.DOES_NOT_HOLD


def test_the_pages_verdicts_on_runs_wait_for_every_seed():
    """Baseline vs none with one seed of the baseline still running and the other queued: no
    verdict, though the finished seeds alone would say one; with every seed finished, it
    does."""
    from ui.experiment_summary import BASELINE_CLAIM, baseline_measure, runs_verdict

    def run(label, seed, returns, state="finished"):
        n = len(returns)
        cols = {c: np.zeros(n) for c in NUMERIC}
        cols.update({"return": np.asarray(returns, dtype=np.float64),
                     "episode": np.arange(1.0, n + 1), "env_steps": np.arange(1.0, n + 1)})
        return RunView(label, seed, CFG.replace(seed=seed), state, "", cols)

    slow, fast = np.linspace(10, 200, 300), np.linspace(10, 500, 300)
    half = snap(run("none", 0, slow), run("none", 1, slow),
                run("value", 0, fast[:150], "running"), run("value", 1, [], "waiting"))
    v = runs_verdict(half, ["none", "value"], BASELINE_CLAIM, baseline_measure)
    assert v.status == vd.TOO_EARLY and "until every seed has finished" in v.text
    assert v.evidence == ("so far, none: 2 of 2 seeds finished; value: 0 of 2 seeds finished, "
                          "1 running, 1 waiting")
    done = snap(run("none", 0, slow), run("none", 1, slow), run("value", 0, fast),
                run("value", 1, fast), state="finished")
    v = runs_verdict(done, ["none", "value"], BASELINE_CLAIM, baseline_measure)
    assert v.evidence == "both seeds of none and value finished"
    # a steeper ramp reaches 195 sooner but changes more per episode: faster, not steadier
    assert v.status == vd.PARTLY and "it is faster, not both" in v.text
