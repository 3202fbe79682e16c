"""The Value vs policy page's table, verdicts and charts, built from the figures of its runs
(:mod:`pgcore.labs.value_policy`, which also defines the experiment): the lesson's comparison
table with a measured number in every row, the "all measurements" table, one verdict per row
(:class:`~ui.verdicts.Verdict`, "too early" until every seed it compares has finished:
:func:`ui.verdicts.judge`), and the curves across seeds. Which labels are value-based and which
policy-based is the experiment's say (:class:`~pgcore.labs.value_policy.Sides`); nothing here
looks at an algorithm's name.
"""

from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd

from pgcore.execution.experiments import ExperimentSnapshot
from pgcore.labs.stats import censored_median
from pgcore.labs.value_policy import (
    THRESHOLDS,
    WARMUP,
    WINDOW,
    Sides,
    count_at_least,
    greedy_probability,
    run_figures,
    snapshot_budget,
)
from pgcore.rl.heads import joint_actions
from pgcore.training.metrics import moving_average

from .charts import palette
from .charts.bands import band_layers, empty_band, seed_band
from .charts.numbers import MISSING, count_of, fmt, reached_text, spread_text
from .charts.thresholds import SHORT, rules
from .verdicts import (
    DOES_NOT_HOLD,
    HOLDS,
    PARTLY,
    TOO_EARLY,
    UNTESTED,
    Evidence,
    Verdict,
    evidence,
    judge,
)

CURVE_POINTS = 150

ASPECTS = ("action space", "policy type", "stability", "sample efficiency", "convergence")
LESSON = {
    "action space": ("a finite set of actions: one Q-value each",
                     "a finite set or a continuous range"),
    "policy type": ("deterministic: the action with the largest Q",
                    "stochastic: an action drawn from π(a|s)"),
    "stability": ("may oscillate: a small change in Q can swap the argmax",
                  "smoother: a small step in θ changes π only a little"),
    "sample efficiency": ("the more frugal: it replays old transitions (off-policy)",
                          "the hungrier: on-policy, each batch is learned from once"),
    "convergence": ("guaranteed for tabular Q-learning",
                    "guaranteed, but only to a local optimum"),
}
"""Per aspect: (the lesson's claim for value-based, for policy-based), in our own words."""
VERDICT_COLUMN = "does the lesson hold here?"
"""The comparison table's last column: each aspect's verdict status."""


def lesson_claim(aspect: str) -> str:
    """The lesson's claim of one aspect (:data:`LESSON`) as one sentence."""
    value, policy = LESSON[aspect]
    return f"value-based: {value}; policy-based: {policy}."


# ----- every run's figures -------------------------------------------------------------------


def figures(snap: ExperimentSnapshot, warmup: float = WARMUP) -> pd.DataFrame:
    """:func:`run_figures` of every run, one row each (None as NaN)."""
    rows = [run_figures(r, warmup) for r in snap.runs]
    if not rows:
        return pd.DataFrame()
    df = pd.DataFrame(rows)
    numeric = [c for c in df.columns if c not in ("label", "state")]
    return df.astype({c: "float64" for c in numeric}).astype(
        {"seed": "int64", "episodes": "int64", "env_steps": "int64"})


# ----- across seeds ---------------------------------------------------------------------------


def _values(figs: pd.DataFrame, label: str, column: str) -> list[float | None]:
    if not len(figs):
        return []
    col = figs.loc[figs["label"] == label, column]
    return [None if v is None or pd.isna(v) else float(v) for v in col]


# ----- the comparison table -------------------------------------------------------------------

