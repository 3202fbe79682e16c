"""The typical-run bands and rows of the experiment pages: which of an experiment's labels
have reference runs (:mod:`ui.reference`), their bands and summary rows, the sentence that
explains them, and a claim's typical result read off them (:func:`typical_verdict`)."""

from __future__ import annotations

import pandas as pd

from pgcore.execution.experiments import ExperimentSnapshot
from pgcore.training.config import TrainConfig
from pgcore.training.reference import ReferenceGroup, typical_env_steps

from . import reference as typical
from .experiment_summary import summary_row
from .verdicts import Verdict, from_reference


def _matched(snap: ExperimentSnapshot, labels: list[str] | None = None):
    """``(label, reference group)`` for each label (or those in ``labels``) whose config has
    reference runs (an exact match, budgets and seeds aside)."""
    for label in labels if labels is not None else snap.labels:
        runs = snap.by_label(label)
        group, _ = typical.group_for(runs[0].config) if runs else (None, False)
        if group is not None:
            yield label, group


def reference_groups(snap: ExperimentSnapshot, labels: list[str] | None = None
                     ) -> list[tuple[str, ReferenceGroup]]:
    """``(label, reference group)`` for each label (or those in ``labels``) that has
    reference runs of the same settings (see :func:`_matched`)."""
    return list(_matched(snap, labels))


def reference_bands(snap: ExperimentSnapshot, window: int, x: str = "episode",
                    names: dict[str, str] | None = None, group_column: str = "group",
                    labels: list[str] | None = None) -> tuple[pd.DataFrame | None, list]:
    """Typical-run bands of the labels that have reference runs (see :func:`_matched`): one
    frame (x, lo, mid, hi, ``group_column``) and the matched reference groups. ``x``:
    ``episode`` or ``env_steps``. (None, []) when none match."""
    band = typical.episode_band if x == "episode" else typical.steps_band
    parts, groups = [], []
    for label, group in _matched(snap, labels):
        parts.append(band(group.label, window).assign(
            **{group_column: (names or {}).get(label, label)}))
        groups.append(group)
    if not parts:
        return None, []
    return pd.concat(parts, ignore_index=True), groups


def reference_caption(groups: list, window: int, x: str = "episode",
                      whose: str = "the same settings") -> str:
    """What the faint bands on an experiment page are (one sentence)."""
    return typical.band_caption(groups, window, whose, x, lead="Faint bands with dashed lines")


def reference_rows(snap: ExperimentSnapshot, names: dict[str, str] | None = None) -> list[dict]:
    """:func:`summary_row` of the reference runs of each label that has them, as
    "typical: <setting>" rows to set beside the learner's own."""
    return [summary_row(f"typical: {(names or {}).get(label, label)}",
                        typical.reference_stats(group.label))
            for label, group in _matched(snap)]


def typical_verdict(snap: ExperimentSnapshot, labels: list[str], lesson: str,
                    measure, of=None) -> Verdict | None:
    """``measure`` (one argument per label, in ``labels`` order: ``of(group)`` of its
    reference group, by default the per-seed summaries) on the shipped reference runs of the
    same settings: the typical result, there at once and labelled as such
    (:func:`ui.verdicts.from_reference`). None unless every label has reference runs."""
    matched = dict(_matched(snap, labels))
    if any(label not in matched for label in labels):
        return None
    groups = [matched[label] for label in labels]
    of = of or (lambda g: typical.reference_stats(g.label))
    status, text = measure(*[of(g) for g in groups])
    return Verdict(lesson, status, text, from_reference(g.describe() for g in groups))


def typical_core_seconds(config: TrainConfig, episodes: int,
                         steps_per_second: float) -> float | None:
    """Core-seconds one run of ``config`` typically takes for ``episodes`` episodes: the env
    steps its reference runs had taken by then (``typical_env_steps``) at
    ``steps_per_second`` per core. None without reference runs."""
    group, _ = typical.group_for(config)
    steps = typical_env_steps(group, episodes) if group is not None else None
    return None if steps is None else steps / steps_per_second
