"""The experiment pages' numbers and tables: the spread across seeds, episodes to each
threshold per run, the summary rows of exercise 2, and number formatting."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pgcore.experiments import ExperimentSnapshot
from pgcore.metrics import across_seed_stats, final_average, summarize

from .experiment_charts import smoothed
from .experiment_controls import job_label


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


def _present(values) -> list:
    return [v for v in values if v is not None and not pd.isna(v)]


def median_text(values) -> str:
    """The median as text when every seed reached it, else "k/n reached"."""
    vals = _present(values)
    if len(vals) < len(values) or not vals:
        return f"{len(vals)}/{len(values)} reached"
    return f"{pd.Series(vals).median():,.0f}"


def summary_row(setting: str, stats: list[dict]) -> dict:
    """Exercise 2's summary of some runs' :func:`~pgcore.metrics.summarize` (or
    :func:`threshold_rows` records): medians to 195 and 475, the mean wobble, the mean final
    100-episode average."""
    wob = _present([s["wobble"] for s in stats])
    finals = _present([s["final_avg100"] for s in stats])
    return {"setting": setting, "seeds": len(stats),
            "median episodes to 195": median_text([s["episodes_to_195"] for s in stats]),
            "median episodes to 475": median_text([s["episodes_to_475"] for s in stats]),
            "wobble (mean over seeds)": fmt(float(np.mean(wob)) if wob else None, ".2f"),
            "final 100-episode average": fmt(float(np.mean(finals)) if finals else None,
                                             ".1f")}


def fmt(v, spec: str = ",.0f", none: str = "–") -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return none
    return format(v, spec)
