"""Command line: ``python -m pgcore train ...`` and ``python -m pgcore eval ...``.

``train`` starts from the algorithm's tuned defaults (or a named preset), applies only the
flags given, trains one run per seed (in parallel processes when ``--jobs`` > 1), shows a
progress bar on stderr and prints a table of learning-speed figures per seed on stdout.
``eval`` plays a saved agent. Bad values print one line ``error: <reason>`` and exit 2;
a diverged run exits 1; Ctrl-C exits 130.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import multiprocessing as mp
import os
import shlex
import signal
import statistics
import sys
import textwrap
import threading
import time
from collections import deque
from pathlib import Path

import numpy as np

from .checkpoint import CheckpointError, checkpoint_bytes, load_checkpoint
from .config import ALGOS, BASELINES, PRESETS, ConfigError, TrainConfig, default_config, preset
from .envs import EnvError, env_spec
from .events import EpisodeEnd
from .metrics import CARTPOLE_V0_SOLVED, CARTPOLE_V1_SOLVED, final_average, run_summary
from .trainer import RunResult, train

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143


class CLIError(Exception):
    """A bad value found by the CLI itself (printed as one line, exit 2)."""


# ----- argument parsing -----------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pgcore",
        description="Policy-gradient agents (REINFORCE, actor-critic, A2C) on Gymnasium "
                    "environments with discrete actions.",
        epilog="Examples:\n"
               "  python -m pgcore train --algo a2c --seeds 0 1 2 3 4 --summary a2c.json\n"
               "  python -m pgcore train --preset actor-critic-lesson --episodes 300\n"
               "  python -m pgcore train --algo reinforce --save agent.pt\n"
               "  python -m pgcore eval --checkpoint agent.pt --episodes 20 --gif play.gif\n"
               "  python -m pgcore sweep --algo a2c --seeds 0 1 2 --set lr=7e-4,1e-3 "
               "--out sweep.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="{train,eval,sweep}")

    t = sub.add_parser(
        "train", help="train one agent per seed and report learning speed",
        description=textwrap.fill(
            "Train one agent per seed, starting from the algorithm's tuned defaults (or "
            "--preset) and changing only the flags given. Prints a table per seed: episodes, "
            "env steps and seconds until the 100-episode average return first reaches "
            f"{CARTPOLE_V0_SOLVED:g} and {CARTPOLE_V1_SOLVED:g}, the final 100-episode average "
            "and env steps per second.", 78),
        epilog="presets:\n" + "\n".join(
            textwrap.fill(p.description, 78, initial_indent=f"  {p.name:<24}",
                          subsequent_indent=" " * 26) for p in PRESETS.values()),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("--algo", choices=ALGOS,
                   help="algorithm (required unless --preset gives it)")
    t.add_argument("--baseline", choices=BASELINES,
                   help="REINFORCE baseline (default: value)")
    t.add_argument("--preset", choices=list(PRESETS), metavar="NAME",
                   help=f"start from a named preset: {', '.join(PRESETS)}")
    t.add_argument("--entropy-beta", type=float, metavar="B",
                   help="entropy bonus: maximise J + B*H (default from the preset, mostly 0)")
    t.add_argument("--lr", type=float, metavar="LR",
                   help="policy (and shared trunk) learning rate; the critic keeps its own")
    t.add_argument("--gamma", type=float, metavar="G", help="discount factor in (0, 1]")
    t.add_argument("--env", metavar="ID", help="Gymnasium env id (default CartPole-v1)")
    t.add_argument("--seeds", type=int, nargs="+", metavar="S", help="seeds to run (default 0)")
    t.add_argument("--episodes", type=int, metavar="N",
                   help="episode budget (default 1000; 0 = no episode cap)")
    t.add_argument("--max-steps", type=int, metavar="N",
                   help="env-step budget (default none); training ends at whichever budget "
                        "comes first")
    t.add_argument("--n-envs", type=int, metavar="N", help="parallel environments (a2c only)")
    t.add_argument("--jobs", type=int, metavar="J",
                   help="seeds trained at once in separate processes (default: min(seeds, "
                        "CPUs)); 1 = one after another in this process")
    t.add_argument("--out", metavar="FILE.csv",
                   help="write one row per episode: seed, episode, return, length, env_steps, "
                        "wall_seconds")
    t.add_argument("--summary", metavar="FILE.json",
                   help='write {"config": ..., "runs": [per-seed summary, ...]}')
    t.add_argument("--save", metavar="PATH",
                   help="save the trained agent (with several seeds: PATH-seed{S}.suffix)")
    t.add_argument("--quiet", action="store_true",
                   help="no progress bar or notes on stderr (the table still prints)")

    e = sub.add_parser("eval", help="play a saved agent and report its returns",
                       description="Load a checkpoint, play N episodes in its environment with "
                                   "its policy, and print the mean and std of the returns.")
    e.add_argument("--checkpoint", required=True, metavar="PATH", help="file from train --save")
    e.add_argument("--episodes", type=int, default=10, metavar="N",
                   help="episodes to play (default 10)")
    e.add_argument("--seed", type=int, default=0, metavar="S",
                   help="episode i is reset with seed S+i; also seeds the action sampler "
                        "(default 0)")
    e.add_argument("--greedy", action="store_true",
                   help="take the most probable action instead of sampling")
    e.add_argument("--gif", metavar="FILE.gif", help="write a GIF of the first episode")
    _add_sweep_parser(sub)
    return parser


# ----- helpers --------------------------------------------------------------------------------


def _say(msg: str, quiet: bool = False) -> None:
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


def _check_writable(path: str, flag: str) -> Path:
    """Fail early (before training) if an output file cannot be written."""
    p = Path(path)
    if not str(path).strip():
        raise CLIError(f"{flag} needs a file name")
    if p.is_dir():
        raise CLIError(f"{flag} {path}: is a directory")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise CLIError(f"{flag} {path}: directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise CLIError(f"{flag} {path}: not writable")
    return p


def _write(path: Path, flag: str, writer) -> None:
    try:
        writer(path)
    except OSError as exc:
        raise CLIError(f"cannot write {flag} {str(path)}: {exc.strerror or exc}") from None


def seed_path(path: str | os.PathLike, seed: int) -> Path:
    """``runs/agent.pt`` -> ``runs/agent-seed3.pt`` (the suffix stays last)."""
    p = Path(path)
    return p.with_name(f"{p.stem}-seed{seed}{p.suffix}")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """Defaults for --algo/--baseline (or --preset), with only the given flags applied."""
    overrides = {}
    for flag, field in (("entropy_beta", "entropy_beta"), ("lr", "lr"), ("gamma", "gamma"),
                        ("env", "env_id"), ("n_envs", "n_envs"), ("max_steps", "max_steps")):
        value = getattr(args, flag)
        if value is not None:
            overrides[field] = value
    if args.episodes is not None:
        overrides["max_episodes"] = None if args.episodes == 0 else args.episodes
    if args.seeds:
        overrides["seed"] = args.seeds[0]
    if args.preset is not None:
        base = PRESETS[args.preset].values
        if args.algo is not None and args.algo != base["algo"]:
            raise CLIError(f"preset {args.preset!r} is for {base['algo']}, not {args.algo}")
        if args.baseline is not None:
            overrides["baseline"] = args.baseline
        return preset(args.preset, **overrides)
    return default_config(args.algo, args.baseline, **overrides)


# ----- training one seed (in this process or in a worker) -------------------------------------

_PROGRESS_QUEUE = None


def _init_worker(queue, parent: int) -> None:
    """Worker process setup: one torch thread, Ctrl-C handled by the parent only, and a
    watchdog that ends the worker if the parent dies without cleaning up (e.g. SIGKILL)."""
    global _PROGRESS_QUEUE
    import torch

    torch.set_num_threads(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _PROGRESS_QUEUE = queue

    def watchdog() -> None:  # `parent` is passed in: it may be gone before we get here
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watchdog, name="pgcore-orphan-watchdog", daemon=True).start()


def _checkpoint_extra(result: RunResult) -> dict:
    return {"seed": result.config.seed, "episodes": len(result.episode_returns),
            "env_steps": int(result.env_steps), "reason": result.reason,
            "final_avg100": final_average(result.episode_returns)}


def train_seed(config: TrainConfig, on_progress=None, want_checkpoint: bool = False,
               progress_every: float = 0.0) -> tuple[RunResult, bytes | None]:
    """Train one config; ``on_progress(seed, episodes, env_steps, avg100)`` after episodes.

    Returns the result (without its agent, so it can cross a process boundary) and, if
    asked, the trained agent as checkpoint bytes.
    """
    window: deque[float] = deque(maxlen=100)
    last = [0.0]

    def on_event(event) -> None:
        if type(event) is not EpisodeEnd:
            return
        window.append(event.episode_return)
        if on_progress is None:
            return
        now = time.perf_counter()
        if now - last[0] >= progress_every:
            last[0] = now
            on_progress(config.seed, event.episode, event.env_steps,
                        sum(window) / len(window))

    result = train(config, on_event=on_event)
    if on_progress is not None:
        avg = sum(window) / len(window) if window else math.nan
        on_progress(config.seed, len(result.episode_returns), result.env_steps, avg)
    data = None
    if want_checkpoint and result.agent is not None:
        data = checkpoint_bytes(result.agent, extra=_checkpoint_extra(result))
    result.agent = None
    return result, data


def _worker_train(config: TrainConfig, want_checkpoint: bool):
    queue = _PROGRESS_QUEUE

    def report(seed, episodes, steps, avg):
        if queue is not None:
            queue.put((seed, episodes, steps, avg))

    return train_seed(config, report, want_checkpoint, progress_every=0.2)


class _Progress:
    """The tqdm bar(s): one per seed when sequential, one overall bar when parallel."""

    def __init__(self, config: TrainConfig, quiet: bool):
        self.by_episodes = config.max_episodes is not None
        self.per_run = config.max_episodes if self.by_episodes else config.max_steps
        self.unit = "ep" if self.by_episodes else "step"
        self.quiet = quiet
        self.bar = None
        self.counts: dict[int, int] = {}
        self.avgs: dict[int, float] = {}

    def open(self, desc: str, total: int | None) -> None:
        if self.quiet:
            return
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc=desc, unit=self.unit, file=sys.stderr,
                        dynamic_ncols=True, leave=True, mininterval=0.2)

    def update(self, seed: int, episodes: int, steps: int, avg: float) -> None:
        if self.bar is None:
            return
        self.counts[seed] = episodes if self.by_episodes else steps
        self.avgs[seed] = avg
        self.bar.n = sum(self.counts.values())
        finite = [a for a in self.avgs.values() if math.isfinite(a)]
        if finite:
            label = "avg100" if len(self.avgs) == 1 else "mean avg100"
            self.bar.set_postfix_str(f"{label} {sum(finite) / len(finite):.1f}", refresh=False)
        self.bar.update(0)  # redraws at most every mininterval

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        self.counts.clear()
        self.avgs.clear()


def _run_sequential(configs, want_checkpoint, quiet):
    progress = _Progress(configs[0], quiet)
    out = []
    try:
        for cfg in configs:
            progress.open(f"seed {cfg.seed}", progress.per_run)
            out.append(train_seed(cfg, progress.update, want_checkpoint))
            progress.close()
    finally:
        progress.close()
    return out


def _run_parallel(configs, jobs, want_checkpoint, quiet):
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    progress = _Progress(configs[0], quiet)
    total = progress.per_run * len(configs) if progress.per_run else None
    progress.open(f"{len(configs)} seeds, {jobs} processes", total)
    # Workers must ignore Ctrl-C from their first instruction (a terminal sends SIGINT to the
    # whole process group; a worker still importing torch would print a traceback). An ignored
    # signal stays ignored across the spawn, so ignore it while the pool starts its workers.
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if in_main_thread else None
    from .experiments import _workers_skip_main

    try:
        # the workers must not re-run this process's __main__ (it may be a Streamlit script,
        # e.g. after AppTest has run one): they only need pgcore
        with _workers_skip_main():
            pool = ctx.Pool(jobs, initializer=_init_worker, initargs=(queue, os.getpid()))
    finally:
        if in_main_thread:
            signal.signal(signal.SIGINT, previous)
    try:
        pending = [pool.apply_async(_worker_train, (cfg, want_checkpoint)) for cfg in configs]
        while True:
            _drain(queue, progress, timeout=0.1)
            if all(p.ready() for p in pending):
                break
        results = [p.get() for p in pending]
        pool.close()
        pool.join()
        _drain(queue, progress, timeout=0.0)
        return results
    except BaseException:
        pool.terminate()
        pool.join()
        raise
    finally:
        progress.close()
        queue.close()


def _drain(queue, progress: _Progress, timeout: float) -> None:
    import queue as queue_mod

    try:
        item = queue.get(timeout=timeout) if timeout > 0 else queue.get_nowait()
        while True:
            progress.update(*item)
            item = queue.get_nowait()
    except queue_mod.Empty:
        pass


# ----- the end-of-run table -------------------------------------------------------------------


def _fmt(value, kind: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if kind == "int":
        return f"{int(round(value)):,}"
    if kind == "sec":
        return f"{value:.1f}"
    return f"{value:.1f}"


def format_table(summaries: list[dict]) -> str:
    """The per-seed table (plus a median row for several seeds)."""
    a, b = int(CARTPOLE_V0_SOLVED), int(CARTPOLE_V1_SOLVED)
    cols = [("seed", "seed", "int"), ("episodes", "episodes", "int"),
            ("env_steps", "env steps", "int"), ("wall_seconds", "seconds", "sec"),
            (f"episodes_to_{a}", f"ep to {a}", "int"), (f"steps_to_{a}", f"steps to {a}", "int"),
            (f"seconds_to_{a}", f"s to {a}", "sec"),
            (f"episodes_to_{b}", f"ep to {b}", "int"), (f"steps_to_{b}", f"steps to {b}", "int"),
            (f"seconds_to_{b}", f"s to {b}", "sec"),
            ("final_avg100", "final avg100", "f1"), ("steps_per_second", "steps/s", "int"),
            ("reason", "end", "str")]
    rows = [[str(s[key]) if kind == "str" else _fmt(s[key], kind) for key, _, kind in cols]
            for s in summaries]
    if len(summaries) > 1:
        med = []
        for key, _, kind in cols:
            if key == "seed":
                med.append("median")
            elif kind == "str":
                med.append("")
            else:
                vals = [s[key] for s in summaries if s[key] is not None]
                # a threshold never reached counts as "later than any": median of reached only
                # is misleading, so show it only when every seed reached it
                ok = len(vals) == len(summaries)
                med.append(_fmt(statistics.median(vals), kind) if ok and vals else "-")
        rows.append(med)
    headers = [h for _, h, _ in cols]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) if i < len(cols) - 1 else h.ljust(w)
                       for i, (h, w) in enumerate(zip(headers, widths, strict=True))).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  ".join(c.rjust(w) if i < len(cols) - 1 else c.ljust(w)
                               for i, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip())
    if len(summaries) > 1:
        for t in (a, b):
            n = sum(s[f"episodes_to_{t}"] is not None for s in summaries)
            lines.append(f"100-episode average reached {t}: {n} of {len(summaries)} seeds")
    return "\n".join(lines)


# ----- commands -------------------------------------------------------------------------------


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
        raise CLIError(_with_flag(str(exc))) from None
    seeds = seeds or [base.seed]
    configs = [base.replace(seed=s) for s in seeds]
    env_spec(base.env_id)  # unknown env or continuous actions: EnvError before any work
    if args.jobs is not None and args.jobs < 1:
        raise CLIError(f"--jobs must be at least 1, got {args.jobs}")
    jobs = min(len(seeds), args.jobs if args.jobs is not None else (os.cpu_count() or 1))
    out = _check_writable(args.out, "--out") if args.out else None
    summary_path = _check_writable(args.summary, "--summary") if args.summary else None
    save_paths = {}
    if args.save:
        for s in seeds:
            p = seed_path(args.save, s) if len(seeds) > 1 else Path(args.save)
            save_paths[s] = _check_writable(str(p), "--save")

    import torch

    torch.set_num_threads(1)
    _say(f"training {base.algo} on {base.env_id}: seeds {' '.join(map(str, seeds))}, "
         f"{_budget(base)}, {jobs} process{'es' if jobs > 1 else ''}", args.quiet)
    if jobs > 1:
        runs = _run_parallel(configs, jobs, bool(save_paths), args.quiet)
    else:
        runs = _run_sequential(configs, bool(save_paths), args.quiet)

    results = [r for r, _ in runs]
    summaries = [run_summary(r) for r in results]
    print(format_table(summaries), flush=True)

    if out is not None:
        _write(out, "--out", lambda p: _write_csv(p, results))
        _say(f"wrote {out}", args.quiet)
    if summary_path is not None:
        doc = {"config": base.to_dict(), "runs": summaries}
        _write(summary_path, "--summary",
               lambda p: p.write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n"))
        _say(f"wrote {summary_path}", args.quiet)
    for (result, data) in runs:
        if data is not None:
            path = save_paths[result.config.seed]
            _write(path, "--save", lambda p, d=data: p.write_bytes(d))
            _say(f"saved {path}", args.quiet)

    diverged = [r for r in results if r.diverged]
    for r in diverged:
        print(f"seed {r.config.seed}: {r.message}", file=sys.stderr)
    return EXIT_FAILED if diverged else EXIT_OK


_FIELD_FLAGS = {"max_episodes": "--episodes", "max_steps": "--max-steps", "n_envs": "--n-envs",
                "entropy_beta": "--entropy-beta", "lr": "--lr", "gamma": "--gamma",
                "seed": "--seeds", "env_id": "--env"}


def _with_flag(message: str) -> str:
    """Name the flag when a config message starts with the field it sets."""
    first = message.split(" ", 1)[0]
    flag = _FIELD_FLAGS.get(first)
    return f"{flag}: {message}" if flag else message


def _budget(cfg: TrainConfig) -> str:
    parts = []
    if cfg.max_episodes is not None:
        parts.append(f"{cfg.max_episodes:,} episodes")
    if cfg.max_steps is not None:
        parts.append(f"{cfg.max_steps:,} env steps")
    if cfg.max_seconds is not None:
        parts.append(f"{cfg.max_seconds:g} s")
    return "budget " + " or ".join(parts)


def _write_csv(path: Path, results: list[RunResult]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["seed", "episode", "return", "length", "env_steps", "wall_seconds"])
        for r in results:
            for i, (ret, length, steps, secs) in enumerate(zip(
                    r.episode_returns, r.episode_lengths, r.episode_env_steps,
                    r.episode_seconds, strict=True), start=1):
                w.writerow([r.config.seed, i, repr(float(ret)), int(length), int(steps),
                            f"{secs:.6f}"])


def cmd_eval(args: argparse.Namespace) -> int:
    if args.episodes < 1:
        raise CLIError(f"--episodes must be at least 1, got {args.episodes}")
    if not 0 <= args.seed <= 2**31 - 1 - args.episodes:
        raise CLIError(f"--seed must be from 0 to {2**31 - 1 - args.episodes}, got {args.seed}")
    gif = _check_writable(args.gif, "--gif") if args.gif else None

    import torch

    from .render import frames_to_gif, play_episode

    torch.set_num_threads(1)
    agent, config, meta = load_checkpoint(args.checkpoint)
    agent.rng = np.random.default_rng(args.seed)
    trained = meta["extra"].get("episodes")
    print(f"checkpoint {args.checkpoint}: {config.algo} on {config.env_id} "
          f"(seed {config.seed}" + (f", {trained} training episodes" if trained else "")
          + f", pgcore {meta['pgcore_version']})")
    returns, frames = [], []
    for i in range(args.episodes):
        ret, _, f = play_episode(agent, config.env_id, seed=args.seed + i, greedy=args.greedy,
                                 render=gif is not None and i == 0)
        returns.append(ret)
        if i == 0:
            frames = f
    arr = np.asarray(returns)
    mode = "greedy" if args.greedy else "sampled"
    print(f"returns ({mode} actions, env seeds {args.seed}..{args.seed + args.episodes - 1}): "
          + " ".join(f"{r:g}" for r in returns))
    print(f"mean return {arr.mean():.2f}  std {arr.std():.2f}  over {args.episodes} episodes")
    if gif is not None:
        data = frames_to_gif(frames)
        _write(gif, "--gif", lambda p: p.write_bytes(data))
        print(f"wrote {gif} ({len(frames)} frames, first episode)")
    return EXIT_OK


# ----- sweep: a grid of configs x seeds --------------------------------------------------------

_STRUCTURAL = ("algo", "baseline", "preset")
_SWEEP_FILE_KEYS = ("algo", "baseline", "preset", "seeds", "episodes", "max_steps", "jobs",
                    "set", "configs")


def _add_sweep_parser(sub) -> None:
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
    s.add_argument("--config", metavar="FILE", help="a TOML or JSON file describing the sweep")
    s.add_argument("--algo", choices=ALGOS, help="algorithm (unless --preset gives it)")
    s.add_argument("--baseline", choices=BASELINES, help="REINFORCE baseline")
    s.add_argument("--preset", choices=list(PRESETS), metavar="NAME",
                   help=f"start from a named preset: {', '.join(PRESETS)}")
    s.add_argument("--set", action="append", default=[], metavar="FIELD=V1,V2",
                   help="a grid axis: a config field and comma-separated values (repeatable; "
                        "algo, baseline and preset are allowed too)")
    s.add_argument("--seeds", type=int, nargs="+", metavar="S", help="seeds (default 0)")
    s.add_argument("--episodes", type=int, metavar="N",
                   help="episode budget per run (default 1000; 0 = no episode cap)")
    s.add_argument("--max-steps", type=int, metavar="N", help="env-step budget per run")
    s.add_argument("--jobs", type=int, metavar="J",
                   help="runs trained at once in separate processes (default: CPUs); "
                        "1 = one after another in this process")
    s.add_argument("--out", metavar="FILE.csv",
                   help="write the tidy table: label, seed, episode, return, length, "
                        "env_steps, wall_seconds, entropy")
    s.add_argument("--summary", metavar="FILE.json",
                   help="write the grid, per-run figures and per-config aggregates as JSON")
    s.add_argument("--reference", metavar="FILE.json.gz",
                   help="write every finished run's returns as a reference file: the "
                        "\"typical run\" bands the app draws (see assets/reference/)")
    s.add_argument("--quiet", action="store_true", help="no progress bar or notes on stderr")


def _config_fields() -> dict[str, str]:
    """Config field name -> its annotation (a string: the module uses postponed annotations)."""
    import dataclasses

    return {f.name: str(f.type) for f in dataclasses.fields(TrainConfig)}


def parse_value(field: str, text, where: str = "--set"):
    """A value for config ``field`` from text (or from a TOML/JSON scalar), or CLIError."""
    fields = _config_fields()
    if field in _STRUCTURAL:
        if not isinstance(text, str) or not text.strip():
            raise CLIError(f"{where}: {field} needs a name, got {text!r}")
        return text.strip()
    if field not in fields:
        raise CLIError(f"{where}: unknown config field {field!r}")
    if field == "seed":
        raise CLIError(f"{where}: give seeds with --seeds (or seeds = [...]), not as a field")
    kind = fields[field]
    if not isinstance(text, str):  # already typed (TOML/JSON)
        if kind.startswith("float") and isinstance(text, int) and not isinstance(text, bool):
            return float(text)
        return text
    raw = text.strip()
    if "None" in kind and raw.lower() in ("none", "null", "off"):
        return None
    try:
        if kind.startswith("bool"):
            if raw.lower() in ("true", "yes", "1", "on"):
                return True
            if raw.lower() in ("false", "no", "0", "off"):
                return False
            raise ValueError
        if kind.startswith("int"):
            return int(raw)
        if kind.startswith("float"):
            return float(raw)
    except ValueError:
        raise CLIError(f"{where}: {field} must be {kind.split(' ')[0]}, got {raw!r}") from None
    return raw


def parse_set(spec: str) -> tuple[str, list]:
    """``"lr=7e-4,1e-3"`` -> ``("lr", [0.0007, 0.001])``."""
    field, sep, values = spec.partition("=")
    field = field.strip().replace("-", "_")
    if not sep or not field or not values.strip():
        raise CLIError(f"--set {spec!r}: expected FIELD=V1,V2,...")
    parsed = [parse_value(field, v) for v in values.split(",")]
    return field, parsed


def load_sweep_file(path: str) -> dict:
    """Read a TOML or JSON sweep description (keys: see ``sweep --help``)."""
    p = Path(path)
    if not p.is_file():
        raise CLIError(f"--config {path}: file not found")
    try:
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise CLIError(f"--config {path}: cannot read it ({exc})") from None
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import tomllib

            data = tomllib.loads(text)
    except (ValueError, json.JSONDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CLIError(f"--config {path}: not valid {'JSON' if p.suffix == '.json' else 'TOML'}"
                       f" ({first})") from None
    if not isinstance(data, dict):
        raise CLIError(f"--config {path}: the top level must be a table / object")
    unknown = sorted(set(data) - set(_SWEEP_FILE_KEYS))
    if unknown:
        raise CLIError(f"--config {path}: unknown key(s) {', '.join(unknown)}; allowed: "
                       f"{', '.join(_SWEEP_FILE_KEYS)}")
    return data


def _fmt_value(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def sweep_jobs(args: argparse.Namespace) -> tuple[list, list[int]]:
    """The jobs (label, config with seed) and the seeds of a sweep, from flags and file."""
    import itertools

    from .experiments import ExperimentError, check_jobs, grid

    file = load_sweep_file(args.config) if args.config else {}
    where = f"--config {args.config}"

    def pick(flag_value, key):
        return flag_value if flag_value is not None else file.get(key)

    seeds = pick(args.seeds, "seeds") or [0]
    if not isinstance(seeds, list) or not all(isinstance(s, int) and not isinstance(s, bool)
                                              for s in seeds):
        raise CLIError(f"{where}: seeds must be a list of whole numbers")
    if len(set(seeds)) != len(seeds):
        dups = sorted({s for s in seeds if seeds.count(s) > 1})
        raise CLIError(f"--seeds lists seed {', '.join(map(str, dups))} more than once")
    episodes, max_steps = pick(args.episodes, "episodes"), pick(args.max_steps, "max_steps")
    common = {}
    if episodes is not None:
        if not isinstance(episodes, int) or isinstance(episodes, bool) or episodes < 0:
            raise CLIError(f"--episodes must be a whole number >= 0, got {episodes!r}")
        common["max_episodes"] = None if episodes == 0 else episodes
    if max_steps is not None:
        common["max_steps"] = max_steps
    base = {k: v for k, v in (("algo", pick(args.algo, "algo")),
                              ("baseline", pick(args.baseline, "baseline")),
                              ("preset", pick(args.preset, "preset"))) if v is not None}

    axes: dict[str, list] = {}
    file_set = file.get("set", {})
    if not isinstance(file_set, dict):
        raise CLIError(f"{where}: [set] must be a table of field = [values]")
    for field, values in file_set.items():
        values = values if isinstance(values, list) else [values]
        axes[field] = [parse_value(field, v, where) for v in values]
    for spec in args.set:
        field, values = parse_set(spec)
        axes[field] = values
    for field, values in axes.items():
        if not values:
            raise CLIError(f"--set {field}: give at least one value")
        if len(set(map(repr, values))) != len(values):
            raise CLIError(f"--set {field}: a value is listed more than once")

    variants = file.get("configs", [{}])
    if not isinstance(variants, list) or not variants or \
            not all(isinstance(v, dict) for v in variants):
        raise CLIError(f"{where}: [[configs]] must be a list of tables")
    named = []
    for n, v in enumerate(variants):
        v = dict(v)
        label = str(v.pop("label", "") or (f"config {n + 1}" if len(variants) > 1 else ""))
        named.append((label, {k: parse_value(k, x, where) for k, x in v.items()}))

    configs: dict[str, TrainConfig] = {}
    names = list(axes)
    for (vlabel, vfields), point in itertools.product(named, itertools.product(
            *axes.values())):
        fields = {**common, **vfields, **dict(zip(names, point, strict=True))}
        spec = {**base, **{k: fields.pop(k) for k in _STRUCTURAL if k in fields}}
        parts = [vlabel] if vlabel else []
        parts += [f"{k}={_fmt_value(v)}" for k, v in zip(names, point, strict=True)]
        label = ", ".join(parts) or spec.get("preset") or spec.get("algo") or "config"
        try:
            if "preset" in spec:
                pre = PRESETS.get(spec["preset"])
                if pre is None:
                    raise ConfigError(f"unknown preset {spec['preset']!r}: choose one of "
                                      f"{', '.join(PRESETS)}")
                if "algo" in spec and spec["algo"] != pre.values["algo"]:
                    raise CLIError(f"preset {spec['preset']!r} is for {pre.values['algo']}, "
                                   f"not {spec['algo']}")
                if "baseline" in spec:
                    fields["baseline"] = spec["baseline"]
                cfg = preset(spec["preset"], **fields)
            elif "algo" in spec:
                cfg = default_config(spec["algo"], spec.get("baseline"), **fields)
            else:
                raise CLIError("sweep needs --algo or --preset (or algo in the --config file)")
        except ConfigError as exc:
            raise CLIError(f"{label}: {exc}" if parts else _with_flag(str(exc))) from None
        except TypeError as exc:
            raise CLIError(f"{label}: {str(exc).splitlines()[0]}") from None
        configs[label] = cfg
    try:
        jobs = check_jobs(grid(configs, seeds))
    except ConfigError as exc:  # a seed out of range
        raise CLIError(_with_flag(str(exc))) from None
    except ExperimentError as exc:
        raise CLIError(str(exc)) from None
    return jobs, seeds


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


def format_sweep_table(aggregate: dict) -> str:
    """One row per config: reached counts, medians, final average (mean ± std), wobble."""
    headers = ["config", "runs", "reached 195", "median ep", "reached 475", "median ep",
               "final avg100", "wobble", "failed"]
    rows = []
    for label, a in aggregate.items():
        def pm(key, a=a):
            m, s = a[f"{key}_mean"], a[f"{key}_std"]
            return "-" if m is None else (f"{m:.1f}" if s is None else f"{m:.1f} ± {s:.1f}")

        rows.append([label, str(a["runs"]), f"{a['reached_195']}/{a['runs']}",
                     _fmt(a["median_episodes_to_195"], "int"),
                     f"{a['reached_475']}/{a['runs']}",
                     _fmt(a["median_episodes_to_475"], "int"), pm("final_avg100"),
                     pm("wobble"), str(a["failed"])])
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *map(line, rows)])


def cmd_sweep(args: argparse.Namespace) -> int:
    from .experiments import Experiment

    jobs, seeds = sweep_jobs(args)
    for env_id in dict.fromkeys(j.config.env_id for j in jobs):
        env_spec(env_id)  # unknown env: EnvError (exit 2) before any work
    if args.jobs is not None and args.jobs < 1:
        raise CLIError(f"--jobs must be at least 1, got {args.jobs}")
    file_jobs = load_sweep_file(args.config).get("jobs") if args.config else None
    n_jobs = args.jobs if args.jobs is not None else file_jobs
    if n_jobs is not None and (not isinstance(n_jobs, int) or n_jobs < 1):
        raise CLIError(f"jobs must be a whole number >= 1, got {n_jobs!r}")
    workers = min(len(jobs), n_jobs or (os.cpu_count() or 1))
    out = _check_writable(args.out, "--out") if args.out else None
    summary_path = _check_writable(args.summary, "--summary") if args.summary else None
    reference_path = _check_writable(args.reference, "--reference") if args.reference else None
    labels = list(dict.fromkeys(j.label for j in jobs))
    _say(f"sweep: {len(labels)} config(s) x {len(seeds)} seed(s) = {len(jobs)} runs, "
         f"{_budget(jobs[0].config)} each, {workers} process{'es' if workers > 1 else ''}",
         args.quiet)

    exp = Experiment(jobs, mode="process" if workers > 1 else "inline", workers=workers)
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
        if workers > 1:
            from .experiments import shutdown_worker_pool

            shutdown_worker_pool()
    snap = exp.snapshot()
    summaries = snap.summaries()
    aggregate = _aggregate(summaries)
    print(format_sweep_table(aggregate), flush=True)
    if out is not None:
        data = snap.to_csv()
        _write(out, "--out", lambda p: p.write_bytes(data))
        _say(f"wrote {out}", args.quiet)
    if summary_path is not None:
        doc = {"seeds": seeds,
               "configs": [{"label": label, "config": {
                   k: v for k, v in next(j.config for j in jobs if j.label == label)
                   .to_dict().items() if k != "seed"}} for label in labels],
               "runs": summaries, "by_config": aggregate}
        _write(summary_path, "--summary",
               lambda p: p.write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n"))
        _say(f"wrote {summary_path}", args.quiet)
    if reference_path is not None:
        _write_reference(reference_path, snap, args)
    failed = snap.errors()
    for line in failed:
        print(line, file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK


def _write_reference(path: Path, snap, args: argparse.Namespace) -> None:
    from .reference import ReferenceError, reference_document, write_reference

    command = "python -m pgcore " + shlex.join(getattr(args, "argv", None) or [])
    try:
        doc = reference_document(snap, made_with=command.strip())
    except ReferenceError as exc:
        print(f"--reference: not written: {exc}", file=sys.stderr)
        return
    kept = sum(len(g["runs"]) for g in doc["groups"])
    written = {}

    def write(p: Path) -> None:
        written["bytes"] = write_reference(p, doc)

    _write(path, "--reference", write)
    left_out = len(snap.runs) - kept
    _say(f"wrote {path} ({kept} runs, {written['bytes'] / 1024:,.0f} KiB"
         f"{f'; {left_out} unfinished run(s) left out' if left_out else ''})", args.quiet)


class _Terminated(BaseException):
    """SIGTERM arrived: unwind (terminating worker processes) and exit 143."""


def _on_sigterm(signum, frame) -> None:
    raise _Terminated()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 diverged, 2 bad input, 130 Ctrl-C)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        args.argv = list(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:  # --help (0) or an argparse error (2), already printed
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        if args.command == "train":
            return cmd_train(args)
        if args.command == "sweep":
            return cmd_sweep(args)
        return cmd_eval(args)
    except _Terminated:
        print("\nterminated", file=sys.stderr, flush=True)
        return EXIT_TERMINATED
    except (CLIError, ConfigError, EnvError, CheckpointError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"error: {msg}", file=sys.stderr, flush=True)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `| head`: stop quietly
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - avoid a second error at exit
        except OSError:
            pass
        return EXIT_FAILED
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
