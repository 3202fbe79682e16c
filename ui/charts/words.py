"""Every chart in words: a one-sentence summary of what it shows in numbers, and its data as a
table, both read from the chart's own Vega-Lite spec (the same data the picture is drawn
from), so a screen reader, or anyone who cannot tell two lines apart, gets the same facts.

:func:`summary` finds the chart's main series (the largest layer with an x and a y field, split
by its colour, dash or detail field) and says, per series, where it ends and how high it went,
and, where the chart draws lines to reach (CartPole's 195 and 475, Pendulum's -200), when the
series first reached the highest of them or that it had not by its last point. A chart whose x
is a category (bars) lists its values instead. :func:`table` is that layer's data, only the
columns the chart encodes, for a data table beside the chart.

Pure functions of a spec dict: ``ui/style.chart`` draws a chart and then its words.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterator

import numpy as np
import pandas as pd

from .numbers import fmt

SERIES_CHANNELS = ("color", "strokeDash", "shape", "detail")
"""Encoding channels that split a chart's data into series, in the order tried."""
MAX_SERIES = 6
"""How many series a summary names (then "and N more")."""
MAX_BARS = 8
"""How many categories a bar chart's summary lists (then "and N more")."""
NUMERIC = ("quantitative", "temporal")


def _field(enc: dict | None, channel: str) -> str | None:
    ch = (enc or {}).get(channel)
    if isinstance(ch, list):  # a tooltip-style list: not a channel that draws
        return None
    return ch.get("field") if isinstance(ch, dict) else None


def _title(enc: dict, channel: str) -> str:
    ch = enc.get(channel) or {}
    title = ch.get("title")
    if isinstance(title, list):
        title = " ".join(str(t) for t in title)
    return str(title) if title else str(ch.get("field", channel))


def _frame(values) -> pd.DataFrame:
    """A chart's data as a frame, in any form a spec carries it: a list of records, a dict of
    columns, a pandas frame, an Arrow table or an Arrow IPC stream's bytes (Streamlit takes
    these in ``data.values``; the Train page sends its tables serialised once per snapshot)."""
    if values is None:
        return pd.DataFrame()
    if isinstance(values, pd.DataFrame):
        return values
    if hasattr(values, "to_pandas"):  # a pyarrow Table
        return values.to_pandas()
    if isinstance(values, (bytes, bytearray, memoryview)):  # an Arrow IPC stream (ui.train)
        import pyarrow as pa

        try:
            return pa.ipc.open_stream(values).read_all().to_pandas()
        except (pa.ArrowInvalid, OSError):
            return pd.DataFrame()
    try:
        return pd.DataFrame(values)
    except (TypeError, ValueError):
        return pd.DataFrame()


def _rows(data, datasets: dict) -> pd.DataFrame:
    if not isinstance(data, dict):
        return pd.DataFrame()
    if "values" in data:
        return _frame(data["values"])
    return _frame(datasets.get(data.get("name")))


_FRAMES: dict[int, tuple[object, pd.DataFrame]] = {}
"""The frames of the spec being read (by the id of its data), so one spec's layers and its
sentence and table build each dataset's frame once; cleared for each new spec."""


def _layers(spec: dict) -> Iterator[tuple[dict, object, dict]]:
    """Every unit view of ``spec`` with the data and encoding it inherits:
    ``(view, data, encoding)``; :func:`_frame_of` turns ``data`` into a frame."""

    def walk(node: dict, data, enc: dict) -> Iterator[tuple[dict, object, dict]]:
        data = node.get("data", data)
        enc = {**enc, **(node.get("encoding") or {})}
        children = [c for key in ("layer", "hconcat", "vconcat", "concat")
                    for c in node.get(key) or []]
        if isinstance(node.get("spec"), dict):  # a facet or repeat
            children.append(node["spec"])
        if not children:
            yield node, data, enc
        for child in children:
            yield from walk(child, data, enc)

    yield from walk(spec, None, {})


def _frame_of(spec: dict, data) -> pd.DataFrame:
    """``data`` (a view's ``data``) of ``spec`` as a frame, built once per spec."""
    datasets = spec.get("datasets") or {}
    values = (data.get("values", datasets.get(data.get("name")))
              if isinstance(data, dict) else None)
    key = id(values)
    held = _FRAMES.get(key)
    if held is None or held[0] is not values:
        if len(_FRAMES) > 64:
            _FRAMES.clear()
        held = (values, _rows(data, datasets))
        _FRAMES[key] = held
    return held[1]


def _mark(view: dict) -> str:
    mark = view.get("mark")
    return mark.get("type", "") if isinstance(mark, dict) else str(mark or "")


def _main(spec: dict) -> tuple[pd.DataFrame, dict] | None:
    """The largest layer that draws an x field against a y field: ``(rows, encoding)``; the
    encoding carries ``"_stacked": True`` when its y values are stacked (an area or bar split
    by a field, as Vega-Lite stacks them by default)."""
    best = None
    for view, data, enc in _layers(spec):
        mark = _mark(view)
        if mark in ("rule", "text"):
            continue
        if _field(enc, "x") is None or _field(enc, "y") is None:
            continue
        rows = _frame_of(spec, data)
        if rows.empty:
            continue
        if best is None or len(rows) > len(best[0]):
            stack = (enc.get("y") or {}).get("stack", "zero")
            split = any(_field(enc, c) for c in ("color", "detail"))
            best = (rows, {**enc, "_stacked": mark in ("area", "bar") and split
                           and stack not in (None, False)})
    return best


