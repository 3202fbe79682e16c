"""The Smoothness page's frames, charts, numbers and verdicts.

Everything here is a pure function of two :class:`pgcore.labs.smoothness.Curve` records (the
softmax policy's and the Q-network's), giving a pandas frame, an altair chart or a
:class:`~ui.verdicts.Verdict`, so the page stays thin and the numbers are testable without
a Streamlit run. Nothing here imports streamlit.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from pgcore.labs.smoothness import Curve
from pgcore.labs.stats import median_range

from .charts import palette
from .charts.numbers import MISSING, counted, percent, range_text
from .charts.palette import decades
from .charts.thresholds import V1, rules
from .verdicts import DOES_NOT_HOLD, HOLDS, PARTLY, TOO_EARLY, Verdict, with_evidence

POLICY_NAME, Q_NAME = "softmax policy (A2C)", "Q-network (DQN)"
NAMES = {"policy": POLICY_NAME, "q": Q_NAME}
"""How the page names each of :data:`pgcore.labs.smoothness.AGENT_FILES`."""
PI = "π (A2C)"
PI_ARGMAX = "argmax of π (A2C)"
Q_ARGMAX = "argmax of Q (DQN)"
SERIES = (PI, PI_ARGMAX, Q_ARGMAX)
AGENTS = (POLICY_NAME, Q_NAME)
"""The charts' series and agents in legend order; their looks come from ``ui.charts.palette`` (A2C's
policy is A2C's blue, DQN's Q-network DQN's red, on every page)."""

FLIP_LEVEL = 0.05
"""The Q-network's greedy action counts as moving once it flips on this share of states."""
SMALL = 0.1
"""Sizes up to this (a 10% change of each layer) count as small for the slope of π's TV."""
SOLVED = V1
"""A greedy return below this (475) counts as broken."""


# ----- frames ---------------------------------------------------------------------------------


def _series(policy: Curve, q: Curve) -> list[tuple[str, Curve, np.ndarray, np.ndarray]]:
    """(series, curve, mean TV (S, D), largest per-state TV (S, D)) for the three series:
    π itself, π's argmax, Q's argmax (a greedy policy's TV is its flip fraction)."""
    return [(PI, policy, policy.policy_tv, policy.policy_tv_max),
            (PI_ARGMAX, policy, policy.flips, (policy.flips > 0).astype(np.float64)),
            (Q_ARGMAX, q, q.flips, q.played_tv_max)]


def change_frame(policy: Curve, q: Curve) -> pd.DataFrame:
    """One row per series, size and direction: the mean total variation over the states
    (``tv``) and its largest value on one state (``tv_max``)."""
    rows = []
    for name, curve, tv, tv_max in _series(policy, q):
        for i, size in enumerate(curve.sizes):
            for k in range(tv.shape[1]):
                rows.append({"series": name, "size": float(size), "direction": k,
                             "tv": float(tv[i, k]), "tv_max": float(tv_max[i, k])})
    return pd.DataFrame(rows, columns=["series", "size", "direction", "tv", "tv_max"])


def return_frame(policy: Curve, q: Curve) -> pd.DataFrame:
    """One row per agent, size and direction: the mean greedy return after the perturbation."""
    rows = [{"agent": name, "size": float(size), "direction": k,
             "return": float(curve.mean_returns[i, k])}
            for name, curve in ((POLICY_NAME, policy), (Q_NAME, q)) if curve.returns.size
            for i, size in enumerate(curve.sizes) for k in range(curve.returns.shape[1])]
    return pd.DataFrame(rows, columns=["agent", "size", "direction", "return"])


def bands(data: pd.DataFrame, value: str, by: str) -> pd.DataFrame:
    """Median, min and max of ``value`` across directions, per ``by`` and size."""
    if data.empty:
        return pd.DataFrame(columns=[by, "size", "median", "lo", "hi"])
    g = data.groupby([by, "size"], sort=False)[value]
    return pd.DataFrame({"median": g.median(), "lo": g.min(), "hi": g.max()}).reset_index()


