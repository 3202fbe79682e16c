"""pgcore ``a2c`` against Stable-Baselines3 A2C and PPO with the RL Zoo CartPole-v1 settings.

For each seed, every system trains until the 100-episode moving average of its *training*
episode returns first reaches 475 (or its step budget runs out), in one invocation, seed by
seed. The table reports env steps, wall seconds and episodes to 475 (median [min-max]) and the
ratios pgcore / SB3. The issue's target: pgcore a2c needs at most 1/4 of SB3 A2C's wall time
and fewer env steps than SB3 A2C; the stretch goal is SB3 PPO's step count.

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

    python bench/bench_sb3.py                         # seeds 0-4, all three systems
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

SYSTEMS = ("pgcore-a2c", "sb3-a2c", "sb3-ppo")
LABEL = {"pgcore-a2c": "pgcore a2c", "sb3-a2c": "SB3 A2C (RL Zoo)",
         "sb3-ppo": "SB3 PPO (RL Zoo)"}
ZOO_BUDGET = {"a2c": 500_000, "ppo": 100_000}  # n_timesteps in the Zoo files
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


def run_system(system: str, seed: int, max_steps: int | None, stop_at: float | None) -> dict:
    """Picklable entry point: one system, one seed, until 475 or the step budget."""
    if system == "pgcore-a2c":
        from bench_learning import run_pgcore

        out = run_pgcore("a2c", seed, episodes=None, stop_at=stop_at,
                         max_steps=max_steps or ZOO_BUDGET["a2c"])
        out["side"] = system
        out["system"] = LABEL[system]
        return out
    return run_sb3(system.split("-", 1)[1], seed, stop_at=stop_at, max_steps=max_steps)


def _ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or b is None or b == 0 else f"{a / b:.2f}"


def report(results: list[dict], systems: list[str], seeds: list[int]) -> str:
    by = {(r["side"], r["seed"]): r["summary"] for r in results}
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
    out = [markdown_table(("system", "steps to 475", "seconds to 475", "episodes to 475 (seeds)",
                           "episodes to 195", "env steps/s"), rows)]

    # per-seed detail with ratios against the SB3 systems
    if "pgcore-a2c" in systems:
        detail, ratios = [], {"t_a2c": [], "s_a2c": [], "s_ppo": [], "t_ppo": []}
        for s in seeds:
            pg = by.get(("pgcore-a2c", s))
            a2c = by.get(("sb3-a2c", s))
            ppo = by.get(("sb3-ppo", s))
            if pg is None:
                continue
            row = [s, fmt_num(pg["steps_to_475"], "steps"), fmt_num(pg["seconds_to_475"], "sec")]
            for ref, keys in ((a2c, ("t_a2c", "s_a2c")), (ppo, ("t_ppo", "s_ppo"))):
                if ref is None:
                    row += ["-", "-", "-", "-"]
                    continue
                rt = _ratio(pg["seconds_to_475"], ref["seconds_to_475"])
                rs = _ratio(pg["steps_to_475"], ref["steps_to_475"])
                row += [fmt_num(ref["steps_to_475"], "steps"),
                        fmt_num(ref["seconds_to_475"], "sec"), rt, rs]
                if rt != "-":
                    ratios[keys[0]].append(float(rt))
                if rs != "-":
                    ratios[keys[1]].append(float(rs))
            detail.append(row)
        out.append(markdown_table(
            ("seed", "pgcore steps", "pgcore s", "A2C steps", "A2C s", "time ratio vs A2C",
             "steps ratio vs A2C", "PPO steps", "PPO s", "time ratio vs PPO",
             "steps ratio vs PPO"), detail))

        def med(k):
            return "-" if not ratios[k] else f"{statistics.median(ratios[k]):.2f}"

        lines = ["Ratios pgcore a2c / SB3 (median of per-seed ratios; < 1 means pgcore is "
                 "better): "
                 f"wall time vs A2C {med('t_a2c')} (target <= 0.25), "
                 f"env steps vs A2C {med('s_a2c')} (target < 1), "
                 f"env steps vs PPO {med('s_ppo')} (stretch < 1), "
                 f"wall time vs PPO {med('t_ppo')}."]

        def med_of(sysname, key):
            return median_of([by[(sysname, s)][key] for s in seeds if (sysname, s) in by])

        for ref in ("sb3-a2c", "sb3-ppo"):
            if any((ref, s) in by for s in seeds):
                t = _ratio(med_of("pgcore-a2c", "seconds_to_475"), med_of(ref, "seconds_to_475"))
                st = _ratio(med_of("pgcore-a2c", "steps_to_475"), med_of(ref, "steps_to_475"))
                lines.append(f"Ratio of medians vs {LABEL[ref]}: wall time {t}, env steps {st}.")
        out.append("\n".join(lines))
    return "\n\n".join(out)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--systems", nargs="+", choices=SYSTEMS, default=list(SYSTEMS))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    p.add_argument("--max-steps", type=int, default=None,
                   help="override every system's step budget (default: Zoo n_timesteps, "
                        "5e5 for A2C and pgcore a2c, 1e5 for PPO)")
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
            log("stable-baselines3 is not installed: running pgcore a2c only")
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
