"""The DQN exercise pages' frames, charts, tables and verdicts: target network (C = 1000 vs
C = 1), hard copy vs Polyak, and overestimation (plain vs Double DQN).

The runs' figures come from :mod:`pgcore.labs.dqn_exercises` (pure numbers); everything here
turns an :class:`~pgcore.execution.experiments.ExperimentSnapshot` or those figures into a
pandas frame, an altair chart or a :class:`~ui.verdicts.Verdict`, so the pages stay thin and
the numbers are testable without a Streamlit run. Nothing here imports streamlit.

The lesson's claims are checked by the ``*_claim`` functions: each takes the
:class:`~ui.verdicts.Evidence` of the settings it compares and stays "too early" until every
seed of them has finished (:func:`ui.verdicts.judge`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import altair as alt
import numpy as np
import pandas as pd

from pgcore.execution.experiments import ExperimentSnapshot, RunView
from pgcore.labs.dqn_exercises import CEILING, GAMMA, WINDOW, mean_distance, played
from pgcore.labs.stats import median_range, t_interval
from pgcore.training.metrics import moving_average

from .charts import palette
from .charts.curves import sample_index
from .charts.numbers import MISSING, counted, fmt, interval_text, over_seeds, range_text
from .charts.thresholds import V1, rules
from .verdicts import DOES_NOT_HOLD, HOLDS, PARTLY, TOO_EARLY, Evidence, Verdict, judge

CURVE_POINTS = 300
"""Points per curve sent to the browser on each refresh."""
STEPS_PER_SECOND = 1500.0
"""Env steps per second per core of lesson-preset DQN runs (a learning step every env step)
training together in the run hosts, from ``bench/bench_pages.py`` on two cores; a rough
figure for the time estimate only."""
TYPICAL_EPISODE_LENGTH = 125.0
"""A 400-episode lesson run averages roughly this many steps per episode (it starts near 20
and ends in the hundreds: 91 for C = 1000 and 159 for C = 1 on seed 0); a rough figure for
the time estimate only."""

PREDICTED, COLLECTED = "predicted max Q(s₀, a)", "discounted return collected"


def duration_text(n_runs: int, episodes: int, cores: int,
                  steps_per_second: float = STEPS_PER_SECOND,
                  episode_length: float = TYPICAL_EPISODE_LENGTH) -> str:
    """A rough wall-time estimate for ``n_runs`` lesson-preset runs of ``episodes`` episodes
    training together on ``cores`` cores (they all start at once and share the cores), as a
    phrase ("about 3 minutes on 2 cores").

    >>> duration_text(6, 400, 2)
    'about 2 minutes on 2 cores'
    """
    cores = max(1, int(cores))
    per_run = episodes * episode_length / steps_per_second  # core-seconds
    minutes = n_runs * per_run / cores / 60.0
    core_text = counted(cores, "core")
    if minutes < 1.5:
        return f"about a minute on {core_text}"
    return f"about {minutes:.0f} minutes on {core_text}"


def _seed_name(seed: int) -> str:
    return f"seed {seed}"


# ----- exercise 1: target network -------------------------------------------------------------


def return_curves(snap: ExperimentSnapshot, label: str, window: int = WINDOW,
                  max_points: int = CURVE_POINTS) -> pd.DataFrame:
    """Per seed of ``label``: each episode's return and its running ``window``-episode average
    (over the episodes so far before episode ``window``), downsampled. Columns: seed, episode,
    series (``"return"`` or ``"100-episode average"``), value."""
    parts = []
    for r in played(snap, label):
        ret = np.asarray(r.returns, dtype=np.float64)
        avg = moving_average(ret, window)
        idx = sample_index(len(ret), max_points)
        ep = r.columns["episode"][idx].astype(np.int64)
        parts.append(pd.DataFrame({"seed": _seed_name(r.seed), "episode": ep,
                                   "series": "return", "value": ret[idx]}))
        parts.append(pd.DataFrame({"seed": _seed_name(r.seed), "episode": ep,
                                   "series": f"{window}-episode average", "value": avg[idx]}))
    if not parts:
        return pd.DataFrame({"seed": [], "episode": [], "series": [], "value": []})
    return pd.concat(parts, ignore_index=True)


def q_curves(snap: ExperimentSnapshot, label: str,
             max_points: int = CURVE_POINTS) -> pd.DataFrame:
    """Per seed of ``label``: the mean predicted Q of each episode's updates (episodes before
    the first update left out). Columns: seed, episode, q."""
    parts = []
    for r in played(snap, label):
        q = np.asarray(r.columns["q_mean"], dtype=np.float64)
        ok = np.flatnonzero(np.isfinite(q))
        idx = ok[sample_index(len(ok), max_points)]
        parts.append(pd.DataFrame({"seed": _seed_name(r.seed),
                                   "episode": r.columns["episode"][idx].astype(np.int64),
                                   "q": q[idx]}))
    if not parts:
        return pd.DataFrame({"seed": [], "episode": [], "q": []})
    return pd.concat(parts, ignore_index=True)


def _seed_color(seeds: Sequence[str]) -> alt.Color:
    """Seeds in their own ordered colours (``ui.charts.palette``: seed 0 the same on every
    chart)."""
    return palette.color("seed", seeds)


def _seed_dash(seeds: Sequence[str]) -> alt.StrokeDash:
    return palette.stroke_dash("seed", seeds)


def _seed_domain(*frames: pd.DataFrame) -> list[str]:
    names = set()
    for f in frames:
        names |= set(f["seed"]) if len(f) else set()
    return sorted(names, key=lambda s: int(s.split()[-1]))


def return_chart(data: pd.DataFrame, x_max: int, title: str, height: int = 280,
                 window: int = WINDOW) -> alt.LayerChart:
    """The lesson's plot for one setting: every episode's return (thin, faint) and its running
    ``window``-episode average (bold), each seed in its own colour and dash, with the 475
    line."""
    x = alt.X("episode:Q", title="episode", scale=alt.Scale(domain=[0, x_max], nice=False),
              axis=palette.axis())
    y_scale = alt.Scale(domain=[0, 520], nice=False)
    seeds = _seed_domain(data)
    color = _seed_color(seeds)
    raw = data[data["series"] == "return"] if len(data) else data
    avg = data[data["series"] != "return"] if len(data) else data
    layers = [
        alt.Chart(raw).mark_line(strokeWidth=0.7, opacity=0.35).encode(
            x=x, y=alt.Y("value:Q", scale=y_scale, title="return", axis=palette.axis()),
            color=color, detail="seed:N"),
        alt.Chart(avg).mark_line(strokeWidth=2.4).encode(
            x=x, y=alt.Y("value:Q", scale=y_scale, title="return"), color=color,
            strokeDash=_seed_dash(seeds),
            tooltip=["seed:N", "episode:Q",
                     alt.Tooltip("value:Q", format=".1f", title=f"{window}-episode average")]),
    ]
    layers += rules([(V1, "475")], y_scale, text=False)
    return alt.layer(*layers).properties(
        title=alt.TitleParams(title, subtitle=f"thin: each episode · bold: {window}-episode "
                              "average · dashed green: 475", anchor="start", fontSize=14),
        height=height)


def q_chart(data: pd.DataFrame, x_max: int, title: str, y_max: float | None = None,
            height: int = 280) -> alt.LayerChart:
    """Mean predicted Q per episode, one line per seed, on a symlog axis (so a run-away Q of
    10⁴ and a sane 50 both read; unlike a log axis it has a 0), with a dashed line at
    :data:`CEILING`. ``y_max`` shares the axis between two settings."""
    top = max(float(y_max or 0.0), CEILING * 1.5)
    y_scale = alt.Scale(type="symlog", domain=[0, top], nice=False)
    x = alt.X("episode:Q", title="episode", scale=alt.Scale(domain=[0, x_max], nice=False),
              axis=palette.axis())
    seeds = _seed_domain(data)
    lines = alt.Chart(data).mark_line(strokeWidth=1.8, clip=True).encode(
        x=x, y=alt.Y("q:Q", scale=y_scale, title="mean predicted Q (log scale from 1 up)",
                     axis=palette.axis(values=[0, 1, 10, 100, 1_000, 10_000, 100_000,
                                               1_000_000])),
        color=_seed_color(seeds), strokeDash=_seed_dash(seeds),
        tooltip=["seed:N", "episode:Q", alt.Tooltip("q:Q", format=",.1f", title="mean Q")])
    text = f"≈ {CEILING:.0f}: the most any state can be worth"
    return alt.layer(lines, *palette.rule_layers([(CEILING, text, palette.CEILING)], y_scale),
                     ).properties(title=alt.TitleParams(
                         title, subtitle="mean predicted Q of each episode's updates",
                         anchor="start", fontSize=14), height=height)


def target_table(numbers: Sequence[dict]) -> pd.DataFrame:
    """One row per setting: seeds, final and best 100-episode average and peak mean Q
    (median and range across seeds)."""
    return pd.DataFrame([{"setting": n["label"], "seeds": len(n["seeds"]),
                          "final 100-episode average": range_text(n["final"], ".1f"),
                          "best 100-episode average": range_text(n["best"], ".1f"),
                          "peak mean Q": range_text(n["q_peak"], ",.1f")} for n in numbers])


CLIMB = 400.0
"""A best 100-episode average of at least this counts as "climbed toward 500"."""
PARK = 0.9
"""A final 100-episode average of at least this fraction of the best counts as "parked"."""
SPIKE = 150.0
"""A best 100-episode average of at least this counts as a spike (random play scores ~22)."""
COLLAPSE = 0.6
"""A final 100-episode average at most this fraction of the best (and 50 below it) counts as
a collapse."""


def _short(numbers: dict, window: int) -> tuple[str, str] | None:
    """"too early" when ``numbers``' runs (finished) are shorter than ``window`` episodes."""
    if not numbers["seeds"]:
        return TOO_EARLY, "no episodes were played."
    if numbers["episodes"] < window:
        return TOO_EARLY, (f"needs {window} episodes per run, and these runs have "
                           f"{numbers['episodes']}: give them a larger budget.")
    return None


