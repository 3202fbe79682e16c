"""pgcore ``dqn`` against Stable-Baselines3 DQN with the RL Zoo CartPole-v1 settings.

For each seed, both systems train for the same env-step budget (default 150,000), in one
invocation, seed by seed. Every ``--eval-every`` (5,000) env steps each is paused for a greedy
evaluation of ``--eval-episodes`` (10) episodes on a separate CartPole-v1, episode k reset with
the seed :func:`pgcore.training.evaluation.evaluation_seeds` gives (the same start states for both
systems); evaluation time is not training time on either side. Per run: env steps and training
seconds to the first 100-episode *training*-return average >= 475 and to the first greedy
evaluation mean >= 475, the best and final 100-episode averages, the best and final greedy
evaluation means, env steps and gradient steps per second (whole run, training time only).
The table gives median [min-max] over seeds (threshold medians over the seeds that reach it,
with the count) and the ratio pgcore / SB3 of the medians. The issue's targets: (1) pgcore's
training average reaches 475 within 150k env steps on >= 4 of 5 seeds; (2) pgcore's median env
steps to greedy 475 are fewer than SB3's; (3) its median training seconds to greedy 475 are at
most half SB3's. A seed that never reaches a threshold counts as "above the budget" there.

RL Zoo hyperparameters (rl-baselines3-zoo ``hyperparams/dqn.yml``, CartPole-v1 entry):
policy MlpPolicy with net_arch [256, 256], learning_rate 2.3e-3, batch_size 64, buffer_size
100,000, learning_starts 1,000, gamma 0.99, target_update_interval 10 (env steps), train_freq
256, gradient_steps 128, exploration_fraction 0.16, exploration_final_eps 0.04, n_envs 1; the
Zoo trains for n_timesteps 5e4. SB3's epsilon schedule is a fraction of the ``total_timesteps``
given to ``learn()``, so with a longer budget ``--sb3-exploration zoo`` (the default) scales
the fraction to keep the Zoo's absolute schedule (epsilon 1 -> 0.04 over the first 0.16 x 5e4
= 8,000 env steps); ``--sb3-exploration budget`` passes 0.16 as is (over 0.16 x the budget).

pgcore runs ``default_config("dqn", seed=s, max_steps=budget, eval_every=5000,
eval_episodes=10)`` through ``train(cfg, on_event=...)``; its ``wall_seconds`` already exclude
evaluations, and its gradient steps are ``RunResult.updates``. SB3 returns come from the
``Monitor`` wrapper ``make_vec_env`` adds (``info["episode"]["r"]``); its clock starts just
before ``learn()``, and the callback's evaluation time is subtracted; its gradient steps are
``model._n_updates``. ``--stop-early`` ends a run once both thresholds are reached (then the
final averages mean "at the stop").

Usage::

    python bench/bench_dqn.py                         # seeds 0-4, both systems, 150k steps
    python bench/bench_dqn.py --seeds 0 1 --jobs 1 --json dqn.json
    python bench/bench_dqn.py --systems sb3-dqn --stop-early
    python bench/bench_dqn.py --quick                 # seconds: a smoke test of the script
"""

from __future__ import annotations

import argparse
import json
import math
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
)

from pgcore.training.metrics import summarize as pg_summarize  # noqa: E402 - after common's sys.path

SYSTEMS = ("pgcore-dqn", "sb3-dqn")
LABEL = {"pgcore-dqn": "pgcore dqn", "sb3-dqn": "SB3 DQN (RL Zoo)"}
ENV_ID = "CartPole-v1"
THRESHOLD = 475.0
BUDGET = 150_000
ISSUE_BUDGET = 150_000  # target (1): "within 150k env steps"
ZOO_TIMESTEPS = 50_000  # n_timesteps of the Zoo's CartPole-v1 DQN entry
ZOO_EXPLORATION_FRACTION = 0.16
ZOO_DQN = dict(learning_rate=2.3e-3, batch_size=64, buffer_size=100_000, learning_starts=1_000,
               gamma=0.99, target_update_interval=10, train_freq=256, gradient_steps=128,
               exploration_final_eps=0.04)


