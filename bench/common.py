"""Shared helpers for the benchmark scripts: thresholds, summaries, tables, process pools.

Every figure in ``bench/`` is computed from three per-episode sequences of one training run:
the episode returns, the cumulative env steps when each episode ended, and the cumulative
training wall seconds when it ended. :func:`summarize` turns those into the numbers the
tables print; :func:`aggregate` combines seeds into "median [min-max]".
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # let `python bench/x.py` import pgcore without installing
    sys.path.insert(0, str(REPO_ROOT))

from pgcore.training.metrics import (  # noqa: E402 - after the sys.path line above
    CARTPOLE_V0_SOLVED,
    CARTPOLE_V1_SOLVED,
    DEFAULT_WINDOW,
    episodes_to_threshold,  # noqa: F401 - re-exported: the bench's threshold is pgcore's
)
from pgcore.training.metrics import summarize as _summarize  # noqa: E402

WINDOW = DEFAULT_WINDOW
THRESHOLDS = (CARTPOLE_V0_SOLVED, CARTPOLE_V1_SOLVED)
SUMMARY_KEYS = ("episodes", "episodes_to_195", "episodes_to_475", "steps_to_475",
                "seconds_to_475", "final_avg100", "env_steps", "wall_seconds",
                "steps_per_second")
"""The figures of a bench run's ``summary``, in order."""


def single_thread() -> None:
    """One torch thread and one BLAS thread for numpy (the benchmarks' rule: timing is per
    core, not per machine), for every system measured."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(limits=1, user_api="blas")
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")


class ThresholdWatch:
    """Feed returns one at a time; ``update`` says True once the moving average reaches it
    (what :func:`episodes_to_threshold` says afterwards, found while training, to stop early)."""

    def __init__(self, threshold: float, window: int = WINDOW):
        self.threshold, self.window = threshold, window
        self.returns: list[float] = []
        self.total = 0.0

    def update(self, episode_return: float) -> bool:
        self.returns.append(float(episode_return))
        self.total += episode_return
        n = len(self.returns)
        if n > self.window:
            self.total -= self.returns[n - 1 - self.window]
        return n >= self.window and self.total / self.window >= self.threshold - 1e-9


def summarize(returns: Sequence[float], cum_steps: Sequence[int],
              cum_seconds: Sequence[float], total_steps: int | None = None,
              total_seconds: float | None = None) -> dict:
    """Per-run figures (:data:`SUMMARY_KEYS`) of :func:`pgcore.training.metrics.summarize`:
    episodes to
    195 / 475, steps and seconds to 475, final average, env steps per second (over the whole
    run: ``total_steps`` / ``total_seconds``, by default those at the last episode).

    The bench's tables format these as numbers, so an empty run's final average and the
    rate of a run without time are NaN here (pgcore says None and 0.0).
    """
    s = _summarize(returns, cum_steps, cum_seconds, run_steps=total_steps,
                   run_seconds=total_seconds)
    out = {k: s[k] for k in SUMMARY_KEYS}
    if out["final_avg100"] is None:
        out["final_avg100"] = float("nan")
    seconds = out["wall_seconds"]
    if seconds is None or not seconds > 0:
        out["steps_per_second"] = float("nan")
    return out


# ----- aggregation and formatting -----------------------------------------------------------


def fmt_num(x: float | None, kind: str = "int") -> str:
    if x is None:
        return "-"
    if kind == "steps":
        if x >= 10_000:
            return f"{x / 1000:.0f}k"
        return f"{x / 1000:.1f}k" if x >= 1000 else f"{x:.0f}"
    if kind == "sec":
        return f"{x:.1f}" if x < 100 else f"{x:.0f}"
    if kind == "rate":
        return f"{x:,.0f}"
    if kind == "avg":
        return f"{x:.1f}"
    if kind == "fine":
        return f"{x:.3f}"
    return f"{x:.0f}"


def median_range(values: Iterable[float | None], kind: str = "int", n_total: int | None = None,
                 show_count: bool = False, empty: str | None = None) -> str:
    """ "216 [194-260]" over the non-None values; ``empty`` (default "never (0/5)") if none."""
    values = list(values)
    vals = [v for v in values if v is not None]
    n_total = len(values) if n_total is None else n_total
    if not vals:
        if empty is not None:
            return empty
        return f"never (0/{n_total})" if n_total else "-"
    med = statistics.median(vals)
    text = fmt_num(med, kind)
    if len(vals) > 1:
        text += f" [{fmt_num(min(vals), kind)}-{fmt_num(max(vals), kind)}]"
    if show_count and n_total is not None:
        text += f" ({len(vals)}/{n_total})"
    return text


def median_of(values: Iterable[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


LEARNING_HEADERS = ("system", "episodes to 195", "episodes to 475 (seeds)", "steps to 475",
                    "seconds to 475", "final avg-100", "env steps/s")


def learning_row(name: str, runs: Sequence[dict]) -> list[str]:
    """One table row from the per-seed summaries of one system."""
    n = len(runs)
    return [
        name,
        median_range([r["episodes_to_195"] for r in runs], n_total=n),
        median_range([r["episodes_to_475"] for r in runs], n_total=n, show_count=True),
        median_range([r["steps_to_475"] for r in runs], "steps", empty="-"),
        median_range([r["seconds_to_475"] for r in runs], "sec", empty="-"),
        median_range([r["final_avg100"] for r in runs], "avg", n_total=n),
        median_range([r["steps_per_second"] for r in runs], "rate", n_total=n),
    ]


# ----- running tasks ------------------------------------------------------------------------


def _init_worker() -> None:
    single_thread()


def run_tasks(fn: Callable, tasks: Sequence[tuple], jobs: int = 1,
              progress: Callable[[tuple, dict], None] | None = None) -> list:
    """``[fn(*t) for t in tasks]``, in ``jobs`` worker processes when jobs > 1 (spawned, one
    torch thread each). Results come back in task order; ``progress`` sees each as it lands."""
    if jobs <= 1:
        out = []
        for t in tasks:
            out.append(fn(*t))
            if progress is not None:
                progress(t, out[-1])
        return out
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_init_worker) as pool:
        futures = [pool.submit(fn, *t) for t in tasks]
        out = []
        for t, f in zip(tasks, futures, strict=True):
            out.append(f.result())
            if progress is not None:
                progress(t, out[-1])
        return out


def log(msg: str) -> None:
    """Progress lines go to stderr so stdout holds only the tables."""
    print(msg, file=sys.stderr, flush=True)


# ----- a `streamlit run` server for the app benchmarks -------------------------------------------


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (for a ``streamlit run`` server a benchmark starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_streamlit(proc: subprocess.Popen, url: str, timeout: float) -> None:
    """Block until the ``streamlit run`` server ``proc`` answers its health check at ``url``;
    RuntimeError if it exits first or has not answered within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError("streamlit exited at start-up")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"streamlit did not start within {timeout:.0f} s")
        time.sleep(0.5)


def stop_server(proc: subprocess.Popen) -> None:
    """Stop a server process this benchmark started: terminate, wait up to 20 s, then kill."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def load_average() -> str:
    """The machine's 1-minute load average, as text ("?" where /proc has none)."""
    try:
        with open("/proc/loadavg") as f:
            return f.read().split()[0]
    except OSError:
        return "?"
