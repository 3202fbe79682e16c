"""The Continuous actions page's helpers: which presets it offers, the numbers, the charts and
the frame with the torque drawn on it. Nothing here imports streamlit (the tests call these
functions directly); the page (``views/why/pendulum.py``) only lays them out.

The charts follow ``ui/charts/live.py``: authored in altair once per shape (``lru_cache``), then
refilled with a small, downsampled Arrow table on every refresh.
"""

from __future__ import annotations

import io
import json
import math
from functools import lru_cache

import altair as alt
import numpy as np
import pandas as pd
import pyarrow as pa

from pgcore import PRESETS, ConfigError, algos
from pgcore.execution.runner import RunSnapshot
from pgcore.rl.heads import LOG_STD_INIT
from pgcore.training.config import preset

from . import style
from .charts import live, palette
from .charts.curves import rolling_mean_std, run_x_max, sample_index
from .charts.numbers import count_text, fmt
from .charts.specs import with_data

ENV_ID = "Pendulum-v1"
DEFAULT_PRESET = "ppo-pendulum"
"""The page's default: PPO with the RL Zoo's Pendulum settings (visibly learns in 2 minutes)."""
WINDOW = 100
GOOD_RETURN = -200.0
"""Where a pendulum that swings up and then holds itself upright ends up (per 200-step
episode); Pendulum-v1 has no official "solved" threshold."""
STEPS_PER_EPISODE = 200
"""Pendulum-v1 always stops at 200 steps (a time limit; it cannot fail earlier)."""
STD_KEY = "policy_std"
"""An update statistic with the policy's standard deviation, if an algorithm reports one;
otherwise :func:`std_history` rebuilds it from the entropy."""
PG_COLOR = live.AVERAGE_COLOR
"""The σ line: the run's own curve (the Train page's average colour)."""
_HALF_LOG_2PI_E = 0.5 * math.log(2 * math.pi * math.e)


# ----- which presets -------------------------------------------------------------------------


def _handles_box(preset_name: str) -> bool:
    """Whether the preset's algorithm acts on a continuous (Box) action by itself: its agent
    class lists ``Box`` among the action spaces its loss handles."""
    make = algos.get(PRESETS[preset_name].values["algo"]).make_agent
    return "Box" in getattr(make, "action_spaces", ("Discrete",))


def pendulum_presets() -> list[str]:
    """The registry's Pendulum-v1 presets: every preset whose config runs on Pendulum-v1."""
    return [name for name, p in PRESETS.items() if p.values.get("env_id") == ENV_ID]


def policy_presets() -> list[str]:
    """The Pendulum presets of the policy-gradient algorithms (their agents handle a Box
    action with a Gaussian head), :data:`DEFAULT_PRESET` first."""
    names = [n for n in pendulum_presets() if _handles_box(n)]
    return sorted(names, key=lambda n: n != DEFAULT_PRESET)  # stable: the rest keep their order


def value_presets() -> list[str]:
    """The Pendulum presets of the algorithms that need a discrete action (the value-based
    alternative, which acts on a discretised torque)."""
    return [n for n in pendulum_presets() if not _handles_box(n)]


def pendulum_config(name: str, seed: int, episodes: int, max_seconds: float, **extra):
    """``(config, None)``: preset ``name`` on the page's seed and budget (``episodes``, at most
    ``max_seconds`` of training), with ``extra`` fields; or ``(None, one line)`` saying why
    not (an unknown preset, a value the config refuses, a preset for another env).

    >>> pendulum_config("ppo", 0, 10, 60.0)[1]
    'preset ppo trains CartPole-v1, not Pendulum-v1'
    """
    try:
        config = preset(name, seed=seed, max_episodes=episodes, max_steps=None,
                        max_seconds=float(max_seconds), **extra)
    except ConfigError as exc:
        return None, str(exc)
    except (TypeError, ValueError) as exc:  # a value of the wrong kind: still one line
        return None, (str(exc).splitlines() or [type(exc).__name__])[0]
    if config.env_id != ENV_ID:
        return None, f"preset {name} trains {config.env_id}, not {ENV_ID}"
    return config, None