PARKS = ("with a hard target copy every 1,000 steps the agent climbs toward the ceiling of 500 "
         "and stays there.")
COLLAPSES = "with the target copied every step (C = 1) the return spikes and then collapses."
RUNS_AWAY = ("the reason is the moving target: with C = 1 each step's target is computed from "
             "the very weights being moved, so the estimates can run away.")


def parks_claim(stable: dict, ev: Evidence, window: int = WINDOW) -> Verdict:
    """"The frozen target climbs toward 500 and stays there", checked per seed once every
    seed of the setting has finished (``ev``): the best ``window``-episode average reaches
    :data:`CLIMB` and the final one is within :data:`PARK` of it."""
    return judge(PARKS, ev, lambda: _parks(stable, window))


def _parks(stable: dict, window: int) -> tuple[str, str]:
    short = _short(stable, window)
    if short:
        return short
    seeds = stable["seeds"]
    n = len(seeds)
    climbed = sum(s["best"] >= CLIMB for s in seeds)
    parked = sum(s["best"] >= CLIMB and s["final"] >= PARK * s["best"] for s in seeds)
    figures = (f"best {window}-episode average {range_text(stable['best'], '.0f')}, final "
               f"{range_text(stable['final'], '.0f')} ({over_seeds(n)})")
    if parked > n / 2:
        return (HOLDS, f"{parked} of {n} seeds reach {CLIMB:.0f} or more and "
                f"end within {100 - PARK * 100:.0f}% of their best: {figures}.")
    if climbed > n / 2:
        return (PARTLY, f"{climbed} of {n} seeds reach {CLIMB:.0f} or more, "
                f"but only {parked} stay near their best: {figures}.")
    still = sum(s["final"] >= 0.95 * s["best"] for s in seeds)
    tail = (f" {still} of {n} seeds are still at their best when the budget ends, so they "
            "may simply need more episodes." if still else "")
    return (DOES_NOT_HOLD, f"only {climbed} of {n} seeds reach a "
            f"{window}-episode average of {CLIMB:.0f} within {stable['episodes']:,} "
            f"episodes: {figures}.{tail}")


