"""``gradvar``: the gradient-variance lab (:class:`pgcore.labs.gradvar.GradVarLab`, the app's
Gradient variance page) from the command line: train REINFORCE with a learned value baseline
(our default) for some episodes, or not at all, freeze it, and measure how biased and how noisy
each gradient estimator is (no baseline, normalised returns, value baseline). Prints one row per
estimator; ``--out`` writes them as CSV."""

from __future__ import annotations

import argparse
import csv
import sys
import textwrap
from pathlib import Path

from .common import EXIT_FAILED, EXIT_OK, CLIError, check_writable, say, write_file

COLUMNS = ("estimator", "cosine", "relative_error", "noise_floor", "bias_p", "trace_cov",
           "relative_variance", "wrong_way")
"""The table's columns (:meth:`pgcore.labs.gradvar.EstimatorStats.as_row`)."""

LIMITS = {"seed": (0, 2**31 - 1), "train_episodes": (0, 100_000), "batches": (2, 10_000),
          "batch_size": (1, 10_000), "critic_episodes": (1, 100_000)}
"""Each number flag's range (a value outside it is one line, exit 2)."""


def add_gradvar_parser(sub) -> None:
    g = sub.add_parser(
        "gradvar", help="measure the bias and variance of REINFORCE's gradient estimators",
        description=textwrap.fill(
            "Train REINFORCE with a learned value baseline (our default) for --train-episodes "
            "episodes (0: the freshly initialised policy), freeze it, play --batches batches of "
            "--batch-size episodes, and compare each batch's gradient estimate (no baseline, "
            "normalised returns, value baseline) with a reference gradient from as many "
            "batches again. Prints, per estimator: the cosine with the reference, the "
            "relative error and the noise floor, the p-value of noise alone, the trace of the "
            "covariance, variance / |mean|^2 and the share of wrong-way batches.", 78),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    g.add_argument("--seed", type=int, default=0, metavar="S",
                   help="seeds the network, the training and every sampled episode")
    g.add_argument("--train-episodes", type=int, default=0, metavar="N",
                   help="training episodes before the freeze (default 0: the initial policy)")
    g.add_argument("--batches", type=int, default=30, metavar="N",
                   help="gradient estimates per estimator (default 30)")
    g.add_argument("--batch-size", type=int, default=10, metavar="N",
                   help="episodes each estimate averages (default 10)")
    g.add_argument("--critic-episodes", type=int, default=100, metavar="N",
                   help="episodes the value baseline V(s) is fitted on (default 100)")
    g.add_argument("--out", metavar="FILE.csv", help="write the table as CSV")
    g.add_argument("--quiet", action="store_true", help="no notes on stderr")


def _check(args: argparse.Namespace) -> None:
    for name, (low, high) in LIMITS.items():
        value = getattr(args, name)
        if not low <= value <= high:
            flag = "--" + name.replace("_", "-")
            raise CLIError(f"{flag} must be a whole number from {low:,} to {high:,}, "
                           f"got {value}")


def lab_for(seed: int, train_episodes: int, batches: int, batch_size: int,
            critic_episodes: int = 100):
    """The :class:`~pgcore.labs.gradvar.GradVarLab` the app's page starts for these values."""
    from ..labs.gradvar import GradVarLab
    from ..training.config import default_config

    config = default_config("reinforce", "value", seed=seed, max_episodes=max(1, train_episodes))
    return GradVarLab(config, train_episodes, n_batches=batches, batch_size=batch_size,
                      critic_episodes=critic_episodes, reference_batches=batches, seed=seed)


def format_rows(rows: list[dict]) -> str:
    """The per-estimator table (three significant digits; the wrong-way share in %)."""
    head = ("estimator", "cosine", "rel. error", "noise floor", "p (noise)", "trace cov",
            "var/|mean|^2", "wrong way")
    cells = [[r["estimator"], *(f"{r[c]:.3g}" for c in COLUMNS[1:-1]),
              f"{100 * r['wrong_way']:.0f}%"] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w)
                       for i, (h, w) in enumerate(zip(head, widths, strict=True)))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                        for i, (c, w) in enumerate(zip(row, widths, strict=True)))
              for row in cells]
    return "\n".join(lines)


def cmd_gradvar(args: argparse.Namespace) -> int:
    _check(args)
    out = check_writable(args.out, "--out") if args.out else None
    lab = lab_for(args.seed, args.train_episodes, args.batches, args.batch_size,
                  args.critic_episodes)
    say(f"gradvar: seed {args.seed}, {args.train_episodes:,} training episodes, then "
        f"{args.batches} batches of {args.batch_size} episodes", args.quiet)
    lab.start()
    try:
        while not lab.join(0.25):
            pass
    except BaseException:
        lab.stop()  # Ctrl-C / SIGTERM: end the measurement before leaving
        lab.join(30.0)
        raise
    snap = lab.snapshot()
    result = snap["result"]
    if result is None:
        print(f"error: {snap['message'] or snap['state']}", file=sys.stderr)
        return EXIT_FAILED
    rows = result.rows()
    print(f"frozen policy: mean return {result.mean_return:.1f}; {result.n_params:,} policy "
          "parameters" + (f"; V(s) explains {result.critic_r2:.0%} of the returns' variance"
                          if result.critic_r2 is not None else ""))
    print(format_rows(rows), flush=True)
    if out is not None:
        def write(p: Path) -> None:
            with open(p, "w", newline="") as f:
                w = csv.DictWriter(f, COLUMNS)
                w.writeheader()
                w.writerows({k: r[k] for k in COLUMNS} for r in rows)

        write_file(out, "--out", write)
        say(f"wrote {out}", args.quiet)
    return EXIT_OK
