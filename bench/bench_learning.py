"""Learning benchmark: pgcore's default presets against the lesson's code (and SB3 for A2C).

For each algorithm, both systems train CartPole-v1 on the same seeds in ONE invocation
(interleaved seed by seed, so load on a shared machine hits both alike) and the table gives
the median over seeds with [min-max]:

* episodes until the 100-episode moving average of training returns first reaches 195 and 475
  (with how many seeds reach 475 within the episode budget),
* env steps and wall seconds until 475,
* the final 100-episode average and env steps per second over the whole run.

Pairs (``--algos``):

==================  ===========================================  ===============================
key                 pgcore                                        reference
==================  ===========================================  ===============================
reinforce           ``default_config("reinforce", "normalize")``  lesson REINFORCE
reinforce-value     ``default_config("reinforce", "value")``      lesson REINFORCE + baseline
actor-critic        ``default_config("actor-critic")``            lesson one-step ActorCritic
a2c                 ``default_config("a2c")``                     SB3 A2C, RL Zoo settings
==================  ===========================================  ===============================

Usage::

    python bench/bench_learning.py                       # all pairs, seeds 0-4, 1,000 episodes
    python bench/bench_learning.py --algos reinforce --side reference
    python bench/bench_learning.py --stop-at-475 --jobs 2 --json out.json
    python bench/bench_learning.py --quick               # seconds: a smoke test of the script
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    LEARNING_HEADERS,
    ThresholdWatch,
    learning_row,
    log,
    markdown_table,
    run_tasks,
    single_thread,
    summarize,
)

ALGOS = ("reinforce", "reinforce-value", "actor-critic", "a2c")
PGCORE_LABEL = {
    "reinforce": "pgcore reinforce (normalize)",
    "reinforce-value": "pgcore reinforce (value)",
    "actor-critic": "pgcore actor-critic",
    "a2c": "pgcore a2c",
}
REFERENCE_LABEL = {
    "reinforce": "lesson REINFORCE (normalised returns)",
    "reinforce-value": "lesson REINFORCE + value baseline",
    "actor-critic": "lesson one-step ActorCritic",
    "a2c": "SB3 A2C (RL Zoo, 8 envs)",
}


def pgcore_config(algo: str, seed: int, episodes: int | None, max_steps: int | None = None):
    """pgcore's default preset for a benchmark key, with the run's seed and budgets."""
    from pgcore import default_config

    budget = dict(seed=seed, max_episodes=episodes, max_steps=max_steps)
    if algo == "reinforce":
        return default_config("reinforce", baseline="normalize", **budget)
    if algo == "reinforce-value":
        return default_config("reinforce", baseline="value", **budget)
    return default_config(algo, **budget)


def run_pgcore(algo: str, seed: int, episodes: int | None, stop_at: float | None = None,
               max_steps: int | None = None) -> dict:
    """Train pgcore's default for ``algo``; stop early (RunControl.stop) once the 100-episode
    average reaches ``stop_at``. Returns the raw per-episode series and the summary."""
    single_thread()
    from pgcore import EpisodeEnd, RunControl, UpdateEnd, train

    cfg = pgcore_config(algo, seed, episodes, max_steps)
    control = RunControl()
    watch = ThresholdWatch(stop_at) if stop_at is not None else None
    timing = {"update": 0.0, "last_episode_end": 0.0}

    def on_event(ev) -> None:
        if isinstance(ev, EpisodeEnd):
            timing["last_episode_end"] = ev.wall_seconds
            if watch is not None and watch.update(ev.episode_return):
                control.stop()
        elif isinstance(ev, UpdateEnd) and cfg.algo == "reinforce":
            # REINFORCE: collect an episode -> EpisodeEnd -> update -> UpdateEnd.
            timing["update"] += ev.wall_seconds - timing["last_episode_end"]

    res = train(cfg, on_event=on_event, control=control)
    out = {
        "system": PGCORE_LABEL[algo], "side": "pgcore", "algo": algo, "seed": seed,
        "reason": res.reason, "message": res.message,
        "returns": [float(r) for r in res.episode_returns],
        "cum_steps": [int(s) for s in res.episode_env_steps],
        "cum_seconds": [float(s) for s in res.episode_seconds],
        "summary": summarize(res.episode_returns, res.episode_env_steps, res.episode_seconds,
                             res.env_steps, res.wall_seconds),
    }
    if cfg.algo == "reinforce":
        out["update_seconds"] = timing["update"]
    return out


def run_reference(algo: str, seed: int, episodes: int | None, stop_at: float | None = None,
                  max_steps: int | None = None) -> dict:
    """The reference for ``algo``: the lesson's code, or SB3 A2C for ``a2c``."""
    single_thread()
    if algo == "a2c":
        from bench_sb3 import run_sb3

        out = run_sb3("a2c", seed, max_episodes=episodes, stop_at=stop_at, max_steps=max_steps)
        out["system"] = REFERENCE_LABEL[algo]
        out["side"] = "reference"
        out["algo"] = algo
        return out
    from lesson_reference import run_lesson

    raw = run_lesson(algo, seed, episodes, stop_at=stop_at)
    cum_steps, cum_seconds, s, t = [], [], 0, 0.0
    for n, sec in zip(raw["steps"], raw["seconds"], strict=True):
        s += n
        t += sec
        cum_steps.append(s)
        cum_seconds.append(t)
    return {
        "system": REFERENCE_LABEL[algo], "side": "reference", "algo": algo, "seed": seed,
        "reason": "stopped" if len(raw["returns"]) < episodes else "max_episodes",
        "returns": raw["returns"], "cum_steps": cum_steps, "cum_seconds": cum_seconds,
        "update_seconds": float(sum(raw["update_seconds"])),
        "summary": summarize(raw["returns"], cum_steps, cum_seconds),
    }