def records_frame(policy: Curve, q: Curve) -> pd.DataFrame:
    """Every measurement, one row per agent, size and direction: the CSV download."""
    rows = []
    for name, curve in ((POLICY_NAME, policy), (Q_NAME, q)):
        for i, size in enumerate(curve.sizes):
            for k in range(curve.flips.shape[1]):
                row = {"agent": name, "size": float(size), "direction": k,
                       "states": curve.states,
                       "policy_tv": curve.policy_tv[i, k],
                       "policy_tv_max": curve.policy_tv_max[i, k],
                       "argmax_flip_fraction": curve.flips[i, k],
                       "played_tv": curve.played_tv[i, k],
                       "played_tv_max": curve.played_tv_max[i, k]}
                for e, ret in enumerate(curve.returns[i, k]):
                    row[f"return_{e + 1}"] = ret
                rows.append(row)
    return pd.DataFrame(rows)


def to_csv(policy: Curve, q: Curve) -> bytes:
    return records_frame(policy, q).to_csv(index=False, float_format="%.6g").encode()


# ----- charts ---------------------------------------------------------------------------------


def _title(title: str, subtitle: str = "") -> alt.TitleParams:
    return alt.TitleParams(title, subtitle=subtitle or alt.Undefined, anchor="start",
                           fontSize=14)


def _x(sizes: Sequence[float]) -> alt.X:
    lo, hi = float(min(sizes)), float(max(sizes))
    if lo == hi:
        lo, hi = lo / 2, hi * 2
    ticks = decades(lo, hi) or [lo, hi]
    return alt.X("size:Q", title="perturbation size ε (relative change of each layer)",
                 scale=palette.log_scale(lo, hi, nice=False),
                 axis=palette.axis(values=ticks, gridDash=[2, 2]))


def _band_layers(data: pd.DataFrame, by: str, names: Sequence[str], x: alt.X, y: alt.Y,
                 fmt: str) -> list:
    """A faint min-max band and a median line with a point per size, per ``by`` value, each
    in its colour and dash from ``ui.charts.palette`` (the legend's swatches show both)."""
    color = palette.color(by, names)
    base = alt.Chart(data)
    band = base.mark_area(opacity=0.15).encode(x=x, y=alt.Y("lo:Q"), y2="hi:Q", color=color,
                                                detail=f"{by}:N")
    tooltip = [f"{by}:N", alt.Tooltip("size:Q", title="ε", format="~g"),
               alt.Tooltip("median:Q", format=fmt), alt.Tooltip("lo:Q", title="min", format=fmt),
               alt.Tooltip("hi:Q", title="max", format=fmt)]
    line = base.mark_line(strokeWidth=2.2, point=True).encode(
        x=x, y=y, color=color, strokeDash=palette.stroke_dash(by, names), tooltip=tooltip)
    return [band, line]


def _in_data(data: pd.DataFrame, column: str, order: Sequence[str]) -> list[str]:
    seen = set(data[column])
    return [n for n in order if n in seen]


def change_chart(data: pd.DataFrame, log_y: bool = False, height: int = 330) -> alt.LayerChart:
    """Mean total variation over the states against ε: median across directions, with the
    min-max band. ``log_y`` draws the y axis on a log scale: a log axis has no 0, so sizes
    where nothing moved (a median of 0) are left out, and the subtitle says how many."""
    b = bands(data, "tv", "series")
    subtitle = ["mean TV over the states; a greedy policy's TV is its flip fraction"]
    if log_y:
        dropped = int((b["median"] <= 0).sum())
        b = b[b["median"] > 0].assign(lo=lambda f: f["lo"].where(f["lo"] > 0, f["median"]))
        if dropped:
            subtitle.append(f"{counted(dropped, 'point')} at 0 left out (a log axis has no 0)")
    names = _in_data(data, "series", SERIES)
    if log_y:
        positive = b["lo"][b["lo"] > 0]
        ticks = decades(float(positive.min()), 1.0) if len(positive) else [1.0]
        y = alt.Y("median:Q", title="mean total variation over the states (log)",
                  scale=palette.log_scale(), axis=palette.log_axis(values=ticks))
    else:
        y = alt.Y("median:Q", title="mean total variation over the states",
                  scale=alt.Scale(domain=[0, 1], nice=False), axis=palette.axis())
    layers = _band_layers(b, "series", names, _x(data["size"]), y, ".3g")
    return alt.layer(*layers).properties(
        title=_title("How far the played distribution moves", subtitle), height=height)


