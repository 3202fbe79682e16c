"""The lesson's three DQN exercises, measured: target network (C = 1000 against C = 1), hard
copy against Polyak, and overestimation (plain against Double DQN).

Pure functions of an :class:`~pgcore.execution.experiments.ExperimentSnapshot` (or of plain
numbers) returning numbers and dicts of them: a run's final and best 100-episode averages, the
peak of its mean predicted Q against the most any CartPole state is worth (:data:`CEILING`),
the target copies a run has made, the mean distance between the target and the online
network, and the hard-copy period whose distance matches Polyak's. The pages' tables, charts
and verdicts are built from these in ``ui/dqn_exercises.py``. Never imports streamlit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from pgcore.execution.experiments import ExperimentSnapshot, Job, RunView
from pgcore.labs.stats import median_range
from pgcore.training.metrics import moving_average

WINDOW = 100
"""The lesson's running average: 100 episodes."""
GAMMA = 0.99
CEILING = (1 - GAMMA ** 500) / (1 - GAMMA)
"""The largest discounted return a CartPole-v1 episode can pay with gamma = 0.99 (500 steps
of +1): about 99.3. A mean predicted Q far above it is not a value any policy can earn."""


def final_and_best(returns: Sequence[float], window: int = WINDOW) -> tuple[float | None,
                                                                                float | None]:
    """(final, best) ``window``-episode averages of one run: the mean of the last ``window``
    returns and the highest full-window moving average (over the whole run when it is shorter
    than ``window``). (None, None) without episodes.

    >>> final_and_best([0, 10, 20, 30, 0, 0], window=2)
    (0.0, 25.0)
    """
    x = np.asarray(returns, dtype=np.float64)
    if not len(x):
        return None, None
    w = min(window, len(x))
    avg = moving_average(x, w)[w - 1:]
    return float(avg[-1]), float(avg.max())


def seed_major(jobs: Sequence[Job]) -> list[Job]:
    """``jobs`` ordered by seed, keeping the settings' order within a seed, so that with a few
    cores every setting of seed 0 trains first and the settings can be compared live (a
    :func:`~pgcore.execution.experiments.grid` is setting-major)."""
    return sorted(jobs, key=lambda job: job.seed)


def played(snap: ExperimentSnapshot, label: str) -> list[RunView]:
    """The runs of ``label`` that have played at least one episode."""
    return [r for r in snap.by_label(label) if r.episodes]


def q_top(snap: ExperimentSnapshot) -> float:
    """The largest per-episode mean Q of any run (0 without any): a shared axis top."""
    tops = [float(np.nanmax(r.columns["q_mean"])) for r in snap.runs
            if r.episodes and np.isfinite(r.columns["q_mean"]).any()]
    return max(tops, default=0.0)


def target_numbers(snap: ExperimentSnapshot, label: str, window: int = WINDOW) -> dict:
    """Per setting ``label``: per-seed final and best ``window``-episode averages and peak
    mean Q; their medians and ranges across seeds; the fewest episodes any seed has."""
    runs = played(snap, label)
    seeds = []
    for r in runs:
        final, best = final_and_best(r.returns, window)
        q = np.asarray(r.columns["q_mean"], dtype=np.float64)
        peak = float(np.nanmax(q)) if np.isfinite(q).any() else None
        seeds.append({"seed": r.seed, "episodes": r.episodes, "final": final, "best": best,
                      "q_peak": peak})
    return {"label": label, "seeds": seeds, "episodes": min((s["episodes"] for s in seeds),
                                                            default=0),
            "final": median_range([s["final"] for s in seeds]),
            "best": median_range([s["best"] for s in seeds]),
            "q_peak": median_range([s["q_peak"] for s in seeds])}