def sb3_exploration_fraction(budget: int, mode: str) -> float:
    """``zoo``: the Zoo's schedule in env steps (0.16 x 5e4) as a fraction of ``budget``
    (above 1 for a budget under 8,000: epsilon then never reaches 0.04, as in the Zoo);
    ``budget``: 0.16 of whatever the budget is."""
    if mode == "zoo":
        return ZOO_EXPLORATION_FRACTION * ZOO_TIMESTEPS / budget
    return ZOO_EXPLORATION_FRACTION


def make_sb3_model(seed: int, env, budget: int, exploration: str = "zoo"):
    from stable_baselines3 import DQN

    return DQN("MlpPolicy", env, policy_kwargs=dict(net_arch=[256, 256]),
               exploration_fraction=sb3_exploration_fraction(budget, exploration),
               seed=seed, device="cpu", verbose=0, **ZOO_DQN)


def _finish(record: dict, env_steps: int, seconds: float, updates: int) -> dict:
    """The per-run figures from the raw series (None where not reached or unknown)."""
    s = pg_summarize(record["returns"], record["cum_steps"], record["cum_seconds"],
                     run_steps=env_steps, run_seconds=seconds)
    evals = record["evals"]
    first = next((e for e in evals if e["mean"] >= THRESHOLD - 1e-9), None)
    means = [e["mean"] for e in evals]
    return {
        "episodes": s["episodes"],
        "steps_to_475": s["steps_to_475"], "seconds_to_475": s["seconds_to_475"],
        "eval_steps_to_475": None if first is None else first["env_steps"],
        "eval_seconds_to_475": None if first is None else first["seconds"],
        "best_avg100": s["best_avg100"], "final_avg100": s["final_avg100"],
        "best_eval": max(means) if means else None,
        "final_eval": means[-1] if means else None,
        "env_steps": int(env_steps), "wall_seconds": float(seconds), "updates": int(updates),
        "steps_per_second": env_steps / seconds if seconds > 0 else None,
        "updates_per_second": updates / seconds if seconds > 0 else None,
    }


def run_pgcore(seed: int, budget: int, eval_every: int, eval_episodes: int,
               stop_early: bool = False) -> dict:
    """pgcore's default ``dqn`` for ``budget`` env steps, greedy evaluations on the way."""
    single_thread()
    from pgcore import EpisodeEnd, Evaluation, RunControl, UpdateEnd, default_config, train

    cfg = default_config("dqn", seed=seed, max_steps=budget, eval_every=eval_every,
                         eval_episodes=eval_episodes)
    control = RunControl()
    watch = ThresholdWatch(THRESHOLD)
    record: dict[str, list] = {"returns": [], "cum_steps": [], "cum_seconds": [], "evals": []}
    state = {"seconds": 0.0, "train_hit": False, "eval_hit": False}

    def on_event(ev) -> None:
        if isinstance(ev, UpdateEnd):
            state["seconds"] = ev.wall_seconds
        elif isinstance(ev, EpisodeEnd):
            state["seconds"] = ev.wall_seconds
            record["returns"].append(float(ev.episode_return))
            record["cum_steps"].append(int(ev.env_steps))
            record["cum_seconds"].append(float(ev.wall_seconds))
            if watch.update(ev.episode_return):
                state["train_hit"] = True
        elif isinstance(ev, Evaluation):
            # The trainer evaluates right after an EpisodeEnd or UpdateEnd, so the training
            # time then is that event's wall_seconds (the evaluation itself counts as a pause).
            record["evals"].append({"env_steps": int(ev.env_steps), "seconds": state["seconds"],
                                    "mean": ev.mean_return,
                                    "returns": [float(r) for r in ev.returns]})
            if ev.mean_return >= THRESHOLD - 1e-9:
                state["eval_hit"] = True
        if stop_early and state["train_hit"] and state["eval_hit"]:
            control.stop()

    res = train(cfg, on_event=on_event, control=control)
    return {
        "system": LABEL["pgcore-dqn"], "side": "pgcore-dqn", "seed": seed,
        "reason": res.reason, "message": res.message, **record,
        "summary": _finish(record, res.env_steps, res.wall_seconds, res.updates),
    }


