"""Reference runs: how a *typical* run of each default config learns, shipped with the app.

A learner who trains one seed cannot tell whether their curve is normal, lucky or broken. So
we train each algorithm's tuned default config on many seeds once, store every run's returns
small, and the app draws a faint band behind the learner's run: where the middle 80% of the
reference runs were at each point (see :func:`band_by_episode`, :func:`band_by_steps`).

The file is made by the sweep CLI and is plain gzipped JSON (never a pickle)::

    python -m pgcore sweep --config assets/reference/sweep.toml \\
        --reference assets/reference/cartpole-v1.json.gz

Layout of the document (``version`` 1)::

    {"format": "pgcore-reference", "version": 1, "made_with": "python -m pgcore sweep ...",
     "created": "2026-11-24", "pgcore_version": "0.1.0",
     "groups": [{"label": "a2c", "config": {...every TrainConfig field but seed...},
                 "runs": [{"seed": 100, "state": "finished",
                           "returns": [12, 31, ...], "env_steps": [192, 688, ...]}]}]}

``returns[i]`` is episode ``i + 1``'s return; ``env_steps[i]`` the environment steps taken
by the end of that episode (summed over all parallel envs for A2C). A group *matches* a
config when every field that changes how a run learns is equal (:data:`IGNORED_FIELDS`,
the seed and the budgets, are not compared).

This module never imports streamlit.
"""

from __future__ import annotations

import datetime as _dt
import gzip
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import ConfigError, TrainConfig
from .metrics import EpisodeHistory, moving_average, summarize

FORMAT = "pgcore-reference"
VERSION = 1
IGNORED_FIELDS = ("seed", "max_episodes", "max_steps", "max_seconds", "eval_every",
                  "eval_every_episodes", "eval_episodes")
"""Config fields that do not change how a run learns, so matching ignores them (greedy
evaluations leave learning untouched: tests/test_evaluation.py)."""
QUANTILES = (0.1, 0.5, 0.9)
"""The band: from the 10th to the 90th percentile across seeds, and the median."""
MAX_BYTES = 20_000_000
"""A reference file larger than this (compressed or not) is refused."""


class ReferenceError(ValueError):
    """A reference file is missing, unreadable or not in the expected format."""


def learning_key(config: TrainConfig | dict) -> tuple:
    """The fields of ``config`` that decide how it learns, as a sorted, hashable tuple.

    >>> from pgcore import default_config
    >>> learning_key(default_config("a2c", seed=3)) == learning_key(
    ...     default_config("a2c", seed=7, max_episodes=50))
    True
    """
    d = config.to_dict() if isinstance(config, TrainConfig) else dict(config)
    return tuple(sorted((k, v) for k, v in d.items() if k not in IGNORED_FIELDS))


@dataclass(frozen=True)
class ReferenceGroup:
    """Many seeds of one config: per run, the return and env steps at each episode's end."""

    label: str
    config: TrainConfig
    """The config of the runs (with the first run's seed)."""
    seeds: tuple[int, ...]
    returns: tuple[np.ndarray, ...]
    """One float64 array per seed: ``returns[s][i]`` is episode ``i + 1``'s return."""
    env_steps: tuple[np.ndarray, ...]
    """One int64 array per seed: environment steps by the end of each episode."""

    @property
    def n_seeds(self) -> int:
        return len(self.seeds)

    @property
    def episodes(self) -> int:
        """Episodes that every seed has (the band's length)."""
        return min((len(r) for r in self.returns), default=0)

    def history(self, index: int) -> EpisodeHistory:
        """Run ``index`` (in :attr:`seeds` order) as an episode history (returns and env
        steps; the other columns are not stored)."""
        return EpisodeHistory.from_arrays(self.returns[index], env_steps=self.env_steps[index])

    def describe(self) -> str:
        """For captions: ``10 runs (seeds 100-109, 1,000 episodes each)``."""
        s = sorted(self.seeds)
        consecutive = s == list(range(s[0], s[0] + len(s))) if s else False
        seeds = (f"{s[0]}-{s[-1]}" if consecutive and len(s) > 2
                 else ", ".join(map(str, s)))
        runs = "1 run" if len(s) == 1 else f"{len(s)} runs"
        return f"{runs} (seed{'s' if len(s) > 1 else ''} {seeds}, {self.episodes:,} episodes each)"