MEASUREMENTS = (
    ("eval_steps_195", "env steps to greedy evaluation ≥ 195", "reached", ",.0f", ""),
    ("eval_steps_475", "env steps to greedy evaluation ≥ 475", "reached", ",.0f", ""),
    ("eval_steps_195_twice", "… ≥ 195 in two evaluations in a row", "reached", ",.0f", ""),
    ("eval_steps_475_twice", "… ≥ 475 in two evaluations in a row", "reached", ",.0f", ""),
    ("train_steps_195", "env steps to training 100-ep average ≥ 195", "reached", ",.0f", ""),
    ("train_steps_475", "env steps to training 100-ep average ≥ 475", "reached", ",.0f", ""),
    ("eval_seconds_195", "seconds to greedy evaluation ≥ 195 (≈)", "reached", ",.1f", " s"),
    ("eval_seconds_475", "seconds to greedy evaluation ≥ 475 (≈)", "reached", ",.1f", " s"),
    ("train_seconds_195", "seconds to training 100-ep average ≥ 195", "reached", ",.1f", " s"),
    ("train_seconds_475", "seconds to training 100-ep average ≥ 475", "reached", ",.1f", " s"),
    ("flips_per_update", "greedy flips per update (fraction of probe states)", "spread",
     ".4f", ""),
    ("flips_per_interval", "greedy flips between trace points", "spread", ".3f", ""),
    ("flips_gross", "greedy flips between trace points, summed update by update", "spread",
     ".3f", ""),
    ("drawdown", "largest fall of the 100-ep average below its best", "spread", ",.0f", ""),
    ("eval_spread", "std of greedy evaluations, second half", "spread", ",.0f", ""),
    ("final_avg100", "final 100-episode training average", "spread", ",.1f", ""),
    ("last_eval", "last greedy evaluation (mean of 10)", "spread", ",.1f", ""),
    ("final_entropy", "final policy entropy (nats)", "spread", ".3f", ""),
)
"""(figure, what it is, how it is summarised, format, unit) of the "all measurements" table."""


def measurements_table(figs: pd.DataFrame, sides: Sides, trace_every: int | None = None
                       ) -> pd.DataFrame:
    """One row per measured figure (:data:`MEASUREMENTS`), one column per label: the median
    [min–max] across seeds (and "k of n seeds" where some seeds are missing)."""
    rows = []
    for column, what, kind, spec, unit in MEASUREMENTS:
        if column == "flips_per_interval" and trace_every:
            what = f"net greedy flips per {trace_every:,} env steps (fraction of probe states)"
        if column == "flips_gross" and trace_every:
            what = f"gross greedy flips per {trace_every:,} env steps (summed over updates)"
        row = {"measurement": what}
        for label in sides.order:
            vals = _values(figs, label, column)
            if column == "final_entropy" and vals and all(v is None for v in vals):
                row[label] = "none (argmax, no distribution)"
                continue
            row[label] = (reached_text if kind == "reached" else spread_text)(vals, spec, unit)
        rows.append(row)
    return pd.DataFrame(rows)


def sample_efficiency_cell(figs: pd.DataFrame, label: str) -> str:
    """Env steps to 475 (or 195) in greedy evaluation and in the training average."""
    eval_vals = _values(figs, label, "eval_steps_475")
    train_vals = _values(figs, label, "train_steps_475")
    return (f"to 475, greedy eval: **{reached_text(eval_vals)}** env steps · training "
            f"average: **{reached_text(train_vals)}** · to 195, greedy eval: "
            f"{reached_text(_values(figs, label, 'eval_steps_195'))}")


def stability_cell(figs: pd.DataFrame, label: str, trace_every: int | None) -> str:
    every = f"{trace_every:,}" if trace_every else "trace"
    net = spread_text(_values(figs, label, "flips_per_interval"), ".3f")
    gross = spread_text(_values(figs, label, "flips_gross"), ".3f")
    per_update = spread_text(_values(figs, label, "flips_per_update"), ".4f")
    drawdown = spread_text(_values(figs, label, "drawdown"))
    fall = ("no full 100-episode window yet" if drawdown == MISSING else
            f"training average fell up to **{drawdown}** below its best")
    return (f"greedy flips per {every} env steps: **{net}** net, {gross} summed update by "
            f"update ({per_update} per update) · {fall}")


