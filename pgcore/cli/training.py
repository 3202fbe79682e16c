"""``train``: its flags, the config they give, one run per seed, the per-seed table and the
output files (episode CSV, JSON summary, checkpoints).

(Not ``train.py``: ``pgcore.cli.train`` is :func:`pgcore.training.trainer.train`, which tests
replace.) """

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import textwrap
from pathlib import Path

from .. import algos
from ..algos.common import check_action_space
from ..execution import usable_cores
from ..rl.envs import spec_for
from ..training.config import PRESETS, ConfigError, TrainConfig, default_config, preset
from ..training.metrics import CARTPOLE_V0_SOLVED, CARTPOLE_V1_SOLVED, summarize, write_csv
from ..training.trainer import RunResult
from .common import (
    ADDRESS_HELP,
    EXECUTOR_HELP,
    EXIT_FAILED,
    EXIT_OK,
    PRESET_HELP,
    CLIError,
    add_config_flags,
    add_flags,
    algo_help,
    budget,
    check_writable,
    config_overrides,
    executor_from_args,
    executor_pool,
    fmt,
    say,
    with_flag,
    write_file,
)
from .sweep_spec import parse_set
from .workers import run_parallel, run_sequential


def add_train_parser(sub) -> None:
    t = sub.add_parser(
        "train", help="train one agent per seed and report learning speed",
        description=textwrap.fill(
            "Train one agent per seed, starting from the algorithm's tuned defaults (or "
            "--preset) and changing only the flags given. Prints a table per seed: episodes, "
            "env steps and seconds until the 100-episode average return first reaches "
            f"{CARTPOLE_V0_SOLVED:g} and {CARTPOLE_V1_SOLVED:g} (CartPole; on other envs the "
            "best 100-episode average instead), the final 100-episode average and env steps "
            "per second.", 78),
        epilog="presets:\n" + "\n".join(
            textwrap.fill(p.description, 78, initial_indent=f"  {p.name:<24}",
                          subsequent_indent=" " * 26) for p in PRESETS.values()),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_flags(t, {
        "algo": algo_help("algorithm (required unless --preset gives it)"),
        "preset": PRESET_HELP,
    })
    add_config_flags(t)
    add_flags(t, {
        "set": {"action": "append", "default": [], "metavar": "FIELD=VALUE",
                "help": "set any config field, also those without a flag of their own "
                        "(hidden=64, max_seconds=900, eval_every=none); repeatable; a flag "
                        "given for the same field wins"},
        "seeds": "seeds to run (default 0)",
        "episodes": "episode budget (default 1000; 0 = no episode cap)",
        "max_steps": "env-step budget (default none); training ends at whichever budget "
                     "comes first",
        "jobs": "seeds trained at once in separate processes (default: min(seeds, CPUs this "
                "process may use, or the Ray cluster's)); 1 = one after another in this process",
        "executor": EXECUTOR_HELP,
        "address": ADDRESS_HELP,
        "out": "write one row per episode: seed, episode, return, length, env_steps, "
               "wall_seconds",
        "summary": 'write {"config": ..., "runs": [per-seed summary, ...]}',
        "save": {"metavar": "PATH", "help": "save the trained agent (with several seeds: "
                 "PATH-seed{S}.suffix)"},
        "quiet": "no progress bar or notes on stderr (the table still prints)",
    })


def seed_path(path: str | os.PathLike, seed: int) -> Path:
    """``runs/agent.pt`` -> ``runs/agent-seed3.pt`` (the suffix stays last)."""
    p = Path(path)
    return p.with_name(f"{p.stem}-seed{seed}{p.suffix}")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """Defaults for --algo/--baseline (or --preset), with only the given flags applied."""
    overrides = {}
    for spec in getattr(args, "set", None) or []:
        field, values = parse_set(spec)
        if len(values) != 1:
            raise CLIError(f"--set {spec!r}: train takes one value per field (a grid of "
                           "values is a sweep)")
        if field in ("algo", "preset"):
            raise CLIError(f"--set {spec!r}: give {field} with --{field}")
        overrides[field] = values[0]
    overrides.update(config_overrides(args))
    if args.max_steps is not None:
        overrides["max_steps"] = args.max_steps
    if args.episodes is not None:
        overrides["max_episodes"] = None if args.episodes == 0 else args.episodes
    if args.seeds:
        overrides["seed"] = args.seeds[0]
    if args.preset is not None:
        base = PRESETS[args.preset].values
        if args.algo is not None and args.algo != base["algo"]:
            algos.get(args.algo)  # an unknown name says so first
            raise CLIError(f"preset {args.preset!r} is for {base['algo']}, not {args.algo}")
        return preset(args.preset, **overrides)
    return default_config(args.algo, **overrides)


# ----- the per-seed summary and the end-of-run table ------------------------------------------

RECORD_FIGURES = ("episodes_to_195", "steps_to_195", "seconds_to_195", "episodes_to_475",
                  "steps_to_475", "seconds_to_475", "final_avg100", "steps_per_second")
"""The :func:`~pgcore.training.metrics.summarize` figures of a ``--summary`` run record, in
order."""


def run_record(result: RunResult) -> dict:
    """One run of the ``--summary`` file (and one row of the table), JSON-ready:
    ``seed``, the :data:`RECORD_FIGURES` of :func:`~pgcore.training.metrics.summarize`,
    ``episode_returns``, ``episodes``, ``env_steps``, ``wall_seconds`` and ``reason`` (why the
    run ended)."""
    s = summarize(result)
    record = {"seed": int(result.config.seed), **{k: s[k] for k in RECORD_FIGURES},
              "best_avg100": s["best_avg100"], "episode_returns": result.episode_returns,
              "episodes": s["episodes"],
              "env_steps": s["env_steps"], "wall_seconds": s["wall_seconds"],
              "reason": result.reason}
    if result.evaluations:
        record.update(greedy_figures(result.evaluations))
        record["evaluations"] = [{"env_steps": e.env_steps, "episodes": e.episodes,
                                  "mean_return": e.mean_return, "returns": list(e.returns)}
                                 for e in result.evaluations]
    return record


def greedy_figures(evaluations) -> dict:
    """``eval_last`` and ``eval_best`` (mean greedy return of the last and the best evaluation)
    and ``steps_to_eval_475`` (env steps at the first evaluation whose mean reached 475, or
    None)."""
    means = [e.mean_return for e in evaluations]
    first = next((e.env_steps for e in evaluations if e.mean_return >= CARTPOLE_V1_SOLVED),
                 None)
    return {"eval_last": means[-1], "eval_best": max(means), "steps_to_eval_475": first}



def has_solved_levels(env_id: str) -> bool:
    """Whether the 195 / 475 columns mean anything for ``env_id``: they are CartPole's
    "solved" levels (v0's and v1's), meaningless elsewhere (Pendulum's returns are negative)."""
    return env_id.split("-")[0] == "CartPole"


def format_table(summaries: list[dict], solved_levels: bool = True) -> str:
    """The per-seed table (plus a median row for several seeds). ``solved_levels`` (CartPole,
    :func:`has_solved_levels`): the episodes, steps and seconds to 195 and 475; otherwise the
    best 100-episode average instead."""
    a, b = int(CARTPOLE_V0_SOLVED), int(CARTPOLE_V1_SOLVED)
    levels = [(f"episodes_to_{a}", f"ep to {a}", "int"), (f"steps_to_{a}", f"steps to {a}", "int"),
              (f"seconds_to_{a}", f"s to {a}", "sec"),
              (f"episodes_to_{b}", f"ep to {b}", "int"), (f"steps_to_{b}", f"steps to {b}", "int"),
              (f"seconds_to_{b}", f"s to {b}", "sec")]
    cols = [("seed", "seed", "int"), ("episodes", "episodes", "int"),
            ("env_steps", "env steps", "int"), ("wall_seconds", "seconds", "sec"),
            *(levels if solved_levels else [("best_avg100", "best avg100", "f1")]),
            ("final_avg100", "final avg100", "f1"), ("steps_per_second", "steps/s", "int"),
            ("reason", "end", "str")]
    if any("eval_last" in s for s in summaries):  # greedy evaluations were asked for
        cols[-1:-1] = [("eval_last", "greedy last", "f1"), ("eval_best", "greedy best", "f1")]
        if solved_levels:
            cols[-1:-1] = [("steps_to_eval_475", "steps to greedy 475", "int")]
    rows = [[str(s.get(key)) if kind == "str" else fmt(s.get(key), kind)
             for key, _, kind in cols] for s in summaries]
    if len(summaries) > 1:
        med = []
        for key, _, kind in cols:
            if key == "seed":
                med.append("median")
            elif kind == "str":
                med.append("")
            else:
                vals = [s[key] for s in summaries if s.get(key) is not None]
                # a threshold never reached counts as "later than any": median of reached only
                # is misleading, so show it only when every seed reached it
                ok = len(vals) == len(summaries)
                med.append(fmt(statistics.median(vals), kind) if ok and vals else "-")
        rows.append(med)
    headers = [h for _, h, _ in cols]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) if i < len(cols) - 1 else h.ljust(w)
                       for i, (h, w) in enumerate(zip(headers, widths, strict=True))).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  ".join(c.rjust(w) if i < len(cols) - 1 else c.ljust(w)
                               for i, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip())
    if len(summaries) > 1 and solved_levels:
        for t in (a, b):
            n = sum(s[f"episodes_to_{t}"] is not None for s in summaries)
            lines.append(f"100-episode average reached {t}: {n} of {len(summaries)} seeds")
    return "\n".join(lines)


