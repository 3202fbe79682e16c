"""The exercise notebooks' side of pgcore: checks of a learner's functions against pgcore's
maths (:mod:`~pgcore.exercises.checks`), agents that train with the learner's functions in
place of pgcore's (:mod:`~pgcore.exercises.agents`), and the runs' charts beside the shipped
reference bands (:mod:`~pgcore.exercises.plots`).

The notebooks live in ``exercises/`` of the repository (one per exercise of the lesson) and run
on the learner's machine, never on the app's server. Never imports streamlit.
"""

from __future__ import annotations

import os

QUICK = "PGLAB_EXERCISES_QUICK"
"""Set (to anything but empty) to run every notebook's training on a tiny budget: the tests
execute each notebook so, in seconds."""


def budget(full, quick):
    """``full`` normally; ``quick`` when the environment variable :data:`QUICK` is set.

    >>> budget(1000, 3) in (1000, 3)
    True
    """
    return quick if os.environ.get(QUICK) else full