def gradient_steps(config, env_steps: float) -> int:
    """Gradient steps a DQN run has taken after ``env_steps`` env steps: one update every
    ``train_freq`` steps from ``learning_starts`` on, each of ``gradient_steps`` steps.

    >>> from pgcore.training.config import preset
    >>> gradient_steps(preset("dqn-lesson-c1000"), 1_063)
    1000
    """
    if env_steps < config.learning_starts:
        return 0
    first = -(-config.learning_starts // config.train_freq) * config.train_freq
    if env_steps < first:
        return 0
    return int((env_steps - first) // config.train_freq + 1) * config.gradient_steps


def copies_numbers(snap: ExperimentSnapshot, label: str, last: int = 20) -> dict:
    """For hard-copy runs of ``label``: per seed the target copies so far (gradient steps //
    C), the largest mean Q those copies allow, (1 - gamma^(K+1)) / (1 - gamma) (each copy adds
    one Bellman backup: K copies of targets, one more fit), and the mean Q over the last
    ``last`` episodes; medians and ranges across seeds (``allowed``: at the median K)."""
    copies, q_last, gamma = [], [], GAMMA
    for r in played(snap, label):
        cfg = r.config
        gamma = cfg.gamma
        copies.append(gradient_steps(cfg, float(r.columns["env_steps"][-1]))
                      // cfg.target_update)
        q = np.asarray(r.columns["q_mean"][-last:], dtype=np.float64)
        q_last.append(float(np.nanmean(q)) if np.isfinite(q).any() else None)
    k = median_range(copies)
    allowed = None if k["median"] is None else (1 - gamma ** (k["median"] + 1)) / (1 - gamma)
    return {"copies": k, "allowed": allowed, "q_last": median_range(q_last)}


def mean_distance(run: RunView, upto: float | None = None) -> float | None:
    """The mean distance ||theta_target - theta|| over a run's updates: the per-episode means
    weighted by episode length (one update per env step in the lesson presets), over the
    episodes that ended by env step ``upto`` (all by default); episodes before the first
    update are left out. None without any."""
    c = run.columns
    d = np.asarray(c["target_distance"], dtype=np.float64)
    w = np.asarray(c["length"], dtype=np.float64)
    ok = np.isfinite(d)
    if upto is not None:
        ok &= np.asarray(c["env_steps"]) <= upto
    if not ok.any() or w[ok].sum() <= 0:
        return None
    return float(np.sum(d[ok] * w[ok]) / np.sum(w[ok]))


def equivalent_period(d_polyak: float, d_short: float, d_long: float, c_short: float = 200,
                      c_long: float = 1000) -> tuple[float | None, float | None]:
    """The hard-copy period C whose mean target distance equals Polyak's, from two measured
    hard-copy settings, assuming mean distance = a * C^p through both: p = log(d_long /
    d_short) / log(c_long / c_short), C = c_short * (d_polyak / d_short)^(1/p). Returns (C,
    p); (None, p) when p is not positive (the two hard copies do not order), (None, None)
    without usable numbers.

    p = 1 means the online network drifts steadily (distance grows with the lag); p = 1/2 a
    random walk (distance grows with its square root).

    >>> c, p = equivalent_period(4.0, 2.0, 10.0)    # linear in C: 2 per 200 steps
    >>> round(c), round(p, 3)
    (400, 1.0)
    """
    vals = (d_polyak, d_short, d_long)
    if any(v is None or not np.isfinite(v) or v <= 0 for v in vals):
        return None, None
    p = math.log(d_long / d_short) / math.log(c_long / c_short)
    if p <= 0:
        return None, p
    return c_short * (d_polyak / d_short) ** (1.0 / p), p


def polyak_equivalents(numbers: Mapping[str, dict], polyak: str, short: str, long: str,
                       c_short: int = 200, c_long: int = 1000,
                       min_steps: float | None = None) -> dict:
    """Per seed present in all three settings, :func:`equivalent_period`; the median and range
    of C and of p. Only seeds whose three runs have all reached ``min_steps`` env steps count
    (default: 5 copies of the longer period, so both hard copies have a saw-tooth to average);
    ``steps`` is the most any seed has reached in all three."""
    min_steps = 5 * c_long if min_steps is None else min_steps
    per_seed, reached = {}, 0.0
    for seed, dp in numbers[polyak]["per_seed"].items():
        ds = numbers[short]["per_seed"].get(seed)
        dl = numbers[long]["per_seed"].get(seed)
        if ds is None or dl is None or dp is None:
            continue
        common = numbers[polyak]["common"][seed]
        reached = max(reached, common)
        if common >= min_steps:
            per_seed[seed] = equivalent_period(dp, ds, dl, c_short, c_long)
    return {"per_seed": per_seed, "period": median_range([c for c, _ in per_seed.values()]),
            "exponent": median_range([p for _, p in per_seed.values()]),
            "min_steps": min_steps, "steps": reached}
