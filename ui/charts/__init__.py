"""The chart kit: the pieces every page's charts, tables and captions are built from.

* :mod:`~ui.charts.palette`: one colour, dash and marker per condition on every chart, how axes
  write numbers and how legends fit their labels;
* :mod:`~ui.charts.numbers`: how a number is written (a missing one, a median and its range, a
  count, a percentage);
* :mod:`~ui.charts.curves`: curves smoothed over the full history, then downsampled;
* :mod:`~ui.charts.bands`: the mean ± 1 std band across seeds, and the typical-run band;
* :mod:`~ui.charts.thresholds`: CartPole's 195 and 475 as labelled rules;
* :mod:`~ui.charts.specs`: a chart template refilled with fresh data on every refresh;
* :mod:`~ui.charts.live`: one run's live charts (the Train and Continuous actions pages);
* :mod:`~ui.charts.experiments`: the charts of an experiment's runs across seeds.

Nothing here imports streamlit, and nothing here belongs to one page: a page's own charts live
in its module (``ui/rps.py``, ``ui/smoothness.py``, ...), which builds on these
(``tests/test_module_boundaries.py``).
"""
