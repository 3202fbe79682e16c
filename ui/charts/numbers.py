"""How the pages write numbers: one missing-number mark, a median with its range across seeds,
a mean with its 95% interval, a count ("2 of 3 seeds", "1 episode", "3 episodes"), a share as
a percentage, a very large count as a power of ten.

Every table, caption and verdict of every page writes its numbers with these, so a number
that is not there yet is always "–" and a range always reads the same way. The statistics
behind them (:func:`~pgcore.labs.stats.median_range`, :func:`~pgcore.labs.stats.t_interval`)
live in :mod:`pgcore.labs.stats`. Pure Python: no streamlit, no pandas.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from pgcore.labs.stats import median_range, present

MISSING = "–"
"""A number that is not there (yet): no value, NaN, no seed has one."""


def fmt(v, spec: str = ",.0f", none: str = MISSING) -> str:
    """``v`` in ``spec``, or ``none`` when there is no number (None, NaN, infinite).

    >>> fmt(1234.5), fmt(None), fmt(float("nan"), ".1f"), fmt(0.25, ".0%")
    ('1,234', '–', '–', '25%')
    """
    if v is None or not math.isfinite(v):
        return none
    return format(v, spec)


def percent(share: float, digits: int = 1) -> str:
    """A share (0.2) as a percentage ("20.0%").

    >>> percent(0.2), percent(0.0123, 2)
    ('20.0%', '1.23%')
    """
    return format(share, f".{digits}%")


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` things, the noun in the plural unless there is one.

    >>> counted(1, "episode"), counted(3, "episode"), counted(2, "match", "matches")
    ('1 episode', '3 episodes', '2 matches')
    """
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def count_of(k: int, n: int, noun: str = "") -> str:
    """``k`` of ``n`` (things): how many of them have a number, got there, finished ...

    >>> count_of(2, 3, "seeds"), count_of(0, 2)
    ('2 of 3 seeds', '0 of 2')
    """
    return f"{k} of {n}" + (f" {noun}" if noun else "")


def over_seeds(n: int) -> str:
    """What a median and range is taken over.

    >>> over_seeds(1), over_seeds(3)
    ('one seed', 'median and range over 3 seeds')
    """
    return "one seed" if n == 1 else f"median and range over {n} seeds"


def range_text(stats: Mapping, spec: str = ",.0f") -> str:
    """``"143 (120 – 160)"``: a :func:`~pgcore.labs.stats.median_range` as text (just the
    median when there is no range, "–" without values).

    >>> range_text(median_range([1, 2, 3])), range_text(median_range([2.5]), ".1f")
    ('2 (1 – 3)', '2.5')
    """
    if stats["median"] is None:
        return MISSING
    if stats["n"] == 1 or stats["lo"] == stats["hi"]:
        return format(stats["median"], spec)
    return (f"{format(stats['median'], spec)} ({format(stats['lo'], spec)} – "
            f"{format(stats['hi'], spec)})")


def spread_text(values, spec: str = ",.0f", unit: str = "") -> str:
    """``median [min–max]`` of the values that are there, with ``(k of n seeds)`` when some
    are missing; "–" when none is.

    >>> spread_text([3.0, 1.0, 2.0])
    '2 [1–3]'
    >>> spread_text([3.0, None, 1.0], ".1f", " s")
    '2.0 s [1.0–3.0] (2 of 3 seeds)'
    """
    stats = median_range(values)
    if stats["median"] is None:
        return MISSING
    text = f"{fmt(stats['median'], spec)}{unit}"
    lo, hi = fmt(stats["lo"], spec), fmt(stats["hi"], spec)
    if lo != hi:
        text += f" [{lo}–{hi}]"
    if stats["n"] < len(values):
        text += f" ({count_of(stats['n'], len(values), 'seeds')})"
    return text


def reached_text(values, spec: str = ",.0f", unit: str = "") -> str:
    """:func:`spread_text` of a "first time it reached T" figure: "not reached (0 of n
    seeds)" when no seed got there.

    >>> reached_text([None, None])
    'not reached (0 of 2 seeds)'
    """
    if values and not present(values):
        return f"not reached ({count_of(0, len(values), 'seeds')})"
    return spread_text(values, spec, unit)


def interval_text(iv: Mapping, spec: str = "+.1f") -> str:
    """``"+12.3 (95% CI +4.0 to +20.6)"``: a :func:`~pgcore.labs.stats.t_interval` as text
    (just the mean with one value, "–" with none)."""
    if iv["mean"] is None:
        return MISSING
    if iv["lo"] is None:
        return f"{format(iv['mean'], spec)} (one seed: no interval)"
    return (f"{format(iv['mean'], spec)} (95% CI {format(iv['lo'], spec)} to "
            f"{format(iv['hi'], spec)})")


def count_text(n: int) -> str:
    """A count exactly up to a billion, then as a power of ten (11^17 has 18 digits).

    >>> count_text(1331), count_text(505447028499293771)
    ('1,331', '≈ 5.1 × 10^17')
    """
    n = int(n)
    if n < 10**9:
        return f"{n:,}"
    exp = len(str(n)) - 1
    return f"≈ {n / 10**exp:.2g} × 10^{exp}"
