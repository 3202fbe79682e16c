"""How the experiment pages build their tasks.

Each experiment page keeps at most one :class:`pgcore.experiments.Experiment` (or, on the
gradient-variance page, one :class:`pgcore.gradvar.GradVarLab`) under its page key in this
session's :func:`ui.state.session_tasks` (the one session-scoped holder, shared with the
Train page's run: it survives page switches, and when the tab closes everything stops).
Jobs take slots from the same process-wide pool as Train-page runs.
"""

from __future__ import annotations

import os

from pgcore.experiments import Experiment, Job

from .state import session_tasks, slot_pool


def experiment_mode() -> str:
    """``process`` (parallel workers) unless ``PGLAB_EXPERIMENT_MODE=inline`` (tests)."""
    mode = os.environ.get("PGLAB_EXPERIMENT_MODE", "process").strip().lower()
    return mode if mode in ("process", "inline") else "process"


def start_experiment(key: str, jobs: list[Job], frame_every: float | None = None,
                     trace_every: int | None = None) -> None:
    """Build and start an experiment for page ``key`` (a button callback); ``trace_every``
    env steps asks each job for a trace (:data:`pgcore.experiments.TRACE_COLUMNS`)."""
    exp = Experiment(jobs, mode=experiment_mode(), pool=slot_pool(), frame_every=frame_every,
                     trace_every=trace_every)
    session_tasks().page(key).start(exp)
