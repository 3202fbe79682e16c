"""``sweep``: its flags, running the grid (see :mod:`.sweep_spec`) through an Experiment,
the per-config aggregate and table, and the CSV / JSON summary / reference files."""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
import textwrap
from pathlib import Path

import numpy as np

from ..algos.common import check_action_space
from ..execution import usable_cores
from ..rl.envs import spec_for
from ..training.metrics import CARTPOLE_V0_SOLVED, CARTPOLE_V1_SOLVED
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
    executor_from_args,
    executor_pool,
    fmt,
    say,
    write_file,
)
from .sweep_spec import load_sweep_file, sweep_jobs
from .training import has_solved_levels


def add_sweep_parser(sub) -> None:
    s = sub.add_parser(
        "sweep", help="train a grid of configs x seeds in parallel; write CSV and a summary",
        description=textwrap.fill(
            "Train every combination of the --set values (and of the [[configs]] of a "
            "--config file) with every seed, in parallel processes, starting from the "
            "algorithm's tuned defaults (or --preset). Writes one CSV row per episode and a "
            "JSON summary, and prints a table per config: how many seeds reached a "
            f"100-episode average of {CARTPOLE_V0_SOLVED:g} and {CARTPOLE_V1_SOLVED:g}, the "
            "median episodes to get there, the final 100-episode average and the wobble (std "
            "of the episode-to-episode change of the moving average, in return units).", 78),
        epilog=textwrap.dedent("""\
            examples:
              python -m pgcore sweep --algo a2c --seeds 0 1 2 --set lr=7e-4,1e-3 \\
                  --set entropy_beta=0,0.01 --out a2c.csv --summary a2c.json
              python -m pgcore sweep --algo reinforce --set baseline=none,value \\
                  --seeds 0 1 2 3 4 --episodes 1000 --out baselines.csv
              python -m pgcore sweep --config class.toml --out class.csv
              python -m pgcore sweep --config class.toml --executor ray --address auto \\
                  --reference bands.json.gz          # on the Ray cluster of this machine

            a --config file (TOML or JSON) may hold the same settings, e.g.:
              algo = "reinforce"            # or preset = "..."
              seeds = [0, 1, 2]
              episodes = 500
              [set]
              baseline = ["none", "value"]
              [[configs]]                   # optional: named variants, each crossed
              label = "small net"           # with [set] and the seeds
              hidden = 32
            flags given on the command line replace the file's values; --set adds axes."""),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_flags(s, {
        "config": {"metavar": "FILE", "help": "a TOML or JSON file describing the sweep"},
        "algo": algo_help("algorithm (unless --preset gives it)"),
        "preset": PRESET_HELP,
        "set": {"action": "append", "default": [], "metavar": "FIELD=V1,V2",
                "help": "a grid axis: a config field and comma-separated values (repeatable; "
                        "algo and preset are allowed too)"},
        "variant": {"action": "append", "default": [], "nargs": "+",
                    "metavar": ("LABEL", "FIELD=VALUE"),
                    "help": "a labelled config of the grid, like a [[configs]] table of a "
                            "--config file: its label, then field=value pairs (preset=NAME and "
                            "algo=NAME too); repeatable, each crossed with --set and the seeds"},
        "seeds": "seeds (default 0)",
        "episodes": "episode budget per run (default 1000; 0 = no episode cap)",
        "max_steps": "env-step budget per run",
        "jobs": "runs trained at once in separate processes (default: the CPUs this "
                "process may use, or the Ray cluster's); 1 = one after another in this process",
        "executor": EXECUTOR_HELP,
        "address": ADDRESS_HELP,
        "out": "write the tidy table: label, seed, episode, return, length, env_steps, "
               "wall_seconds, entropy",
        "summary": "write the grid, per-run figures and per-config aggregates as JSON",
        "reference": {"metavar": "FILE.json.gz",
                      "help": "write every finished run's returns as a reference file: the "
                              "\"typical run\" bands the app draws (see assets/reference/)"},
        "only": {"metavar": "LABEL", "nargs": "+",
                 "help": "train only these [[configs]] (or --variant) labels; with "
                         "--reference onto an existing file, its other groups are kept"},
        "quiet": "no progress bar or notes on stderr",
    })
    add_config_flags(s)


def _aggregate(summaries: list[dict]) -> dict:
    """Per config label: seeds, how many reached 195/475, medians (when all did), means."""
    out: dict[str, dict] = {}
    for label in dict.fromkeys(s["label"] for s in summaries):
        runs = [s for s in summaries if s["label"] == label]
        agg: dict = {"runs": len(runs), "failed": sum(s["state"] in ("error", "diverged")
                                                       for s in runs)}
        for t in (int(CARTPOLE_V0_SOLVED), int(CARTPOLE_V1_SOLVED)):
            hits = [s[f"episodes_to_{t}"] for s in runs if s[f"episodes_to_{t}"] is not None]
            agg[f"reached_{t}"] = len(hits)
            agg[f"median_episodes_to_{t}"] = (float(statistics.median(hits))
                                              if hits and len(hits) == len(runs) else None)
        for key in ("final_avg100", "wobble"):
            vals = [s[key] for s in runs if s[key] is not None]
            agg[f"{key}_mean"] = float(np.mean(vals)) if vals else None
            agg[f"{key}_std"] = float(np.std(vals)) if len(vals) > 1 else None
        out[label] = agg
    return out


def format_sweep_table(aggregate: dict, solved_levels: bool = True) -> str:
    """One row per config: reached counts, medians, final average (mean ± std), wobble.
    Without ``solved_levels`` (no CartPole job) the reached and median columns are left out."""
    headers = ["config", "runs", "reached 195", "median ep", "reached 475", "median ep",
               "final avg100", "wobble", "failed"]
    rows = []
    for label, a in aggregate.items():
        def pm(key, a=a):
            m, s = a[f"{key}_mean"], a[f"{key}_std"]
            return "-" if m is None else (f"{m:.1f}" if s is None else f"{m:.1f} ± {s:.1f}")

        rows.append([label, str(a["runs"]), f"{a['reached_195']}/{a['runs']}",
                     fmt(a["median_episodes_to_195"], "int"),
                     f"{a['reached_475']}/{a['runs']}",
                     fmt(a["median_episodes_to_475"], "int"), pm("final_avg100"),
                     pm("wobble"), str(a["failed"])])
    if not solved_levels:  # CartPole's 195 / 475 mean nothing here
        keep = [i for i, h in enumerate(headers) if not h.startswith(("reached", "median"))]
        headers, rows = [headers[i] for i in keep], [[r[i] for i in keep] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *map(line, rows)])


