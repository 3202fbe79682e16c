"""The experiment pages' numbers and tables: a job's state as a table shows it, the spread
across seeds, episodes to each threshold per run, the summary rows of exercise 2, and the
lesson's claims of exercises 1 and 2 measured on runs (:func:`runs_verdict`, under the rule
of :mod:`ui.verdicts`). Numbers are written with :mod:`ui.charts.numbers`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pgcore.execution.experiments import ExperimentSnapshot
from pgcore.labs.stats import SeedSpread, censored_median, present, seed_spread
from pgcore.training.metrics import DEFAULT_WINDOW, summarize

from .charts.numbers import count_of, fmt, reached_text
from .verdicts import DOES_NOT_HOLD, HOLDS, PARTLY, TOO_EARLY, Verdict, evidence, judge

JOB_LABELS = {"waiting": "queued"}
"""A job's state as the pages' tables show it, where it differs from the state's name."""


def job_label(state: str) -> str:
    """``state`` of one job as a table shows it (a job still in the queue is "queued")."""
    return JOB_LABELS.get(state, state)


def spread_of(snap: ExperimentSnapshot, label: str, window: int = DEFAULT_WINDOW
              ) -> SeedSpread:
    """:func:`~pgcore.labs.stats.seed_spread` of ``label``'s runs so far (their
    ``window``-episode averages: the lesson's 100 by default)."""
    return seed_spread([r.returns for r in snap.by_label(label)], window)


def spread_row(setting: str, spread: SeedSpread) -> dict:
    """One row of the spread table: the same figures for every setting (see
    :class:`~pgcore.labs.stats.SeedSpread`); episodes to 195 and 475 as median [range] over
    the seeds that got there, "(2 of 3 seeds)" when some did not."""
    finals = spread.finals
    return {"setting": setting, "seeds": spread.seeds,
            "spread over the run": fmt(spread.run_std, ".1f"),
            "spread at the end": fmt(spread.final_std, ".1f"),
            "final averages": (f"{min(finals):,.0f} – {max(finals):,.0f}" if len(finals) > 1
                               else fmt(finals[0] if finals else None, ",.0f")),
            "episodes to 195": reached_text(list(spread.to_195)),
            "episodes to 475": reached_text(list(spread.to_475))}


def wall_time_text(core_seconds: float, cores: int) -> str:
    """Work of ``core_seconds`` shared by ``cores`` cores, as a phrase.

    >>> wall_time_text(600, 2), wall_time_text(30, 2)
    ('about 5 minutes on 2 cores', 'under a minute on 2 cores')
    """
    cores = max(1, int(cores))
    minutes = core_seconds / cores / 60.0
    where = f"on {cores} core{'s' if cores != 1 else ''}"
    if minutes < 1:
        return f"under a minute {where}"
    return f"about {minutes:.0f} minute{'s' if round(minutes) != 1 else ''} {where}"


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
SPREAD_CLAIM = ("three runs of plain REINFORCE that differ only in their seed end far apart, "
                "while three runs of the DQN agent from the lesson before would cluster "
                "tightly.")
"""Exercise 1's claim (Seeds & variance), in our words."""


def spread_claim(rival: str | None = None) -> str:
    """:data:`SPREAD_CLAIM`, or (``rival``) the same contrast asked of another learner in
    DQN's place, saying so."""
    if rival is None:
        return SPREAD_CLAIM
    return ("three runs of plain REINFORCE that differ only in their seed end far apart, "
            f"while three runs of {rival} cluster tightly (the lesson draws this contrast "
            f"with DQN; here it is asked of {rival} instead).")


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


def _clearly(a: float, b: float) -> bool:
    return a >= CLEARLY * b and a - b >= 10


def spread_measure(high: SeedSpread, low: SeedSpread,
                   names: tuple[str, str] = ("REINFORCE, no baseline", "DQN")
                   ) -> tuple[str, str]:
    """:data:`SPREAD_CLAIM` on the :class:`~pgcore.labs.stats.SeedSpread` of the learner said
    to spread (``high``) and of the one said to cluster (``low``), both measured the same way:
    the across-seed standard deviation of the 100-episode average over the run and at its
    end. Clearly larger (:data:`CLEARLY` times and 10 more) on both: holds; clearly larger on
    one, or larger on both: partly; otherwise: does not hold."""
    if None in (high.run_std, high.final_std, low.run_std, low.final_std):
        return TOO_EARLY, "A spread across seeds needs at least two seeds with episodes."

    def finals(s: SeedSpread) -> str:
        return f"finals {min(s.finals):,.0f} – {max(s.finals):,.0f}"

    text = (f"Spread across seeds (standard deviation of the 100-episode average) over the run "
            f"and at the end: {names[0]} {high.run_std:.1f} and {high.final_std:.1f} "
            f"({finals(high)}), {names[1]} {low.run_std:.1f} and {low.final_std:.1f} "
            f"({finals(low)}).")
    clear = [_clearly(high.run_std, low.run_std), _clearly(high.final_std, low.final_std)]
    if all(clear):
        return HOLDS, text
    if any(clear):
        where = "over the run" if clear[0] else "at the end"
        return PARTLY, text + f" Clearly wider {where} only."
    if high.run_std > low.run_std and high.final_std > low.final_std:
        return PARTLY, text + " Wider, but not by much."
    return DOES_NOT_HOLD, text + f" Here the seeds of {names[1]} land no closer together."


def runs_verdict(snap: ExperimentSnapshot, labels: list[str], lesson: str, measure,
                 names: dict[str, str] | None = None, of=None) -> Verdict:
    """``measure`` (one argument per label of ``labels``: ``of(runs)`` of its runs, by default
    their per-seed summaries) on the runs of ``snap``, under the rule of
    :func:`ui.verdicts.judge`: "too early" until every seed of every label has finished."""
    ev = evidence(snap, labels, names)
    of = of or (lambda runs: [r.summary() for r in runs])
    return judge(lesson, ev, lambda: measure(*[of(snap.by_label(lb)) for lb in labels]))
