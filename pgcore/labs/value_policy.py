"""Value against policy, measured: the experiment behind the Value vs policy page and the
figures of its runs.

The experiment trains a value-based learner (DQN) and policy-based ones (A2C, REINFORCE with
a learned baseline) on the same seeds and the same env-step budget, each with greedy
evaluations and a trace of greedy-action flips on fixed probe states
(:data:`pgcore.execution.experiments.EVAL_COLUMNS`,
:data:`~pgcore.execution.experiments.TRACE_COLUMNS`): :func:`page_jobs`. Each run's figures
(:func:`run_figures`: env steps and seconds to 195 and 475, greedy flips, the largest fall of
its average, the spread of its evaluations, its final entropy) are pure functions of the run.
Which labels are value-based and which policy-based is the experiment's say (:class:`Sides`);
nothing here looks at an algorithm's name. The page's table, verdicts and charts are built
from these in ``ui/value_policy.py``. Never imports streamlit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from pgcore.execution.experiments import ExperimentSnapshot, RunView
from pgcore.training.metrics import moving_average, summarize

THRESHOLDS = (195, 475)
"""CartPole-v0's and CartPole-v1's criteria."""
WINDOW = 100
WARMUP = 0.1
"""Fraction of the budget left out before greedy flips are averaged (a fresh network's greedy
action moves a lot while it learns anything at all)."""
BUDGETS = (2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 150_000, 200_000, 300_000)
DEFAULT_BUDGET = 150_000
EVAL_EPISODES = 10


@dataclass(frozen=True)
class Sides:
    """The labels of the value-based runs and of the policy-based runs, in display order."""

    value: tuple[str, ...]
    policy: tuple[str, ...]

    @property
    def order(self) -> list[str]:
        return [*self.value, *self.policy]


RUNNERS = {"DQN": ("dqn", None), "A2C": ("a2c", None),
           "REINFORCE + baseline": ("reinforce", "value")}
"""The page's runs: label -> (algorithm, baseline), each with its tuned default."""
SIDES = Sides(value=("DQN",), policy=("A2C", "REINFORCE + baseline"))


# ----- settings -------------------------------------------------------------------------------


