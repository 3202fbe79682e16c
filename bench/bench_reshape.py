"""Reshape check: env steps per second (and behaviour) of pgcore before vs after a refactor.

Two source trees of pgcore train the same default configs on the same seeds in one invocation:
the "before" tree (by default a temporary ``git worktree`` of ``--before-ref``, 6042465, the
last commit before the reshape; or an existing directory given with ``--before``) and the
"after" tree (this checkout, working tree included). Every (tree, config, seed) run is a fresh
``python -c`` subprocess with ``PYTHONPATH`` set to that tree, one torch thread and
``SDL_VIDEODRIVER=dummy``; runs are interleaved (before, after, before, after, ...) so load on
a shared machine affects both sides alike. Only the public API both trees have is used:
``from pgcore import default_config, train``; ``result = train(cfg)``.

Configs: ``default_config("reinforce")`` (value baseline) and
``default_config("reinforce", "normalize")`` for ``--episodes`` episodes, and
``default_config("a2c")`` for ``--steps`` env steps.

Reported: env steps/s (``result.env_steps / result.wall_seconds``, training time only) per
(config, seed) for both trees, whether the two trees produced identical episode returns
(``result.episode_returns``; the reshape must not change behaviour), and per config the median
[min-max] over seeds and the ratio after / before (ratio of medians, [min-max] of the per-seed
ratios). Target: the reshape costs at most 5% -- ratio >= 0.95 -- and every row "identical".

Exit status: 0; 1 if any returns differ or a run failed; 2 if the before tree cannot be set up
(the ref does not exist, git is missing, ``--before`` is not a pgcore tree), with a one-line
reason on stderr.

Usage::

    python bench/bench_reshape.py                         # worktree of 6042465 vs this checkout
    python bench/bench_reshape.py --before /tmp/before    # an existing checkout as "before"
    python bench/bench_reshape.py --before-ref HEAD~3 --seeds 0 1 2 3 4 --repeats 3
    python bench/bench_reshape.py --quick                 # smoke test: tiny budgets, seed 0
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import REPO_ROOT, fmt_num, log, markdown_table, median_range  # noqa: E402

DEFAULT_REF = "6042465"
TARGET_RATIO = 0.95

# key -> (label, algo, baseline, budget kind)
CONFIGS = {
    "reinforce": ('default_config("reinforce")', "reinforce", None, "episodes"),
    "reinforce-normalize": ('default_config("reinforce", "normalize")', "reinforce",
                            "normalize", "episodes"),
    "a2c": ('default_config("a2c")', "a2c", None, "steps"),
    # the other default presets, for a reshape that touches every algorithm (--configs ...)
    "reinforce-none": ('default_config("reinforce", "none")', "reinforce", "none", "episodes"),
    "actor-critic": ('default_config("actor-critic")', "actor-critic", None, "episodes"),
    "ppo": ('default_config("ppo")', "ppo", None, "steps"),
    "dqn": ('default_config("dqn")', "dqn", None, "steps"),
}
DEFAULT_CONFIGS = ("reinforce", "reinforce-normalize", "a2c")

# Runs in the child: argv = [tree, spec-json]. Prints one marked JSON line with the result.
CHILD = r"""
import json, os, sys
tree, spec = os.path.realpath(sys.argv[1]), json.loads(sys.argv[2])
import torch
torch.set_num_threads(1)
import pgcore
from pgcore import default_config, train
where = os.path.realpath(pgcore.__file__)
if not where.startswith(tree + os.sep):
    sys.exit(f"pgcore was imported from {where}, not from the tree {tree}")
cfg = default_config(spec["algo"], spec["baseline"], **spec["overrides"])
result = train(cfg)
print("@@RESULT@@" + json.dumps({
    "env_steps": int(result.env_steps), "wall_seconds": float(result.wall_seconds),
    "episode_returns": [float(r) for r in result.episode_returns],
    "reason": str(getattr(result, "reason", "")), "pgcore": where}))
