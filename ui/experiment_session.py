"""How the experiment pages build their tasks.

Each experiment page keeps at most one :class:`pgcore.execution.experiments.Experiment` (or, on the
gradient-variance page, one :class:`pgcore.labs.gradvar.GradVarLab`) under its page key in this
session's :func:`ui.state.session_tasks` (the one session-scoped holder, shared with the
Train page's run: it survives page switches, and when the tab closes everything stops).
Its jobs train in the run hosts beside the Train pages' runs (``PGLAB_RUNS=hosts``, the
default), all at once; with ``PGLAB_RUNS=threads`` or a Ray cluster (``PGLAB_EXECUTOR``) they
take slots from the same process-wide pool as thread runs. Where the server's memory holds no
worker process (a 690 MB host: :func:`ui.state.memory_plan`), they run one after another in a
thread of the server instead of in a worker pool that would not fit.
"""

from __future__ import annotations

import os

from pgcore.execution.executors import ENV_EXECUTOR
from pgcore.execution.experiments import Experiment, Job

from .state import memory_plan, runs_in_hosts, session_tasks, shares_runs, slot_pool, training_hosts


def experiment_mode() -> str:
    """``process`` (parallel workers) unless ``PGLAB_EXPERIMENT_MODE=inline`` (tests) or the
    server's memory holds no worker process (and no Ray cluster takes the jobs)."""
    mode = os.environ.get("PGLAB_EXPERIMENT_MODE", "process").strip().lower()
    if mode == "process" and not memory_plan().workers_fit \
            and not os.environ.get(ENV_EXECUTOR, "").strip():
        return "inline"
    return mode if mode in ("process", "inline") else "process"


def start_experiment(key: str, jobs: list[Job], frame_every: float | None = None,
                     trace_every: int | None = None, trace_flips: bool = True) -> None:
    """Build and start an experiment for page ``key`` (a button callback); ``trace_every``
    env steps asks each job for a trace (:data:`pgcore.execution.experiments.TRACE_COLUMNS`)."""
    mode = experiment_mode()
    if mode == "process" and runs_in_hosts() and not os.environ.get(ENV_EXECUTOR, "").strip():
        # every job at once in the run hosts, taking turns with every other run there: all
        # the conditions grow together from the first seconds (no queue for a free worker)
        # identical jobs (a class on the same page's defaults) watch one computation each
        exp = Experiment(jobs, hosts=training_hosts(), share=shares_runs(),
                         frame_every=frame_every, trace_every=trace_every,
                         trace_flips=trace_flips)
    else:  # runs in threads here, or a Ray cluster: the jobs take slots of the shared pool
        exp = Experiment(jobs, mode=mode, pool=slot_pool(), frame_every=frame_every,
                         trace_every=trace_every, trace_flips=trace_flips)
    session_tasks().page(key).start(exp)
