"""pgcore ``a2c`` and ``ppo`` against Stable-Baselines3 A2C and PPO with the RL Zoo CartPole-v1
settings.

For each seed, every system trains until the 100-episode moving average of its *training*
episode returns first reaches 475 (or its step budget runs out), in one invocation, seed by
seed. The table reports env steps, wall seconds and episodes to 475 (median [min-max]), env
steps per second, and the median per-seed ratios pgcore / SB3. The targets: pgcore a2c needs
at most 0.1x SB3 A2C's wall time (issue 11; issue 2 asked for 1/4) and fewer env steps than
SB3 A2C, the stretch goal being fewer env steps than SB3 PPO; pgcore ppo needs fewer env steps
than SB3 PPO and at most 0.2x its wall time (issue 11).

pgcore runs its default presets (``default_config("a2c")`` and ``default_config("ppo")``, the
episode cap lifted) with the budget of the SB3 algorithm of the same name.

RL Zoo hyperparameters (rl-baselines3-zoo ``hyperparams/a2c.yml`` and ``ppo.yml``,
CartPole-v1 entries):

* A2C: n_envs 8, 5e5 timesteps, ent_coef 0.0, everything else SB3's A2C defaults
  (learning_rate 7e-4, n_steps 5, gamma 0.99, gae_lambda 1.0, vf_coef 0.5, max_grad_norm 0.5,
  RMSprop alpha 0.99 eps 1e-5, 64-64 tanh MLPs with orthogonal init).
* PPO: n_envs 8, 1e5 timesteps, n_steps 32, batch_size 256, gae_lambda 0.8, gamma 0.98,
  n_epochs 20, ent_coef 0.0, learning_rate linear from 1e-3 to 0, clip_range linear from 0.2
  to 0 (the schedules span the full 1e5 steps even when a run stops early at 475).

Training returns are read from the ``Monitor`` wrapper (``info["episode"]["r"]``) that
``make_vec_env`` puts on every environment; wall time starts just before ``learn()``.

Usage::

    python bench/bench_sb3.py                         # seeds 0-4, all four systems
    python bench/bench_sb3.py --systems pgcore-ppo sb3-ppo
    python bench/bench_sb3.py --systems sb3-a2c sb3-ppo
    python bench/bench_sb3.py --quick                 # seconds: a smoke test of the script
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    ThresholdWatch,
    fmt_num,
    log,
    markdown_table,
    median_of,
    median_range,
    run_tasks,
    single_thread,
    summarize,
)

SYSTEMS = ("pgcore-a2c", "pgcore-ppo", "sb3-a2c", "sb3-ppo")
LABEL = {"pgcore-a2c": "pgcore a2c", "pgcore-ppo": "pgcore ppo", "sb3-a2c": "SB3 A2C (RL Zoo)",
         "sb3-ppo": "SB3 PPO (RL Zoo)"}
ZOO_BUDGET = {"a2c": 500_000, "ppo": 100_000}  # n_timesteps in the Zoo files
# (pgcore system, SB3 system, figure, comparison, target, note): per-seed ratios pgcore / SB3
COMPARISONS = (
    ("pgcore-a2c", "sb3-a2c", "seconds_to_475", "<=", 0.10, "issue 11; issue 2: <= 0.25"),
    ("pgcore-a2c", "sb3-a2c", "steps_to_475", "<", 1.0, "issue 2"),
    ("pgcore-a2c", "sb3-ppo", "steps_to_475", "<", 1.0, "stretch"),
    ("pgcore-a2c", "sb3-ppo", "seconds_to_475", None, None, ""),
    ("pgcore-ppo", "sb3-ppo", "steps_to_475", "<", 1.0, "issue 11"),
    ("pgcore-ppo", "sb3-ppo", "seconds_to_475", "<=", 0.20, "issue 11"),
)
FIGURE = {"steps_to_475": "env steps", "seconds_to_475": "wall seconds"}
ENV_ID = "CartPole-v1"


def _linear(start: float):
    """The Zoo's ``lin_<x>`` schedule: x * progress_remaining (1 at the start, 0 at the end)."""

    def schedule(progress_remaining: float) -> float:
        return progress_remaining * start

    return schedule