def run_sb3(seed: int, budget: int, eval_every: int, eval_episodes: int,
            stop_early: bool = False, exploration: str = "zoo") -> dict:
    """SB3 DQN with the Zoo settings for ``budget`` env steps (exactly: the callback stops
    the last rollout there), greedy evaluations on the way, their time off the clock."""
    single_thread()
    import gymnasium as gym
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    from pgcore.training.evaluation import evaluation_seeds

    env = make_vec_env(ENV_ID, n_envs=1, seed=seed)
    model = make_sb3_model(seed, env, budget, exploration)
    eval_env = gym.make(ENV_ID)
    start_seeds = evaluation_seeds(seed, eval_episodes)
    watch = ThresholdWatch(THRESHOLD)
    record: dict[str, list] = {"returns": [], "cum_steps": [], "cum_seconds": [], "evals": []}
    clock = {"t0": 0.0, "eval": 0.0, "next_eval": eval_every, "train_hit": False,
             "eval_hit": False}

    def training_seconds() -> float:
        return time.perf_counter() - clock["t0"] - clock["eval"]

    def evaluate() -> list[float]:
        returns = []
        for start in start_seeds:
            obs, _ = eval_env.reset(seed=start)
            total, done = 0.0, False
            while not done:
                action, _ = model.predict(obs, deterministic=True)  # draws no random numbers
                obs, reward, terminated, truncated, _ = eval_env.step(int(action))
                total += float(reward)
                done = terminated or truncated
            returns.append(total)
        return returns

    class Tracker(BaseCallback):
        def _on_step(self) -> bool:
            for info in self.locals["infos"]:
                ep = info.get("episode")
                if ep is None:
                    continue
                record["returns"].append(float(ep["r"]))
                record["cum_steps"].append(int(self.num_timesteps))
                record["cum_seconds"].append(training_seconds())
                if watch.update(float(ep["r"])):
                    clock["train_hit"] = True
            if self.num_timesteps >= clock["next_eval"]:
                clock["next_eval"] = (self.num_timesteps // eval_every + 1) * eval_every
                now = training_seconds()
                t = time.perf_counter()
                returns = evaluate()
                clock["eval"] += time.perf_counter() - t
                mean = statistics.fmean(returns)
                record["evals"].append({"env_steps": int(self.num_timesteps), "seconds": now,
                                        "mean": mean, "returns": returns})
                if mean >= THRESHOLD - 1e-9:
                    clock["eval_hit"] = True
            if stop_early and clock["train_hit"] and clock["eval_hit"]:
                return False
            return self.num_timesteps < budget  # rollouts are 256 steps: stop exactly here

    clock["t0"] = time.perf_counter()
    model.learn(total_timesteps=budget, callback=Tracker())
    wall = training_seconds()
    eval_seconds = clock["eval"]
    env.close()
    eval_env.close()
    reason = ("stopped" if stop_early and clock["train_hit"] and clock["eval_hit"]
              else "max_steps")
    return {
        "system": LABEL["sb3-dqn"], "side": "sb3-dqn", "seed": seed, "reason": reason,
        "eval_seconds": eval_seconds, **record,
        "summary": _finish(record, int(model.num_timesteps), wall, int(model._n_updates)),
    }


def run_system(system: str, seed: int, budget: int, eval_every: int, eval_episodes: int,
               stop_early: bool, exploration: str) -> dict:
    """Picklable entry point: one system, one seed."""
    if system == "pgcore-dqn":
        return run_pgcore(seed, budget, eval_every, eval_episodes, stop_early)
    return run_sb3(seed, budget, eval_every, eval_episodes, stop_early, exploration)


# ----- the report -----------------------------------------------------------------------------

# (key, label, format kind, is a threshold, ratio meaningful)
METRICS = (
    ("steps_to_475", "env steps to training avg-100 >= 475 (seeds)", "steps", True, True),
    ("seconds_to_475", "training seconds to training avg-100 >= 475", "sec", True, True),
    ("eval_steps_to_475", "env steps to greedy eval mean >= 475 (seeds)", "steps", True, True),
    ("eval_seconds_to_475", "training seconds to greedy eval mean >= 475", "sec", True, True),
    ("best_avg100", "best training avg-100", "avg", False, False),
    ("final_avg100", "final training avg-100", "avg", False, False),
    ("best_eval", "best greedy eval mean", "avg", False, False),
    ("final_eval", "final greedy eval mean", "avg", False, False),
    ("steps_per_second", "env steps / s (training time)", "rate", False, True),
    ("updates_per_second", "gradient steps / s (training time)", "rate", False, True),
    ("updates", "gradient steps (whole run)", "steps", False, True),
    ("wall_seconds", "training seconds (whole run)", "sec", False, True),
)
BOUND = {"steps_to_475": "env_steps", "eval_steps_to_475": "env_steps",
         "seconds_to_475": "wall_seconds", "eval_seconds_to_475": "wall_seconds"}
"""A run that never reached a threshold took more than its whole run's steps / seconds."""


def censored_median(runs: list[dict], key: str) -> tuple[float | None, bool]:
    """The median over *all* seeds of a threshold figure, a seed that never reached it
    counting as above its run's budget: (median, False) when that is exact, (a lower bound,
    True) when the median falls on such a seed. (None, False) without runs."""
    if not runs:
        return None, False
    inf = [r[key] if r[key] is not None else math.inf for r in runs]
    exact = statistics.median(inf)
    if math.isfinite(exact):
        return float(exact), False
    bound = BOUND[key]
    return float(statistics.median([r[key] if r[key] is not None else r[bound]
                                    for r in runs])), True


def _never(runs: list[dict], key: str, who: str) -> str:
    reached = sum(r[key] is not None for r in runs)
    return f"{who} never reached it" if reached == 0 else f"{who}'s median not reached"


def _ratio_cell(key: str, pg: list[dict], ref: list[dict], meaningful: bool) -> str:
    """pgcore / SB3 of the medians; for a threshold, of the medians over all seeds (see
    :func:`censored_median`), a bound where one side's median is only a bound."""
    if not meaningful or not pg or not ref:
        return "-"
    if key in BOUND:
        p, p_cens = censored_median(pg, key)
        s, s_cens = censored_median(ref, key)
        if (p_cens and s_cens) or not s:
            return "-"
        if s_cens:
            return f"< {p / s:.2f} ({_never(ref, key, 'SB3')})"
        if p_cens:
            return f"> {p / s:.2f} ({_never(pg, key, 'pgcore')})"
        return f"{p / s:.2f}"
    p = median_of([r[key] for r in pg])
    s = median_of([r[key] for r in ref])
    return "-" if p is None or s is None or s == 0 else f"{p / s:.2f}"


def _cell(key: str, kind: str, threshold: bool, runs: list[dict]) -> str:
    n = len(runs)
    values = [r[key] for r in runs]
    if not threshold:
        return median_range(values, kind, n_total=n, empty="-")
    if all(v is None for v in values):
        lb = median_of([r[BOUND[key]] for r in runs])
        return f"never (0/{n}): > {fmt_num(lb, kind)}"
    return median_range(values, kind, n_total=n, show_count=True)


def summary_table(by: dict, systems: list[str], seeds: list[int]) -> str:
    runs = {s: [by[(s, seed)] for seed in seeds if (s, seed) in by] for s in systems}
    both = "pgcore-dqn" in systems and "sb3-dqn" in systems
    headers = ["metric", *(LABEL[s] for s in systems)] + (["pgcore / SB3"] if both else [])
    rows = []
    for key, label, kind, threshold, meaningful in METRICS:
        row = [label, *(_cell(key, kind, threshold, runs[s]) for s in systems)]
        if both:
            row.append(_ratio_cell(key, runs["pgcore-dqn"], runs["sb3-dqn"], meaningful))
        rows.append(row)
    return markdown_table(headers, rows)


def per_seed_table(by: dict, systems: list[str], seeds: list[int]) -> str:
    rows = []
    for seed in seeds:
        for s in systems:
            r = by.get((s, seed))
            if r is None:
                continue
            rows.append([seed, LABEL[s], fmt_num(r["steps_to_475"], "steps"),
                         fmt_num(r["seconds_to_475"], "sec"),
                         fmt_num(r["eval_steps_to_475"], "steps"),
                         fmt_num(r["eval_seconds_to_475"], "sec"),
                         fmt_num(r["best_avg100"], "avg"), fmt_num(r["final_avg100"], "avg"),
                         fmt_num(r["best_eval"], "avg"), fmt_num(r["final_eval"], "avg"),
                         fmt_num(r["steps_per_second"], "rate"),
                         fmt_num(r["updates_per_second"], "rate")])
    return markdown_table(("seed", "system", "steps to train 475", "s to train 475",
                           "steps to eval 475", "s to eval 475", "best avg-100",
                           "final avg-100", "best eval", "final eval", "env steps/s",
                           "grad steps/s"), rows)


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def targets(by: dict, systems: list[str], seeds: list[int], budget: int) -> str:
    pg = [by[("pgcore-dqn", s)] for s in seeds if ("pgcore-dqn", s) in by]
    ref = [by[("sb3-dqn", s)] for s in seeds if ("sb3-dqn", s) in by]
    lines = ["Targets (medians over all seeds; a seed that never reached a threshold counts as "
             "above its run's budget, which is then a lower bound):"]
    if not pg:
        return "\n".join(lines + ["- pgcore dqn was not run: no verdicts."])
    if budget != ISSUE_BUDGET or len(seeds) != 5:
        lines.append(f"- (not the issue's setting: budget {budget:,} env steps, {len(seeds)} "
                     "seed(s); the issue's is 150,000 and 5 seeds)")
    n = len(pg)
    need = math.ceil(0.8 * n)
    k = sum(r["steps_to_475"] is not None and r["steps_to_475"] <= ISSUE_BUDGET for r in pg)
    lines.append(f"- (1) pgcore reaches training avg-100 475 within 150k env steps on >= 4 of "
                 f"5 seeds: {k}/{n} (need {need}/{n}) -> {_verdict(k >= need)}")
    for num, key, kind, factor, what in (
            (2, "eval_steps_to_475", "steps", 1.0, "median env steps to greedy eval 475 < SB3's"),
            (3, "eval_seconds_to_475", "sec", 0.5,
             "median training seconds to greedy eval 475 <= 0.5 x SB3's")):
        head = f"- ({num}) pgcore's {what}: "
        if not ref:
            lines.append(head + "n/a (SB3 was not run)")
            continue
        p, p_cens = censored_median(pg, key)
        s, s_cens = censored_median(ref, key)
        if s_cens:
            reached = sum(r[key] is not None for r in ref)
            s_text = f"> {fmt_num(s, kind)} ({_never(ref, key, 'SB3')}: {reached}/{len(ref)})"
        else:
            s_text = fmt_num(s, kind)
        p_text = f"> {fmt_num(p, kind)} (not reached)" if p_cens else fmt_num(p, kind)
        if p_cens:
            ok = False  # pgcore's own median is unknown: no claim
        elif num == 2:
            ok = p < s
        else:
            ok = p <= factor * s
        ratio = "" if p_cens or not s else f", ratio {'< ' if s_cens else ''}{p / s:.2f}"
        lines.append(head + f"pgcore {p_text} vs SB3 {s_text}{ratio} -> {_verdict(ok)}")
    return "\n".join(lines)


def report(results: list[dict], systems: list[str], seeds: list[int], budget: int) -> str:
    by = {(r["side"], r["seed"]): r["summary"] for r in results}
    note = ("Threshold rows: median [min-max] over the seeds that reached it (how many in "
            "brackets); their pgcore / SB3 is the ratio of the medians over all seeds, a seed "
            "that never reached it counting as above its budget (then a bound: < or >).")
    return "\n\n".join([summary_table(by, systems, seeds), note,
                        per_seed_table(by, systems, seeds),
                        targets(by, systems, seeds, budget)])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--systems", nargs="+", choices=SYSTEMS, default=list(SYSTEMS))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    p.add_argument("--budget", type=int, default=BUDGET,
                   help=f"env steps per run, both systems (default {BUDGET:,})")
    p.add_argument("--eval-every", type=int, default=5_000,
                   help="env steps between greedy evaluations (default 5,000)")
    p.add_argument("--eval-episodes", type=int, default=10,
                   help="greedy episodes per evaluation (default 10)")
    p.add_argument("--sb3-exploration", choices=("zoo", "budget"), default="zoo",
                   help="zoo: SB3's epsilon anneals over the Zoo's 8,000 env steps whatever the "
                        "budget (default); budget: exploration_fraction 0.16 of the budget")
    p.add_argument("--stop-early", action="store_true",
                   help="end a run once both thresholds are reached (default: full budget)")
    p.add_argument("--jobs", type=int, default=2,
                   help="parallel worker processes (default 2; 1 gives the cleanest timings)")
    p.add_argument("--json", metavar="PATH", help="also write every run's raw results here")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: seed 0, 3,000 env steps, evaluations of 2 episodes "
                        "every 1,000 steps")
    args = p.parse_args(argv)
    if min(args.jobs, args.budget, args.eval_every, args.eval_episodes) < 1:
        p.error("--jobs, --budget, --eval-every and --eval-episodes must be at least 1")
    if args.quick:
        args.seeds, args.budget, args.eval_every, args.eval_episodes = [0], 3_000, 1_000, 2
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    single_thread()
    systems = list(args.systems)
    try:
        import stable_baselines3  # noqa: F401
    except ImportError:
        if "sb3-dqn" in systems:
            log("stable-baselines3 is not installed: running pgcore dqn only")
        systems = [s for s in systems if s != "sb3-dqn"]
    if not systems:
        log("nothing to run")
        return 1
    tasks = [(sysname, seed, args.budget, args.eval_every, args.eval_episodes, args.stop_early,
              args.sb3_exploration) for seed in args.seeds for sysname in systems]

    def progress(task, res) -> None:
        s = res["summary"]
        log(f"  {res['system']:<17} seed {task[1]}: train 475 at {s['steps_to_475']} steps, "
            f"eval 475 at {s['eval_steps_to_475']} steps, {s['env_steps']} steps and "
            f"{s['updates']} gradient steps in {s['wall_seconds']:.1f} s ({res['reason']})")

    t0 = time.perf_counter()
    results = run_tasks(run_system, tasks, jobs=args.jobs, progress=progress)
    print(f"## CartPole-v1 DQN: pgcore dqn vs SB3 DQN (RL Zoo), {args.budget:,} env steps per "
          f"run, greedy evaluation of {args.eval_episodes} episodes every {args.eval_every:,} "
          f"steps (seeds {args.seeds}, jobs {args.jobs}"
          f"{', stop early' if args.stop_early else ''}, SB3 exploration "
          f"{args.sb3_exploration})\n")
    print(report(results, systems, args.seeds, args.budget))
    print(f"\nTotal wall time {time.perf_counter() - t0:.0f} s.")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "runs": results}, indent=1))
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