def discretisation_rows() -> pd.DataFrame | None:
    """``pgcore.rl.heads.discretisation_table()`` as a table for the page (one row per action
    dimension count d; a column of Q outputs per bin count k), or None where this pgcore has
    no discretised actions."""
    from pgcore.rl import heads

    make = getattr(heads, "discretisation_table", None)
    if make is None:
        return None
    frame = pd.DataFrame(make())
    for col in frame.columns:
        if str(col).startswith("k="):
            frame[col] = [count_text(v) for v in frame[col]]
    return frame.rename(columns={"d": "action dimensions d", "task": "e.g."})


def bin_text(bins: int, low: float = -2.0, high: float = 2.0) -> str:
    """The torques of ``bins`` evenly spaced values, ends included.

    >>> bin_text(5)
    '−2, −1, 0, +1, +2'
    """
    values = low + np.arange(bins) * (high - low) / (bins - 1)
    return ", ".join(("0" if abs(v) < 1e-9 else f"{v:+.3g}").replace("-", "−") for v in values)


def preset_label(name: str) -> str:
    """``PPO: Pendulum (continuous actions)``: the algorithm's title and the preset's label."""
    p = PRESETS[name]
    return f"{algos.get(p.values['algo']).title}: {p.label or p.name}"


# ----- numbers --------------------------------------------------------------------------------


def averages(returns: np.ndarray, window: int = WINDOW) -> tuple[float | None, float | None]:
    """``(current, best)``: the mean of the last ``window`` returns (fewer at the start) and
    the highest mean of ``window`` consecutive returns so far (None before ``window``
    episodes: a partial window is not a fair best).

    >>> averages(np.array([-3.0, -1.0, -2.0]), window=2)
    (-1.5, -1.5)
    >>> averages(np.array([-3.0]), window=2)
    (-3.0, None)
    """
    x = np.asarray(returns, dtype=np.float64)
    if not len(x):
        return None, None
    current = float(x[-window:].mean())
    if len(x) < window:
        return current, None
    c = np.concatenate([[0.0], np.cumsum(x)])
    return current, float(((c[window:] - c[:-window]) / window).max())


def std_from_entropy(entropy: np.ndarray, dim: int = 1) -> np.ndarray:
    """The standard deviation of a diagonal Gaussian policy from its entropy (nats):
    H = sum_i [log sigma_i + log(2 pi e) / 2], so sigma = exp(H / d - log(2 pi e) / 2), the
    geometric mean over the ``dim`` action dimensions (exact for one).

    >>> float(np.round(std_from_entropy(np.array([0.5 * np.log(2 * np.pi * np.e)])), 6)[0])
    1.0
    """
    return np.exp(np.asarray(entropy, dtype=np.float64) / dim - _HALF_LOG_2PI_E)