def jump_chart(data: pd.DataFrame, height: int = 330) -> alt.LayerChart:
    """The largest total variation on any one state against ε (median and range across
    directions): a greedy policy's is 0 or 1, a softmax policy's grows by degrees."""
    b = bands(data, "tv_max", "series")
    names = _in_data(data, "series", SERIES)
    y = alt.Y("median:Q", title="largest total variation on one state",
              scale=alt.Scale(domain=[0, 1], nice=False), axis=palette.axis())
    layers = _band_layers(b, "series", names, _x(data["size"]), y, ".3g")
    return alt.layer(*layers).properties(
        title=_title("The biggest change on any single state",
                     "an argmax either keeps its action (0) or switches it (1)"), height=height)


def return_chart(data: pd.DataFrame, height: int = 330) -> alt.LayerChart:
    """The greedy return after the perturbation against ε (median and range across
    directions of each direction's mean over episodes), a dashed green rule at 475."""
    b = bands(data, "return", "agent")
    names = _in_data(data, "agent", AGENTS)
    y_scale = alt.Scale(domain=[0, 510], nice=False)
    y = alt.Y("median:Q", title="greedy return", scale=y_scale, axis=palette.axis())
    layers = _band_layers(b, "agent", names, _x(data["size"]), y, ",.0f")
    rule = rules([(SOLVED, f"{SOLVED:g}")], y_scale, text=False)
    return alt.layer(*rule, *layers).properties(
        title=_title("Greedy return after the perturbation",
                     f"each agent plays its argmax; dashed green: {SOLVED:g}"), height=height)


# ----- numbers --------------------------------------------------------------------------------


def _stats(values) -> dict:
    return median_range(np.asarray(values, np.float64).ravel())


def numbers_table(policy: Curve, q: Curve) -> pd.DataFrame:
    """One row per size: the medians (and ranges across directions) of every measure."""
    rows = []
    for i, size in enumerate(policy.sizes):
        same = np.flatnonzero(np.isclose(q.sizes, size))
        j = int(same[0]) if same.size else None
        row = {"size ε": f"{size:g}",
               "π: mean TV": range_text(_stats(policy.policy_tv[i]), ".2g"),
               "π: largest TV on a state": range_text(_stats(policy.policy_tv_max[i]), ".2g"),
               "π's argmax: flipped": range_text(_stats(policy.flips[i]), ".1%"),
               "Q's argmax: flipped (= its TV)":
                   MISSING if j is None else range_text(_stats(q.flips[j]), ".1%")}
        if policy.returns.size:
            row["return, softmax policy"] = range_text(_stats(policy.mean_returns[i]), ",.0f")
        if q.returns.size and j is not None:
            row["return, Q-network"] = range_text(_stats(q.mean_returns[j]), ",.0f")
        rows.append(row)
    return pd.DataFrame(rows)


def medians(curve: Curve) -> dict:
    """Per size, the median across directions of each measure (NaN where absent)."""
    def med(a):
        a = np.asarray(a, np.float64)
        return np.array([np.median(r) if np.isfinite(r).any() else np.nan for r in a])
    return {"sizes": np.asarray(curve.sizes), "policy_tv": med(curve.policy_tv),
            "policy_tv_max": med(curve.policy_tv_max), "flips": med(curve.flips),
            "returns": med(curve.mean_returns) if curve.returns.size
            else np.full(len(curve.sizes), np.nan)}


def loglog_slope(sizes, values, up_to: float = SMALL) -> float | None:
    """The slope of log10(values) against log10(sizes) over the sizes up to ``up_to`` with a
    positive value (least squares); None with fewer than two such points. 1 means the values
    grow in proportion to the size.

    >>> round(loglog_slope([0.001, 0.01, 0.1], [0.002, 0.02, 0.2]), 6)
    1.0
    """
    sizes, values = np.asarray(sizes, np.float64), np.asarray(values, np.float64)
    keep = (sizes <= up_to) & (sizes > 0) & np.isfinite(values) & (values > 0)
    if keep.sum() < 2:
        return None
    return float(np.polyfit(np.log10(sizes[keep]), np.log10(values[keep]), 1)[0])


