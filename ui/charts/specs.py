"""Charts authored in altair once, refilled with fresh data on every refresh.

Building an altair chart object costs 10-60 ms (schema objects, deep copies, validation), too
much to do several times every half second. So a live chart is written in altair with a *named*
dataset, converted to a Vega-Lite dict once per shape (a JSON template, kept by an
``lru_cache``), and every refresh only attaches a small, downsampled table to a copy of that
dict (:func:`with_data`: a few microseconds, the template is parsed once). Streamlit sends the
table as Arrow and the browser swaps the data in place. Used by the Train page's charts
(``ui/charts/live.py``), the Continuous actions page's and the experiment pages'
(``ui/charts/experiments.py``, whose specs are also kept per snapshot for every session:
:class:`SharedSpecs`).
"""

from __future__ import annotations

import hashlib
import json
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from functools import lru_cache

import pandas as pd
import pyarrow as pa

from ..drawn import Drawn


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
    return _parse(template)


def _parse(template: str) -> dict:
    spec = json.loads(template)
    inline(spec, spec.pop("datasets", {}) or {})
    return spec


HOLE = 987654321.125
"""A number a template is authored with where the chart takes a value that changes with every
snapshot (the race's x range): :func:`with_holes` writes the real one in its place."""


def with_holes(template: str, holes: dict[float, float], **datasets) -> dict:
    """:func:`with_data`, with each placeholder number of ``holes`` (such as :data:`HOLE`)
    written as its value first. The filled text is parsed anew (a fraction of a millisecond
    for a chart's template, against the tens of milliseconds altair takes to build it)."""
    for hole, value in holes.items():
        template = template.replace(json.dumps(hole), json.dumps(value))
    return {**_parse(template), "datasets": datasets}


def arrow(frame: pd.DataFrame) -> pa.Table:
    """A chart's data frame as an Arrow table (its index left out)."""
    return pa.Table.from_pandas(frame, preserve_index=False)


def arrow_bytes(table: pa.Table) -> bytes:
    """An Arrow table as an IPC stream (what Streamlit makes of a table it is given)."""
    sink = pa.BufferOutputStream()
    with pa.RecordBatchStreamWriter(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def wire(spec: dict) -> dict:
    """``spec`` with its datasets (Arrow tables or data frames) as Arrow IPC bytes, which
    Streamlit sends as they are: serialised once, however many tabs draw the spec."""
    data = spec.get("datasets")
    if not data:
        return spec
    out = {}
    for name, value in data.items():
        if isinstance(value, pd.DataFrame):
            value = arrow(value)
        out[name] = arrow_bytes(value) if isinstance(value, pa.Table) else value
    return {**spec, "datasets": out}


# ----- specs kept per snapshot, for every session -----------------------------------------------


def fingerprint(runs: Sequence) -> str:
    """What an experiment snapshot's runs hold, as a digest: each run's label, seed, state,
    config and every column of its episodes, evaluations and trace. Two sessions watching
    identical jobs (:mod:`pgcore.execution.sharing`) that have received the same episodes get
    the same digest, though each has its own snapshot objects; hashing 10 runs of 3,000
    episodes takes about a millisecond."""
    h = hashlib.blake2b(digest_size=16)
    for r in runs:
        h.update(repr((r.label, r.seed, r.state, r.message, r.config)).encode())
        for part in (r.columns, r.evals, r.trace):
            for name in sorted(part):
                column = part[name]
                h.update(f"|{name}:{len(column)}|".encode())
                h.update(memoryview(column).cast("B") if column.flags.c_contiguous
                         else column.tobytes())
    return h.hexdigest()


class SharedSpecs:
    """Chart specs drawn from experiment snapshots, shared by every session of the server.

    A spec is built once per (what the snapshot's runs hold, what the chart is): identical
    grids watched by a class train one computation per job (:mod:`pgcore.execution.sharing`),
    so tabs that read the same episodes get the very same spec object (and its words,
    ``ui.style.chart_words``, made once per spec); a refresh with nothing new re-sends it
    without building anything. Runs are known by :func:`fingerprint`, computed once per
    snapshot: that memo is keyed by the runs' identities and holds them only weakly (an entry
    is valid while every run it names lives, so no id can have been reused, and goes with
    them). At most ``size`` specs and ``size`` digests, least recently used dropped first.
    Thread-safe; ``build`` runs outside the lock, once per spec (:class:`ui.drawn.Drawn`)."""

    def __init__(self, size: int = 128, digests: SharedSpecs | None = None):
        self.size = size
        self._digest_from = digests  # another cache whose digest memo this one reads
        self._lock = threading.Lock()
        self._digests: OrderedDict = OrderedDict()
        self._specs = Drawn(size)  # made once even when many sessions ask at the same moment

    @property
    def built(self) -> int:
        """Specs built (for tests and the benchmark)."""
        return self._specs.made

    def digest(self, runs: Sequence) -> str:
        """:func:`fingerprint` of ``runs``, once per set of run objects (for every cache
        that reads this one's memo: ``digests=`` it)."""
        if self._digest_from is not None:
            return self._digest_from.digest(runs)
        ids = tuple(map(id, runs))
        with self._lock:
            held = self._digests.get(ids)
            if held is not None:
                refs, value = held
                if all(ref() is run for ref, run in zip(refs, runs, strict=True)):
                    self._digests.move_to_end(ids)
                    return value
                del self._digests[ids]
        value = fingerprint(runs)
        with self._lock:
            self._digests[ids] = (tuple(weakref.ref(r) for r in runs), value)
            self._trim(self._digests)
        return value

    def get(self, runs: Sequence, key: Hashable, build: Callable[[], dict]) -> dict:
        """The spec ``build()`` makes from ``runs`` (an experiment snapshot's) for ``key``
        (everything else the spec depends on), built only when no session has yet."""
        return self._specs.make((self.digest(runs), key), None, build)

    def _trim(self, items: OrderedDict) -> None:
        while len(items) > self.size:
            items.popitem(last=False)


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