"""
MARK = "@@RESULT@@"


class SetupError(Exception):
    """The before tree cannot be made available (exit status 2)."""


# ----- trees ------------------------------------------------------------------------------------


def _git(*args: str, cwd: Path = REPO_ROOT) -> str:
    """Run a read-only (or worktree) git command; raise SetupError with git's own message."""
    if shutil.which("git") is None:
        raise SetupError("git is not installed, so no worktree can be made (pass --before DIR)")
    proc = subprocess.run(["git", "--no-optional-locks", *args], cwd=cwd, capture_output=True,
                          text=True)
    if proc.returncode != 0:
        msg = proc.stderr.strip() or proc.stdout.strip() or f"exit {proc.returncode}"
        raise SetupError(f"git {' '.join(args)}: {msg.splitlines()[-1]}")
    return proc.stdout.strip()


def _check_tree(path: Path) -> Path:
    path = path.resolve()
    if not (path / "pgcore" / "__init__.py").is_file():
        raise SetupError(f"{path} is not a pgcore source tree (no pgcore/__init__.py)")
    return path


def describe_tree(path: Path) -> str:
    """'abc1234' or 'abc1234 + uncommitted pgcore changes'; '' when not a git checkout."""
    try:
        sha = _git("rev-parse", "--short", "HEAD", cwd=path)
        dirty = _git("status", "--porcelain", "--", "pgcore", cwd=path)
    except SetupError:
        return ""
    return sha + (" + uncommitted pgcore changes" if dirty else "")


class BeforeTree:
    """Context manager: the before tree's path; a temporary git worktree is removed on exit."""

    def __init__(self, before: str | None, ref: str):
        self.before, self.ref = before, ref
        self.tmp: Path | None = None
        self.path: Path | None = None

    def __enter__(self) -> Path:
        if self.before is not None:
            self.path = _check_tree(Path(self.before))
            return self.path
        sha = resolve_ref(self.ref)
        self.tmp = Path(tempfile.mkdtemp(prefix="bench_reshape_"))
        path = self.tmp / "before"
        try:
            _git("worktree", "add", "--detach", "--quiet", str(path), sha)
            self.path = _check_tree(path)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self.path

    def __exit__(self, *exc) -> None:
        if self.tmp is None:
            return
        path = self.tmp / "before"
        if path.exists():
            try:
                _git("worktree", "remove", "--force", str(path))
            except SetupError as e:
                log(f"warning: could not remove the worktree {path}: {e}")
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp = None


def resolve_ref(ref: str) -> str:
    try:
        return _git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except SetupError as e:
        if "not installed" in str(e):
            raise
        raise SetupError(f"cannot check out --before-ref {ref!r}: no such commit in "
                         f"{REPO_ROOT} (a shallow clone? pass --before DIR)") from None


# ----- one run ----------------------------------------------------------------------------------


def overrides(key: str, seed: int, episodes: int, steps: int) -> dict:
    if CONFIGS[key][3] == "episodes":
        return {"seed": seed, "max_episodes": episodes, "max_steps": None, "max_seconds": None}
    return {"seed": seed, "max_episodes": None, "max_steps": steps, "max_seconds": None}


def run_one(tree: Path, key: str, seed: int, episodes: int, steps: int) -> dict:
    """Train one config in a fresh interpreter that imports pgcore from ``tree``."""
    _, algo, baseline, _ = CONFIGS[key]
    spec = {"algo": algo, "baseline": baseline,
            "overrides": overrides(key, seed, episodes, steps)}
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tree), *filter(None, [env.get("PYTHONPATH")])])
    env.update(SDL_VIDEODRIVER="dummy", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONDONTWRITEBYTECODE="1")
    # cwd = the tree: `python -c` puts the cwd first on sys.path, so it must not be another tree
    proc = subprocess.run([sys.executable, "-c", CHILD, str(tree), json.dumps(spec)], cwd=tree,
                          env=env, capture_output=True, text=True)
    line = next((ln for ln in reversed(proc.stdout.splitlines()) if ln.startswith(MARK)), None)
    if proc.returncode != 0 or line is None:
        tail = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}, no result"])[-1]
        return {"error": tail, "stderr": proc.stderr[-4000:]}
    out = json.loads(line[len(MARK):])
    secs = out["wall_seconds"]
    out["steps_per_second"] = out["env_steps"] / secs if secs > 0 else float("nan")
    out["episodes"] = len(out["episode_returns"])
    return out


