"""How long a Stop takes: a hosted run is stopped at a random moment of its training, and the
table gives the seconds from ``stop()`` to the run's end (what a page waits for before it
shows "stopped" and disables Stop), per preset.

    python bench/bench_stop.py                       # PPO and DQN on Pendulum, 5 stops each
    python bench/bench_stop.py --presets ppo-pendulum --stops 10
    python bench/bench_stop.py --quick                # smoke test: one PPO stop

A run sees a stop at its next check point (``pgcore.training.trainer``): before, a PPO run
on Pendulum had one per rollout and update (4 x 1,024 env steps, then 640 minibatch steps);
now one between every two vector steps of its rollout and every two gradient steps of its
update too. The figures move with the
machine's load (a stop waits for CPU time), so compare runs made side by side.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import load_average, markdown_table, median_range  # noqa: E402

from pgcore.execution.hosts import RunHosts  # noqa: E402
from pgcore.execution.runner import BackgroundRun  # noqa: E402
from pgcore.training.config import PRESETS, preset  # noqa: E402


def one_stop(hosts: RunHosts, name: str, seed: int, rng: random.Random,
             within: float = 3.0) -> float:
    """Seconds from stop() to the run's end, stopped up to ``within`` s after its first
    episode."""
    config = preset(name, seed=seed, max_episodes=100_000, max_steps=None)
    run = BackgroundRun(config, hosts=hosts, frame_every=0.25).start()
    try:
        deadline = time.monotonic() + 300
        while run.snapshot().episode_count < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, within))  # a random moment of its rollout or update
        began = time.monotonic()
        run.stop()
        run.join(600)
        return time.monotonic() - began
    finally:
        run.stop()
        run.join(60)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", nargs="+", default=["ppo-pendulum", "dqn-pendulum"])
    ap.add_argument("--stops", type=int, default=5, help="stops per preset")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="smoke test: one PPO stop")
    args = ap.parse_args(argv)
    if args.quick:
        args.presets, args.stops = ["ppo-pendulum"], 1
    unknown = [n for n in args.presets if n not in PRESETS]
    if unknown:
        ap.error(f"unknown preset {unknown[0]!r} (one of: {', '.join(PRESETS)})")
    if args.stops < 1:
        ap.error("--stops must be >= 1")
    within = 0.5 if args.quick else 3.0
    rng = random.Random(args.seed)
    hosts = RunHosts(hosts=1)
    rows = []
    try:
        for name in args.presets:
            took = [one_stop(hosts, name, args.seed + i, rng, within)
                    for i in range(args.stops)]
            rows.append([name, str(args.stops), median_range(took, "fine"), f"{max(took):.2f}"])
    finally:
        hosts.shutdown()
    print(markdown_table(["preset", "stops", "stop to end, s: median [range]", "max, s"],
                         rows))
    print(f"load average: {load_average()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