def eval_interval(budget: int) -> int:
    """Env steps between greedy evaluations: 5,000, or budget // 20 for budgets under 100k
    (so even a tiny budget has about 20 evaluations)."""
    return max(1, min(5_000, int(budget) // 20))


def trace_interval(budget: int) -> int:
    """Env steps between trace rows: 1,000, or budget // 20 for budgets under 20k."""
    return max(1, min(1_000, int(budget) // 20))


def page_jobs(budget: int, seeds) -> list:
    """The page's experiment: every :data:`RUNNERS` entry on every seed, each with
    :func:`run_overrides`."""
    from pgcore import default_config
    from pgcore.execution.experiments import grid

    return grid({label: default_config(algo, baseline, **run_overrides(budget))
                 for label, (algo, baseline) in RUNNERS.items()}, seeds)


def run_overrides(budget: int) -> dict:
    """The config overrides every run of the page gets: the same env-step budget (no episode
    cap) and greedy evaluations of :data:`EVAL_EPISODES` episodes."""
    return {"max_steps": int(budget), "max_episodes": None,
            "eval_every": eval_interval(budget), "eval_episodes": EVAL_EPISODES}


@lru_cache(maxsize=8)
def action_count(env_id: str) -> int:
    """How many discrete actions ``env_id`` has (CartPole: 2)."""
    from pgcore.rl.envs import env_spec

    return int(env_spec(env_id).head.n)


# ----- one run's figures ----------------------------------------------------------------------


def first_reaching(steps, values, threshold: float) -> float | None:
    """The first ``steps[i]`` with ``values[i] >= threshold``; None if never.

    >>> first_reaching([1000, 2000, 3000], [150.0, 480.0, 300.0], 475)
    2000.0
    """
    values = np.asarray(values, dtype=np.float64)
    hits = np.flatnonzero(values >= threshold)  # NaN compares False
    return float(np.asarray(steps, dtype=np.float64)[hits[0]]) if len(hits) else None


def _twice(means) -> np.ndarray:
    """Each evaluation's mean and the next one's, the smaller (the last: NaN): a threshold
    reached in two evaluations in a row."""
    means = np.asarray(means, dtype=np.float64)
    return np.append(np.minimum(means[:-1], means[1:]), np.nan) if len(means) else means


def seconds_at(env_steps, wall_seconds, step: float | None) -> float | None:
    """The run's training clock when it had taken ``step`` env steps, interpolated between
    the episodes around it (clamped to the first and last episode); None without data."""
    env_steps = np.asarray(env_steps, dtype=np.float64)
    if step is None or not len(env_steps):
        return None
    return float(np.interp(step, env_steps, np.asarray(wall_seconds, dtype=np.float64)))


def flip_rates(trace: dict, skip_until: float = 0.0
               ) -> tuple[float | None, float | None, float | None]:
    """Greedy-action flips on the probe states, over the trace rows at or after
    ``skip_until`` env steps: (the fraction flipped per update; the fraction flipped between
    consecutive rows, "net"; the per-update fractions summed over each row's interval,
    "gross"). None where no row is kept.

    The first is weighted by the updates in each row's interval (a row's ``flip_per_update``
    is the mean over its own updates), so it is the mean over every update kept; the others
    are plain means over rows. Gross well above net means actions flip and flip back.
    """
    steps = np.asarray(trace.get("env_steps", ()), dtype=np.float64)
    if not len(steps):
        return None, None, None
    updates = np.asarray(trace["updates"], dtype=np.float64)
    n = np.diff(np.concatenate([[0.0], updates]))  # updates in each row's interval
    per_update = np.asarray(trace["flip_per_update"], dtype=np.float64)
    since = np.asarray(trace["flip_since_last"], dtype=np.float64)
    keep = steps >= skip_until
    if not keep.any():
        return None, None, None
    ok = keep & (n > 0) & np.isfinite(per_update)
    w = np.where(ok, n, 0.0)
    rate = float(np.sum(w * np.nan_to_num(per_update)) / w.sum()) if w.sum() > 0 else None
    gross = float(np.mean(np.where(ok, n * np.nan_to_num(per_update), 0.0)[keep]))
    kept = since[keep & np.isfinite(since)]
    return rate, (float(kept.mean()) if len(kept) else None), gross


def max_drawdown(returns, window: int = WINDOW) -> float | None:
    """The largest fall of the ``window``-episode average below its best so far (return
    units, full windows only); 0 for a curve that never falls, None with fewer than
    ``window`` episodes.

    >>> max_drawdown([100, 300, 200, 250], window=1)
    100.0
    """
    returns = np.asarray(returns, dtype=np.float64)
    if len(returns) < window:
        return None
    avg = moving_average(returns, window)[window - 1:]
    return float(np.max(np.maximum.accumulate(avg) - avg))


def eval_spread(steps, means, from_step: float) -> float | None:
    """Standard deviation of the greedy evaluations' mean returns at or after ``from_step``
    env steps (the second half of a run); None with fewer than two."""
    steps, means = np.asarray(steps, dtype=np.float64), np.asarray(means, dtype=np.float64)
    kept = means[(steps >= from_step) & np.isfinite(means)]
    return float(np.std(kept)) if len(kept) >= 2 else None


def final_entropy(entropy, window: int = WINDOW) -> float | None:
    """Mean policy entropy (nats) over the last ``window`` episodes; None when the algorithm
    reports none (a value-based learner has no policy distribution)."""
    tail = np.asarray(entropy, dtype=np.float64)[-window:]
    tail = tail[np.isfinite(tail)]
    return float(tail.mean()) if len(tail) else None


def greedy_probability(entropy: float) -> float | None:
    """For two actions: the probability p >= 0.5 of the preferred action whose entropy
    -p ln p - (1 - p) ln(1 - p) equals ``entropy`` (ln 2 -> 0.5, 0 -> 1).

    >>> round(greedy_probability(math.log(2)), 3), greedy_probability(0.0)
    (0.5, 1.0)
    """
    if entropy is None or not math.isfinite(entropy):
        return None
    h = min(max(float(entropy), 0.0), math.log(2))
    lo, hi = 0.5, 1.0
    for _ in range(60):  # H falls from ln 2 at 0.5 to 0 at 1: bisection
        mid = (lo + hi) / 2
        hm = -(mid * math.log(mid) + (1 - mid) * math.log1p(-mid)) if mid < 1 else 0.0
        lo, hi = (mid, hi) if hm > h else (lo, mid)
    return (lo + hi) / 2


def run_figures(run: RunView, warmup: float = WARMUP) -> dict:
    """Every measured number of one run (None: not reached, or not measurable yet).

    ``train_steps_T`` / ``train_seconds_T``: env steps and training seconds at the first full
    100-episode training average >= T (:func:`pgcore.training.metrics.summarize`); ``eval_steps_T``
    /
    ``eval_seconds_T``: at the first greedy evaluation whose mean >= T; ``flips_per_update``,
    ``flips_per_interval``: :func:`flip_rates` after the first ``warmup`` of the budget;
    ``drawdown``: :func:`max_drawdown`; ``eval_spread``: :func:`eval_spread` over the second
    half of the budget; ``final_avg100``, ``last_eval``, ``final_entropy``.
    """
    c, ev = run.columns, run.evals
    s = summarize(c["return"], c["env_steps"], c["wall_seconds"], window=WINDOW)
    budget = run.config.max_steps or run.env_steps_seen
    out = {"label": run.label, "seed": run.seed, "state": run.state, "episodes": run.episodes,
           "env_steps": run.env_steps_seen}
    ev_steps, ev_means = ev.get("env_steps", ()), ev.get("eval_return", ())
    for t in THRESHOLDS:
        out[f"train_steps_{t}"] = s[f"steps_to_{t}"]
        out[f"train_seconds_{t}"] = s[f"seconds_to_{t}"]
        step = first_reaching(ev_steps, ev_means, t)
        out[f"eval_steps_{t}"] = step
        out[f"eval_seconds_{t}"] = seconds_at(c["env_steps"], c["wall_seconds"], step)
        out[f"eval_steps_{t}_twice"] = first_reaching(ev_steps, _twice(ev_means), t)
    (out["flips_per_update"], out["flips_per_interval"],
     out["flips_gross"]) = flip_rates(run.trace, warmup * budget)
    out["drawdown"] = max_drawdown(c["return"])
    out["eval_spread"] = eval_spread(ev_steps, ev_means, budget / 2)
    out["final_avg100"] = s["final_avg100"]
    out["last_eval"] = float(ev_means[-1]) if len(ev_means) else None
    out["final_entropy"] = final_entropy(c["entropy"])
    return out


# ----- across seeds and runs ------------------------------------------------------------------


def count_at_least(values, threshold: float) -> tuple[int, int]:
    """(seeds whose value is >= threshold, seeds)."""
    return sum(v is not None and v >= threshold for v in values), len(values)


def snapshot_budget(snap: ExperimentSnapshot) -> int:
    """The largest env-step budget of the snapshot's runs."""
    return max([int(r.config.max_steps or 0) for r in snap.runs] + [0])


def step_progress(snap: ExperimentSnapshot) -> tuple[int, int]:
    """(env steps done, env steps budgeted) over all runs; an ended run counts as done."""
    done = total = 0
    for r in snap.runs:
        budget = int(r.config.max_steps or 0)
        total += budget
        done += budget if r.ended else min(budget, r.env_steps_seen)
    return done, total