# ----- report -----------------------------------------------------------------------------------


def _collect(results: list[dict], key: str, seed: int, side: str) -> list[dict]:
    return [r for r in results if r["config"] == key and r["seed"] == seed and r["side"] == side]


def _same_returns(runs: list[dict]) -> bool:
    first = runs[0]["episode_returns"]
    return all(r["episode_returns"] == first for r in runs[1:])


def report(results: list[dict], keys: list[str], seeds: list[int]) -> tuple[str, bool]:
    """The per-seed table, the summary table and whether every pair was identical."""
    rows, summary, all_identical = [], [], True
    for key in keys:
        label = CONFIGS[key][0]
        med = {"before": [], "after": []}
        ratios = []
        for seed in seeds:
            sides = {s: _collect(results, key, seed, s) for s in ("before", "after")}
            errors = [f"{s} tree: {r['error']}" for s, runs in sides.items() for r in runs
                      if "error" in r]
            if errors:
                all_identical = False
                rows.append([label, seed, "-", "-", "-", "-", "-", f"FAILED ({errors[0]})"])
                continue
            rate = {s: statistics.median(r["steps_per_second"] for r in runs)
                    for s, runs in sides.items()}
            for s in med:
                med[s].append(rate[s])
            ratios.append(rate["after"] / rate["before"])
            before, after = sides["before"], sides["after"]
            if not _same_returns(before) or not _same_returns(after):
                verdict = "DIFFERENT (not repeatable within a tree)"
            elif before[0]["episode_returns"] == after[0]["episode_returns"]:
                verdict = "identical"
            else:
                a, b = before[0]["episode_returns"], after[0]["episode_returns"]
                first = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                             min(len(a), len(b)))
                verdict = f"DIFFERENT (from episode {first + 1}; {len(a)} vs {len(b)} episodes)"
            all_identical &= verdict == "identical"
            rows.append([label, seed, str(after[0]["episodes"]),
                         fmt_num(after[0]["env_steps"], "steps"),
                         fmt_num(rate["before"], "rate"), fmt_num(rate["after"], "rate"),
                         f"{rate['after'] / rate['before']:.3f}", verdict])
        if ratios:
            mb, ma = statistics.median(med["before"]), statistics.median(med["after"])
            ratio = ma / mb
            spread = f" [{min(ratios):.3f}-{max(ratios):.3f}]" if len(ratios) > 1 else ""
            summary.append([label, median_range(med["before"], "rate"),
                            median_range(med["after"], "rate"), f"{ratio:.3f}{spread}",
                            "yes" if ratio >= TARGET_RATIO else "NO"])
        else:
            summary.append([label, "-", "-", "-", "FAILED (no run finished on both trees)"])
    per_seed = markdown_table(("config", "seed", "episodes", "env steps", "before steps/s",
                               "after steps/s", "after / before", "episode returns"), rows)
    totals = markdown_table(("config", "before steps/s", "after steps/s",
                             "after / before (per-seed range)", f"within 5% (>= {TARGET_RATIO})"),
                            summary)
    return per_seed + "\n\n" + totals, all_identical


