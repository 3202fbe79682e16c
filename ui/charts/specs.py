"""Charts authored in altair once, refilled with fresh data on every refresh.

Building an altair chart object costs 10-60 ms (schema objects, deep copies, validation), too
much to do several times every half second. So a live chart is written in altair with a *named*
dataset, converted to a Vega-Lite dict once per shape (a JSON template, kept by an
``lru_cache``), and every refresh only attaches a small, downsampled table to a copy of that
dict (:func:`with_data`: a few microseconds, the template is parsed once). Streamlit sends the
table as Arrow and the browser swaps the data in place. Used by the Train page's charts
(``ui/charts/live.py``) and the Continuous actions page's.
"""

from __future__ import annotations

import json
from functools import lru_cache


def with_data(template: str, **datasets) -> dict:
    """The template's spec with ``datasets`` as its named data. Small constant data the
    template itself carries (the threshold rules) is moved inline into its layers first, so
    it survives and the chart's named datasets are only the live ones. The template is
    parsed once (:func:`_parsed`); each call is a new top-level dict whose other parts are
    shared with every other call's, so they must be read, never changed (Streamlit copies
    the top level before it takes the datasets out)."""
    return {**_parsed(template), "datasets": datasets}


@lru_cache(maxsize=64)
def _parsed(template: str) -> dict:
    spec = json.loads(template)
    inline(spec, spec.pop("datasets", {}) or {})
    return spec


def inline(node, constants: dict) -> None:
    """Replace every ``{"data": {"name": n}}`` with n in ``constants`` by inline values."""
    if isinstance(node, dict):
        data = node.get("data")
        if isinstance(data, dict) and data.get("name") in constants:
            node["data"] = {"values": constants[data["name"]]}
        for value in node.values():
            inline(value, constants)
    elif isinstance(node, list):
        for value in node:
            inline(value, constants)


def spec_points(spec: dict) -> int:
    """Rows of data a spec carries (for tests and the benchmark)."""
    return sum(len(df) for df in spec.get("datasets", {}).values())