CSV_COLUMNS = ("episode", "return", "length", "env_steps", "wall_seconds")
"""The ``--out`` file's columns after ``seed``."""


def _write_csv(path: Path, results: list[RunResult]) -> None:
    with open(path, "w", newline="") as f:
        write_csv(f, (((r.config.seed,), r.history) for r in results), CSV_COLUMNS,
                  lead=("seed",), lineterminator="\r\n")


# ----- the command ----------------------------------------------------------------------------


def cmd_train(args: argparse.Namespace) -> int:
    if args.algo is None and args.preset is None:
        raise CLIError("train needs --algo or --preset")
    seeds = args.seeds if args.seeds else None
    if seeds is not None and len(set(seeds)) != len(seeds):
        dups = sorted({s for s in seeds if seeds.count(s) > 1})
        raise CLIError(f"--seeds lists seed {', '.join(map(str, dups))} more than once")
    try:
        base = config_from_args(args)
    except ConfigError as exc:
        raise CLIError(with_flag(str(exc))) from None
    seeds = seeds or [base.seed]
    configs = [base.replace(seed=s) for s in seeds]
    # an unknown env (EnvError) or an action space the algorithm cannot act in (ConfigError):
    # one line and exit 2, before any work
    check_action_space(base, spec_for(base))
    if args.jobs is not None and args.jobs < 1:
        raise CLIError(f"--jobs must be at least 1, got {args.jobs}")
    executor = executor_from_args(args)
    out = check_writable(args.out, "--out") if args.out else None
    summary_path = check_writable(args.summary, "--summary") if args.summary else None
    save_paths = {}
    if args.save:
        for s in seeds:
            p = seed_path(args.save, s) if len(seeds) > 1 else Path(args.save)
            save_paths[s] = check_writable(str(p), "--save")

    remote = executor.kind != "local"
    # on a cluster: connect now (a bad address is one line, exit 2, before any work)
    capacity = executor_pool(executor).workers if remote else usable_cores()
    jobs = min(len(seeds), args.jobs if args.jobs is not None else capacity)

    import torch

    torch.set_num_threads(1)
    where = (f"{jobs} at once on {executor.describe()} ({capacity} CPUs)" if remote
             else f"{jobs} process{'es' if jobs > 1 else ''}")
    say(f"training {base.algo} on {base.env_id}: seeds {' '.join(map(str, seeds))}, "
        f"{budget(base)}, {where}", args.quiet)
    if remote or jobs > 1:
        try:
            runs = run_parallel(configs, jobs, bool(save_paths), args.quiet, executor)
        finally:
            executor.shutdown()  # the command's workers end with it (Ctrl-C included)
    else:
        runs = run_sequential(configs, bool(save_paths), args.quiet)

    results = [r for r, _ in runs]
    summaries = [run_record(r) for r in results]
    print(format_table(summaries, has_solved_levels(base.env_id)), flush=True)

    if out is not None:
        write_file(out, "--out", lambda p: _write_csv(p, results))
        say(f"wrote {out}", args.quiet)
    if summary_path is not None:
        doc = {"config": base.to_dict(), "runs": summaries}
        write_file(summary_path, "--summary",
                   lambda p: p.write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n"))
        say(f"wrote {summary_path}", args.quiet)
    for (result, data) in runs:
        if data is not None:
            path = save_paths[result.config.seed]
            write_file(path, "--save", lambda p, d=data: p.write_bytes(d))
            say(f"saved {path}", args.quiet)

    diverged = [r for r in results if r.diverged]
    for r in diverged:
        print(f"seed {r.config.seed}: {r.message}", file=sys.stderr)
    return EXIT_FAILED if diverged else EXIT_OK