@dataclass(frozen=True)
class ReferenceSet:
    """Every group of a reference file."""

    groups: tuple[ReferenceGroup, ...]
    made_with: str = ""
    created: str = ""

    def match(self, config: TrainConfig) -> ReferenceGroup | None:
        """The group whose config learns exactly like ``config`` (budgets and seed aside).
        Where several do (the same settings run for different budgets), the one with the
        same budget, else one whose budget is of the same kind (episodes or env steps), else
        the first."""
        key = learning_key(config)
        same = [g for g in self.groups if learning_key(g.config) == key]
        if len(same) > 1:
            same.sort(key=lambda g: (_budget(g.config) != _budget(config),
                                     (g.config.max_steps is None) != (config.max_steps is None)))
        return same[0] if same else None

    def closest(self, config: TrainConfig) -> tuple[ReferenceGroup | None, bool]:
        """``(group, exact)``: the exact match if there is one, else the group with the same
        environment and algorithm (and the same values of the algorithm's
        ``variant_fields``: REINFORCE's baseline), else None."""
        g = self.match(config)
        if g is not None:
            return g, True
        variant = config.algorithm.variant_fields
        for g in self.groups:
            c = g.config
            if (c.env_id, c.algo) == (config.env_id, config.algo) and all(
                    getattr(c, f) == getattr(config, f) for f in variant):
                return g, False
        return None, False

    def get(self, label: str) -> ReferenceGroup | None:
        return next((g for g in self.groups if g.label == label), None)


def _budget(config: TrainConfig) -> tuple:
    return (config.max_episodes, config.max_steps)


def combine(*sets: ReferenceSet) -> ReferenceSet:
    """The groups of several reference files as one set, in order (a label already taken by
    an earlier file is left out); ``made_with`` and ``created`` are the first file's."""
    groups, labels = [], set()
    for rs in sets:
        for g in rs.groups:
            if g.label not in labels:
                groups.append(g)
                labels.add(g.label)
    return ReferenceSet(tuple(groups), sets[0].made_with if sets else "",
                        sets[0].created if sets else "")


# ----- writing --------------------------------------------------------------------------------


def _number(x: float) -> float | int:
    """A JSON-friendly, compact number: integral values as ints (CartPole returns are)."""
    x = float(x)
    return int(x) if x.is_integer() and abs(x) < 2**53 else round(x, 6)


def reference_document(snapshot, made_with: str = "") -> dict:
    """The reference document of a finished experiment (see the module docstring). Only runs
    that finished by themselves are kept: a stopped or failed run is not a typical run."""
    from .. import __version__

    groups = []
    for label in snapshot.labels:
        runs = [r for r in snapshot.by_label(label) if r.state == "finished" and r.episodes]
        if not runs:
            continue
        config = {k: v for k, v in runs[0].config.to_dict().items() if k != "seed"}
        groups.append({"label": label, "config": config, "runs": [
            {"seed": int(r.seed), "state": r.state,
             "returns": [_number(v) for v in r.columns["return"]],
             "env_steps": [int(v) for v in r.columns["env_steps"]]} for r in runs]})
    if not groups:
        raise ReferenceError("no run finished, so there is nothing to write")
    return {"format": FORMAT, "version": VERSION, "made_with": made_with,
            "created": _dt.date.today().isoformat(), "pgcore_version": __version__,
            "groups": groups}


def merge_reference(path: str | Path, document: dict,
                    order: Sequence[str] = ()) -> tuple[dict, list[str]]:
    """``document`` plus the groups of the reference file at ``path`` that it does not replace
    (same label), ordered as ``order`` (the sweep file's labels; others after). Returns the
    merged document (its ``made_with`` is the newest command) and the labels kept from the
    file. Each group keeps a note of the command and date that made it."""
    old = load_reference(path)  # validates the whole file first
    new_labels = {g["label"] for g in document["groups"]}
    for g in document["groups"]:
        g.setdefault("made_with", document["made_with"])
        g.setdefault("created", document["created"])
    raw = json.loads(_read_text(Path(path)))
    kept = [g for g in raw["groups"] if g["label"] not in new_labels]
    for g in kept:
        g.setdefault("made_with", old.made_with)
        g.setdefault("created", old.created)
    groups = kept + list(document["groups"])
    rank = {label: i for i, label in enumerate(order)}
    groups.sort(key=lambda g: rank.get(g["label"], len(rank)))
    return {**document, "groups": groups}, [g["label"] for g in kept]


