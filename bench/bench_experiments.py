"""Exercise 1's speed: the experiment runner in parallel processes vs the seeds one by one.

Trains the Seeds & variance page's A2C grid (REINFORCE without a baseline and A2C, our
defaults otherwise; ``--reinforce-only`` drops A2C) for ``--seeds`` x ``--episodes``, twice:

* ``sequential``: ``Experiment(mode="inline")``, every run one after another in this process;
* ``parallel (cold)``: ``Experiment(mode="process")`` with ``--workers`` of the shared
  pool's processes (default: the number of CPUs), starting the worker processes included
  (spawn + importing torch: what the first experiment after a server start pays);
* ``parallel (warm)``: the same again on the already running workers (every later
  experiment).

Prints a markdown table (wall seconds, episodes/s, env steps/s, speed-up) and checks that both
modes produced identical episodes (the trainer is deterministic). Target (issue #4): a
speed-up of at least 1.6x on 2 cores. Runs are the unit of parallelism, so three equally long
runs on two cores cannot go faster than 1.5x (two rounds instead of three): that is why the
default is the page's full grid of six runs. On a shared, busy machine the speed-up is lower
than on a quiet one: compare within one invocation, and re-run on a quiet machine for the
record.

    python bench/bench_experiments.py                   # 3 seeds x 1,000 episodes, 6 runs
    python bench/bench_experiments.py --reinforce-only  # only REINFORCE's 3 runs (max 1.5x)
    python bench/bench_experiments.py --quick           # smoke test, a few seconds
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

COMPARED = ("episode", "return", "length", "env_steps", "entropy")


def build_jobs(seeds: int, episodes: int, with_a2c: bool, hidden: int | None = None):
    from pgcore import default_config
    from pgcore.execution.experiments import grid

    extra = {} if hidden is None else {"hidden": hidden}
    configs = {"REINFORCE, no baseline": default_config("reinforce", "none",
                                                        max_episodes=episodes, **extra)}
    if with_a2c:
        configs["A2C"] = default_config("a2c", max_episodes=episodes, **extra)
    return grid(configs, range(seeds))


def timed(jobs, mode: str, workers: int | None) -> tuple[float, object]:
    from pgcore.execution.experiments import Experiment

    t0 = time.perf_counter()
    snap = Experiment(jobs, mode=mode, workers=workers).run()
    return time.perf_counter() - t0, snap


def identical(a, b) -> bool:
    import numpy as np

    return all(ra.state == rb.state and all(
        np.array_equal(ra.columns[c], rb.columns[c], equal_nan=True) for c in COMPARED)
        for ra, rb in zip(a.runs, b.runs, strict=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default 3)")
    parser.add_argument("--episodes", type=int, default=1000, help="episodes per run")
    parser.add_argument("--workers", type=int, default=None,
                        help="parallel processes (default: CPUs)")
    parser.add_argument("--reinforce-only", action="store_true",
                        help="leave out the page's A2C runs")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: 2 seeds x 5 episodes, small networks")
    parser.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.episodes < 1 or (args.workers is not None and args.workers < 1):
        parser.error("--seeds, --episodes and --workers must be at least 1")

    import torch

    torch.set_num_threads(1)
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    seeds, episodes = (2, 5) if args.quick else (args.seeds, args.episodes)
    jobs = build_jobs(seeds, episodes, not args.reinforce_only,
                      hidden=16 if args.quick else None)
    workers = min(len(jobs), args.workers or (os.cpu_count() or 1))
    print(f"{len(jobs)} runs x {episodes:,} episodes; sequential, then {workers} processes",
          file=sys.stderr, flush=True)

    from pgcore.execution import shutdown_worker_pool

    shutdown_worker_pool()  # the cold run starts its workers
    seq_t, seq = timed(jobs, "inline", None)
    print(f"sequential: {seq_t:.1f} s", file=sys.stderr, flush=True)
    cold_t, cold = timed(jobs, "process", workers)
    print(f"parallel, cold: {cold_t:.1f} s", file=sys.stderr, flush=True)
    warm_t, warm = timed(jobs, "process", workers)
    print(f"parallel, warm: {warm_t:.1f} s", file=sys.stderr, flush=True)
    shutdown_worker_pool()

    rows = []
    for name, secs, snap, procs in (
            ("sequential (one after another)", seq_t, seq, 1),
            ("parallel runner, cold (starts its workers)", cold_t, cold, workers),
            ("parallel runner, warm (workers running)", warm_t, warm, workers)):
        eps = snap.episode_count
        steps = sum(int(r.columns["env_steps"][-1]) for r in snap.runs if r.episodes)
        rows.append({"mode": name, "processes": procs, "runs": len(snap.runs), "episodes": eps,
                     "env_steps": steps, "wall_seconds": secs, "episodes_per_second": eps / secs,
                     "env_steps_per_second": steps / secs, "speedup": seq_t / secs})
    same = identical(seq, cold) and identical(seq, warm)
    print("| mode | processes | runs | episodes | wall s | episodes/s | env steps/s | speed-up |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['mode']} | {r['processes']} | {r['runs']} | {r['episodes']:,} | "
              f"{r['wall_seconds']:.1f} | {r['episodes_per_second']:.1f} | "
              f"{r['env_steps_per_second']:,.0f} | {r['speedup']:.2f}x |")
    print(f"\nparallel results identical to sequential: {'yes' if same else 'NO'}; "
          f"CPUs: {os.cpu_count()}; load average at the end: "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "identical": same}, indent=1) + "\n")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
