"""What the commands share: exit codes, :class:`CLIError`, notes on stderr, output files,
the flags of ``train`` and ``sweep``, and the small formatters of their messages and tables."""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

from .. import algos
from ..training.config import FIELDS, PRESETS, TrainConfig
from ..training.fields import Field

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143


class CLIError(Exception):
    """A bad value found by the CLI itself (printed as one line, exit 2)."""


# ----- flags ----------------------------------------------------------------------------------

# The flags train and sweep both take: one type / metavar for both, the help worded per command.
# --algo is checked against the registry (one line, exit 2), not by argparse's choices.
_SHARED_FLAGS: dict[str, dict] = {
    "algo": {"metavar": "{" + ",".join(algos.names()) + "}"},
    "preset": {"choices": list(PRESETS), "metavar": "NAME"},
    "seeds": {"type": int, "nargs": "+", "metavar": "S"},
    "episodes": {"type": int, "metavar": "N"},
    "max_steps": {"type": int, "metavar": "N"},
    "jobs": {"type": int, "metavar": "J"},
    "out": {"metavar": "FILE.csv"},
    "summary": {"metavar": "FILE.json"},
    "quiet": {"action": "store_true"},
    "executor": {"metavar": "{local,ray}"},
    "address": {"metavar": "ADDR"},
}

EXECUTOR_HELP = ("where the runs train: local (this machine's processes, the default) or ray "
                 "(a Ray cluster: pip install \"pgcore[ray]\"); default $PGLAB_EXECUTOR or local")
ADDRESS_HELP = ("the Ray cluster for --executor ray: auto (this machine's running cluster), "
                "HOST:PORT (the head's address that `ray start --head` prints) or "
                "ray://HOST:PORT (Ray Client); default $PGLAB_RAY_ADDRESS, else this "
                "machine's running cluster, or a new local one")

PRESET_HELP = f"start from a named preset: {', '.join(PRESETS)}"


def add_flags(parser: argparse.ArgumentParser, flags: dict[str, str | dict]) -> None:
    """Add ``--name`` flags in the order given (``max_steps`` -> ``--max-steps``).

    A string is the help of a flag train and sweep share (its other settings come from
    ``_SHARED_FLAGS``); a dict is the ``add_argument`` keywords of a command's own flag.
    """
    for dest, spec in flags.items():
        kwargs = {**_SHARED_FLAGS[dest], "help": spec} if isinstance(spec, str) else spec
        parser.add_argument("--" + dest.replace("_", "-"), **kwargs)


def config_flag_fields() -> list[Field]:
    """Config fields with a flag of their own (``--lr``, ``--n-envs``, ...), from the run-level
    fields and the registry's algorithms: a new algorithm's fields get flags by themselves."""
    return [f for f in FIELDS.values() if f.cli_flag]


_TYPES = {"int": int, "float": float, "str": str}


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per :func:`config_flag_fields` field; its value lands in ``field_<name>``."""
    for f in config_flag_fields():
        owners = algos.owners(f.name)
        note = f" [{', '.join(owners)}]" if owners and len(owners) < len(algos.names()) else ""
        kwargs: dict = {"dest": "field_" + f.name,
                        "help": (f.cli_help or f.doc.split(". ")[0].rstrip(".")) + note}
        if f.type == "bool":  # --double / --no-double
            kwargs["action"] = argparse.BooleanOptionalAction
        elif f.widget == "radio" and all(isinstance(o, str) for o in f.options):
            kwargs["choices"] = list(f.options)
        else:
            kwargs["type"] = _TYPES[f.type.split(" ")[0]]
            kwargs["metavar"] = "N" if f.type == "int" else f.name.split("_")[-1].upper()
        parser.add_argument(f.cli_flag, **kwargs)


def config_overrides(args: argparse.Namespace) -> dict:
    """The config fields whose flags were given."""
    return {f.name: getattr(args, "field_" + f.name) for f in config_flag_fields()
            if getattr(args, "field_" + f.name, None) is not None}


def algo_help(what: str) -> str:
    """``--algo``'s help: ``what``, then each registered algorithm in one line."""
    return f"{what}: " + "; ".join(f"{a.name} ({a.summary})" for a in algos.REGISTRY.values())


# ----- stderr notes and output files ----------------------------------------------------------


def say(msg: str, quiet: bool = False) -> None:
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


def check_writable(path: str, flag: str) -> Path:
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


def write_file(path: Path, flag: str, writer) -> None:
    """``writer(path)``, with an OSError turned into a one-line CLIError naming the flag."""
    try:
        writer(path)
    except OSError as exc:
        raise CLIError(f"cannot write {flag} {str(path)}: {exc.strerror or exc}") from None


# ----- messages and table cells ---------------------------------------------------------------

_FIELD_FLAGS = {"max_episodes": "--episodes", "max_steps": "--max-steps", "seed": "--seeds",
                **{f.name: f.cli_flag for f in config_flag_fields()}}


def with_flag(message: str) -> str:
    """Name the flag when a config message starts with the field it sets."""
    first = message.split(" ", 1)[0]
    flag = _FIELD_FLAGS.get(first)
    return f"{flag}: {message}" if flag else message


def budget(cfg: TrainConfig) -> str:
    parts = []
    if cfg.max_episodes is not None:
        parts.append(f"{cfg.max_episodes:,} episodes")
    if cfg.max_steps is not None:
        parts.append(f"{cfg.max_steps:,} env steps")
    if cfg.max_seconds is not None:
        parts.append(f"{cfg.max_seconds:g} s")
    return "budget " + " or ".join(parts)


def fmt(value, kind: str) -> str:
    """A table cell: ``-`` for missing or non-finite, else an int with commas or one decimal."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if kind == "int":
        return f"{int(round(value)):,}"
    if kind == "sec":
        return f"{value:.1f}"
    return f"{value:.1f}"


# ----- where the runs train -------------------------------------------------------------------


def executor_from_args(args: argparse.Namespace):
    """The :class:`~pgcore.execution.Executor` of ``--executor`` / ``--address`` (each falling
    back to ``PGLAB_EXECUTOR`` / ``PGLAB_RAY_ADDRESS``); a bad value is a one-line CLIError."""
    from ..execution import Executor, ExecutorError
    from ..execution.executors import ENV_ADDRESS, ENV_EXECUTOR

    flag_kind, flag_address = getattr(args, "executor", None), getattr(args, "address", None)
    kind = flag_kind or os.environ.get(ENV_EXECUTOR, "").strip().lower() or "local"
    address = flag_address if flag_address is not None else (
        os.environ.get(ENV_ADDRESS, "").strip() or None)
    if flag_address is not None and kind != "ray":
        raise CLIError("--address needs --executor ray")
    try:
        return Executor(kind, address if kind == "ray" else None)
    except ExecutorError as exc:
        bad_kind = "unknown executor" in str(exc)
        source = ("--executor" if flag_kind else ENV_EXECUTOR) if bad_kind else (
            "--address" if flag_address is not None else ENV_ADDRESS)
        raise CLIError(f"{source}: {exc}") from None


def executor_pool(executor, min_workers: int | None = None):
    """The executor's pool, connected now (a cluster that cannot be reached, or ray missing:
    one-line CLIError, exit 2, before any work)."""
    from ..execution import ExecutorError

    try:
        return executor.pool(min_workers)
    except ExecutorError as exc:
        raise CLIError(str(exc)) from None