def _read_text(p: Path) -> str:
    raw = p.read_bytes()
    return (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode()


def write_reference(path: str | Path, document: dict) -> int:
    """Write ``document`` as gzipped JSON (``mtime=0``: same runs, same bytes); returns the
    number of bytes written."""
    text = json.dumps(document, separators=(",", ":"), allow_nan=False)
    data = gzip.compress(text.encode(), compresslevel=9, mtime=0)
    Path(path).write_bytes(data)
    return len(data)


# ----- reading --------------------------------------------------------------------------------


def _fail(where: str, why: str) -> ReferenceError:
    return ReferenceError(f"{where}: {why}")


def _float_array(values, where: str) -> np.ndarray:
    if not isinstance(values, list) or not values or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise _fail(where, "expected a non-empty list of numbers")
    arr = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise _fail(where, "has a value that is not finite")
    return arr


def parse_reference(document: dict, where: str = "reference") -> ReferenceSet:
    """Check a decoded document field by field and build a :class:`ReferenceSet`."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise _fail(where, f"not a {FORMAT} file")
    if document.get("version") != VERSION:
        raise _fail(where, f"version {document.get('version')!r} is not supported "
                           f"(this pgcore reads version {VERSION})")
    raw_groups = document.get("groups")
    if not isinstance(raw_groups, list) or not raw_groups:
        raise _fail(where, "has no groups")
    groups = []
    for gi, g in enumerate(raw_groups):
        gw = f"{where}, group {gi + 1}"
        if not isinstance(g, dict) or not isinstance(g.get("label"), str):
            raise _fail(gw, "needs a label")
        gw = f"{where}, group {g['label']!r}"
        runs = g.get("runs")
        if not isinstance(runs, list) or not runs:
            raise _fail(gw, "has no runs")
        if not isinstance(g.get("config"), dict):
            raise _fail(gw, "needs a config")
        seeds, returns, steps = [], [], []
        for ri, r in enumerate(runs):
            rw = f"{gw}, run {ri + 1}"
            if not isinstance(r, dict) or not isinstance(r.get("seed"), int):
                raise _fail(rw, "needs a whole-number seed")
            ret = _float_array(r.get("returns"), f"{rw}, returns")
            st = _float_array(r.get("env_steps"), f"{rw}, env_steps")
            if len(ret) != len(st):
                raise _fail(rw, "returns and env_steps differ in length")
            if np.any(np.diff(st) < 0) or st[0] < 0:
                raise _fail(rw, "env_steps must be non-negative and never decrease")
            seeds.append(r["seed"])
            returns.append(ret)
            steps.append(st.astype(np.int64))
        try:
            config = TrainConfig.from_dict({**g["config"], "seed": seeds[0]})
        except (ConfigError, TypeError) as exc:
            raise _fail(gw, f"bad config ({str(exc).splitlines()[0]})") from None
        groups.append(ReferenceGroup(g["label"], config, tuple(seeds), tuple(returns),
                                     tuple(steps)))
    labels = [g.label for g in groups]
    if len(set(labels)) != len(labels):
        raise _fail(where, "two groups share a label")
    return ReferenceSet(tuple(groups), str(document.get("made_with", "")),
                        str(document.get("created", "")))


def load_reference(path: str | Path) -> ReferenceSet:
    """Read and check a reference file (gzipped or plain JSON); :class:`ReferenceError` with a
    one-line reason when it is missing, too big or malformed."""
    p = Path(path)
    where = p.name
    try:
        if p.stat().st_size > MAX_BYTES:
            raise _fail(where, f"larger than {MAX_BYTES:,} bytes")
        raw = p.read_bytes()
    except FileNotFoundError:
        raise _fail(where, "file not found") from None
    except OSError as exc:
        raise _fail(where, f"cannot read it ({exc.strerror or exc})") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as f:
                raw = f.read(MAX_BYTES + 1)
        except (OSError, EOFError) as exc:
            raise _fail(where, f"not a valid gzip file ({exc})") from None
        if len(raw) > MAX_BYTES:
            raise _fail(where, f"larger than {MAX_BYTES:,} bytes once decompressed")
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _fail(where, f"not valid JSON ({str(exc).splitlines()[0]})") from None
    return parse_reference(document, where)


# ----- bands ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Band:
    """A band across reference seeds: at each ``x``, the low / median / high quantiles."""

    x: np.ndarray
    lo: np.ndarray
    mid: np.ndarray
    hi: np.ndarray
    n_seeds: int


def band_by_episode(group: ReferenceGroup, window: int = 100,
                    quantiles: Sequence[float] = QUANTILES) -> Band:
    """Per episode ``i`` (1-based), quantiles across seeds of each seed's trailing
    ``window``-episode moving average of the return (the same smoothing the app draws).

    ``band.lo[i] = quantile_{0.1}({m_s[i] : seed s})`` with ``m_s = moving_average(G_s, window)``;
    likewise the median and the 90th percentile. Only episodes every seed reached count.

    >>> g = ReferenceGroup("toy", TrainConfig(), (0, 1, 2),
    ...                    tuple(np.array(r, float) for r in ([1, 1], [2, 4], [3, 7])),
    ...                    tuple(np.array([1, 2]) for _ in range(3)))
    >>> b = band_by_episode(g, window=1, quantiles=(0.0, 0.5, 1.0))
    >>> b.x.tolist(), b.lo.tolist(), b.mid.tolist(), b.hi.tolist()
    ([1, 2], [1.0, 1.0], [2.0, 4.0], [3.0, 7.0])
    """
    n = group.episodes
    curves = np.stack([moving_average(r[:n], window) for r in group.returns])  # (seeds, n)
    lo, mid, hi = np.quantile(curves, list(quantiles), axis=0)  # each (n,)
    return Band(np.arange(1, n + 1), lo, mid, hi, group.n_seeds)


def band_by_steps(group: ReferenceGroup, window: int = 100, points: int = 300,
                  quantiles: Sequence[float] = QUANTILES) -> Band:
    """The same band against environment steps, on ``points`` evenly spaced step counts from
    0 to the point where the shortest run ended (so every seed counts everywhere).

    At step count ``x`` a seed's value is its moving average at the last episode that had
    ended by ``x``; before its first episode ends it has no value, and that grid point is
    dropped.

    >>> g = ReferenceGroup("toy", TrainConfig(), (0, 1),
    ...                    (np.array([10.0, 20.0]), np.array([30.0, 40.0])),
    ...                    (np.array([10, 20]), np.array([10, 20])))
    >>> b = band_by_steps(g, window=1, points=3, quantiles=(0.0, 0.5, 1.0))
    >>> b.x.tolist(), b.lo.tolist(), b.hi.tolist()
    ([10, 20], [10.0, 20.0], [30.0, 40.0])
    """
    end = min(int(s[-1]) for s in group.env_steps)
    grid = np.unique(np.linspace(0, end, max(points, 2)).round().astype(np.int64))
    curves = []
    for ret, steps in zip(group.returns, group.env_steps, strict=True):
        avg = moving_average(ret, window)
        idx = np.searchsorted(steps, grid, side="right") - 1  # last episode ended by x
        curves.append(np.where(idx >= 0, avg[np.maximum(idx, 0)], np.nan))
    curves = np.stack(curves)  # (seeds, points)
    keep = ~np.isnan(curves).any(axis=0)
    lo, mid, hi = np.quantile(curves[:, keep], list(quantiles), axis=0)
    return Band(grid[keep], lo, mid, hi, group.n_seeds)


def typical_stats(group: ReferenceGroup) -> list[dict]:
    """:func:`pgcore.training.metrics.summarize` of every reference run (one dict per seed; no
    seconds: reference files do not store them)."""
    return [{"seed": s, **summarize(group.history(i))} for i, s in enumerate(group.seeds)]


def typical_env_steps(group: ReferenceGroup, episodes: int) -> float | None:
    """The median over the seeds of the env steps a run had taken by the end of episode
    ``episodes`` (a seed that stopped earlier: its steps so far, plus its last 100 episodes'
    mean length for each episode it lacks). None for an empty group or ``episodes < 1``; a
    rough figure, for time estimates.

    >>> g = ReferenceGroup("toy", TrainConfig(), (0, 1), (np.ones(2), np.ones(3)),
    ...                    (np.array([10, 30]), np.array([10, 20, 40])))
    >>> typical_env_steps(g, 2), typical_env_steps(g, 3)  # seed 0 stopped at episode 2
    (25.0, 42.5)
    """
    if episodes < 1 or not group.env_steps:
        return None
    out = []
    for steps in group.env_steps:
        n = len(steps)
        if n >= episodes:
            out.append(float(steps[episodes - 1]))
            continue
        lengths = np.diff(steps, prepend=0)[-100:]  # its last (up to) 100 episodes
        out.append(float(steps[-1]) + (episodes - n) * float(lengths.mean()))
    return float(np.median(out))