def convergence_cell(figs: pd.DataFrame, label: str) -> str:
    finals = _values(figs, label, "final_avg100")
    lasts = _values(figs, label, "last_eval")
    k_train, n = count_at_least(finals, 475)
    k_eval, _ = count_at_least(lasts, 475)
    return (f"final training average **{spread_text(finals, ',.1f')}** · last greedy eval "
            f"**{spread_text(lasts, ',.1f')}** · ≥ 475 at the end: "
            f"{count_of(k_train, n, 'seeds')} (training), {count_of(k_eval, n)} (greedy)")


def policy_cell(figs: pd.DataFrame, label: str, config, n_actions: int,
                value_based: bool) -> str:
    """The policy-type cell of ``label``. Value-based (the page's :class:`Sides` say so): it
    acts by argmax, with its epsilon schedule (config fields). Policy-based: how deterministic
    its policy became (its final entropy), or that none has been measured yet."""
    if value_based:
        if config is None:
            return "argmax of Q"
        return (f"argmax of Q, plus a random action with probability ε: {config.epsilon_start:g}"
                f" → **{config.epsilon_end:g}** over {config.exploration_steps:,} env steps")
    ent = _values(figs, label, "final_entropy")
    if not any(v is not None for v in ent):
        return "samples its action from π(a|s); no policy entropy measured yet"
    uniform = math.log(n_actions)
    med = float(np.median([v for v in ent if v is not None]))
    text = (f"final entropy **{spread_text(ent, '.3f')} nats** ({med / uniform:.0%} of the "
            f"uniform ln {n_actions} = {uniform:.3f})")
    p = greedy_probability(med) if n_actions == 2 else None
    if p is not None:
        text += f", as if the preferred action had p ≈ {p:.2f} in every state"
    return text


def action_cell(n_actions: int, value_based: bool, bins: int = 5, dims: int = 6) -> str:
    if value_based:
        return (f"**{n_actions} Q outputs**, one per action · a {dims}-dimensional continuous "
                f"action cut into {bins} bins each would need {bins}^{dims} = "
                f"{joint_actions(bins, dims):,}")
    return (f"**{n_actions} outputs** (probabilities of the {n_actions} actions) · continuous "
            f"actions: a Gaussian head, 2 outputs per action dimension ({2 * dims} for "
            f"{dims}; see *Continuous actions*)")


def _names(labels) -> str:
    labels = list(labels)
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def _faster(medians: dict[str, float], sides: Sides, tie: float = 0.0) -> list[str] | None:
    """The policy-based labels that needed no more steps than the value-based one (its
    best label), or at most ``tie`` more (what the measurement cannot tell apart: greedy
    evaluations every 5,000 env steps put 35,000 and 35,007 at the same evaluation); None
    when that is undecided: neither side's median reached the threshold.

    >>> sides = Sides(value=("DQN",), policy=("A2C",))
    >>> _faster({"DQN": 35_000, "A2C": 35_007}, sides), _faster(
    ...     {"DQN": 35_000, "A2C": 35_007}, sides, tie=5_000)
    ([], ['A2C'])
    """
    value = min(medians[lb] for lb in sides.value)
    policy = {lb: medians[lb] for lb in sides.policy}
    if math.isinf(value) and all(math.isinf(v) for v in policy.values()):
        return None
    return [lb for lb, v in policy.items() if v <= value + tie and math.isfinite(v)]


def _listing(medians: dict[str, float], spec: str = ",.0f", unit: str = "") -> str:
    return "; ".join(f"{lb} " + ("not reached by most seeds" if math.isinf(v)
                                 else f"{fmt(v, spec)}{unit}") for lb, v in medians.items())


def sample_efficiency_verdict(figs: pd.DataFrame, sides: Sides, ev: Evidence,
                              eval_every: int | None = None) -> Verdict:
    """Does the value-based learner need fewer env steps than every policy-based one? Only
    once every seed of every label has finished (``ev``): a queued run has no steps at all.
    Read on greedy evaluation at 475 (at 195 while nobody's median reached 475), cross-checked
    on the training average. A seed that never got there counts as infinitely slow
    (:func:`censored_median`), so a median is "not reached" when most seeds did not. With
    ``eval_every`` (env steps between greedy evaluations), greedy medians less than one
    evaluation apart count as a tie: the value-based side is not the faster there."""
    return judge(lesson_claim("sample efficiency"), ev,
                 lambda: _sample_efficiency(figs, sides, eval_every))


