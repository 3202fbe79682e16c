"""pgcore's Pendulum-v1 presets against Stable-Baselines3 PPO with the RL Zoo Pendulum-v1 settings.

For each seed, every system trains Pendulum-v1 for the same env-step budget (default 200,000,
i.e. 1,000 episodes of 200 steps), in one invocation, seed by seed. Per run: the best and the
final 100-episode average of *training* returns within the budget, env steps and seconds to
the first 100-episode average >= -200 (None if never), total training seconds and env steps
per second. The table gives median [min-max] over seeds (the to -200 figures over the seeds
that reach it) and how many seeds reach -200. The issue's target (issue 10): pgcore's best
100-episode average is -200 or better on at least 4 of 5 seeds.

Systems:

* ``pgcore``: ``pgcore.training.config.preset(name, seed=s, max_episodes=None, max_steps=budget)``
  for each of ``--pgcore-presets`` (default ``ppo-pendulum``, the default Pendulum preset),
  trained with ``pgcore.training.trainer.train``; the figures come from the result's per-episode
  ``episode_returns``, ``episode_env_steps`` and ``episode_seconds``.
* ``sb3-ppo-gsde``: SB3 PPO with the RL Zoo settings (rl-baselines3-zoo ``hyperparams/ppo.yml``,
  Pendulum-v1): 4 envs (``make_vec_env``, DummyVecEnv), n_steps 1024, gamma 0.9, gae_lambda
  0.95, n_epochs 10, learning_rate 1e-3, clip_range 0.2, ent_coef 0.0, batch_size 64 (SB3's
  default), ``use_sde=True, sde_sample_freq=4`` (generalised state-dependent exploration).
* ``sb3-ppo-gaussian``: the same with a plain state-independent Gaussian (``use_sde=False``).

SB3 returns come from the ``Monitor`` wrapper ``make_vec_env`` adds (``info["episode"]``); the
clock starts just before ``learn()``, and the callback ends the run at exactly the budget (the
last, incomplete rollout is not trained on). The Zoo itself trains for 1e5 steps. pgcore ends
a run after the rollout that reaches the budget, so it may take up to one rollout more; the
return figures of every system count only the episodes that ended within the budget.

Usage::

    python bench/bench_pendulum.py                    # seeds 0-4, 200k env steps, all systems
    python bench/bench_pendulum.py --pgcore-presets ppo-pendulum a2c-pendulum
    python bench/bench_pendulum.py --systems pgcore sb3-ppo-gsde --seeds 0 1 --json pend.json
    python bench/bench_pendulum.py --quick            # seconds: a smoke test of the script
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    fmt_num,
    log,
    markdown_table,
    run_tasks,
    single_thread,
)

from pgcore.training.metrics import (  # noqa: E402 - after common's sys.path line
    DEFAULT_WINDOW,
    best_average,
    episodes_to_threshold,
    final_average,
)

ENV_ID = "Pendulum-v1"
THRESHOLD = -200.0
BUDGET = 200_000
ISSUE_BUDGET = 200_000
ISSUE_SEEDS = 5
QUICK_BUDGET = 3_000
DEFAULT_PRESETS = ("ppo-pendulum",)
SB3_SYSTEMS = ("sb3-ppo-gsde", "sb3-ppo-gaussian")
SYSTEM_CHOICES = ("pgcore", *SB3_SYSTEMS)
SB3_LABEL = {"sb3-ppo-gsde": "SB3 PPO gSDE (RL Zoo)",
             "sb3-ppo-gaussian": "SB3 PPO Gaussian (RL Zoo, no gSDE)"}
ZOO_PPO = dict(n_steps=1024, gamma=0.9, gae_lambda=0.95, n_epochs=10, learning_rate=1e-3,
               clip_range=0.2, ent_coef=0.0, batch_size=64)
ZOO_N_ENVS = 4


def label(system: str) -> str:
    """``pgcore:<preset>`` -> "pgcore <preset>"; SB3 systems by name."""
    if system.startswith("pgcore:"):
        return "pgcore " + system.split(":", 1)[1]
    return SB3_LABEL[system]


# ----- per-run figures ------------------------------------------------------------------------


def pendulum_summary(returns: Sequence[float], cum_steps: Sequence[int],
                     cum_seconds: Sequence[float], env_steps: int, seconds: float,
                     budget: int | None = None, threshold: float = THRESHOLD,
                     window: int = DEFAULT_WINDOW) -> dict:
    """The figures of one run (None where not reached or undefined): best and final
    ``window``-episode averages (the best needs a full window; the final is over the last
    ``window`` episodes, fewer if the run had fewer), the episode, env steps and seconds at the
    first full-window average >= ``threshold``, the run's env steps, seconds and steps/s.

    The return figures count only the episodes that ended within ``budget`` env steps (pgcore
    finishes its last rollout, which can take it up to one rollout past the budget); env
    steps, seconds and steps/s are the whole run's."""
    if budget is not None:
        n = sum(1 for x in cum_steps if x <= budget)  # cum_steps only grows
        returns, cum_steps, cum_seconds = returns[:n], cum_steps[:n], cum_seconds[:n]
    e = episodes_to_threshold(returns, threshold, window) if returns else None
    return {
        "episodes": len(returns),
        "best_avg100": best_average(returns, window) if returns else None,
        "final_avg100": final_average(returns, window),
        "episodes_to_threshold": e,
        "steps_to_threshold": None if e is None else int(cum_steps[e - 1]),
        "seconds_to_threshold": None if e is None else float(cum_seconds[e - 1]),
        "env_steps": int(env_steps),
        "wall_seconds": float(seconds),
        "steps_per_second": env_steps / seconds if seconds > 0 else None,
    }


