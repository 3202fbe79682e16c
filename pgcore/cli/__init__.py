"""Command line: ``python -m pgcore train ...``, ``eval ...``, ``sweep ...`` and
``gradvar ...``.

``train`` starts from the algorithm's tuned defaults (or a named preset), applies only the
flags given, trains one run per seed (in parallel processes when ``--jobs`` > 1), shows a
progress bar on stderr and prints a table of learning-speed figures per seed on stdout.
``eval`` plays a saved agent. ``sweep`` trains a grid of configs x seeds. ``gradvar``
measures REINFORCE's gradient estimators at a frozen policy. Bad values print
one line ``error: <reason>`` and exit 2; a diverged run exits 1; Ctrl-C exits 130; SIGTERM
exits 143.

This module parses and dispatches; the commands live in :mod:`.training` (with
:mod:`.workers` running its seeds), :mod:`.evaluate`, :mod:`.sweep` (with
:mod:`.sweep_spec` building its grid) and :mod:`.gradvar`; :mod:`.common` holds what they
share, and :mod:`.export` writes an app page's setup as one of these commands, a script and a
notebook.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from ..rl.envs import EnvError
from ..training.checkpoint import CheckpointError
from ..training.config import ConfigError
from ..training.trainer import train  # train_seed looks it up here, so tests can replace it
from .common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TERMINATED,
    EXIT_USAGE,
    CLIError,
)
from .evaluate import add_eval_parser, cmd_eval
from .gradvar import add_gradvar_parser, cmd_gradvar
from .sweep import add_sweep_parser, cmd_sweep, format_sweep_table
from .sweep_spec import load_sweep_file, parse_set, parse_value, sweep_jobs
from .training import add_train_parser, cmd_train, config_from_args, format_table, seed_path
from .workers import train_seed

__all__ = [
    "EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_TERMINATED", "EXIT_USAGE", "CLIError",
    "build_parser", "cmd_eval", "cmd_sweep", "cmd_train", "config_from_args", "format_sweep_table",
    "format_table", "load_sweep_file", "main", "parse_set", "parse_value", "seed_path",
    "sweep_jobs", "train", "train_seed",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pgcore",
        description="Policy-gradient agents (REINFORCE, actor-critic, A2C) on Gymnasium "
                    "environments with discrete actions (and, for the policy-gradient agents, "
                    "continuous Box actions such as Pendulum-v1's).",
        epilog="Examples:\n"
               "  python -m pgcore train --algo a2c --seeds 0 1 2 3 4 --summary a2c.json\n"
               "  python -m pgcore train --preset actor-critic-lesson --episodes 300\n"
               "  python -m pgcore train --algo reinforce --save agent.pt\n"
               "  python -m pgcore eval --checkpoint agent.pt --episodes 20 --gif play.gif\n"
               "  python -m pgcore sweep --algo a2c --seeds 0 1 2 --set lr=7e-4,1e-3 "
               "--out sweep.csv\n"
               "  python -m pgcore gradvar --train-episodes 100 --batches 30 --batch-size 10",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True,
                                metavar="{train,eval,sweep,gradvar}")
    add_train_parser(sub)
    add_eval_parser(sub)
    add_sweep_parser(sub)
    add_gradvar_parser(sub)
    return parser


_COMMANDS = {"train": cmd_train, "eval": cmd_eval, "sweep": cmd_sweep, "gradvar": cmd_gradvar}


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
        return _COMMANDS[args.command](args)
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