def _sample_efficiency(figs: pd.DataFrame, sides: Sides,
                       eval_every: int | None) -> tuple[str, str]:
    def medians(column: str) -> dict[str, float]:
        return {lb: censored_median(_values(figs, lb, column)) for lb in sides.order}

    tie = float(eval_every) if eval_every else 0.0
    for t in reversed(THRESHOLDS):
        m = medians(f"eval_steps_{t}")
        faster = _faster(m, sides, tie)
        if faster is not None:
            break
    else:
        return TOO_EARLY, ("Most seeds' greedy evaluations never reached 195 within the "
                           "budget, so there is nothing to compare; a larger budget helps.")
    text = f"Median env steps until the greedy policy first scored ≥ {t}: {_listing(m)}. "
    if not faster:
        status = HOLDS
        text += (f"{_names(sides.value)} got there with less experience than "
                 f"{_names(sides.policy)}: the lesson's “better sample efficiency” holds here.")
    elif len(faster) == len(sides.policy):
        status = DOES_NOT_HOLD
        within = (f" (or within one evaluation, {tie:,.0f} env steps, of it)" if tie else "")
        text += (f"{_names(faster)} got there on no more env steps than {_names(sides.value)}"
                 f"{within}: here the measurement disagrees with the lesson, which gives the "
                 "value-based side the better sample efficiency.")
    else:
        status = PARTLY
        slower = [lb for lb in sides.policy if lb not in faster]
        text += (f"{_names(sides.value)} beat {_names(slower)} but "
                 f"not {_names(faster)}"
                 + (f" (a tie within one evaluation, {tie:,.0f} env steps, counts as not)"
                    if tie else "")
                 + ": the lesson's “better sample efficiency” holds against only part of the "
                 "policy-based side here.")
    mt = medians(f"train_steps_{t}")
    t_faster = _faster(mt, sides)
    if t_faster is not None and sorted(t_faster) != sorted(faster):
        status = PARTLY
        text += (f" The training average ranks them differently (to ≥ {t}: {_listing(mt)}): "
                 "training returns include each algorithm's own exploration.")
    secs = medians(f"eval_seconds_{t}")
    text += (f" In seconds of training (evaluations excluded): {_listing(secs, ',.1f', ' s')}"
             ": an env step costs each algorithm a different amount of computation.")
    return status, text


def stability_verdict(figs: pd.DataFrame, sides: Sides, ev: Evidence,
                      trace_every: int | None) -> Verdict:
    """Does the value-based learner's greedy action flip more than the policy-based ones',
    per env step (the same experience for all)? Per update is reported beside it. Only once
    every seed of every label has finished (``ev``)."""
    return judge(lesson_claim("stability"), ev,
                 lambda: _stability(figs, sides, trace_every))