def make_sb3_model(kind: str, seed: int, env):
    from stable_baselines3 import A2C, PPO

    if kind == "a2c":
        return A2C("MlpPolicy", env, learning_rate=7e-4, n_steps=5, gamma=0.99, gae_lambda=1.0,
                   ent_coef=0.0, vf_coef=0.5, max_grad_norm=0.5, use_rms_prop=True,
                   seed=seed, device="cpu", verbose=0)
    if kind == "ppo":
        return PPO("MlpPolicy", env, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98,
                   n_epochs=20, ent_coef=0.0, learning_rate=_linear(1e-3),
                   clip_range=_linear(0.2), seed=seed, device="cpu", verbose=0)
    raise ValueError(f"unknown SB3 algorithm {kind!r}")


def run_sb3(kind: str, seed: int, max_episodes: int | None = None,
            stop_at: float | None = 475.0, max_steps: int | None = None) -> dict:
    """Train SB3 ``kind`` (a2c / ppo) with Zoo settings on 8 envs; track training returns.

    Ends at ``stop_at`` (100-episode average), after ``max_episodes`` finished episodes, or at
    ``max_steps`` (default: the Zoo's n_timesteps), whichever comes first."""
    single_thread()
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    budget = int(max_steps if max_steps is not None else ZOO_BUDGET[kind])
    env = make_vec_env(ENV_ID, n_envs=8, seed=seed)
    model = make_sb3_model(kind, seed, env)
    watch = ThresholdWatch(stop_at) if stop_at is not None else None
    record: dict[str, list] = {"returns": [], "cum_steps": [], "cum_seconds": []}
    t0 = [0.0]

    class Tracker(BaseCallback):
        def _on_step(self) -> bool:
            for info in self.locals["infos"]:
                ep = info.get("episode")
                if ep is None:
                    continue
                if max_episodes is not None and len(record["returns"]) >= max_episodes:
                    return False
                record["returns"].append(float(ep["r"]))
                record["cum_steps"].append(int(self.num_timesteps))
                record["cum_seconds"].append(time.perf_counter() - t0[0])
                if watch is not None and watch.update(float(ep["r"])):
                    return False
            if max_episodes is not None and len(record["returns"]) >= max_episodes:
                return False
            return True

    t0[0] = time.perf_counter()
    model.learn(total_timesteps=budget, callback=Tracker())
    wall = time.perf_counter() - t0[0]
    steps = int(model.num_timesteps)
    env.close()
    name = f"sb3-{kind}"
    return {
        "system": LABEL[name], "side": name, "algo": kind, "seed": seed,
        "returns": record["returns"], "cum_steps": record["cum_steps"],
        "cum_seconds": record["cum_seconds"],
        "summary": summarize(record["returns"], record["cum_steps"], record["cum_seconds"],
                             steps, wall),
    }


def run_pgcore(algo: str, seed: int, stop_at: float | None = 475.0,
               max_steps: int | None = None) -> dict:
    """pgcore's default preset for ``algo`` (a2c / ppo) on CartPole-v1, no episode cap, until
    the 100-episode average reaches ``stop_at`` (``RunControl.stop``) or ``max_steps``
    (default: the Zoo's n_timesteps for the SB3 algorithm of the same name)."""
    single_thread()
    from pgcore import EpisodeEnd, RunControl, default_config, train

    budget = int(max_steps if max_steps is not None else ZOO_BUDGET[algo])
    cfg = default_config(algo, seed=seed, max_episodes=None, max_steps=budget)
    control = RunControl()
    watch = ThresholdWatch(stop_at) if stop_at is not None else None

    def on_event(ev) -> None:
        if isinstance(ev, EpisodeEnd) and watch is not None and watch.update(ev.episode_return):
            control.stop()

    res = train(cfg, on_event=on_event, control=control)
    name = f"pgcore-{algo}"
    return {
        "system": LABEL[name], "side": name, "algo": algo, "seed": seed,
        "reason": res.reason, "message": res.message,
        "returns": [float(r) for r in res.episode_returns],
        "cum_steps": [int(x) for x in res.episode_env_steps],
        "cum_seconds": [float(x) for x in res.episode_seconds],
        "summary": summarize(res.episode_returns, res.episode_env_steps, res.episode_seconds,
                             res.env_steps, res.wall_seconds),
    }