def collapse_claim(broken: dict, stable: dict, ev: Evidence,
                   window: int = WINDOW) -> Verdict:
    """"Without a target network the curve spikes and then collapses", checked per seed once
    every seed of both settings has finished (``ev``): a best ``window``-episode average of
    :data:`SPIKE` or more and a final one at most :data:`COLLAPSE` of it (and 50 below)."""
    return judge(COLLAPSES, ev, lambda: _collapse(broken, stable, window))


def _collapse(broken: dict, stable: dict, window: int) -> tuple[str, str]:
    short = _short(broken, window)
    if short:
        return short
    seeds = broken["seeds"]
    n = len(seeds)
    spiked = sum(s["best"] >= SPIKE for s in seeds)
    collapsed = sum(s["best"] >= SPIKE and s["final"] <= COLLAPSE * s["best"]
                    and s["best"] - s["final"] >= 50 for s in seeds)
    figures = (f"C = 1: best {window}-episode average {range_text(broken['best'], '.0f')}, "
               f"final {range_text(broken['final'], '.0f')}")
    if stable["seeds"]:
        figures += (f"; C = 1000: best {range_text(stable['best'], '.0f')}, final "
                    f"{range_text(stable['final'], '.0f')}")
    if stable["best"]["median"] is not None and broken["best"]["median"] > \
            stable["best"]["median"]:
        figures += "; here C = 1 even scores higher than C = 1000"
    if collapsed > n / 2:
        return (HOLDS, f"{collapsed} of {n} seeds rise to {SPIKE:.0f} or more "
                f"and then lose at least {100 - COLLAPSE * 100:.0f}% of it ({figures}).")
    if collapsed:
        return (PARTLY, f"{collapsed} of {n} seeds spike and collapse; the "
                f"others do not ({figures}).")
    if not spiked:
        return (DOES_NOT_HOLD, f"no seed gets a {window}-episode average of "
                f"{SPIKE:.0f}, so there is no spike to lose ({figures}).")
    return (DOES_NOT_HOLD, f"{spiked} of {n} seeds rise to {SPIKE:.0f} or more "
            f"and none loses {100 - COLLAPSE * 100:.0f}% of its best by the end "
            f"({figures}). The 100-episode average hides shorter swings: look at the "
            "thin per-episode lines.")