def _stability(figs: pd.DataFrame, sides: Sides, trace_every: int | None) -> tuple[str, str]:
    def med(label: str, column: str) -> float:
        vals = [v for v in _values(figs, label, column) if v is not None]
        return float(np.median(vals)) if vals else math.nan

    per = {lb: med(lb, "flips_per_interval") for lb in sides.order}
    if any(math.isnan(v) for v in per.values()):
        return TOO_EARLY, ("Not every algorithm has trace rows past the first 10% of its "
                           "budget.")
    every = f"{trace_every:,} env steps" if trace_every else "trace interval"
    value = max(per[lb] for lb in sides.value)
    at_least = [lb for lb in sides.policy if per[lb] >= value]
    text = ("Median fraction of the probe states whose greedy action changed per "
            f"{every}: " + "; ".join(f"{lb} {v:.3f}" for lb, v in per.items()) + ". ")
    if not at_least:
        status = HOLDS
        text += (f"{_names(sides.value)}'s greedy choice moves more than the policy-based "
                 "ones': the lesson's “can oscillate” shows up here.")
    elif all(per[lb] > value for lb in sides.policy):
        status = DOES_NOT_HOLD
        text += (f"{_names(sides.value)}'s greedy choice moves *less* than "
                 f"{_names(sides.policy)}'s: here the measurement disagrees with the lesson's "
                 "“value-based oscillates, policy-based is smoother”.")
    else:
        status = PARTLY
        text += (f"{_names(at_least)} flips at least as much as {_names(sides.value)}, so the "
                 "lesson's ordering holds only in part.")
    gross = {lb: med(lb, "flips_gross") for lb in sides.order}
    if not any(math.isnan(v) for v in gross.values()):
        ratio = {lb: gross[lb] / per[lb] if per[lb] > 0 else math.nan for lb in sides.order}
        text += (" Summed update by update, the same intervals saw "
                 + "; ".join(f"{lb} {gross[lb]:.3f} ({ratio[lb]:.1f}× the net)"
                             for lb in sides.order)
                 + ": well above 1× means greedy actions flip and flip back.")
    pu = {lb: med(lb, "flips_per_update") for lb in sides.order}
    if not any(math.isnan(v) for v in pu.values()):
        text += (" Per update: " + "; ".join(f"{lb} {v:.4f}" for lb, v in pu.items())
                 + " (updates differ in size and in how often they come, so this one is not "
                 "like for like).")
    return status, text


def policy_verdict(figs: pd.DataFrame, sides: Sides, ev: Evidence, n_actions: int) -> Verdict:
    """Are the policy-based learners' policies still stochastic at the end (their final
    entropy against the uniform policy's)? Only once every seed of the policy-based labels
    has finished (``ev``: the value-based side plays no part)."""
    return judge(lesson_claim("policy type"), ev.of(sides.policy),
                 lambda: _policy(figs, sides, n_actions))


def _policy(figs: pd.DataFrame, sides: Sides, n_actions: int) -> tuple[str, str]:
    ents = {lb: [v for v in _values(figs, lb, "final_entropy") if v is not None]
            for lb in sides.policy}
    if not all(ents.values()):
        return TOO_EARLY, "The policy-based runs reported no policy entropy."
    uniform = math.log(n_actions)
    meds = {lb: float(np.median(v)) for lb, v in ents.items()}
    text = ("The policy-based runs do sample their actions, but by the end their mean "
            "entropy was " + "; ".join(f"{lb} {v:.3f} nats ({v / uniform:.0%} of uniform)"
                                         for lb, v in meds.items()) + ". ")
    if max(meds.values()) < 0.25 * uniform:
        return PARTLY, (text + "Stochastic in form, nearly deterministic in practice: "
                        "training squeezed most of the randomness out.")
    return HOLDS, text + "They are still clearly stochastic."


def convergence_verdict(figs: pd.DataFrame, sides: Sides, ev: Evidence) -> Verdict:
    """Not testable by finite runs ("not tested here"); where the runs ended is reported, and
    labelled as partial until every seed has finished (``ev``)."""
    ends = "; ".join(
        f"{lb}: {count_of(*count_at_least(_values(figs, lb, 'last_eval'), 475), 'seeds')}"
        for lb in sides.order)
    where = ("ended, by the last greedy evaluation ≥ 475" if ev.complete else
             f"stand {ev.so_far()}, by the latest greedy evaluation ≥ 475")
    return Verdict(lesson_claim("convergence"), UNTESTED,
                   "The lesson's row is about guarantees (tabular Q-learning; gradient ascent "
                   "to a local optimum). Neither is what runs here: neural-network Q-learning "
                   "carries no such guarantee, and no finite run proves one. What can be "
                   f"measured is where the runs {where}: {ends}.",
                   ev.text() if ev.complete else f"so far, {ev.text()}")


