"""The experiment pages' numbers and tables: a job's state as a table shows it, the spread
across seeds, episodes to each threshold per run, the summary rows of exercise 2, and the
lesson's claims of exercises 1 and 2 measured on runs (:func:`runs_verdict`, under the rule
of :mod:`ui.verdicts`). Numbers are written with :mod:`ui.charts.numbers`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pgcore.execution.experiments import ExperimentSnapshot
from pgcore.labs.stats import censored_median, present
from pgcore.training.metrics import across_seed_stats, final_average, summarize

from .charts.curves import smoothed
from .charts.numbers import count_of, fmt
from .verdicts import DOES_NOT_HOLD, HOLDS, PARTLY, TOO_EARLY, Verdict, evidence, judge

JOB_LABELS = {"waiting": "queued"}
"""A job's state as the pages' tables show it, where it differs from the state's name."""


def job_label(state: str) -> str:
    """``state`` of one job as a table shows it (a job still in the queue is "queued")."""
    return JOB_LABELS.get(state, state)


def spread_numbers(snap: ExperimentSnapshot, label: str, window: int = 20) -> dict:
    """Numbers for the spread across seeds of ``label``'s runs (None without 2 seeds)."""
    runs = [r for r in snap.by_label(label) if r.episodes]
    out = {"seeds": len(runs), "mean_std": None, "final_std": None, "final_mean": None}
    if len(runs) < 2:
        return out
    curves = [smoothed(r.returns, window) for r in runs]
    stats = across_seed_stats(curves)
    ok = stats.count >= 2
    out["mean_std"] = float(np.mean(stats.std[ok])) if ok.any() else None
    finals = [final_average(r.returns) for r in runs]
    out["final_std"] = float(np.std(finals))
    out["final_mean"] = float(np.mean(finals))
    return out


def threshold_rows(snap: ExperimentSnapshot, names: dict[str, str] | None = None) -> pd.DataFrame:
    """Per run: setting, seed, episodes to 195 and 475 (None: not reached), wobble, final avg."""
    rows = []
    for r in snap.runs:
        s = summarize(r.returns)
        rows.append({"setting": (names or {}).get(r.label, r.label), "seed": r.seed,
                     "episodes": r.episodes, "state": job_label(r.state),
                     "episodes_to_195": s["episodes_to_195"],
                     "episodes_to_475": s["episodes_to_475"],
                     "wobble": s["wobble"], "final_avg100": s["final_avg100"]})
    return pd.DataFrame(rows)


def median_text(values) -> str:
    """The median as text when every seed reached it, else "k/n reached"."""
    vals = present(values)
    if len(vals) < len(values) or not vals:
        return f"{len(vals)}/{len(values)} reached"
    return f"{pd.Series(vals).median():,.0f}"


def summary_row(setting: str, stats: list[dict]) -> dict:
    """Exercise 2's summary of some runs' :func:`~pgcore.training.metrics.summarize` (or
    :func:`threshold_rows` records): medians to 195 and 475, the mean wobble, the mean final
    100-episode average."""
    wob = present([s["wobble"] for s in stats])
    finals = present([s["final_avg100"] for s in stats])
    return {"setting": setting, "seeds": len(stats),
            "median episodes to 195": median_text([s["episodes_to_195"] for s in stats]),
            "median episodes to 475": median_text([s["episodes_to_475"] for s in stats]),
            "wobble (mean over seeds)": fmt(float(np.mean(wob)) if wob else None, ".2f"),
            "final 100-episode average": fmt(float(np.mean(finals)) if finals else None,
                                             ".1f")}


# ----- the lesson's claims on these pages (ui/verdicts.py's rule) ------------------------------


BASELINE_CLAIM = ("subtracting a learned value V(s) from the return gets REINFORCE to a "
                  "100-episode average of 195 in fewer episodes, along a curve that wobbles "
                  "less.")
"""Exercise 2's claim (Baseline vs none), in our words."""
SPREAD_CLAIM = ("runs of plain REINFORCE that differ only in their seed end far apart; a "
                "learner with a critic (A2C) lands them much closer together.")
"""Exercise 1's claim (Seeds & variance), in our words."""
CLEARLY = 2.0
"""A spread across seeds at least this many times the other's (and 10 return units more)
counts as clearly larger."""


