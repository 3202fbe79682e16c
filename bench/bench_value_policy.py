"""The *Value vs policy* page's experiment, headless: DQN, A2C and REINFORCE with a learned
baseline (each its tuned default) on the same seeds and the same env-step budget, greedy
evaluations and greedy-flip traces on the way, then the page's own measurements table and
verdicts (:mod:`ui.value_policy`), printed as markdown. The README's value-vs-policy figures
come from here.

Usage::

    python bench/bench_value_policy.py                     # seeds 0-2, 150k env steps each
    python bench/bench_value_policy.py --seeds 0 1 2 3 4 --budget 100000
    python bench/bench_value_policy.py --quick             # seconds: a smoke test of the script
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import log, markdown_table  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--budget", type=int, default=150_000, help="env steps per run")
    p.add_argument("--workers", type=int, default=2, help="runs at once (default 2)")
    p.add_argument("--quick", action="store_true", help="a smoke test: 2,000 steps, seed 0")
    args = p.parse_args(argv)
    if args.quick:
        args.seeds, args.budget = [0], 2_000

    from pgcore.execution.experiments import Experiment
    from pgcore.labs import value_policy as lab
    from ui import value_policy as vp

    trace_every = lab.trace_interval(args.budget)
    jobs = lab.page_jobs(args.budget, args.seeds)
    log(f"{len(jobs)} runs of {args.budget:,} env steps, {args.workers} at a time ...")
    t0 = time.perf_counter()
    snap = Experiment(jobs, workers=args.workers, trace_every=trace_every).run()
    log(f"done in {time.perf_counter() - t0:.0f} s ({snap.state})")
    if snap.state != "finished":
        print(f"error: the experiment ended {snap.state}: {snap.errors()}", file=sys.stderr)
        return 1
    figs = vp.figures(snap)
    table = vp.measurements_table(figs, lab.SIDES, trace_every)
    n_actions = lab.action_count(snap.runs[0].config.env_id)
    print(f"## Value vs policy, measured (seeds {', '.join(map(str, args.seeds))}, "
          f"{args.budget:,} env steps per run)\n")
    print(markdown_table(list(table.columns), table.astype(str).values.tolist()))
    print("\n## Verdicts\n")
    found = vp.verdicts(snap, figs, lab.SIDES, n_actions, trace_every,
                        lab.eval_interval(args.budget))
    for aspect, verdict in found.items():
        print(f"- **{aspect}** ({verdict.status}): {verdict.text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