def action_verdict(n_actions: int) -> Verdict:
    """The action-space row holds by construction (no run needed)."""
    return Verdict(lesson_claim("action space"), HOLDS,
                   f"The value-based half holds by construction: DQN has exactly one output "
                   f"per action ({n_actions} here), so a continuous action must first be cut "
                   "into bins, and their number grows as bins^dimensions. The continuous half "
                   "is measured on the *Continuous actions* page: A2C and PPO act on "
                   "Pendulum-v1's torque directly with a Gaussian head (two outputs per action "
                   "dimension), where DQN needs the torque cut into a few values.",
                   "by construction: the networks' outputs, no runs needed")


def verdicts(snap: ExperimentSnapshot, figs: pd.DataFrame, sides: Sides, n_actions: int,
             trace_every: int | None = None, eval_every: int | None = None
             ) -> dict[str, Verdict]:
    """One :class:`~ui.verdicts.Verdict` per aspect (:data:`ASPECTS`); those measured on the
    runs are "too early" until every seed they compare has finished in ``snap``."""
    ev = evidence(snap, sides.order)
    return {"action space": action_verdict(n_actions),
            "policy type": policy_verdict(figs, sides, ev, n_actions),
            "stability": stability_verdict(figs, sides, ev, trace_every),
            "sample efficiency": sample_efficiency_verdict(figs, sides, ev, eval_every),
            "convergence": convergence_verdict(figs, sides, ev)}


def comparison_table(snap: ExperimentSnapshot, figs: pd.DataFrame, sides: Sides,
                     n_actions: int, trace_every: int | None = None,
                     found: dict[str, Verdict] | None = None) -> pd.DataFrame:
    """The lesson's table, five rows (:data:`ASPECTS`): the lesson's claim for each side, the
    measured numbers of each label beside it, and the verdict (:data:`VERDICT_COLUMN`)."""
    found = found if found is not None else verdicts(snap, figs, sides, n_actions, trace_every)
    configs = {lb: (snap.by_label(lb)[0].config if snap.by_label(lb) else None)
               for lb in sides.order}
    rows = []
    for aspect in ASPECTS:
        row = {"aspect": aspect, "lesson: value-based": LESSON[aspect][0]}
        cells = {}
        for lb in sides.order:
            value_based = lb in sides.value
            if aspect == "action space":
                cells[lb] = action_cell(n_actions, value_based)
            elif aspect == "policy type":
                cells[lb] = policy_cell(figs, lb, configs[lb], n_actions, value_based)
            elif aspect == "stability":
                cells[lb] = stability_cell(figs, lb, trace_every)
            elif aspect == "sample efficiency":
                cells[lb] = sample_efficiency_cell(figs, lb)
            else:
                cells[lb] = convergence_cell(figs, lb)
        for lb in sides.value:
            row[f"measured: {lb}"] = cells[lb]
        row["lesson: policy-based"] = LESSON[aspect][1]
        for lb in sides.policy:
            row[f"measured: {lb}"] = cells[lb]
        row[VERDICT_COLUMN] = found[aspect].status
        rows.append(row)
    return pd.DataFrame(rows)


# ----- progress and chart data ----------------------------------------------------------------


def _band_frame(label: str, x: np.ndarray, curves: list[np.ndarray]) -> pd.DataFrame:
    band = seed_band(curves, x, "env_steps")
    band.insert(0, "algorithm", label)
    return band


def _empty_band() -> pd.DataFrame:
    return empty_band("env_steps", "algorithm")