def _median_text(values) -> str:
    m = censored_median(values)
    reached = len(present(values))
    if not np.isfinite(m):
        return f"not reached by most seeds ({count_of(reached, len(values))})"
    return f"{m:,.0f}" + (f" ({count_of(reached, len(values), 'seeds')} reached it)"
                          if reached < len(values) else "")


def baseline_measure(none: list[dict], value: list[dict],
                     names: tuple[str, str] = ("no baseline", "learned value baseline")
                     ) -> tuple[str, str]:
    """:data:`BASELINE_CLAIM` on per-seed :func:`~pgcore.training.metrics.summarize` figures of the
    runs without and with the baseline: (status, text). Faster: a smaller median of episodes
    to 195 (a seed that never got there counts as infinitely slow); steadier: a smaller mean
    wobble. Both: holds; one: partly; neither: does not hold."""
    to_n = [s["episodes_to_195"] for s in none]
    to_v = [s["episodes_to_195"] for s in value]
    med_n, med_v = censored_median(to_n), censored_median(to_v)
    faster = None if np.isinf(med_n) and np.isinf(med_v) else bool(med_v < med_n)
    wob_n, wob_v = present([s["wobble"] for s in none]), present([s["wobble"] for s in value])
    steadier = None if not (wob_n and wob_v) else bool(np.mean(wob_v) < np.mean(wob_n))
    if faster is None and steadier is None:
        return TOO_EARLY, ("Most seeds never reached 195, and the wobble needs runs of at "
                           "least 102 episodes: give the runs more episodes.")
    text = (f"Median episodes to a 100-episode average of 195: {names[0]} "
            f"{_median_text(to_n)}, {names[1]} {_median_text(to_v)}.")
    if steadier is None:
        text += " The wobble needs runs of at least 102 episodes."
    else:
        text += (f" Mean wobble: {names[0]} {np.mean(wob_n):.0f}, {names[1]} "
                 f"{np.mean(wob_v):.0f}.")
    decided = [d for d in (faster, steadier) if d is not None]
    if all(decided) and len(decided) == 2:
        return HOLDS, text + " The baseline is faster and steadier."
    if any(decided):
        what = "faster" if faster else "steadier"
        return PARTLY, text + f" With the baseline it is {what}, not both."
    return DOES_NOT_HOLD, text + " Here the baseline helped with neither."


def spread_measure(high: list[dict], low: list[dict],
                   names: tuple[str, str] = ("REINFORCE, no baseline", "A2C")
                   ) -> tuple[str, str]:
    """:data:`SPREAD_CLAIM` on per-seed :func:`~pgcore.training.metrics.summarize` figures: the
    standard deviation across seeds of each seed's final 100-episode average, for the learner
    said to spread (``high``) and the other (``low``). Clearly larger (:data:`CLEARLY` times
    and 10 more): holds; larger: partly; otherwise: does not hold."""
    fin_h = present([s["final_avg100"] for s in high])
    fin_l = present([s["final_avg100"] for s in low])
    if len(fin_h) < 2 or len(fin_l) < 2:
        return TOO_EARLY, "A spread across seeds needs at least two seeds with episodes."
    sd_h, sd_l = float(np.std(fin_h)), float(np.std(fin_l))
    text = ("Spread across seeds (standard deviation) of each seed's final 100-episode "
            f"average: {names[0]} {sd_h:.1f} (finals {min(fin_h):.0f} – {max(fin_h):.0f}), "
            f"{names[1]} {sd_l:.1f} ({min(fin_l):.0f} – {max(fin_l):.0f}).")
    if sd_h >= CLEARLY * sd_l and sd_h - sd_l >= 10:
        return HOLDS, text
    if sd_h > sd_l:
        return PARTLY, text + " Wider, but not by much."
    return DOES_NOT_HOLD, text + f" Here {names[0]}'s seeds land no further apart."


def runs_verdict(snap: ExperimentSnapshot, labels: list[str], lesson: str, measure,
                 names: dict[str, str] | None = None) -> Verdict:
    """``measure`` (one list of per-seed summaries per label of ``labels``) on the runs of
    ``snap``, under the rule of :func:`ui.verdicts.judge`: "too early" until every seed of
    every label has finished."""
    ev = evidence(snap, labels, names)
    return judge(lesson, ev, lambda: measure(*[[r.summary() for r in snap.by_label(lb)]
                                               for lb in labels]))