def thresholds(spec: dict) -> list[float]:
    """The y values of the chart's horizontal rules (its lines to reach), in order."""
    found: set[float] = set()
    for view, data, enc in _layers(spec):
        if _mark(view) != "rule" or _field(enc, "x") is not None or "x" in enc:
            continue
        y = enc.get("y") or {}
        rows = _frame_of(spec, data) if y.get("field") else pd.DataFrame()
        if "datum" in y and isinstance(y["datum"], (int, float)):
            found.add(float(y["datum"]))
        elif y.get("field") in rows.columns:
            found.update(v for v in map(_num, rows[y["field"]]) if v is not None)
    return sorted(found)


def _series_field(enc: dict, x: str, y: str) -> str | None:
    for channel in SERIES_CHANNELS:
        f = _field(enc, channel)
        if f and f not in (x, y):
            return f
    return None


def _series_keys(rows: pd.DataFrame, enc: dict, x: str, y: str) -> np.ndarray:
    """Each row's series name: the values of every field that splits the layer into series
    (colour, dash, shape, detail), those that vary; a number-valued field is named with its
    field ("seed 2"), so a layer of one colour split by seed is one curve per seed.

    >>> rows = pd.DataFrame({"series": ["one seed"] * 2, "seed": [0, 1]})
    >>> list(_series_keys(rows, {"color": {"field": "series"}, "detail": {"field": "seed"}},
    ...                   "episode", "return"))
    ['seed 0', 'seed 1']
    """
    fields = [f for f in dict.fromkeys(_field(enc, c) for c in SERIES_CHANNELS)
              if f and f not in (x, y) and f in rows.columns]
    varying = [f for f in fields if rows[f].nunique(dropna=False) > 1] or fields[:1]
    if not varying:
        return np.full(len(rows), "", dtype=object)
    parts = []
    for f in varying:
        values = rows[f]
        named = pd.to_numeric(values, errors="coerce").notna().all()
        parts.append((f"{f} " + values.astype(str)) if named else values.astype(str))
    keys = parts[0]
    for part in parts[1:]:
        keys = keys + ", " + part
    return keys.to_numpy(dtype=object)


def _num(v) -> float | None:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _number(v: float) -> str:
    """A value as a chart's reader wants it: whole numbers with thousands separators, small
    ones with three significant figures."""
    if v == int(v) and abs(v) < 1e15:
        return f"{int(v):,}"
    if abs(v) >= 100:
        return fmt(v, ",.0f")
    if abs(v) >= 1:
        return fmt(v, ",.1f")
    return fmt(v, ".3g")


def _curve(label: str, xs: np.ndarray, ys: np.ndarray, x_title: str,
           goal: float | None) -> str:
    order = np.argsort(xs, kind="stable")
    xs, ys = xs[order], ys[order]
    if len(np.unique(xs)) < len(xs):  # points, several per x: their spread
        return (f"{label} {len(ys):,} points from {_number(ys.min())} to "
                f"{_number(ys.max())} (median {_number(float(np.median(ys)))})")
    text = (f"{label} ends at {_number(ys[-1])} at {x_title} {_number(xs[-1])} "
            f"(highest {_number(ys.max())})")
    if goal is not None:
        above = ys >= goal
        text += (f", first reached {_number(goal)} at {_number(xs[np.argmax(above)])}"
                 if above.any() else f", had not reached {_number(goal)} by {_number(xs[-1])}")
    return text