# ----- the systems ----------------------------------------------------------------------------


def run_pgcore(preset_name: str, seed: int, budget: int) -> dict:
    """pgcore preset ``preset_name`` for ``budget`` env steps (no episode cap)."""
    single_thread()
    from pgcore.training.config import preset
    from pgcore.training.trainer import train

    cfg = preset(preset_name, seed=seed, max_episodes=None, max_steps=budget)
    if cfg.env_id != ENV_ID:
        raise ValueError(f"preset {preset_name!r} trains {cfg.env_id}, not {ENV_ID}")

    def on_event(ev) -> None:  # nothing to steer: every run goes to its budget
        pass

    res = train(cfg, on_event)
    returns = [float(r) for r in res.episode_returns]
    cum_steps = [int(x) for x in res.episode_env_steps]
    cum_seconds = [float(x) for x in res.episode_seconds]
    system = f"pgcore:{preset_name}"
    return {
        "system": label(system), "side": system, "seed": seed, "reason": res.reason,
        "message": res.message, "returns": returns, "cum_steps": cum_steps,
        "cum_seconds": cum_seconds,
        "summary": pendulum_summary(returns, cum_steps, cum_seconds, res.env_steps,
                                    res.wall_seconds, budget),
    }


def make_sb3_model(seed: int, env, use_sde: bool):
    from stable_baselines3 import PPO

    extra = dict(use_sde=True, sde_sample_freq=4) if use_sde else dict(use_sde=False)
    return PPO("MlpPolicy", env, seed=seed, device="cpu", verbose=0, **ZOO_PPO, **extra)


def run_sb3(system: str, seed: int, budget: int) -> dict:
    """SB3 PPO with the Zoo's Pendulum-v1 settings (gSDE or not) for exactly ``budget`` env
    steps; training returns from the Monitor wrapper."""
    single_thread()
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    env = make_vec_env(ENV_ID, n_envs=ZOO_N_ENVS, seed=seed)
    model = make_sb3_model(seed, env, use_sde=system == "sb3-ppo-gsde")
    record: dict[str, list] = {"returns": [], "cum_steps": [], "cum_seconds": []}
    t0 = [0.0]

    class Tracker(BaseCallback):
        def _on_step(self) -> bool:
            for info in self.locals["infos"]:
                ep = info.get("episode")
                if ep is not None:
                    record["returns"].append(float(ep["r"]))
                    record["cum_steps"].append(int(self.num_timesteps))
                    record["cum_seconds"].append(time.perf_counter() - t0[0])
            return self.num_timesteps < budget  # rollouts are 4,096 steps: stop exactly here

    t0[0] = time.perf_counter()
    model.learn(total_timesteps=budget, callback=Tracker())
    wall = time.perf_counter() - t0[0]
    steps = int(model.num_timesteps)
    env.close()
    return {
        "system": label(system), "side": system, "seed": seed,
        "reason": "max_steps", "message": "", **record,
        "summary": pendulum_summary(record["returns"], record["cum_steps"],
                                    record["cum_seconds"], steps, wall, budget),
    }


