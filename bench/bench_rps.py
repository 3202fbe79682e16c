"""Rock-paper-scissors: how many rounds (updates) and seconds until each learner's policy is
within exploitability 0.05 of the uniform mix, against the exploiting opponent.

Each seed plays its own :class:`pgcore.labs.rps.Match` with the page's defaults (learning
rate, opponent memory, no entropy bonus), one learner at a time, in one invocation:

* the **policy-gradient** learner: its time-averaged policy (the one that converges; its
  current policy keeps cycling) and, for honesty, its current policy's mean exploitability
  over the second half of the rounds;
* the **greedy** learner (argmax of action values): its smallest exploitability in the whole
  match (1 means it never left a pure strategy).

A learner has *reached* 0.05 at the first round after which its exploitability stays at or
below 0.05 until the end of the match (checked every ``--every`` rounds). Seconds are the
wall time of :meth:`Match.play` up to that round.

    python bench/bench_rps.py                  # seeds 0-4, 4,000 rounds (the page's default)
    python bench/bench_rps.py --rounds 20000 --json rps.json
    python bench/bench_rps.py --quick          # smoke test
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from common import log, markdown_table, median_range  # sets sys.path for pgcore

from pgcore.labs.rps import DEFAULT_LR, DEFAULT_MEMORY, Match, exploitability

TARGET = 0.05


def settled(values: np.ndarray, target: float = TARGET) -> int | None:
    """Index of the first entry after which every entry is at most ``target`` (None if the
    last one is above it).

    >>> settled(np.array([0.3, 0.04, 0.2, 0.05, 0.01]))
    3
    >>> settled(np.array([0.3, 0.04])) is None, settled(np.array([0.3, 0.06])) is None
    (False, True)
    """
    above = np.flatnonzero(values > target)
    if len(above) and above[-1] == len(values) - 1:
        return None
    return 0 if not len(above) else int(above[-1] + 1)


def run_seed(kind: str, seed: int, rounds: int, every: int, lr: float,
             memory: float) -> dict:
    """One learner on one seed: its exploitability every ``every`` rounds, and the timing."""
    match = Match(kind, seeds=[seed], lr=lr, memory=memory, every=every)
    steps, current, average, seconds = [], [], [], []
    t0 = time.perf_counter()
    for start in range(0, rounds, every):
        match.play(min(every, rounds - start))
        seconds.append(time.perf_counter() - t0)
        rec = match.records()[0]
        steps.append(int(rec.step[-1]))
        current.append(float(rec.exploitability[-1]))
        average.append(float(rec.average_exploitability[-1]))
    current, average = np.asarray(current), np.asarray(average)
    watched = average if kind == "policy-gradient" else current
    i = settled(watched)
    late = current[np.asarray(steps) > rounds / 2]
    return {"kind": kind, "seed": seed, "rounds": rounds,
            "rounds_to_target": None if i is None else steps[i],
            "seconds_to_target": None if i is None else seconds[i],
            "final_average_exploitability": float(average[-1]),
            "final_exploitability": float(current[-1]),
            "late_exploitability": float(late.mean()),
            "min_exploitability": float(current.min()),
            "seconds": seconds[-1]}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    p.add_argument("--rounds", type=int, default=4000, help="rounds per match (default 4000)")
    p.add_argument("--every", type=int, default=10, help="check every this many rounds")
    p.add_argument("--lr", type=float, default=DEFAULT_LR)
    p.add_argument("--memory", type=float, default=DEFAULT_MEMORY)
    p.add_argument("--json", metavar="FILE", help="write every run's figures here")
    p.add_argument("--quick", action="store_true", help="smoke test: seed 0, 200 rounds")
    args = p.parse_args(argv)
    if args.rounds < 1 or args.every < 1:
        p.error("--rounds and --every must be at least 1")
    if args.quick:
        args.seeds, args.rounds = [0], 200
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    runs = []
    for seed in args.seeds:
        for kind in ("policy-gradient", "greedy"):
            run = run_seed(kind, seed, args.rounds, args.every, args.lr, args.memory)
            runs.append(run)
            log(f"  {kind:16s} seed {seed}: to {TARGET}: {run['rounds_to_target']} rounds, "
                f"final average {run['final_average_exploitability']:.3f}, current "
                f"{run['final_exploitability']:.3f}, {run['seconds']:.2f} s")
    n = len(args.seeds)
    pg = [r for r in runs if r["kind"] == "policy-gradient"]
    greedy = [r for r in runs if r["kind"] == "greedy"]
    def fine(values) -> str:
        return median_range(values, kind="fine", empty="-")

    rows = [
        ["policy-gradient, time-averaged policy",
         median_range([r["rounds_to_target"] for r in pg], n_total=n, show_count=True),
         fine([r["seconds_to_target"] for r in pg]),
         "final " + fine([r["final_average_exploitability"] for r in pg])],
        ["policy-gradient, current policy", "-", "-",
         "mean over the second half " + fine([r["late_exploitability"] for r in pg])],
        ["greedy (argmax of action values)",
         median_range([r["rounds_to_target"] for r in greedy], n_total=n, show_count=True),
         fine([r["seconds_to_target"] for r in greedy]),
         "smallest " + fine([r["min_exploitability"] for r in greedy])],
    ]
    print(f"## Rock-paper-scissors against the exploiting opponent: seeds {args.seeds}, "
          f"{args.rounds:,} rounds, lr {args.lr:g}, memory {args.memory:g}\n")
    print(markdown_table(("learner", f"rounds to exploitability <= {TARGET} (seeds)",
                          "seconds to it", "exploitability"), rows))
    met = sum(r["rounds_to_target"] is not None for r in pg)
    print(f"\nTarget: the policy-gradient learner within {TARGET} on every seed: "
          f"{met}/{n} ({'met' if met == n else 'not met'}); the greedy learner stays at 1: "
          f"smallest {min(r['min_exploitability'] for r in greedy):.3f}. Uniform mix: "
          f"{exploitability(np.full(3, 1 / 3)):.3f}.")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(runs, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