def _eps(v: float) -> str:
    return f"ε = {v:g}"


def smooth_finding(policy: Curve) -> Verdict:
    """"A small change in θ is a small change in π": π's mean TV is proportional to ε at
    small sizes (log-log slope within 0.2 of 1) and below 0.05 at ε = 0.1."""
    claim = ("a small change in θ is a small change in π: the softmax policy's distribution "
             "moves in proportion to the size of the change in its weights.")
    m = medians(policy)
    slope = loglog_slope(m["sizes"], m["policy_tv"])
    if slope is None:
        return Verdict(claim, TOO_EARLY, f"It needs at least two sizes up to {SMALL:g} where "
                       "π moved: widen the range of sizes.")
    small = np.flatnonzero(m["sizes"] <= SMALL)
    first, last = small[0], small[-1]
    text = (f"From {_eps(m['sizes'][first])} to {_eps(m['sizes'][last])} the median mean TV of "
            f"π went from {m['policy_tv'][first]:.2g} to {m['policy_tv'][last]:.2g} (largest on "
            f"one state: {m['policy_tv_max'][last]:.2g}): a slope of {slope:.2f} on the log-log "
            "chart, where 1 is exactly proportional.")
    proportional = abs(slope - 1.0) <= 0.2
    small_at_end = m["policy_tv"][last] < 0.05
    if proportional and small_at_end:
        return Verdict(claim, HOLDS, text)
    if proportional or small_at_end:
        return Verdict(claim, PARTLY, text)
    return Verdict(claim, DOES_NOT_HOLD, text)


def jump_finding(policy: Curve, q: Curve, level: float = FLIP_LEVEL) -> Verdict:
    """"An argmax jumps": at the smallest ε where the Q-network's greedy action flips on at
    least ``level`` of the states (median), π moved by at most a tenth of that."""
    claim = ("an argmax jumps: at a size where the Q-network already plays a different action "
             "on many states (each of them a change of TV 1), the softmax policy has barely "
             "moved.")
    mq, mp = medians(q), medians(policy)
    hit = np.flatnonzero(mq["flips"] >= level)
    if not hit.size:
        return Verdict(claim, DOES_NOT_HOLD, f"The Q-network's greedy action flipped on at "
                       f"most {percent(np.nanmax(mq['flips']))} of the states at the sizes tried "
                       f"(up to {_eps(mq['sizes'].max())}).")
    i = int(hit[0])
    size = mq["sizes"][i]
    j = np.flatnonzero(np.isclose(mp["sizes"], size))
    if not j.size:  # pragma: no cover - the page perturbs both at the same sizes
        return Verdict(claim, TOO_EARLY, "the two agents were not perturbed by the same sizes.")
    j = int(j[0])
    tv, tv_max, own = mp["policy_tv"][j], mp["policy_tv_max"][j], mp["flips"][j]
    ratio = mq["flips"][i] / tv if tv > 0 else float("inf")
    text = (f"The smallest size at which the Q-network's argmax flips on at least "
            f"{percent(level)} of the {q.states} states is {_eps(size)}: it flips on "
            f"{percent(mq['flips'][i])}, so its played distribution moves by TV "
            f"{mq['flips'][i]:.3f} on average and by 1 on each flipped state. There the "
            f"softmax policy's π moved by TV {tv:.2g} on average ({ratio:,.0f} times less) and "
            f"by {tv_max:.2g} at most on any state. In fairness, π's own argmax flipped on "
            f"{percent(own)} of the states there: every argmax jumps, and what changes smoothly is "
            "the distribution π that the policy samples its actions from.")
    if tv <= mq["flips"][i] / 10 and tv_max < 0.5:
        return Verdict(claim, HOLDS, text)
    if tv < mq["flips"][i]:
        return Verdict(claim, PARTLY, text)
    return Verdict(claim, DOES_NOT_HOLD, text)


def _first_broken(m: dict) -> int | None:
    below = np.flatnonzero(m["returns"] < SOLVED)
    return int(below[0]) if below.size else None