def run_system(system: str, seed: int, budget: int) -> dict:
    """Picklable entry point: one system, one seed, the whole budget."""
    if system.startswith("pgcore:"):
        return run_pgcore(system.split(":", 1)[1], seed, budget)
    return run_sb3(system, seed, budget)


# ----- the report -----------------------------------------------------------------------------


def fmt(x: float | None, kind: str) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else fmt_num(x, kind)


def med_range(values: Iterable[float | None], kind: str, empty: str = "-") -> str:
    """ "-180.3 [-251.0, -150.2]": median [min, max] of the non-None values (a comma, since
    returns are negative); ``empty`` if there are none."""
    vals = [v for v in values if v is not None]
    if not vals:
        return empty
    text = fmt_num(statistics.median(vals), kind)
    if len(vals) > 1:
        sep = ", " if min(vals) < 0 else "-"
        text += f" [{fmt_num(min(vals), kind)}{sep}{fmt_num(max(vals), kind)}]"
    return text


SUMMARY_HEADERS = ("system", "best avg-100", "final avg-100", "seeds reaching -200",
                   "env steps to -200", "seconds to -200", "training seconds", "env steps/s")


def summary_table(by: dict, systems: list[str], seeds: list[int]) -> str:
    rows = []
    for system in systems:
        runs = [by[(system, s)] for s in seeds if (system, s) in by]
        if not runs:
            continue
        reached = sum(r["steps_to_threshold"] is not None for r in runs)
        rows.append([
            label(system),
            med_range([r["best_avg100"] for r in runs], "avg",
                      empty=f"- (under {DEFAULT_WINDOW} episodes)"),
            med_range([r["final_avg100"] for r in runs], "avg"),
            f"{reached} of {len(runs)}",
            med_range([r["steps_to_threshold"] for r in runs], "steps", empty="never"),
            med_range([r["seconds_to_threshold"] for r in runs], "sec", empty="never"),
            med_range([r["wall_seconds"] for r in runs], "sec"),
            med_range([r["steps_per_second"] for r in runs], "rate"),
        ])
    return markdown_table(SUMMARY_HEADERS, rows)


def per_seed_table(by: dict, systems: list[str], seeds: list[int]) -> str:
    rows = []
    for seed in seeds:
        for system in systems:
            r = by.get((system, seed))
            if r is None:
                continue
            rows.append([seed, label(system), fmt(r["best_avg100"], "avg"),
                         fmt(r["final_avg100"], "avg"), fmt(r["episodes_to_threshold"], "int"),
                         fmt(r["steps_to_threshold"], "steps"),
                         fmt(r["seconds_to_threshold"], "sec"), r["episodes"],
                         fmt(r["env_steps"], "steps"), fmt(r["wall_seconds"], "sec"),
                         fmt(r["steps_per_second"], "rate")])
    return markdown_table(("seed", "system", "best avg-100", "final avg-100",
                           "episodes to -200", "steps to -200", "s to -200",
                           "episodes in budget", "env steps (run)", "training s",
                           "env steps/s"), rows)


def targets(by: dict, systems: list[str], seeds: list[int], budget: int) -> str:
    lines = ["Target (issue 10): pgcore's best 100-episode training average is -200 or better "
             "on at least 4 of 5 seeds, within 200,000 env steps."]
    if budget != ISSUE_BUDGET or len(seeds) != ISSUE_SEEDS:
        lines.append(f"- (not the issue's setting: {budget:,} env steps, {len(seeds)} seed(s); "
                     f"the issue's is {ISSUE_BUDGET:,} and {ISSUE_SEEDS} seeds)")
    pg = [s for s in systems if s.startswith("pgcore:")]
    if not pg:
        lines.append("- no pgcore preset was run: no verdict.")
    for system in pg:
        runs = [by[(system, s)] for s in seeds if (system, s) in by]
        n = len(runs)
        need = math.ceil(0.8 * n)
        k = sum(r["best_avg100"] is not None and r["best_avg100"] >= THRESHOLD - 1e-9
                for r in runs)
        verdict = "PASS" if n and k >= need else "FAIL"
        lines.append(f"- {label(system)}: best avg-100 >= -200 on {k}/{n} seeds "
                     f"(need {need}/{n}) -> {verdict}")
    return "\n".join(lines)