def cmd_sweep(args: argparse.Namespace) -> int:
    from ..execution.experiments import Experiment

    jobs, seeds = sweep_jobs(args)
    def key(config):
        return config.env_id, config.action_bins, config.squash_mean

    specs = {key(j.config): spec_for(j.config)  # unknown env: EnvError (exit 2) before any work
             for j in jobs}
    for j in jobs:  # an algorithm that cannot act in its env's actions: ConfigError (exit 2)
        check_action_space(j.config, specs[key(j.config)])
    if args.jobs is not None and args.jobs < 1:
        raise CLIError(f"--jobs must be at least 1, got {args.jobs}")
    file_jobs = load_sweep_file(args.config).get("jobs") if args.config else None
    n_jobs = args.jobs if args.jobs is not None else file_jobs
    if n_jobs is not None and (not isinstance(n_jobs, int) or n_jobs < 1):
        raise CLIError(f"jobs must be a whole number >= 1, got {n_jobs!r}")
    executor = executor_from_args(args)
    out = check_writable(args.out, "--out") if args.out else None
    summary_path = check_writable(args.summary, "--summary") if args.summary else None
    reference_path = check_writable(args.reference, "--reference") if args.reference else None
    remote = executor.kind != "local"
    # on a cluster: connect now (a bad address is one line, exit 2, before any work)
    capacity = executor_pool(executor).workers if remote else usable_cores()
    workers = min(len(jobs), n_jobs or capacity)
    labels = list(dict.fromkeys(j.label for j in jobs))
    where = (f"{workers} at once on {executor.describe()} ({capacity} CPUs)" if remote
             else f"{workers} process{'es' if workers > 1 else ''}")
    say(f"sweep: {len(labels)} config(s) x {len(seeds)} seed(s) = {len(jobs)} runs, "
        f"{budget(jobs[0].config)} each, {where}", args.quiet)

    parallel = remote or workers > 1
    exp = Experiment(jobs, mode="process" if parallel else "inline", workers=workers,
                     executor=executor if parallel else "local")
    bar = None
    total = sum(j.config.max_episodes or 0 for j in jobs)
    if not args.quiet:
        from tqdm import tqdm

        bar = tqdm(total=total or None, desc="sweep", unit="ep", file=sys.stderr,
                   dynamic_ncols=True, mininterval=0.5)
    try:
        exp.start()
        while not exp.join(0.25):
            if bar is not None:
                snap = exp.snapshot()
                bar.n = snap.episode_count
                ended = sum(r.ended for r in snap.runs)
                bar.set_postfix_str(f"{ended}/{len(jobs)} runs done", refresh=False)
                bar.update(0)
    except BaseException:
        exp.stop()  # Ctrl-C / SIGTERM: stop the workers before leaving
        exp.join(30.0)
        raise
    finally:
        if bar is not None:
            snap = exp.snapshot()
            bar.n = snap.episode_count
            bar.close()
        if parallel:
            executor.shutdown()
    snap = exp.snapshot()
    summaries = snap.summaries()
    aggregate = _aggregate(summaries)
    solved = any(has_solved_levels(j.config.env_id) for j in jobs)
    print(format_sweep_table(aggregate, solved), flush=True)
    if out is not None:
        data = snap.to_csv()
        write_file(out, "--out", lambda p: p.write_bytes(data))
        say(f"wrote {out}", args.quiet)
    if summary_path is not None:
        doc = {"seeds": seeds,
               "configs": [{"label": label, "config": {
                   k: v for k, v in next(j.config for j in jobs if j.label == label)
                   .to_dict().items() if k != "seed"}} for label in labels],
               "runs": summaries, "by_config": aggregate}
        write_file(summary_path, "--summary",
                   lambda p: p.write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n"))
        say(f"wrote {summary_path}", args.quiet)
    if reference_path is not None:
        _write_reference(reference_path, snap, args)
    failed = snap.errors()
    for line in failed:
        print(line, file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK


def _write_reference(path: Path, snap, args: argparse.Namespace) -> None:
    from ..training.reference import (
        ReferenceError,
        merge_reference,
        reference_document,
        write_reference,
    )

    command = "python -m pgcore " + shlex.join(getattr(args, "argv", None) or [])
    try:
        doc = reference_document(snap, made_with=command.strip())
        if getattr(args, "only", None) and path.exists():
            order = [str(c.get("label", "")) for c in
                     load_sweep_file(args.config).get("configs", [])] if args.config else []
            doc, kept_old = merge_reference(path, doc, order)
            say(f"--reference: kept {', '.join(kept_old) or 'no'} group(s) of {path}",
                args.quiet)
    except ReferenceError as exc:
        print(f"--reference: not written: {exc}", file=sys.stderr)
        return
    kept = sum(len(g["runs"]) for g in doc["groups"] if g["label"] in snap.labels)
    written = {}

    def write(p: Path) -> None:
        written["bytes"] = write_reference(p, doc)

    write_file(path, "--reference", write)
    left_out = len(snap.runs) - kept
    say(f"wrote {path} ({kept} runs, {written['bytes'] / 1024:,.0f} KiB"
        f"{f'; {left_out} unfinished run(s) left out' if left_out else ''})", args.quiet)