def return_finding(policy: Curve, q: Curve) -> Verdict:
    """"It shows in the returns": the smallest ε at which each agent's median greedy return
    falls below 475; holds when the Q-network breaks at a smaller size than the policy."""
    claim = ("the difference shows in what the agents achieve: the Q-network's greedy play "
             "breaks down at much smaller perturbations than the softmax policy's.")
    if not (policy.returns.size and q.returns.size):
        return Verdict(claim, TOO_EARLY, "No episodes were played.")
    mp, mq = medians(policy), medians(q)
    bp, bq = _first_broken(mp), _first_broken(mq)

    def where(m, b, name):
        if b is None:
            return (f"the {name} kept a median return of at least {SOLVED:g} up to "
                    f"{_eps(m['sizes'].max())}")
        return (f"the {name}'s median return first fell below {SOLVED:g} at "
                f"{_eps(m['sizes'][b])} ({m['returns'][b]:,.0f})")

    text = f"{where(mq, bq, 'Q-network')}; {where(mp, bp, 'softmax policy')}"
    text = text[0].upper() + text[1:]
    if bq is not None and bp is not None and mp["sizes"][bp] > mq["sizes"][bq]:
        text += f": a {mp['sizes'][bp] / mq['sizes'][bq]:,.0f} times larger change"
    fine = np.flatnonzero(mq["returns"][:bq] >= SOLVED) if bq is not None else \
        np.flatnonzero(mq["returns"] >= SOLVED)
    if fine.size and mq["flips"][fine[-1]] > 0:
        k = int(fine[-1])
        text += (f". At {_eps(mq['sizes'][k])} the Q-network still played well with its "
                 f"argmax flipped on {percent(mq['flips'][k])} of the states: the first flips "
                 "come where its two values are nearly equal, where the choice matters "
                 "least, but they pile up fast")
    text += "."
    if bq is None:
        return Verdict(claim, DOES_NOT_HOLD if bp is not None else TOO_EARLY,
                       text + " Try larger sizes.")
    if bp is None or mp["sizes"][bp] > mq["sizes"][bq]:
        return Verdict(claim, HOLDS, text)
    return Verdict(claim, DOES_NOT_HOLD, text)


LEAD = "The claim"
"""How the page leads each verdict (:meth:`ui.verdicts.Verdict.markdown`)."""


def measured_on(policy: Curve) -> str:
    """The evidence of the page's verdicts: every perturbation (the same sizes, directions
    and states for both agents), all measured before anything is shown."""
    sizes, directions = len(policy.sizes), policy.flips.shape[1] if policy.flips.ndim > 1 else 1
    episodes = policy.returns.shape[-1] if policy.returns.ndim == 3 else 0
    return (f"both agents, {counted(sizes, 'size')} × {counted(directions, 'direction')}, "
            f"{policy.states} states"
            + (f", {counted(episodes, 'greedy episode')} each" if episodes else "")
            + ", all measured")


def findings(policy: Curve, q: Curve) -> list[Verdict]:
    """The page's three verdicts, each with its evidence (:func:`measured_on`)."""
    on = measured_on(policy)
    return [with_evidence(v, on) for v in (smooth_finding(policy), jump_finding(policy, q),
                                           return_finding(policy, q))]


def gap_sentence(q_values: np.ndarray) -> str:
    """Why the Q-network's argmax is fragile, from its outputs on the states: the size of
    the values against the gap between the best two."""
    from pgcore.labs.smoothness import action_gaps

    q_values = np.asarray(q_values, np.float64)
    gap = float(np.median(action_gaps(q_values)))
    scale = float(np.median(np.abs(q_values).max(axis=-1)))
    share = gap / scale if scale > 0 else float("nan")
    return (f"Why the Q-network's argmax is so fragile: on these states its two values are "
            f"about {scale:,.1f} each, and the median gap between them is {gap:.3g}, "
            f"{percent(share) if share >= 0.001 else f'{100 * share:.2g}%'} of their size. The "
            "action is decided by a small difference between two large numbers, so a change "
            "of the weights that moves both values by a fraction of a percent can swap them.")