def run_system(system: str, seed: int, max_steps: int | None, stop_at: float | None) -> dict:
    """Picklable entry point: one system, one seed, until 475 or the step budget."""
    side, algo = system.split("-", 1)
    if side == "pgcore":
        return run_pgcore(algo, seed, stop_at=stop_at, max_steps=max_steps)
    return run_sb3(algo, seed, stop_at=stop_at, max_steps=max_steps)


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def _fmt_ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def summary_table(by: dict, systems: list[str], seeds: list[int]) -> str:
    rows = []
    for sysname in systems:
        runs = [by[(sysname, s)] for s in seeds if (sysname, s) in by]
        if not runs:
            continue
        n = len(runs)
        rows.append([LABEL[sysname],
                     median_range([r["steps_to_475"] for r in runs], "steps", empty="-"),
                     median_range([r["seconds_to_475"] for r in runs], "sec", empty="-"),
                     median_range([r["episodes_to_475"] for r in runs], n_total=n,
                                  show_count=True),
                     median_range([r["episodes_to_195"] for r in runs], n_total=n),
                     median_range([r["steps_per_second"] for r in runs], "rate", n_total=n)])
    return markdown_table(("system", "steps to 475", "seconds to 475", "episodes to 475 (seeds)",
                           "episodes to 195", "env steps/s"), rows)


def _comparisons(systems: list[str]) -> list[tuple]:
    return [c for c in COMPARISONS if c[0] in systems and c[1] in systems]


def _comparison_name(c: tuple, short: bool = False) -> str:
    pg, ref, key = c[:3]
    if short:
        return f"{LABEL[pg].split()[-1]}/{LABEL[ref].split()[1]} {FIGURE[key].split()[-1]}"
    return f"{LABEL[pg]} / {LABEL[ref]}, {FIGURE[key]} to 475"


def per_seed_table(by: dict, systems: list[str], seeds: list[int]) -> str:
    """Per seed and system: the to-475 figures; per seed: the ratios pgcore / SB3."""
    comps = _comparisons(systems)
    headers = ["seed", *(f"{LABEL[s]}: steps, s to 475" for s in systems),
               *(_comparison_name(c, short=True) for c in comps)]
    rows = []
    for seed in seeds:
        row = [seed]
        for s in systems:
            r = by.get((s, seed))
            row.append("-" if r is None else f"{fmt_num(r['steps_to_475'], 'steps')}, "
                                             f"{fmt_num(r['seconds_to_475'], 'sec')}")
        for pg, ref, key, *_ in comps:
            a, b = by.get((pg, seed)), by.get((ref, seed))
            row.append(_fmt_ratio(None if a is None or b is None else _ratio(a[key], b[key])))
        rows.append(row)
    return markdown_table(headers, rows)