def run_one(side: str, algo: str, seed: int, episodes: int | None, stop_at: float | None) -> dict:
    """Picklable entry point for worker processes."""
    fn = run_pgcore if side == "pgcore" else run_reference
    return fn(algo, seed, episodes, stop_at)


def sb3_available() -> bool:
    try:
        import stable_baselines3  # noqa: F401
    except ImportError:
        return False
    return True


def build_tables(results: list[dict], algos: list[str], sides: list[str],
                 per_seed: bool = False) -> str:
    rows = []
    for algo in algos:
        for side in sides:
            runs = [r for r in results if r["algo"] == algo and r["side"] == side]
            if runs:
                rows.append(learning_row(runs[0]["system"], [r["summary"] for r in runs]))
    text = markdown_table(LEARNING_HEADERS, rows)
    if per_seed:
        detail = []
        for r in results:
            s = r["summary"]
            detail.append([r["system"], r["seed"], s["episodes"], s["episodes_to_195"] or "-",
                           s["episodes_to_475"] or "-", s["steps_to_475"] or "-",
                           "-" if s["seconds_to_475"] is None else f"{s['seconds_to_475']:.1f}",
                           f"{s['final_avg100']:.1f}", f"{s['steps_per_second']:,.0f}"])
        text += "\n\n" + markdown_table(
            ("system", "seed", "episodes run", "to 195", "to 475", "steps to 475",
             "seconds to 475", "final avg-100", "env steps/s"), detail)
    return text


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--algos", nargs="+", choices=ALGOS, default=list(ALGOS),
                   help="which pairs to run (default: all)")
    p.add_argument("--side", choices=("both", "pgcore", "reference"), default="both",
                   help="run pgcore, the reference (lesson / SB3), or both (default)")
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    p.add_argument("--episodes", type=int, default=1000, help="episode budget per run")
    p.add_argument("--jobs", type=int, default=1,
                   help="parallel worker processes (default 1: clean timings)")
    p.add_argument("--stop-at-475", action="store_true",
                   help="end each run once its 100-episode average reaches 475 "
                        "(the to-475 figures are unchanged; final avg-100 is then ~475)")
    p.add_argument("--per-seed", action="store_true", help="also print one row per run")
    p.add_argument("--json", metavar="FILE", help="write every run's raw figures here")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: seed 0, 3 episodes per run")
    args = p.parse_args(argv)
    if args.episodes < 1 or args.jobs < 1:
        p.error("--episodes and --jobs must be at least 1")
    if args.quick:
        args.seeds, args.episodes = [0], 3
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    single_thread()
    algos = list(args.algos)
    if "a2c" in algos and args.side != "pgcore" and not sb3_available():
        log("stable-baselines3 is not installed: skipping the SB3 A2C reference")
    sides = ["pgcore", "reference"] if args.side == "both" else [args.side]
    tasks = []
    for algo in algos:
        for seed in args.seeds:  # interleave the two systems seed by seed
            for side in sides:
                if side == "reference" and algo == "a2c" and not sb3_available():
                    continue
                tasks.append((side, algo, seed, args.episodes,
                              475.0 if args.stop_at_475 else None))

    def progress(task, res) -> None:
        s = res["summary"]
        log(f"  {res['system']:<40} seed {task[2]}: {s['episodes']} episodes, "
            f"to 475: {s['episodes_to_475']}, final avg-100 {s['final_avg100']:.1f}, "
            f"{s['wall_seconds']:.1f} s, {s['steps_per_second']:,.0f} steps/s")

    t0 = time.perf_counter()
    results = run_tasks(run_one, tasks, jobs=args.jobs, progress=progress)
    wall = time.perf_counter() - t0
    print(f"## CartPole-v1 learning: seeds {args.seeds}, budget {args.episodes} episodes"
          f"{', stop at 475' if args.stop_at_475 else ''}, jobs {args.jobs}\n")
    print(build_tables(results, algos, sides, per_seed=args.per_seed))
    print(f"\nmedian [min-max] over seeds; 'to 475' medians are over the seeds that reach it. "
          f"Total wall time {wall:.0f} s.")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "runs": results}, indent=1))
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