def report(results: list[dict], systems: list[str], seeds: list[int], budget: int) -> str:
    by = {(r["side"], r["seed"]): r["summary"] for r in results}
    note = ("Median [min, max] over seeds; the to -200 columns over the seeds that reach it "
            "(the first full 100-episode window of training returns averaging >= -200). "
            "\"training seconds\" is the whole run; env steps/s = its env steps / those seconds.")
    return "\n\n".join([summary_table(by, systems, seeds), note,
                        per_seed_table(by, systems, seeds),
                        targets(by, systems, seeds, budget)])


# ----- command line ---------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--systems", nargs="+", choices=SYSTEM_CHOICES, default=list(SYSTEM_CHOICES),
                   help="pgcore (every --pgcore-presets), sb3-ppo-gsde, sb3-ppo-gaussian "
                        "(default: all)")
    p.add_argument("--pgcore-presets", nargs="+", default=list(DEFAULT_PRESETS),
                   metavar="PRESET", help="pgcore presets to run (default: ppo-pendulum)")
    p.add_argument("--seeds", nargs="+", type=int, default=None,
                   help="default 0 1 2 3 4 (--quick: 0)")
    p.add_argument("--budget", type=int, default=None,
                   help=f"env steps per run, every system (default {BUDGET:,}; "
                        f"--quick: {QUICK_BUDGET:,})")
    p.add_argument("--jobs", type=int, default=1,
                   help="parallel worker processes (default 1: clean timings)")
    p.add_argument("--json", metavar="FILE", help="write every run's raw figures here")
    p.add_argument("--quick", action="store_true",
                   help=f"smoke test: seed 0, {QUICK_BUDGET:,} env steps per run, all systems")
    args = p.parse_args(argv)
    if args.seeds is None:
        args.seeds = [0] if args.quick else [0, 1, 2, 3, 4]
    if args.budget is None:
        args.budget = QUICK_BUDGET if args.quick else BUDGET
    if args.jobs < 1 or args.budget < 1:
        p.error("--jobs and --budget must be at least 1")
    from pgcore.training.config import PRESETS

    for name in args.pgcore_presets:
        if name not in PRESETS:
            p.error(f"unknown pgcore preset {name!r}")
        if PRESETS[name].config().env_id != ENV_ID:
            p.error(f"pgcore preset {name!r} does not train {ENV_ID}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    single_thread()
    systems: list[str] = []
    for choice in args.systems:
        if choice == "pgcore":
            systems += [f"pgcore:{name}" for name in args.pgcore_presets]
        else:
            systems.append(choice)
    try:
        import stable_baselines3  # noqa: F401
    except ImportError:
        if any(s in SB3_SYSTEMS for s in systems):
            log("stable-baselines3 is not installed: skipping the SB3 rows")
            print("(stable-baselines3 is not installed: the SB3 rows are skipped.)\n")
        systems = [s for s in systems if s not in SB3_SYSTEMS]
    if not systems:
        log("nothing to run")
        return 1
    tasks = [(system, seed, args.budget) for seed in args.seeds for system in systems]

    def progress(task, res) -> None:
        s = res["summary"]
        log(f"  {res['system']:<34} seed {task[1]}: best avg-100 {fmt(s['best_avg100'], 'avg')}, "
            f"final {fmt(s['final_avg100'], 'avg')}, -200 at {s['steps_to_threshold']} steps, "
            f"{s['env_steps']} steps in {s['wall_seconds']:.1f} s")

    t0 = time.perf_counter()
    results = run_tasks(run_system, tasks, jobs=args.jobs, progress=progress)
    print(f"## Pendulum-v1: pgcore vs SB3 PPO (RL Zoo settings, with and without gSDE), "
          f"{args.budget:,} env steps per run (seeds {args.seeds}, jobs {args.jobs})\n")
    print(report(results, systems, args.seeds, args.budget))
    print(f"\nTotal wall time {time.perf_counter() - t0:.0f} s.")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "runs": results}, indent=1))
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