def q_claim(broken: dict, stable: dict, ev: Evidence) -> Verdict:
    """"Without a target network Q chases itself", once every seed of both settings has
    finished (``ev``): the peak mean predicted Q of C = 1 against :data:`CEILING` (no state is
    worth more) and against C = 1000's peak."""
    return judge(RUNS_AWAY, ev, lambda: _runs_away(broken, stable))


def _runs_away(broken: dict, stable: dict) -> tuple[str, str]:
    qb, qs = broken["q_peak"]["median"], stable["q_peak"]["median"]
    if qb is None:
        return (TOO_EARLY, "no update has reported Q yet.")
    ratio = f", {qb / qs:,.0f}× C = 1000's ({qs:,.1f})" if qs and qs > 0 else ""
    text = (f"C = 1's peak mean predicted Q is {range_text(broken['q_peak'], ',.0f')} "
            f"({over_seeds(len(broken['seeds']))}){ratio}; no CartPole state is worth more than "
            f"{CEILING:.0f} with γ = {GAMMA}.")
    if qb > 2 * CEILING:
        return (HOLDS, text)
    if qb > CEILING or (qs and qb > 2 * qs):
        return (PARTLY, text)
    return (DOES_NOT_HOLD, text)


# ----- exercise 2: hard copy or Polyak --------------------------------------------------------


DIP_SPAN = 2_000
"""Env steps of the local window :func:`sawtooth_dip` compares each trace point with."""


