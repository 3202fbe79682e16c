"""The chart kit: the pieces every page's charts are built from.

* :mod:`~ui.charts.palette`: one colour, dash and marker per condition on every chart, how axes
  write numbers and how legends fit their labels;
* :mod:`~ui.charts.live`: one run's live charts (returns, update diagnostics, the critic's
  V(s₀)), authored once and refilled with fresh data on every refresh;
* :mod:`~ui.charts.experiments`: the charts of an experiment's runs across seeds.

Nothing here imports streamlit, and nothing here belongs to one page: a page's own charts live
in its module (``ui/rps.py``, ``ui/smoothness.py``, ...), which builds on these.
"""
