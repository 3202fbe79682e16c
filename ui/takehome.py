"""Take it home: the page's setup as a ``python -m pgcore`` command, a script and a notebook.

One popover, drawn with one line by the Train page and by the experiment pages' shared
controls (:func:`ui.experiment_controls.controls_ui`): the command in ``st.code`` (copy
button included) and two downloads. The text comes from :mod:`pgcore.cli.export`, made from
the very config or jobs the page's Start would run, so a teacher's locked or hidden settings
are in all three. Nothing is executed here: the files are text the learner runs at home.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import streamlit as st

from pgcore.cli.export import (
    GRADVAR_LABELS,
    PAGE_CHARTS,
    TRAIN_LABEL,
    ExportError,
    GradVarSetup,
    command_for,
    notebook_for,
    run_options,
    script_for,
)
from pgcore.cli.export import setup_of as export_setup

__all__ = ["GradVarSetup", "page_entry", "styles_for", "take_home_ui"]

from . import navigation
from .charts import palette

HELP = ("The same runs at home, seed for seed: a command for a terminal, a Python script and a "
        "Jupyter notebook that draws the page's charts. Install pgcore first (see the "
        "README).")


def page_entry() -> navigation.Entry | None:
    """The navigation entry of the page file that is running (found on the call stack: the
    helper is called from the page, or from shared controls the page calls)."""
    views = navigation.VIEWS
    by_path = {e.path: e for e in navigation.entries()}
    for frame in inspect.stack(context=0):
        path = Path(frame.filename).resolve()
        if path in by_path:
            return by_path[path]
        if views in path.parents:
            return None
    return None


def styles_for(labels: list[str]) -> dict[str, tuple[str, list[int]]]:
    """The palette's colour and dash of each condition, as the page's charts draw them
    together (a Train run's curve is the average's), for the notebook's charts."""
    if labels == [TRAIN_LABEL]:
        s = palette.style(palette.AVERAGE)
        return {TRAIN_LABEL: (s.color, s.stroke_dash)}
    return {label: (s.color, s.stroke_dash) for label, s in palette.styles(labels).items()}


def labels_of(setup) -> list[str]:
    """The conditions' labels of a setup (the estimators of a gradient-variance one)."""
    if isinstance(setup, GradVarSetup):
        return list(GRADVAR_LABELS.values())
    return [c.label or TRAIN_LABEL for c in setup.conditions]


def take_home_ui(what, key: str = "takehome", trace_every: int | None = None,
                 trace_flips: bool = True) -> None:
    """The "Take it home" popover for ``what``: a ``TrainConfig`` (the Train page), the jobs
    of an experiment page or a :class:`GradVarSetup` (the Gradient variance page); nothing
    when the settings cannot run (None), a one-line note when they make no single command.
    The notebook draws the page's charts (``PAGE_CHARTS`` of the page), its runs traced as
    the page's are (``trace_every``, ``trace_flips``)."""
    if what is None:
        return
    entry = page_entry()
    title = entry.title if entry is not None else ""
    stem = entry.url_path if entry is not None and entry.url_path else "pgcore"
    try:
        setup = export_setup(what, title, PAGE_CHARTS.get(stem, ()),
                             run_options(trace_every, trace_flips))
        command = command_for(setup, wrap=True)
    except ExportError as exc:
        st.caption(f"Take it home: {exc}")
        return
    labels = labels_of(setup)
    with st.popover("Take it home", icon=":material/download:", help=HELP):
        st.markdown("**This setup at home**: the same runs, seed for seed. In a terminal:")
        st.code(command, language="bash", wrap_lines=True)
        c1, c2 = st.columns(2)
        c1.download_button("Script (.py)", data=lambda: script_for(setup),
                           file_name=f"{stem}.py", mime="text/x-python",
                           icon=":material/code:", key=f"{key}.py", on_click="ignore",
                           help=f"A short script on pgcore's API: python {stem}.py")
        c2.download_button("Notebook (.ipynb)",
                           data=lambda: notebook_for(setup, styles=styles_for(labels)),
                           file_name=f"{stem}.ipynb", mime="application/x-ipynb+json",
                           icon=":material/book:", key=f"{key}.ipynb", on_click="ignore",
                           help="A Jupyter notebook that trains the runs and draws the "
                                "page's charts.")
        st.caption("Install pgcore once, in the project's folder: `pip install \".[notebook]\"`"
                   " (see the README). Nothing runs on this server.")
