"""The exercise notebooks (``exercises/`` of the repository): which page each of the lesson's six
exercises belongs to, the download button a page shows beside its exercise, and the list Home
shows.

A notebook is served as a file and runs on the learner's own machine (or any Jupyter they
use); no learner's code ever runs on this server. The notebooks are read once per process.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import streamlit as st

NOTEBOOKS = Path(__file__).resolve().parents[1] / "exercises"
"""Where the notebooks live in the repository."""
HOW_TO_OPEN = ("Runs on your own computer in Jupyter, not on this server: in a copy of this "
               "project, `pip install -r requirements.txt -e . jupyter`, then "
               "`jupyter lab exercises/` (the README says more).")


@dataclass(frozen=True)
class Exercise:
    """One exercise: its number (the notebooks' order), the URL path of its page, its
    notebook's file name, the page's title and what the learner writes."""

    number: int
    page: str
    notebook: str
    title: str
    writes: str


EXERCISES = (
    Exercise(1, "seeds_variance", "01_seeds_variance.ipynb", "Seeds & variance",
             "discounted returns and the REINFORCE loss; three seeds"),
    Exercise(2, "baseline", "02_baseline.ipynb", "Baseline vs none",
             "the learned value baseline's two losses"),
    Exercise(3, "entropy", "03_entropy.ipynb", "Entropy bonus",
             "the policy's entropy and the actor-critic loss with its bonus"),
    Exercise(4, "dqn_target", "04_dqn_target.ipynb", "Target network",
             "DQN's TD target, terminated and truncated"),
    Exercise(5, "dqn_polyak", "05_dqn_polyak.ipynb", "Hard copy or Polyak",
             "the Polyak (soft) target update"),
    Exercise(6, "dqn_overestimation", "06_dqn_overestimation.ipynb", "Overestimation",
             "the Double DQN target"),
)
"""The lesson's six exercises: its three policy-gradient ones, then the three DQN ones of the
episode before it, in the order of the menu."""


def exercise(number: int) -> Exercise:
    """The exercise numbered ``number`` (1-6)."""
    for e in EXERCISES:
        if e.number == number:
            return e
    raise KeyError(f"no exercise {number}: they are numbered 1 to {len(EXERCISES)}")


@cache
def notebook_bytes(name: str) -> bytes | None:
    """The notebook file's bytes, or None when this copy of the app does not have it."""
    try:
        return (NOTEBOOKS / name).read_bytes()
    except OSError:
        return None


def download_button(number: int) -> None:
    """The download button of exercise ``number``'s notebook, for its page (one line there);
    a caption instead when the file is missing."""
    e = exercise(number)
    data = notebook_bytes(e.notebook)
    if data is None:
        st.caption(f"Exercise {number}'s notebook is not part of this copy of the app.")
        return
    st.download_button(f"Exercise {number} as a notebook", data, file_name=e.notebook,
                       mime="application/x-ipynb+json", icon=":material/download:",
                       key=f"exercise-notebook-{number}", on_click="ignore",
                       help=f"Write {e.writes} yourself, check it, then train with it and "
                            f"compare with the reference runs. {HOW_TO_OPEN}")


def listing() -> str:
    """Markdown: every exercise with its page and what the learner writes, then how to open
    them (Home). Each page has its notebook's download button."""
    lines = [f"{e.number}. **{e.title}**: {e.writes} (`exercises/{e.notebook}`)"
             for e in EXERCISES]
    return ("Write the maths yourself, check it against pgcore's, then train with it and "
            "compare your curves with the reference runs. Each exercise's page has a button "
            "to download its notebook.\n\n" + "\n".join(lines) + "\n\n" + HOW_TO_OPEN)