def sawtooth_dip(run: RunView, span: int = DIP_SPAN) -> float | None:
    """How far a run's target distance falls back between its typical values, from its trace:
    each point over the median of the ``span`` env steps around it, then the 5th percentile of
    that ratio (after the first 1,000 steps). Near 0: the distance keeps dropping to about zero
    (hard copies); near 1: a steady trail (Polyak). Local, so the slow shrinking of the
    distance as learning settles does not count as a dip. None with fewer than 10 points."""
    t = run.trace
    if not len(t.get("env_steps", ())):
        return None
    steps = np.asarray(t["env_steps"], dtype=np.float64)
    d = np.asarray(t["target_distance"], dtype=np.float64)
    ok = np.isfinite(d) & (steps >= 1_000)
    d, steps = d[ok], steps[ok]
    if len(d) < 10:
        return None
    k = max(5, int(round(span / float(np.median(np.diff(steps))))))
    local = pd.Series(d).rolling(k, center=True, min_periods=max(2, k // 2)).median()
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = d / local.to_numpy()
    ratio = ratio[np.isfinite(ratio)]
    return float(np.percentile(ratio, 5)) if len(ratio) else None


def distance_numbers(snap: ExperimentSnapshot) -> dict[str, dict]:
    """Per label: per-seed mean target distance (``per_seed``: {seed: d}) over the env steps
    every setting of that seed has reached (``common``: {seed: steps}), their median and range,
    and the median saw-tooth dip (:func:`sawtooth_dip`)."""
    ends: dict[int, float] = {}
    for r in snap.runs:
        if r.episodes:
            last = float(r.columns["env_steps"][-1])
            ends[r.seed] = min(ends.get(r.seed, last), last)
    out = {}
    for label in snap.labels:
        runs = played(snap, label)
        per_seed = {r.seed: mean_distance(r, ends[r.seed]) for r in runs}
        dips = [sawtooth_dip(r) for r in runs]
        out[label] = {"per_seed": per_seed, "common": {r.seed: ends[r.seed] for r in runs},
                      "mean": median_range(per_seed.values()), "dip": median_range(dips)}
    return out


def distance_table(numbers: Mapping[str, dict]) -> pd.DataFrame:
    return pd.DataFrame([{"setting": label, "seeds": n["mean"]["n"],
                          "mean ‖θ_target − θ‖": range_text(n["mean"], ".3f"),
                          "low point ÷ typical": range_text(n["dip"], ".2f")}
                         for label, n in numbers.items()])


def pace_claim(equiv: dict, ev: Evidence, tau: float = 0.005, c_lesson: int = 200) -> Verdict:
    """"tau = 0.005 moves the target like a hard copy every 200 steps", once every seed of the
    three settings has finished (``ev``): against the hard-copy period whose measured mean
    distance matches Polyak's."""
    lesson = (f"τ = {tau:g} every step moves the target at about the pace of a hard copy "
              f"every {c_lesson} steps, only smoothly.")
    return judge(lesson, ev, lambda: _pace(equiv, c_lesson))


def _pace(equiv: dict, c_lesson: int) -> tuple[str, str]:
    period, exponent = equiv["period"], equiv["exponent"]
    if not equiv["per_seed"]:
        return (TOO_EARLY, f"needs {equiv['min_steps']:,.0f} env steps in all three settings "
                f"of a seed, and these runs reached {equiv['steps']:,.0f}: give them more "
                "episodes.")
    if period["median"] is None:
        if exponent["median"] is not None and exponent["median"] <= 0:
            return (TOO_EARLY, "the copy every 1,000 steps does not trail further than the "
                    "copy every 200, so there is no scale to read Polyak's distance against.")
        return (TOO_EARLY, "no target distances were recorded.")
    c = period["median"]
    text = (f"Polyak's mean distance matches a hard copy every {range_text(period, ',.0f')} "
            f"steps ({over_seeds(period['n'])}). Between the two hard copies the mean "
            f"distance grows like C^{exponent['median']:.2f}: 1 would be a steady drift of "
            f"the online weights, 0.5 a random walk.")
    if c_lesson / 1.5 <= c <= c_lesson * 1.5:
        return (HOLDS, text)
    if c_lesson / 2.5 <= c <= c_lesson * 2.5:
        return (PARTLY, text)
    return (DOES_NOT_HOLD, text)


JOLTS = ("a hard copy holds the target still and then jumps it; Polyak lets it trail the "
         "online network smoothly.")


def smooth_claim(numbers: Mapping[str, dict], polyak: str, hard: Sequence[str],
                 ev: Evidence) -> Verdict:
    """"A hard copy jolts the target, Polyak drifts", once every seed of the settings has
    finished (``ev``): the saw-tooth dip of the hard copies (their distance falls back
    towards 0) against Polyak's (it stays near its typical value)."""
    return judge(JOLTS, ev, lambda: _jolts(numbers, polyak, hard))


def _jolts(numbers: Mapping[str, dict], polyak: str, hard: Sequence[str]) -> tuple[str, str]:
    dp = numbers[polyak]["dip"]["median"]
    dh = [numbers[h]["dip"]["median"] for h in hard]
    if dp is None or any(d is None for d in dh):
        return (TOO_EARLY, "the trace needs a few thousand env steps.")
    text = ("the distance's low point (5th percentile) over its typical value (median): "
            + ", ".join(f"{h} {d:.2f}" for h, d in zip(hard, dh, strict=True))
            + f"; {polyak} {dp:.2f}.")
    if all(d < 0.6 for d in dh) and dp > 0.8:
        return (HOLDS, text)
    if all(d < dp for d in dh):
        return (PARTLY, text)
    return (DOES_NOT_HOLD, text)


def trace_frame(snap: ExperimentSnapshot, seed: int) -> pd.DataFrame:
    """The target distance trace of ``seed`` in every setting. Columns: setting, env_steps,
    distance."""
    parts = []
    for r in snap.runs:
        if r.seed != seed or not len(r.trace.get("env_steps", ())):
            continue
        parts.append(pd.DataFrame({"setting": r.label,
                                   "env_steps": r.trace["env_steps"].astype(np.int64),
                                   "distance": r.trace["target_distance"]}))
    if not parts:
        return pd.DataFrame({"setting": [], "env_steps": [], "distance": []})
    return pd.concat(parts, ignore_index=True)


ZOOMS = ("early", "middle", "late")
ZOOM_STEPS = 4_000


def zoom(trace: pd.DataFrame, where: str, width: int = ZOOM_STEPS) -> pd.DataFrame:
    """A ``width``-env-step slice of ``trace``: just after the first 1,000 steps
    (``"early"``), around the middle, or the last ``width`` steps every setting has reached."""
    if not len(trace):
        return trace
    end = int(trace.groupby("setting")["env_steps"].max().min())
    if where == "early":
        lo = min(1_000, max(0, end - width))
    elif where == "middle":
        lo = max(0, end // 2 - width // 2)
    else:
        lo = max(0, end - width)
    return trace[(trace["env_steps"] >= lo) & (trace["env_steps"] <= lo + width)]


def binned_trace(trace: pd.DataFrame, max_points: int = CURVE_POINTS) -> pd.DataFrame:
    """The trace averaged over equal bins of env steps (at most ``max_points`` bins per
    setting, at least 1,000 steps each): the whole run's trend without aliasing the teeth."""
    if not len(trace):
        return trace
    top = int(trace["env_steps"].max())
    width = max(1_000, top // max_points + 1)
    binned = trace.assign(env_steps=(trace["env_steps"] // width) * width + width // 2)
    return binned.groupby(["setting", "env_steps"], as_index=False, sort=False)[
        "distance"].mean()


def distance_chart(trace: pd.DataFrame, title: str, order: Sequence[str], subtitle: str = "",
                   points: bool = False, height: int = 260) -> alt.Chart:
    """Target distance against env steps, each setting in its colour and dash from
    ``ui.charts.palette``."""
    enc = dict(color=palette.color("setting", order),
               strokeDash=palette.stroke_dash("setting", order))
    x_scale = (alt.Scale(domain=[int(trace["env_steps"].min()), int(trace["env_steps"].max())],
                         nice=False) if len(trace) else alt.Undefined)
    return alt.Chart(trace).mark_line(strokeWidth=1.6, point=points, clip=True).encode(
        x=alt.X("env_steps:Q", title="environment steps", scale=x_scale, axis=palette.axis()),
        y=alt.Y("distance:Q", title="‖θ_target − θ‖", axis=palette.axis()),
        tooltip=["setting:N", alt.Tooltip("env_steps:Q", format=","),
                 alt.Tooltip("distance:Q", format=".3f")], **enc,
    ).properties(title=alt.TitleParams(title, subtitle=subtitle or alt.Undefined,
                                       anchor="start", fontSize=14), height=height)


# ----- exercise 3: overestimation -------------------------------------------------------------


def eval_frame(snap: ExperimentSnapshot, label: str) -> pd.DataFrame:
    """``label``'s greedy evaluations, one row per seed and evaluation. Columns: seed,
    episodes (training episodes so far), predicted (mean max_a Q(s₀, a)), collected (mean
    discounted return), eval_return."""
    parts = []
    for r in snap.by_label(label):
        e = r.evals
        if not len(e.get("episodes", ())):
            continue
        parts.append(pd.DataFrame({"seed": r.seed, "episodes": e["episodes"].astype(np.int64),
                                   "predicted": e["start_value"],
                                   "collected": e["discounted_return"],
                                   "eval_return": e["eval_return"]}))
    if not parts:
        return pd.DataFrame({"seed": [], "episodes": [], "predicted": [], "collected": [],
                             "eval_return": []})
    return pd.concat(parts, ignore_index=True)


def eval_chart(evals: pd.DataFrame, x_max: int, title: str, y_max: float | None = None,
               height: int = 300) -> alt.LayerChart:
    """Predicted start value (red, dashed) against the discounted return collected (blue,
    solid) over training episodes, in their looks from ``ui.charts.palette``: each seed faint, the
    mean across seeds bold with a point per evaluation."""
    long = evals.melt(id_vars=["seed", "episodes"], value_vars=["predicted", "collected"],
                      var_name="series", value_name="value") if len(evals) else \
        pd.DataFrame({"seed": [], "episodes": [], "series": [], "value": []})
    long["series"] = long["series"].map({"predicted": PREDICTED, "collected": COLLECTED})
    mean = long.groupby(["series", "episodes"], as_index=False)["value"].agg(["mean", "count"]) \
        if len(long) else pd.DataFrame({"series": [], "episodes": [], "mean": [], "count": []})
    keys = [PREDICTED, COLLECTED]
    color, dash = palette.color("series", keys), palette.stroke_dash("series", keys)
    x = alt.X("episodes:Q", title="training episodes",
              scale=alt.Scale(domain=[0, x_max], nice=False), axis=palette.axis())
    y_scale = alt.Scale(domain=[0, max(float(y_max or 0.0), 10.0) * 1.05], nice=False)
    layers = [
        alt.Chart(long).mark_line(strokeWidth=0.9, opacity=0.3).encode(
            x=x, y=alt.Y("value:Q", scale=y_scale, title="value of the start state",
                         axis=palette.axis()),
            color=color, detail="seed:N"),
        alt.Chart(mean).mark_line(strokeWidth=2.6, point=True).encode(
            x=x, y=alt.Y("mean:Q", scale=y_scale), color=color, strokeDash=dash,
            tooltip=["series:N", "episodes:Q", alt.Tooltip("mean:Q", format=".1f",
                                                           title="mean across seeds"),
                     alt.Tooltip("count:Q", title="seeds")]),
    ]
    return alt.layer(*layers).properties(
        title=alt.TitleParams(title, subtitle="bold: mean across seeds · faint: each seed",
                              anchor="start", fontSize=14), height=height)


SPANS = ("second half of training", "all evaluations")


def in_span(evals: pd.DataFrame, span: str, budget: int) -> pd.DataFrame:
    """The evaluations of ``span``: all of them, or those after half the episode budget."""
    if span == SPANS[1] or not len(evals):
        return evals
    return evals[evals["episodes"] > budget / 2]


def bias_numbers(evals: pd.DataFrame) -> dict:
    """Per seed, the mean of (predicted - collected) over ``evals``; their mean across seeds
    with a 95% t-interval (:func:`t_interval`); the mean collected value; the evaluations."""
    if not len(evals):
        return {"per_seed": {}, "bias": t_interval([]), "collected": None, "evaluations": 0}
    per_seed = (evals["predicted"] - evals["collected"]).groupby(evals["seed"]).mean()
    return {"per_seed": {int(s): float(b) for s, b in per_seed.items()},
            "bias": t_interval(per_seed.values), "collected": float(evals["collected"].mean()),
            "evaluations": len(evals)}


def bias_difference(plain: dict, double: dict) -> dict:
    """Double minus plain, paired by seed (the seeds both settings have): a t-interval of
    the per-seed differences of bias."""
    seeds = sorted(set(plain["per_seed"]) & set(double["per_seed"]))
    return t_interval([double["per_seed"][s] - plain["per_seed"][s] for s in seeds])


def bias_table(rows: Mapping[str, dict]) -> pd.DataFrame:
    return pd.DataFrame([{"": name, "seeds": n["bias"]["n"],
                          "evaluations": str(n["evaluations"]) if "evaluations" in n else MISSING,
                          "mean bias (predicted − collected)": interval_text(n["bias"]),
                          "mean collected": fmt(n.get("collected"), ".1f")}
                         for name, n in rows.items()])


def early_underestimate(evals: pd.DataFrame) -> bool:
    """Whether the mean predicted start value sits below the collected return at the first
    evaluation (averaged across seeds)."""
    if not len(evals):
        return False
    first = evals[evals["episodes"] == evals["episodes"].min()]
    return bool(first["predicted"].mean() < first["collected"].mean())


def _interval_side(iv: Mapping) -> str:
    """``above``, ``below`` (the 95% interval excludes 0), ``unclear`` or ``one``."""
    if iv["lo"] is None:
        return "one"
    if iv["lo"] > 0:
        return "above"
    if iv["hi"] < 0:
        return "below"
    return "unclear"


FLOATS = ("plain DQN's predicted value of the start state floats above the return it then "
          "actually collects.")
HUGS = "Double DQN's prediction stays much closer to the real return."


def float_claim(plain: dict, span: str, ev: Evidence) -> Verdict:
    """"Plain DQN's predicted start value floats above the return it collects", once every
    seed of the settings compared has finished (``ev``)."""
    return judge(FLOATS, ev, lambda: _floats(plain, span))


def _floats(plain: dict, span: str) -> tuple[str, str]:
    iv = plain["bias"]
    if iv["mean"] is None:
        return (TOO_EARLY, f"no evaluation fell in the {span}.")
    text = f"plain DQN's bias over the {span}: {interval_text(iv)}"
    side = _interval_side(iv)
    if side == "one":
        return (TOO_EARLY, text + "; with one seed there is no interval.")
    if side == "above":
        return (HOLDS, text + ": clearly above zero.")
    if side == "below":
        return (DOES_NOT_HOLD, text + ": it sits *below* what it collects.")
    if iv["mean"] > 0:
        return (PARTLY, text + ": above on average, but the interval includes "
                "zero" + (" (with 2 seeds it is very wide)." if iv["n"] == 2 else "."))
    return (DOES_NOT_HOLD, text + ": not above zero on average.")


def hug_claim(plain: dict, double: dict, diff: dict, span: str, ev: Evidence) -> Verdict:
    """"Double DQN hugs the real return", once every seed of both settings has finished
    (``ev``): its bias is closer to zero than plain DQN's, near zero (within 10% of the
    collected value, or an interval that includes zero), and the paired difference (Double -
    plain) clearly not zero."""
    return judge(HUGS, ev, lambda: _hugs(plain, double, diff, span))


def _hugs(plain: dict, double: dict, diff: dict, span: str) -> tuple[str, str]:
    bp, bd = plain["bias"]["mean"], double["bias"]["mean"]
    if bp is None or bd is None:
        return (TOO_EARLY, f"no evaluation fell in the {span}.")
    text = (f"Double DQN's bias over the {span}: {interval_text(double['bias'])}; Double "
            f"minus plain, paired by seed: {interval_text(diff)}")
    if diff["lo"] is None:
        return (TOO_EARLY, text + "; one seed gives no interval.")
    both_below = (" Both sit below the collected return here, so there is no optimism for "
                  "Double DQN to remove yet." if bp <= 0 and bd <= 0 else "")
    closer = abs(bd) < abs(bp)
    iv = double["bias"]
    near = ((iv["lo"] is not None and iv["lo"] <= 0 <= iv["hi"])
            or (double["collected"] is not None and abs(bd) <= 0.1 * abs(double["collected"])))
    clearly = diff["hi"] < 0 or diff["lo"] > 0
    if closer and near and clearly:
        return (HOLDS, text + ": closer to zero than plain DQN's, clearly, and "
                "close to the collected value." + both_below)
    if closer:
        why = ("the difference from plain DQN is within the noise (its interval includes "
               "zero)" if not clearly else "it is still more than 10% of the collected value")
        return (PARTLY, text + f": closer to zero than plain DQN's, but {why}."
                + both_below)
    return (DOES_NOT_HOLD, text + ": not closer to zero than plain DQN's."
            + both_below)
