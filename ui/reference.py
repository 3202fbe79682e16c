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

from pgcore.config import TrainConfig
from pgcore.reference import (
    ReferenceError,
    ReferenceGroup,
    ReferenceSet,
    band_by_episode,
    band_by_steps,
    load_reference,
)

from .charts import REF_COLOR, REF_LEGEND, sample_index

REFERENCE_PATH = Path(__file__).resolve().parents[1] / "assets" / "reference" / \
    "cartpole-v1.json.gz"
REF_POINTS = 300
"""Points per band sent to the browser."""
__all__ = ["REF_COLOR", "REF_LEGEND", "band_caption", "episode_band", "episode_band_arrow",
           "group_for", "reference_set", "steps_band"]

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def reference_set() -> ReferenceSet | None:
    """The shipped reference runs (``PGLAB_REFERENCE`` overrides the path; an empty value
    turns the bands off); None, logged, when the file is missing or malformed."""
    path = os.environ.get("PGLAB_REFERENCE")
    if path is not None and not path.strip():
        return None
    try:
        return load_reference(path or REFERENCE_PATH)
    except ReferenceError as exc:
        log.warning("no typical-run bands: %s", exc)
        return None


def group_for(config: TrainConfig | None, exact: bool = True
              ) -> tuple[ReferenceGroup | None, bool]:
    """``(group, is_exact)`` for ``config``: the reference runs that learn exactly like it,
    or (``exact=False``) the default config of the same algorithm and baseline."""
    refs = reference_set()
    if refs is None or config is None:
        return None, False
    if exact:
        g = refs.match(config)
        return g, g is not None
    return refs.closest(config)


@lru_cache(maxsize=64)
def _episode_band(label: str, window: int, max_points: int) -> pd.DataFrame:
    g = reference_set().get(label)
    b = band_by_episode(g, window)
    idx = sample_index(len(b.x), max_points)
    return pd.DataFrame({"x": b.x[idx].astype(np.int32), "lo": b.lo[idx].astype(np.float32),
                         "mid": b.mid[idx].astype(np.float32),
                         "hi": b.hi[idx].astype(np.float32)})


@lru_cache(maxsize=64)
def _steps_band(label: str, window: int, points: int) -> pd.DataFrame:
    g = reference_set().get(label)
    b = band_by_steps(g, window, points)
    return pd.DataFrame({"x": b.x.astype(np.int64), "lo": b.lo.astype(np.float32),
                         "mid": b.mid.astype(np.float32), "hi": b.hi.astype(np.float32)})


def episode_band(group: ReferenceGroup, window: int, max_points: int = REF_POINTS
                 ) -> pd.DataFrame:
    """Columns ``x`` (episode), ``lo``, ``mid``, ``hi``: the 10th percentile, median and 90th
    percentile across the reference seeds of the ``window``-episode moving average."""
    return _episode_band(group.label, int(window), int(max_points))


def steps_band(group: ReferenceGroup, window: int, points: int = REF_POINTS) -> pd.DataFrame:
    """The same band against environment steps (``x``)."""
    return _steps_band(group.label, int(window), int(points))


@lru_cache(maxsize=16)
def episode_band_arrow(label: str, window: int, max_points: int = REF_POINTS) -> pa.Table:
    """:func:`episode_band` as an Arrow table (the Train page's chart ships Arrow)."""
    return pa.Table.from_pandas(_episode_band(label, int(window), int(max_points)),
                                preserve_index=False)


def band_caption(group: ReferenceGroup, exact: bool, window: int, x: str = "episode") -> str:
    """One sentence saying what the grey band is."""
    whose = "these settings" if exact else "this algorithm's default settings (yours differ)"
    along = "" if x == "episode" else " against environment steps"
    return (f"Grey band: the middle 80% of {group.describe()} of {whose}{along}, as "
            f"{window}-episode averages; dashed: their median.")