# ----- main -------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    where = p.add_mutually_exclusive_group()
    where.add_argument("--before", metavar="DIR",
                       help="an existing pgcore source tree to use as 'before'")
    where.add_argument("--before-ref", default=DEFAULT_REF, metavar="REF",
                       help=f"git ref checked out into a temporary worktree as 'before' "
                            f"(default {DEFAULT_REF}, the commit before the reshape)")
    p.add_argument("--after", metavar="DIR", default=str(REPO_ROOT),
                   help="the 'after' tree (default: this checkout)")
    p.add_argument("--configs", nargs="+", choices=tuple(CONFIGS), default=list(DEFAULT_CONFIGS))
    p.add_argument("--episodes", type=int, default=300, help="REINFORCE episodes (default 300)")
    p.add_argument("--steps", type=int, default=100_000, help="A2C env steps (default 100000)")
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--repeats", type=int, default=1,
                   help="runs per (tree, config, seed); steps/s is their median (default 1)")
    p.add_argument("--jobs", type=int, default=1,
                   help="subprocesses at a time (default 1: clean timings)")
    p.add_argument("--json", metavar="FILE", help="write the per-run figures here")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: seed 0, 3 REINFORCE episodes, 512 A2C steps")
    args = p.parse_args(argv)
    if min(args.episodes, args.steps, args.repeats, args.jobs) < 1:
        p.error("--episodes, --steps, --repeats and --jobs must be at least 1")
    if args.quick:
        args.seeds, args.episodes, args.steps, args.repeats = [0], 3, 512, 1
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        after = _check_tree(Path(args.after))
        tree = BeforeTree(args.before, args.before_ref)
        before = tree.__enter__()
    except SetupError as e:
        print(f"bench_reshape: {e}", file=sys.stderr)
        return 2
    try:
        return _run(args, before, after)
    finally:
        tree.__exit__(None, None, None)


def _run(args: argparse.Namespace, before: Path, after: Path) -> int:
    trees = {"before": before, "after": after}
    names = {"before": (f"temporary git worktree of {args.before_ref}" if args.before is None
                        else str(before)),
             "after": str(after)}
    for side in trees:
        desc = describe_tree(trees[side])
        log(f"{side}: {names[side]}" + (f" ({desc})" if desc else ""))
    tasks = [(side, key, seed)
             for _ in range(args.repeats) for key in args.configs for seed in args.seeds
             for side in ("before", "after")]

    def one(task: tuple) -> dict:
        side, key, seed = task
        r = run_one(trees[side], key, seed, args.episodes, args.steps)
        r.update(side=side, config=key, seed=seed)
        if "error" in r:
            log(f"  {side:<6} {key:<19} seed {seed}: FAILED: {r['error']}")
        else:
            log(f"  {side:<6} {key:<19} seed {seed}: {r['env_steps']} steps, "
                f"{r['steps_per_second']:,.0f} steps/s")
        return r

    t0 = time.perf_counter()
    if args.jobs <= 1:
        results = [one(t) for t in tasks]
    else:
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            results = list(pool.map(one, tasks))
    table, identical = report(results, args.configs, args.seeds)
    failed = sum("error" in r for r in results)
    descs = {s: describe_tree(trees[s]) for s in trees}
    print("## pgcore before vs after the reshape: env steps per second, CartPole-v1, "
          "1 torch thread per run\n")
    for side in ("before", "after"):
        print(f"- {side}: {names[side]}" + (f" ({descs[side]})" if descs[side] else ""))
    print(f"- budgets: REINFORCE {args.episodes} episodes, A2C {args.steps:,} env steps; "
          f"seeds {args.seeds}; {args.repeats} run(s) per tree, config and seed"
          + (f"; {args.jobs} runs at a time (timings less clean)" if args.jobs > 1 else "") + "\n")
    print(table)
    if failed:
        print(f"\nBehaviour: {failed} of {len(results)} runs FAILED (the child's last stderr "
              "line is in the table; --json keeps its stderr), so not every pair was compared.")
    else:
        print("\nBehaviour: " + ("identical episode returns on every config and seed." if identical
                                else "episode returns DIFFERENT: see the table."))
    print(f"Target: after / before >= {TARGET_RATIO} (the reshape costs at most 5%). "
          f"Total wall time {time.perf_counter() - t0:.0f} s.")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"args": vars(args), "before": str(before), "after": str(after), "runs": results},
            indent=1))
        log(f"wrote {args.json}")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
