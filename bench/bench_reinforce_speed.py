"""REINFORCE throughput: pgcore against the lesson's per-step-autograd implementation.

Both systems train CartPole-v1 for the same number of episodes on the same seeds, in one
invocation (seed by seed, alternating). The lesson's style runs the policy with autograd on at
every env step, builds a ``torch.distributions.Categorical`` and keeps each log-probability's
graph until the episode ends; pgcore acts under ``no_grad`` (a forward pass plus a numpy
sample) and recomputes all log-probabilities in one batched forward pass per update.

Reported per system (median [min-max] over seeds): env steps per second over the whole run,
and where the time goes -- microseconds per env step spent acting (everything outside the
update: policy forward, sampling, env.step, bookkeeping) and milliseconds per update.
Targets: pgcore >= 5x the lesson's env steps per second (issue 2), >= 10x (issue 11).

Caveat: the two systems learn differently, so their episodes have different lengths; longer
episodes make pgcore's batched update cheaper per step. The acting-time column (per step,
independent of episode length) is the cleanest like-for-like figure.

Usage::

    python bench/bench_reinforce_speed.py                    # 200 episodes, seeds 0-2
    python bench/bench_reinforce_speed.py --baselines normalize value --episodes 300
    python bench/bench_reinforce_speed.py --quick
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import log, markdown_table, median_range, run_tasks, single_thread  # noqa: E402

# baseline -> (bench_learning key)
KEYS = {"normalize": "reinforce", "value": "reinforce-value"}


def run_speed(side: str, baseline: str, seed: int, episodes: int) -> dict:
    from bench_learning import run_pgcore, run_reference

    fn = run_pgcore if side == "pgcore" else run_reference
    out = fn(KEYS[baseline], seed, episodes)
    s = out["summary"]
    steps, secs, upd = s["env_steps"], s["wall_seconds"], out.get("update_seconds", 0.0)
    n_updates = s["episodes"]
    return {
        "system": out["system"], "side": side, "baseline": baseline, "seed": seed,
        "episodes": s["episodes"], "env_steps": steps, "wall_seconds": secs,
        "steps_per_second": s["steps_per_second"],
        "act_us_per_step": 1e6 * (secs - upd) / steps if steps else float("nan"),
        "update_ms": 1e3 * upd / n_updates if n_updates else float("nan"),
        "update_share": upd / secs if secs else float("nan"),
        "mean_episode_length": steps / n_updates if n_updates else float("nan"),
    }


def report(results: list[dict], baselines: list[str], seeds: list[int]) -> str:
    rows, ratio_lines = [], []
    for b in baselines:
        per_side = {}
        for side in ("pgcore", "reference"):
            runs = [r for r in results if r["baseline"] == b and r["side"] == side]
            if not runs:
                continue
            per_side[side] = runs
            rows.append([
                runs[0]["system"],
                median_range([r["steps_per_second"] for r in runs], "rate"),
                median_range([r["env_steps"] for r in runs], "steps"),
                median_range([r["mean_episode_length"] for r in runs], "avg"),
                median_range([r["act_us_per_step"] for r in runs], "avg"),
                median_range([r["update_ms"] for r in runs], "avg"),
                median_range([100 * r["update_share"] for r in runs]),
            ])
        if len(per_side) == 2:
            pg = {r["seed"]: r for r in per_side["pgcore"]}
            ref = {r["seed"]: r for r in per_side["reference"]}
            both = [s for s in seeds if s in pg and s in ref]
            rate = [pg[s]["steps_per_second"] / ref[s]["steps_per_second"] for s in both]
            act = [ref[s]["act_us_per_step"] / pg[s]["act_us_per_step"] for s in both]
            med_pg = statistics.median(r["steps_per_second"] for r in per_side["pgcore"])
            med_ref = statistics.median(r["steps_per_second"] for r in per_side["reference"])
            ratio_lines.append(
                f"baseline {b}: env steps/s pgcore / lesson = {med_pg / med_ref:.1f}x "
                f"(ratio of medians; per seed {', '.join(f'{x:.1f}' for x in rate)}, median "
                f"{statistics.median(rate):.1f}; target >= 10x); acting time per step "
                f"lesson / pgcore = "
                f"{statistics.median(act):.1f}x")
    table = markdown_table(("system", "env steps/s", "env steps", "mean episode length",
                            "acting us/step", "update ms", "update % of time"), rows)
    return table + ("\n\n" + "\n".join(ratio_lines) if ratio_lines else "")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--baselines", nargs="+", choices=tuple(KEYS), default=["normalize"],
                   help="REINFORCE variants to compare (default: normalize, the lesson's main one)")
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--episodes", type=int, default=200)
    p.add_argument("--jobs", type=int, default=1,
                   help="parallel worker processes (default 1: clean timings)")
    p.add_argument("--json", metavar="FILE", help="write the per-run figures here")
    p.add_argument("--quick", action="store_true", help="smoke test: seed 0, 5 episodes")
    args = p.parse_args(argv)
    if args.episodes < 1 or args.jobs < 1:
        p.error("--episodes and --jobs must be at least 1")
    if args.quick:
        args.seeds, args.episodes = [0], 5
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    single_thread()
    tasks = [(side, b, seed, args.episodes)
             for b in args.baselines for seed in args.seeds for side in ("pgcore", "reference")]

    def progress(task, r) -> None:
        log(f"  {r['system']:<40} seed {r['seed']}: {r['env_steps']} steps, "
            f"{r['steps_per_second']:,.0f} steps/s")

    t0 = time.perf_counter()
    results = run_tasks(run_speed, tasks, jobs=args.jobs, progress=progress)
    print(f"## REINFORCE env steps per second, CartPole-v1, {args.episodes} episodes, "
          f"seeds {args.seeds}, 1 torch thread\n")
    print(report(results, args.baselines, args.seeds))
    print(f"\nTotal wall time {time.perf_counter() - t0:.0f} s.")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "runs": results}, indent=1))
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
