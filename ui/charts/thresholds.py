"""CartPole's two lines to reach, as every chart draws them: 195 (CartPole-v0's criterion, the
one the lesson quotes) and 475 (CartPole-v1's own), each a rule in its look from
:mod:`ui.charts.palette`, labelled in its chart's words (the palette knows every wording, so
"475", "475: CartPole-v1 solved" and "finish line: 475" all look the same).
"""

from __future__ import annotations

import altair as alt

from pgcore.training.metrics import CARTPOLE_V0_SOLVED, CARTPOLE_V1_SOLVED

from . import palette

V0, V1 = CARTPOLE_V0_SOLVED, CARTPOLE_V1_SOLVED
SOLVED = ((V0, "195: CartPole-v0 solved"), (V1, "475: CartPole-v1 solved"))
"""(y, label) on one run's returns chart (the Train page)."""
CRITERIA = ((V0, "195: CartPole-v0 criterion"), (V1, "475: CartPole-v1 criterion"))
"""(y, label) on the experiment pages' charts."""
SHORT = ((V0, "195"), (V1, "475"))
"""(y, label) where the chart's caption says what the numbers are."""


def rules(thresholds, y_scale=alt.Undefined, y_title: str | None = None, **kwargs) -> list:
    """A labelled rule per ``(y, label)`` of ``thresholds`` (these, or another chart's own
    lines to reach, such as Pendulum's -200), each drawn in the look its label names;
    ``kwargs``: :func:`ui.charts.palette.rule_layers`' (``text=False``: the rule alone)."""
    return palette.rule_layers([(y, label, label) for y, label, *_ in thresholds], y_scale,
                               y_title, **kwargs)