def training_curves(snap: ExperimentSnapshot, order: list[str], points: int = CURVE_POINTS,
                    window: int = WINDOW) -> pd.DataFrame:
    """Per label: the 100-episode training average (shorter windows for the first episodes)
    against env steps, each seed interpolated onto one grid of ``points`` env-step values
    (only inside the steps it has covered), then mean and ± 1 std across seeds."""
    budget = max(snapshot_budget(snap), 1)
    x = np.linspace(0, budget, points + 1)[1:]
    parts = []
    for label in order:
        curves = []
        for r in snap.by_label(label):
            steps = r.columns["env_steps"]
            if not len(steps):
                continue
            y = np.interp(x, steps, moving_average(r.returns, window))
            y[(x < steps[0]) | (x > steps[-1])] = np.nan
            curves.append(y)
        if curves:
            parts.append(_band_frame(label, x, curves))
    return pd.concat(parts, ignore_index=True) if parts else _empty_band()


def _binned(snap, order, table: str, column: str, every_of) -> pd.DataFrame:
    parts = []
    for label in order:
        series = {}
        for r in snap.by_label(label):
            data = getattr(r, table)
            if not len(data.get("env_steps", ())):
                continue
            every = every_of(r)
            x = (np.asarray(data["env_steps"]) // every) * every
            series[r.seed] = dict(zip(x.tolist(), np.asarray(data[column]).tolist(),
                                      strict=True))
        if not series:
            continue
        xs = np.array(sorted({k for s in series.values() for k in s}), dtype=np.float64)
        curves = [np.array([s.get(k, np.nan) for k in xs]) for s in series.values()]
        parts.append(_band_frame(label, xs, curves))
    return pd.concat(parts, ignore_index=True) if parts else _empty_band()


def eval_curves(snap: ExperimentSnapshot, order: list[str]) -> pd.DataFrame:
    """Per label: the greedy evaluations' mean return against env steps (each evaluation put
    at the multiple of ``eval_every`` it was due at), mean and ± 1 std across seeds."""
    return _binned(snap, order, "evals", "eval_return",
                   lambda r: int(r.config.eval_every or 1))


def flip_curves(snap: ExperimentSnapshot, order: list[str], trace_every: int) -> pd.DataFrame:
    """Per label: the fraction of probe states flipped since the previous trace row, against
    env steps (binned to multiples of ``trace_every``), mean and ± 1 std across seeds."""
    return _binned(snap, order, "trace", "flip_since_last", lambda r: int(trace_every))


# ----- charts ---------------------------------------------------------------------------------


def curves_chart(data: pd.DataFrame, order: list[str], title: str, y_title: str,
                 x_max: int, y_domain: tuple[float, float] | None = (0, 520),
                 thresholds: bool = True, height: int = 340, y_type: str = "linear",
                 y_ticks: list[float] | None = None) -> alt.LayerChart:
    """Mean line and ± 1 std band per algorithm against env steps, each algorithm in its
    colour and dash from ``ui.charts.palette``, with the 195 and 475 criteria as labelled rules."""
    if y_type == "log" and y_domain is not None and min(y_domain) <= 0:
        raise ValueError(f"a log axis needs a positive domain, got {y_domain}")
    color = palette.color("algorithm", order)
    dash = palette.stroke_dash("algorithm", order)
    x = alt.X("env_steps:Q", title="environment steps", axis=palette.axis(),
              scale=alt.Scale(domain=[0, max(int(x_max), 1)], nice=False))
    y_scale = (alt.Scale(type=y_type, domain=list(y_domain), nice=False) if y_domain
               else alt.Scale(type=y_type))
    axis = palette.axis(values=y_ticks) if y_ticks else palette.axis()
    tooltip = ["algorithm:N", alt.Tooltip("env_steps:Q", format=",.0f"),
               alt.Tooltip("mean:Q", format=".3g", title="mean across seeds"),
               alt.Tooltip("lo:Q", format=".3g", title="mean − std"),
               alt.Tooltip("hi:Q", format=".3g", title="mean + std"),
               alt.Tooltip("n:Q", title="seeds")]
    layers = band_layers(data, x, y_scale, y_title, color, dash, tooltip, opacity=0.18,
                         axis=axis, line_axis=True, clip=True)
    if thresholds:
        layers += rules(SHORT, y_scale)
    return alt.layer(*layers).properties(
        title=alt.TitleParams(title, anchor="start", fontSize=14), height=height)