def summary(spec: dict) -> str:
    """One or two sentences that say what ``spec`` shows in numbers; "" when it draws no x
    against y (nothing to say).

    >>> spec = {"data": {"values": [
    ...     {"episode": 1, "return": 20, "run": "A2C"}, {"episode": 2, "return": 480, "run": "A2C"},
    ...     {"episode": 1, "return": 15, "run": "REINFORCE"},
    ...     {"episode": 2, "return": 90, "run": "REINFORCE"}]},
    ...     "mark": "line", "encoding": {"x": {"field": "episode", "type": "quantitative"},
    ...     "y": {"field": "return", "type": "quantitative", "title": "Return"},
    ...     "color": {"field": "run", "type": "nominal"}}}
    >>> print(summary(spec))  # doctest: +NORMALIZE_WHITESPACE
    Return against episode: A2C ends at 480 at episode 2 (highest 480); REINFORCE ends at 90
    at episode 2 (highest 90).
    """
    main = _main(spec)
    if main is None:
        return ""
    rows, enc = main
    x, y = _field(enc, "x"), _field(enc, "y")
    x_num = (enc["x"].get("type") in NUMERIC)
    y_num = (enc["y"].get("type") in NUMERIC)
    if not x_num and y_num:
        return _bars(rows, enc, cat="x", val="y")
    if x_num and not y_num:
        return _bars(rows, enc, cat="y", val="x")
    goals = [] if enc["_stacked"] else thresholds(spec)  # a stacked share reaches no line
    goal = goals[-1] if goals else None
    if x not in rows.columns or y not in rows.columns:
        return ""
    xs = pd.to_numeric(rows[x], errors="coerce").to_numpy(dtype=float)
    ys = pd.to_numeric(rows[y], errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(xs) & np.isfinite(ys)
    if not ok.any():
        return ""
    keys = _series_keys(rows, enc, x, y)
    keys, xs, ys = keys[ok], xs[ok], ys[ok]
    labels = list(dict.fromkeys(keys))  # in the order the data has them
    groups = {label: (xs[keys == label], ys[keys == label]) for label in labels}
    x_title, y_title = _title(enc, "x"), _title(enc, "y")
    parts = [_curve(label, xs, ys, x_title, goal).strip()
             for label, (xs, ys) in list(groups.items())[:MAX_SERIES]]
    more = len(groups) - MAX_SERIES
    tail = f"; and {more} more" if more > 0 else ""
    return f"{y_title} against {x_title}: " + "; ".join(parts) + tail + "."


def _bars(rows: pd.DataFrame, enc: dict, cat: str, val: str) -> str:
    c, v = _field(enc, cat), _field(enc, val)
    if c not in rows.columns or v not in rows.columns:
        return ""
    series = _series_field(enc, c, v)
    series = series if series in rows.columns else None
    items = []
    for r in rows.to_dict("records"):
        value = _num(r.get(v))
        if value is None:
            continue
        name = str(r.get(c))
        if series and str(r.get(series)) != name:
            name = f"{r.get(series)}, {name}"
        items.append(f"{name} {_number(value)}")
    if not items:
        return ""
    more = len(items) - MAX_BARS
    listed = "; ".join(items[:MAX_BARS]) + (f"; and {more} more" if more > 0 else "")
    return f"{_title(enc, val)} by {_title(enc, cat)}: {listed}."


def table(spec: dict) -> pd.DataFrame | None:
    """The data of the chart's main layer, the columns it encodes (x, y, series, ...) in that
    order, titled as the chart titles them; None when the chart draws no x against y. Curves
    split by one field, one point per series and x, come one row per x with a column per
    series (a screen reader compares them along a row)."""
    main = _main(spec)
    if main is None:
        return None
    rows, enc = main
    columns: dict[str, str] = {}
    for channel in ("x", "y", *SERIES_CHANNELS, "y2", "x2"):
        f = _field(enc, channel)
        if f and f not in columns:
            columns[f] = _title(enc, channel) if channel in ("x", "y") else f
    keep = [f for f in columns if f in rows.columns]
    if not keep:
        return None
    x, y = _field(enc, "x"), _field(enc, "y")
    series = _series_field(enc, x, y)
    if (keep == [x, y, series] and enc["x"].get("type") in NUMERIC
            and not rows.duplicated([x, series]).any()):
        wide = rows.pivot(index=x, columns=series, values=y)
        wide.columns = [f"{_title(enc, 'y')}: {c}" for c in wide.columns]
        return wide.reset_index().rename(columns={x: columns[x]})
    out = rows[keep].rename(columns=columns)
    return out.loc[:, ~out.columns.duplicated()]


MAX_ROWS = 120
"""How many rows a chart's data table shows: evenly spaced through its data, first and last
included (a screen reader reads a long table row by row; the chart's CSV has them all)."""


def _cell(v) -> str:
    n = _num(v) if not isinstance(v, (str, bool)) else None
    if n is not None:
        return _number(n)
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)


def table_html(frame: pd.DataFrame, caption: str = "") -> str:
    """``frame`` as an HTML table a screen reader can walk (``<caption>``, header cells with
    ``scope="col"``), at most :data:`MAX_ROWS` rows, evenly spaced through it; the caption
    says so when rows were left out.

    >>> print(table_html(pd.DataFrame({"episode": [1, 2], "return": [9.5, 500.0]}), "Returns"))
    <table class="pg-data"><caption>Returns</caption><thead><tr><th scope="col">episode</th><th scope="col">return</th></tr></thead><tbody><tr><td>1</td><td>9.5</td></tr><tr><td>2</td><td>500</td></tr></tbody></table>
    """  # noqa: E501 - one line of HTML
    n = len(frame)
    if n > MAX_ROWS:
        keep = np.unique(np.linspace(0, n - 1, MAX_ROWS).round().astype(int))
        frame = frame.iloc[keep]
        caption = ((f"{caption} " if caption else "")
                   + f"({len(keep)} of {n:,} rows, evenly spaced)")
    esc = html.escape
    head = "".join(f'<th scope="col">{esc(str(c))}</th>' for c in frame.columns)
    body = "".join("<tr>" + "".join(f"<td>{esc(_cell(v))}</td>" for v in row) + "</tr>"
                   for row in frame.itertuples(index=False, name=None))
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return (f'<table class="pg-data">{cap}<thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")