def std_history(snap: RunSnapshot, dim: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``(episodes, sigma)`` per logged update bucket: the policy's standard deviation while
    it trained. The log-std is one learned number that ignores the state (``GaussianHead``),
    so the entropy the algorithms report already says what sigma was:
    :func:`std_from_entropy`. A ``policy_std`` statistic is used instead if one is reported."""
    u = snap.updates
    x = np.asarray(u.get("episodes", np.zeros(0)), dtype=np.float64)
    if STD_KEY in u:
        return x, np.asarray(u[STD_KEY], dtype=np.float64)
    if "entropy" in u:
        return x, std_from_entropy(u["entropy"], dim)
    return x, np.full(len(x), np.nan)


def frame_torque(frame) -> tuple[float, float] | None:
    """``(mean, std)`` of the torque in a frame of a Gaussian policy (its head's
    ``distribution``: the means, then the stds), or None for any other kind of frame."""
    if frame is None or getattr(frame.head, "kind", None) != "gaussian":
        return None
    dist = np.asarray(frame.probs, dtype=np.float64).reshape(-1)
    d = frame.head.dim
    return float(dist[0]), float(dist[d])


def frame_choice(frame) -> tuple[float, np.ndarray] | None:
    """``(torque, allowed)`` in a frame of a discretised value-based agent (a head with
    ``grid_points`` over one action dimension, whose ``probs`` are Q(s, .)): the torque of
    the argmax and the torques it can choose from; None for any other kind of frame."""
    head = None if frame is None else frame.head
    if head is None or not hasattr(head, "grid_points") or getattr(head, "dim", 0) != 1:
        return None
    q = np.asarray(frame.probs, dtype=np.float64).reshape(-1)
    if not len(q) or not np.isfinite(q).all():
        return None
    allowed = head.grid_points(np.arange(head.n))[:, 0].astype(np.float64)
    return float(allowed[int(q.argmax())]), allowed


def metrics_html(snap: RunSnapshot) -> str:
    """The headline numbers as one element (the app's ``pg-metrics`` style)."""
    current, best = averages(snap.episodes["episode_return"])
    return '<div class="pg-metrics">' + "".join([
        style.metric("Episodes", f"{snap.episode_count:,}"),
        style.metric("Last 100 avg", fmt(current), "Mean return of the last 100 episodes "
                     "(fewer at the start)."),
        style.metric("Best 100 avg", fmt(best), "The highest mean return over 100 consecutive "
                     "episodes so far (from episode 100 on)."),
        style.metric("Env steps", f"{snap.env_steps:,}", "200 per episode."),
        style.metric("Seconds", f"{snap.wall_seconds:,.0f}", "Training time, pauses excluded."),
    ]) + "</div>"


# ----- the frame ------------------------------------------------------------------------------


def frame_image(frame) -> np.ndarray | None:
    """The frame's picture with the policy's torque (mean and +- one std) drawn around the
    pivot (:func:`pgcore.training.render.torque_overlay`), or, for a discretised value-based agent,
    the torque its argmax picks among the dots of the ones it may choose; the plain picture
    for a frame of another kind of head; None without a picture."""
    from pgcore.training.render import pendulum_angle, torque_overlay

    if frame is None or frame.rgb is None:
        return None
    head, theta = frame.head, pendulum_angle(frame.obs)
    torque = frame_torque(frame)
    if torque is not None:
        return torque_overlay(frame.rgb, theta, *torque, head.low[0], head.high[0])
    choice = frame_choice(frame)
    if choice is not None:
        return torque_overlay(frame.rgb, theta, choice[0], 0.0, head.low[0], head.high[0],
                              ticks=tuple(choice[1]))
    return np.asarray(frame.rgb, np.uint8)


def frame_jpeg(frame, cache: dict | None = None) -> bytes | None:
    """:func:`frame_image` as JPEG bytes, encoded once per frame when given a ``cache``."""
    if frame is not None and cache is not None and cache.get("frame") is frame:
        return cache["jpeg"]
    rgb = frame_image(frame)
    if rgb is None:
        return None
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=90)
    data = buf.getvalue()
    if cache is not None:
        cache.update(frame=frame, jpeg=data)
    return data


# ----- charts ---------------------------------------------------------------------------------


THRESHOLDS = ((GOOD_RETURN, f"{GOOD_RETURN:.0f}: swings up and stays up"),)


@lru_cache(maxsize=16)
def _returns_template(x_max: int) -> str:
    chart = live.returns_chart(x_max, y_max=None, window=WINDOW, thresholds=THRESHOLDS,
                               height=320)
    return json.dumps(chart.to_dict())


def returns_spec(snap: RunSnapshot) -> dict:
    """Return per episode, its 100-episode average and +- 1 rolling std (the Train page's
    chart, ``ui.charts.live.returns_chart``), with a rule at :data:`GOOD_RETURN` instead of
    CartPole's thresholds and a y axis that fits Pendulum's negative returns."""
    return with_data(_returns_template(run_x_max(snap)), returns=live.returns_data(snap, WINDOW))


def std_data(snap: RunSnapshot, dim: int = 1,
             max_points: int = live.SMALL_POINTS) -> pa.Table:
    x, sigma = std_history(snap, dim)
    idx = sample_index(len(x), max_points)
    return pa.table({"x": x[idx].astype(np.float32), "std": sigma[idx].astype(np.float32)})


@lru_cache(maxsize=16)
def _std_template(x_max: int) -> str:
    x = alt.X("x:Q", title="episode", scale=alt.Scale(domain=[0, x_max], nice=False),
              axis=palette.axis(tickCount=5))
    y_scale = alt.Scale(domainMin=0)
    y = alt.Y("std:Q", title="σ (torque)", scale=y_scale, axis=palette.axis())
    line = alt.Chart(alt.NamedData("std")).mark_line(
        color=PG_COLOR, strokeWidth=2, point=alt.OverlayMarkDef(size=14), clip=True).encode(
        x=x, y=y, tooltip=[alt.Tooltip("x:Q", title="episodes", format=",.0f"),
                           alt.Tooltip("std:Q", title="σ", format=".3f")])
    start = math.exp(LOG_STD_INIT)
    rules = palette.rule_layers([(start, f"start: σ = {start:.2f}", palette.REFERENCE)],
                                y_scale, font_size=11)
    layers = alt.layer(line, *rules).properties(height=220, title=alt.TitleParams(
        "the policy's spread σ = exp(log σ), learned", fontSize=13, anchor="start"))
    return json.dumps(layers.to_dict())


def std_spec(snap: RunSnapshot, dim: int = 1) -> dict:
    """sigma of the Gaussian policy against episodes (:func:`std_history`): it starts at
    exp(LOG_STD_INIT) and shrinks as the policy commits to its torques."""
    return with_data(_std_template(run_x_max(snap)), std=std_data(snap, dim))


def compare_data(runs: dict[str, RunSnapshot], window: int = WINDOW,
                 max_points: int = live.MAX_POINTS) -> pa.Table:
    """Long format: each run's ``window``-episode average return against env steps."""
    xs, ys, names = [], [], []
    for name, snap in runs.items():
        ep = snap.episodes
        idx = sample_index(len(ep["episode_return"]), max_points)
        mean, _ = rolling_mean_std(ep["episode_return"], window, idx)
        xs.append(ep["env_steps"][idx].astype(np.int64))
        ys.append(mean.astype(np.float32))
        names += [name] * len(idx)
    if not xs:
        return pa.table({"x": np.zeros(0, np.int64), "avg": np.zeros(0, np.float32),
                         "run": pa.array([], pa.string())})
    return pa.table({"x": np.concatenate(xs), "avg": np.concatenate(ys),
                     "run": pa.array(names, pa.string())})


@lru_cache(maxsize=16)
def _compare_template(names: tuple[str, ...], x_max: int) -> str:
    """One line per run, each in its algorithm's look from ``ui.charts.palette`` (a run named "PPO,
    Gaussian policy" is drawn as PPO is everywhere)."""
    x = alt.X("x:Q", title="env steps", scale=alt.Scale(domain=[0, x_max], nice=False),
              axis=palette.axis())
    y = alt.Y("avg:Q", title=f"{WINDOW}-episode average return", scale=alt.Scale(zero=False),
              axis=palette.axis())
    line = alt.Chart(alt.NamedData("compare")).mark_line(strokeWidth=2.2, clip=True).encode(
        x=x, y=y, color=palette.color("run", names), strokeDash=palette.stroke_dash("run", names),
        tooltip=[alt.Tooltip("run:N"), alt.Tooltip("x:Q", title="env steps", format=",.0f"),
                 alt.Tooltip("avg:Q", title=f"{WINDOW}-ep. average", format=".0f")])
    rule = palette.rule_layers([(GOOD_RETURN, str(GOOD_RETURN), THRESHOLDS[0][1])], text=False)
    return json.dumps(alt.layer(*rule, line).properties(height=300).to_dict())


def compare_spec(runs: dict[str, RunSnapshot], budget_steps: int) -> dict:
    """The runs' 100-episode averages against env steps on one chart (the policy gradient and
    the value-based alternative), the x axis fixed to ``budget_steps``."""
    return with_data(_compare_template(tuple(runs), int(max(budget_steps, 10))),
                     compare=compare_data(runs))