def ratio_lines(by: dict, systems: list[str], seeds: list[int]) -> str:
    """The median per-seed ratios pgcore / SB3 beside their targets, and ratios of medians."""
    comps = _comparisons(systems)
    if not comps:
        return ""
    lines = ["Ratios pgcore a2c / SB3 and pgcore ppo / SB3 PPO (median [min-max] of the "
             "per-seed ratios, over the seeds where both reached 475; < 1 means pgcore is "
             "better):", ""]
    rows = []
    for pg, ref, key, op, target, note in comps:
        per_seed = [_ratio(by[(pg, s)][key], by[(ref, s)][key]) for s in seeds
                    if (pg, s) in by and (ref, s) in by]
        n_pairs = len(per_seed)
        vals = [v for v in per_seed if v is not None]
        if vals:
            med = statistics.median(vals)
            text = f"{med:.2f}" + (f" [{min(vals):.2f}-{max(vals):.2f}]" if len(vals) > 1
                                   else "") + f" ({len(vals)}/{n_pairs} seeds)"
        else:
            med, text = None, f"- (0/{n_pairs} seeds)"

        of_medians = _fmt_ratio(_ratio(*(
            median_of([by[(side, s)][key] for s in seeds if (side, s) in by])
            for side in (pg, ref))))
        if op is None:
            goal, verdict = "-", "-"
        else:
            goal = f"{op} {target:.2f}" + (f" ({note})" if note else "")
            if med is None:
                verdict = "n/a"
            else:
                met = med <= target if op == "<=" else med < target
                verdict = "met" if met else "not met"
        rows.append([_comparison_name((pg, ref, key)), text, of_medians, goal, verdict])
    lines.append(markdown_table(("ratio", "median per-seed ratio", "ratio of medians", "target",
                                 "verdict"), rows))
    return "\n".join(lines)


def report(results: list[dict], systems: list[str], seeds: list[int]) -> str:
    by = {(r["side"], r["seed"]): r["summary"] for r in results}
    out = [summary_table(by, systems, seeds)]
    if any(s.startswith("pgcore") for s in systems):
        out.append(per_seed_table(by, systems, seeds))
    ratios = ratio_lines(by, systems, seeds)
    if ratios:
        out.append(ratios)
    return "\n\n".join(out)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--systems", nargs="+", choices=SYSTEMS, default=list(SYSTEMS))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    p.add_argument("--max-steps", type=int, default=None,
                   help="override every system's step budget (default: Zoo n_timesteps, "
                        "5e5 for A2C and pgcore a2c, 1e5 for PPO and pgcore ppo)")
    p.add_argument("--jobs", type=int, default=1,
                   help="parallel worker processes (default 1: clean timings)")
    p.add_argument("--json", metavar="FILE", help="write every run's raw figures here")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: seed 0, 2,000 env steps per system")
    args = p.parse_args(argv)
    if args.jobs < 1 or (args.max_steps is not None and args.max_steps < 1):
        p.error("--jobs and --max-steps must be at least 1")
    if args.quick:
        args.seeds, args.max_steps = [0], 2000
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    single_thread()
    systems = list(args.systems)
    try:
        import stable_baselines3  # noqa: F401
    except ImportError:
        if any(s.startswith("sb3") for s in systems):
            log("stable-baselines3 is not installed: running the pgcore systems only")
        systems = [s for s in systems if not s.startswith("sb3")]
    tasks = [(sysname, seed, args.max_steps, 475.0) for seed in args.seeds for sysname in systems]

    def progress(task, res) -> None:
        s = res["summary"]
        log(f"  {res['system']:<20} seed {task[1]}: steps to 475 {s['steps_to_475']}, "
            f"seconds to 475 {s['seconds_to_475']}, {s['env_steps']} steps in "
            f"{s['wall_seconds']:.1f} s")

    t0 = time.perf_counter()
    results = run_tasks(run_system, tasks, jobs=args.jobs, progress=progress)
    print(f"## CartPole-v1: env steps and wall seconds until the 100-episode training average "
          f"reaches 475 (seeds {args.seeds}, jobs {args.jobs})\n")
    print(report(results, systems, args.seeds))
    print(f"\nTotal wall time {time.perf_counter() - t0:.0f} s.")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "runs": results}, indent=1))
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
