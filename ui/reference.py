"""The "typical run" bands: reference runs shipped in ``assets/reference/``, drawn faintly
behind a learner's own curves so they can see whether their run is typical.

The file is loaded once per process (it is static) and every band is computed once per
(group, smoothing, axis) and cached, so drawing a band costs a refresh nothing but sending
a few hundred points. A missing or broken file only means no bands (and a log line), never
an error on the page. Nothing here imports streamlit.
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from pgcore.labs.stats import SeedSpread, seed_spread
from pgcore.training.config import TrainConfig
from pgcore.training.reference import (
    ReferenceError,
    ReferenceGroup,
    ReferenceSet,
    band_by_episode,
    band_by_steps,
    combine,
    load_reference,
    typical_stats,
)

from .charts.curves import sample_index

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "assets" / "reference"
REFERENCE_PATH = REFERENCE_DIR / "cartpole-v1.json.gz"
"""Every algorithm's default, 10 seeds."""
EXTRA_PATHS = (REFERENCE_DIR / "exercise1.json.gz",)
"""More reference runs, read after :data:`REFERENCE_PATH`: DQN at the Seeds & variance page's
1,000-episode budget (``exercise1.toml``)."""
REF_POINTS = 300
"""Points per band sent to the browser."""


log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def reference_set() -> ReferenceSet | None:
    """The shipped reference runs, :data:`REFERENCE_PATH` and then :data:`EXTRA_PATHS`
    (``PGLAB_REFERENCE`` overrides them with one path; an empty value turns the bands off);
    None, logged, when the main file is missing or malformed (a broken extra file is left
    out, logged)."""
    path = os.environ.get("PGLAB_REFERENCE")
    if path is not None and not path.strip():
        return None
    try:
        main = load_reference(path or REFERENCE_PATH)
    except ReferenceError as exc:
        log.warning("no typical-run bands: %s", exc)
        return None
    extras = []
    for extra in () if path else EXTRA_PATHS:
        try:
            extras.append(load_reference(extra))
        except ReferenceError as exc:
            log.warning("some typical-run bands left out: %s", exc)
    return combine(main, *extras)


_MATCHED: dict = {}
"""(config, exact) -> (the reference set, group_for's answer): matching compares every
group's learning fields (2-3 ms), and an experiment page asks for each of its runs on every
refresh."""


def group_for(config: TrainConfig | None, exact: bool = True
              ) -> tuple[ReferenceGroup | None, bool]:
    """``(group, is_exact)`` for ``config``: the reference runs that learn exactly like it,
    or (``exact=False``) the default config of the same algorithm and baseline (looked up
    once per config and reference set)."""
    refs = reference_set()
    if refs is None or config is None:
        return None, False
    held = _MATCHED.get((config, exact))
    if held is not None and held[0] is refs:
        return held[1]
    if exact:
        g = refs.match(config)
        found = g, g is not None
    else:
        found = refs.closest(config)
    if len(_MATCHED) >= 256:
        _MATCHED.clear()
    _MATCHED[(config, exact)] = (refs, found)
    return found


@lru_cache(maxsize=64)
def episode_band(label: str, window: int, max_points: int = REF_POINTS) -> pd.DataFrame:
    """Columns ``x`` (episode), ``lo``, ``mid``, ``hi``: the 10th percentile, median and 90th
    percentile across the reference seeds of group ``label``'s ``window``-episode moving
    average, downsampled to ``max_points`` (computed once per arguments)."""
    b = band_by_episode(reference_set().get(label), window)
    idx = sample_index(len(b.x), max_points)
    return pd.DataFrame({"x": b.x[idx].astype(np.int32), "lo": b.lo[idx].astype(np.float32),
                         "mid": b.mid[idx].astype(np.float32),
                         "hi": b.hi[idx].astype(np.float32)})


@lru_cache(maxsize=64)
def steps_band(label: str, window: int, points: int = REF_POINTS) -> pd.DataFrame:
    """The same band against environment steps (``x``)."""
    b = band_by_steps(reference_set().get(label), window, points)
    return pd.DataFrame({"x": b.x.astype(np.int64), "lo": b.lo.astype(np.float32),
                         "mid": b.mid.astype(np.float32), "hi": b.hi.astype(np.float32)})


@lru_cache(maxsize=16)
def episode_band_arrow(label: str, window: int, max_points: int = REF_POINTS) -> pa.Table:
    """:func:`episode_band` as an Arrow table (the Train page's chart ships Arrow)."""
    return pa.Table.from_pandas(episode_band(label, window, max_points), preserve_index=False)


@lru_cache(maxsize=16)
def reference_spread(label: str) -> SeedSpread:
    """:func:`pgcore.labs.stats.seed_spread` of group ``label``'s returns (computed once)."""
    return seed_spread(reference_set().get(label).returns)


@lru_cache(maxsize=16)
def reference_stats(label: str) -> list[dict]:
    """:func:`pgcore.training.reference.typical_stats` of group ``label`` (computed once)."""
    return typical_stats(reference_set().get(label))


def band_caption(groups: list[ReferenceGroup], window: int, whose: str = "these settings",
                 x: str = "episode", lead: str = "Grey band") -> str:
    """One sentence saying what the typical-run band(s) of ``groups`` are."""
    runs = ", ".join(sorted({g.describe() for g in groups}))
    along = "" if x == "episode" else " against environment steps"
    return (f"{lead}: the middle 80% of {runs} of {whose}{along}, as {window}-episode "
            "averages; dashed: their median. A curve inside its band is a typical run.")
