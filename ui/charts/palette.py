"""One look per condition, the same on every chart of every page: a colour, a line dash and a
point marker for each thing the app draws (an algorithm, a baseline, a value of β, a target
update, a seed, a threshold, a typical-run band, a hand of rock-paper-scissors ...), and the
one way axes write numbers and legends show their labels.

Colour is never the only cue: every condition also has its own dash (and marker), so two
lines of one chart differ in both. Charts take their scales from :func:`scales` (or the
channel helpers :func:`color`, :func:`stroke_dash`, :func:`shape`), never a list of colours by
position, so a condition keeps its colour whatever order a page lists its conditions in.

Colours: Paul Tol's "muted" qualitative scheme (P. Tol, *Colour Schemes*, SRON technical note
SRON/EPS/TN/09-002, https://personal.sron.nl/~pault/), chosen to stay distinct for the common
kinds of colour blindness. Its two palest members (sand, cyan) are left out and teal and olive
are darkened a touch, so every colour has a contrast of at least 3:1 against the white
background (WCAG 2.1, success criterion 1.4.11, non-text contrast). Black and two greys are
added for neutral things (a threshold, typical runs, the raw per-episode returns), and one
orange for DQN.

Pure: altair only, no Streamlit; ``tests/test_palette.py`` checks the table.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import altair as alt
import numpy as np

# ----- colours, dashes, markers ---------------------------------------------------------------

INDIGO = "#332288"
TEAL = "#3F9E8E"    # Tol's #44AA99, darkened to 3.2:1 on white
GREEN = "#117733"
OLIVE = "#949431"   # Tol's #999933, darkened to 3.2:1 on white
ROSE = "#CC6677"
WINE = "#882255"
PURPLE = "#AA4499"
ORANGE = "#CC5500"  # Tol's "vibrant" orange hue (#EE7733), darkened to 4.3:1 on white
"""DQN's: Tol's rose greys out for protan and deutan vision, too close to the typical-run band's
grey beside DQN on the Seeds & variance page."""
BLACK = "#000000"
GREY = "#6E6E6E"
"""Typical-run bands and reference rules: context, not the learner's data."""
LIGHT_GREY = "#8C8C8C"
"""Each episode's raw return, each seed's thin line: the noise under a bold average."""

HUES = (INDIGO, ROSE, TEAL, PURPLE, WINE, OLIVE, BLACK)
"""The colours unknown labels draw from, in order (not green: the lines to reach are green)."""

SOLID = (1, 0)
DASH = (8, 4)
DOT = (2, 3)
DASH_DOT = (8, 3, 2, 3)
LONG_DASH = (16, 4)
DASH_DOT_DOT = (8, 3, 2, 3, 2, 3)
SHORT_DASH = (4, 3)
DASHES = (SOLID, DASH, DASH_DOT, LONG_DASH, DASH_DOT_DOT, SHORT_DASH, DOT)
"""Vega ``strokeDash`` patterns (pixels on, off, ...); ``(1, 0)`` is a solid line."""
MARKERS = ("circle", "square", "triangle-up", "diamond", "cross", "triangle-down",
           "triangle-right", "triangle-left")


@dataclass(frozen=True)
class Style:
    """How one condition is drawn: its colour, its line dash and its point marker."""

    color: str
    dash: tuple[int, ...] = SOLID
    marker: str = "circle"

    @property
    def stroke_dash(self) -> list[int]:
        """The dash as Vega wants it (a list)."""
        return list(self.dash)

    @property
    def text_color(self) -> str:
        """The colour darkened until text in it has a contrast of 4.5:1 on white (WCAG 1.4.3):
        the words beside a rule of this colour."""
        rgb = np.array([int(self.color[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.float64)
        for k in np.linspace(1.0, 0.0, 101):
            hexa = _hex(rgb * k)
            if contrast(hexa) >= 4.5:
                return hexa
        return "#000000"  # pragma: no cover

    def tint(self, strength: float = 0.35) -> str:
        """The colour mixed with white (``strength`` of the colour): a band's legend swatch,
        which looks like the faint band itself."""
        rgb = np.array([int(self.color[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.float64)
        return _hex(255 - strength * (255 - rgb))


def _hex(rgb) -> str:
    return "#" + "".join(f"{int(round(v)):02X}" for v in rgb)


def luminance(color: str) -> float:
    """WCAG 2.1 relative luminance of a ``#RRGGBB`` colour."""
    c = np.array([int(color[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.float64) / 255
    c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2])


def contrast(color: str, background: str = "#FFFFFF") -> float:
    """WCAG 2.1 contrast ratio of ``color`` against ``background`` (1 to 21)."""
    a, b = sorted((luminance(color), luminance(background)), reverse=True)
    return (a + 0.05) / (b + 0.05)


# ----- the table ------------------------------------------------------------------------------

# Canonical condition names. Pages use many spellings of one condition ("no baseline", "REINFORCE",
# "REINFORCE, no baseline"): they are aliases below and share its look.
REINFORCE = "REINFORCE"
WITH_BASELINE = "REINFORCE + baseline"
ACTOR_CRITIC = "actor-critic"
A2C = "A2C"
PPO = "PPO"
DQN = "DQN"
NORMALISED = "normalised returns"
C_1000 = "C = 1000 (frozen target)"
C_1 = "C = 1 (no target network)"
POLYAK = "Polyak τ = 0.005"
C_200 = "hard copy every 200"
DOUBLE_DQN = "Double DQN"
PREDICTED = "predicted value"
COLLECTED = "return collected"
ARGMAX_PI = "argmax of π (A2C)"
THRESHOLD_195 = "195: CartPole-v0 criterion"
THRESHOLD_475 = "475: CartPole-v1 criterion"
GOAL = "goal"
"""A level to reach that is not CartPole's (Pendulum's -200)."""
TARGET = "exploitability target"
UNIFORM = "uniform mix"
"""The uniform mix of rock, paper and scissors: the exploitability target's policy."""
CEILING = "Q ceiling"
REFERENCE = "typical runs (reference)"
RAW = "return"
"""Each episode's own return (thin, behind its average)."""
ONE_SEED = "one seed"
AVERAGE = "average"
"""A run's moving average of the return (the Train page's bold line): the return collected."""
EVALUATION = "greedy evaluation"
CURRENT = "current policy π_t"
TIME_AVERAGE = "time-averaged policy"
ROCK, PAPER, SCISSORS = "rock", "paper", "scissors"
PG_LEARNER = "policy gradient (softmax π)"
GREEDY_LEARNER = "greedy on Q (ε = 0)"
BETA_0 = "β = 0"

STYLES: dict[str, Style] = {
    # the algorithms: one look each, on the race, value-vs-policy, smoothness, pendulum pages
    REINFORCE: Style(WINE, SOLID, "circle"),
    WITH_BASELINE: Style(TEAL, DASH, "square"),
    ACTOR_CRITIC: Style(BLACK, DOT, "triangle-up"),
    A2C: Style(INDIGO, DASH_DOT, "diamond"),
    PPO: Style(PURPLE, LONG_DASH, "triangle-down"),
    DQN: Style(ORANGE, DASH_DOT_DOT, "cross"),
    # REINFORCE's third advantage (the first two are the algorithms above)
    NORMALISED: Style(OLIVE, SHORT_DASH, "triangle-right"),
    # DQN's target network, and Double DQN
    C_1000: Style(INDIGO, SOLID, "square"),
    C_1: Style(ROSE, DASH, "cross"),
    POLYAK: Style(TEAL, DASH_DOT, "diamond"),
    C_200: Style(PURPLE, LONG_DASH, "triangle-up"),
    DOUBLE_DQN: Style(TEAL, DASH, "triangle-down"),
    # a prediction against what was really collected
    PREDICTED: Style(WINE, DASH, "triangle-up"),
    COLLECTED: Style(INDIGO, SOLID, "circle"),
    ARGMAX_PI: Style(TEAL, SHORT_DASH, "square"),
    # lines to reach and reference marks (labelled on the chart as well)
    THRESHOLD_195: Style(OLIVE, DOT, "triangle-right"),
    THRESHOLD_475: Style(GREEN, (6, 4), "triangle-left"),
    GOAL: Style(GREEN, (6, 4), "triangle-left"),
    TARGET: Style(GREEN, (2, 3), "cross"),
    CEILING: Style(BLACK, (4, 4), "square"),
    REFERENCE: Style(GREY, (5, 3), "square"),
    # the parts of one run's chart
    RAW: Style(LIGHT_GREY, SOLID, "circle"),
    ONE_SEED: Style(LIGHT_GREY, SOLID, "circle"),
    EVALUATION: Style(PURPLE, SOLID, "circle"),
    # rock-paper-scissors
    CURRENT: Style(PURPLE, SOLID, "circle"),
    TIME_AVERAGE: Style(BLACK, (6, 3), "square"),
    ROCK: Style(WINE, SOLID, "circle"),
    PAPER: Style(TEAL, DASH, "square"),
    SCISSORS: Style(OLIVE, DASH_DOT, "triangle-up"),
    PG_LEARNER: Style(INDIGO, SOLID, "diamond"),
    GREEDY_LEARNER: Style(ROSE, DASH, "cross"),
    # the entropy bonus: β = 0 is the control, each β > 0 its own look
    BETA_0: Style(BLACK, SOLID, "circle"),
    "β = 0.001": Style(WINE, DASH, "square"),
    "β = 0.002": Style(PURPLE, DASH, "triangle-up"),
    "β = 0.005": Style(TEAL, DASH, "diamond"),
    "β = 0.01": Style(INDIGO, DASH, "triangle-down"),
    "β = 0.02": Style(ROSE, DASH, "cross"),
    "β = 0.05": Style(WINE, DASH_DOT, "triangle-right"),
    "β = 0.1": Style(PURPLE, DASH_DOT, "triangle-left"),
}
"""Every condition the app draws, by its canonical name."""

ALIASES: dict[str, str] = {
    # REINFORCE without a baseline
    "no baseline": REINFORCE, "REINFORCE, no baseline": REINFORCE,
    # REINFORCE with a learned value baseline
    "learned value baseline": WITH_BASELINE, "value baseline": WITH_BASELINE,
    "REINFORCE, value baseline": WITH_BASELINE,
    # the algorithms' other names (their labels and titles in the registry)
    "One-step actor-critic": ACTOR_CRITIC, "Actor-critic (one-step)": ACTOR_CRITIC,
    "A2C (parallel envs)": A2C, "PPO (clipped surrogate)": PPO,
    "DQN (replay + target net)": DQN, "plain DQN": DQN,
    "REINFORCE, normalised returns": NORMALISED,
    # the DQN pages' target updates (a hard copy every 1,000 steps is C = 1000)
    "hard copy every 1,000": C_1000, "C = 1000": C_1000, "C = 1": C_1, "C = 200": C_200,
    # the smoothness page: π is A2C's policy, Q DQN's network
    "π (A2C)": A2C, "softmax policy (A2C)": A2C,
    "argmax of Q (DQN)": DQN, "Q-network (DQN)": DQN,
    # predictions and what was collected (overestimation page, the Train page's critic chart)
    "predicted max Q(s₀, a)": PREDICTED, "critic's V(s₀)": PREDICTED,
    "discounted return collected": COLLECTED, "return collected (discounted)": COLLECTED,
    # thresholds, however a chart words them
    "195": THRESHOLD_195, "195: CartPole-v0 solved": THRESHOLD_195,
    "195 (CartPole-v0 criterion)": THRESHOLD_195,
    "475": THRESHOLD_475, "475: CartPole-v1 solved": THRESHOLD_475,
    "475 (CartPole-v1 criterion)": THRESHOLD_475, "finish line: 475": THRESHOLD_475,
    # the parts of a chart
    "each episode": RAW, AVERAGE: COLLECTED, "mean": COLLECTED, "mean across seeds": COLLECTED,
    UNIFORM: TARGET,
}
"""Other spellings of a condition -> its canonical name."""

PATTERNS: tuple[tuple[re.Pattern, str], ...] = (
    (re.compile(r"^\d+-episode average$"), COLLECTED),
    (re.compile(r"^greedy evaluation\b"), EVALUATION),
    (re.compile(r"^-?[\d,.]+: swings up"), GOAL),
    (re.compile(r"^≈ [\d,.]+: the most any state can be worth$"), CEILING),
)
"""Labels with a number in them that varies (a window, a count) -> their canonical name."""

SEED = re.compile(r"^seed (\d+)$")
SEED_COLORS = (INDIGO, ROSE, TEAL, PURPLE, WINE, OLIVE)
"""Seeds' own ordered scheme: seed k takes colour k mod 6 (no green, grey or black: those are
the thresholds and reference marks drawn beside seeds), dash k mod 7 and marker k mod 8, so
seeds 0 to 6 differ in dash and no two of seeds 0 to 41 share colour and dash."""


def seed_style(seed: int) -> Style:
    """Seed ``seed``'s look: the same seed the same on every page (seeds are 0, 1, 2, ...)."""
    seed = abs(int(seed))
    return Style(SEED_COLORS[seed % len(SEED_COLORS)], DASHES[seed % len(DASHES)],
                 MARKERS[seed % len(MARKERS)])


def canonical(label: str) -> str | None:
    """The canonical name of ``label`` (itself, an alias, a pattern's, or, for "X, detail",
    X's when X is known); None for a label the table does not know."""
    label = str(label)
    if label in STYLES:
        return label
    if label in ALIASES:
        return ALIASES[label]
    for pattern, name in PATTERNS:
        if pattern.search(label):
            return name
    head, sep, _ = label.partition(", ")
    if sep and head != label:
        return canonical(head)
    return None


def _fallbacks() -> tuple[Style, ...]:
    """Looks for labels the table does not know: every (colour, dash) pair no known condition
    uses, colours varying fastest, so that a few unknown labels get different colours."""
    used = {(s.color, s.dash) for s in STYLES.values()}
    used |= {(seed_style(k).color, seed_style(k).dash) for k in range(3 * len(SEED_COLORS))}
    out = []
    for dash in DASHES:
        for color in HUES:
            if (color, dash) not in used:
                out.append(Style(color, dash, MARKERS[len(out) % len(MARKERS)]))
    return tuple(out)


FALLBACKS = _fallbacks()


def _stable_hash(label: str) -> int:
    return zlib.crc32(label.encode("utf-8"))


def known(label: str) -> bool:
    """Whether ``label`` has a look of its own (a condition, an alias, a seed)."""
    return canonical(label) is not None or SEED.match(str(label)) is not None


def style(label: str) -> Style:
    """``label``'s look, the same on every chart. A label the table does not know gets one of
    :data:`FALLBACKS`, picked by a stable hash of the label (so the same on every run), never
    the (colour, dash) of a known condition."""
    name = canonical(label)
    if name is not None:
        return STYLES[name]
    m = SEED.match(str(label))
    if m:
        return seed_style(int(m.group(1)))
    return FALLBACKS[_stable_hash(str(label)) % len(FALLBACKS)]


def styles(labels: Iterable[str]) -> dict[str, Style]:
    """The looks of ``labels`` drawn together on one chart: :func:`style` for each, except that
    labels the table does not know (learners' names, say) are spread over :data:`FALLBACKS`
    so they do not share a colour or a dash while an unused one is left (taken in sorted
    order, so the result does not depend on the order of ``labels``)."""
    labels = list(dict.fromkeys(str(v) for v in labels))
    out = {v: style(v) for v in labels if known(v)}
    colors = {s.color for s in out.values()}
    dashes = {s.dash for s in out.values()}
    pairs = {(s.color, s.dash) for s in out.values()}
    for v in sorted(v for v in labels if v not in out):
        start = _stable_hash(v) % len(FALLBACKS)
        ring = FALLBACKS[start:] + FALLBACKS[:start]
        pick = (next((s for s in ring if s.color not in colors and s.dash not in dashes), None)
                or next((s for s in ring if s.color not in colors), None)
                or next((s for s in ring if (s.color, s.dash) not in pairs), ring[0]))
        out[v] = pick
        colors.add(pick.color)
        dashes.add(pick.dash)
        pairs.add((pick.color, pick.dash))
    return {v: out[v] for v in labels}


def scales(labels: Sequence[str]) -> tuple[alt.Scale, alt.Scale, alt.Scale]:
    """(colour scale, dash scale, shape scale) for a nominal field whose values are ``labels``,
    in that order (the legend's order)."""
    looks = styles(labels)
    domain = list(looks)
    return (alt.Scale(domain=domain, range=[s.color for s in looks.values()]),
            alt.Scale(domain=domain, range=[s.stroke_dash for s in looks.values()]),
            alt.Scale(domain=domain, range=[s.marker for s in looks.values()]))


# ----- legends --------------------------------------------------------------------------------

PX_PER_CHAR = 11
"""A generous width of one legend character in pixels (the presenter view's fonts are up to
17 px): :func:`label_limit` leaves room for the longest label, so Vega never cuts it."""
LEGEND_WIDTH = 320
"""The narrowest a half-width chart gets (one of two columns on a laptop); a full-width chart
passes its own (about 640): a top legend wraps into as many columns as fit in it."""
CHAR_PX = 6.5
"""The average width of a legend character at Vega's default font size, in pixels."""
STROKE_SYMBOL_SIZE = 600
"""A line swatch's size: Vega draws it sqrt(size) pixels long, here about 24, long enough to
show a whole period of the longest dash pattern (its default, 10 px, shows none)."""


def label_limit(labels: Iterable[str]) -> int:
    """A legend ``labelLimit`` (pixels) no label of ``labels`` reaches: Vega replaces the end of
    a longer label with "…" (its default limit, 160 px, cuts about 25 characters)."""
    longest = max((len(str(v)) for v in labels), default=0)
    return max(200, PX_PER_CHAR * longest + 20)


def legend_columns(labels: Sequence[str], width: float = LEGEND_WIDTH) -> int:
    """How many columns of a horizontal legend fit ``width`` pixels: entries fill the rows
    left to right and each column is as wide as its widest entry (swatch, gap, label)."""
    sizes = [48 + CHAR_PX * len(str(v)) for v in labels]
    for columns in range(len(sizes), 1, -1):
        widths = [max(sizes[i::columns]) for i in range(columns)]
        if sum(widths) <= width:
            return columns
    return 1


def legend(labels: Sequence[str], symbol: str = "stroke", orient: str = "top",
           width: float = LEGEND_WIDTH, **kwargs) -> alt.Legend:
    """A legend that shows every label in full, with solid swatches (``symbolOpacity`` 1; a
    stroke 3 px wide for lines) and, on top of a chart ``width`` pixels wide, wrapped into as
    many columns as fit (:func:`legend_columns`)."""
    labels = [str(v) for v in labels]
    line = symbol == "stroke"
    props = dict(orient=orient, labelLimit=label_limit(labels), symbolOpacity=1,
                 symbolStrokeWidth=3 if line else 1.5, symbolType=symbol, title=None,
                 symbolSize=STROKE_SYMBOL_SIZE if line else 80)
    if orient in ("top", "bottom"):
        props.update(direction="horizontal", columns=legend_columns(labels, width))
    props.update(kwargs)
    return alt.Legend(**props)


def color(field: str, labels: Sequence[str], legend_: alt.Legend | None | bool = True,
          symbol: str = "stroke", width: float = LEGEND_WIDTH, **kwargs) -> alt.Color:
    """A colour channel for nominal ``field`` with the palette's colours for ``labels``;
    ``legend_``: True for :func:`legend`, None for none, or a legend of your own."""
    scale = scales(labels)[0]
    if legend_ is True:
        legend_ = legend(labels, symbol=symbol, width=width)
    return alt.Color(f"{field}:N", title=None, scale=scale, legend=legend_, **kwargs)


def stroke_dash(field: str, labels: Sequence[str], legend_: alt.Legend | None | bool = True,
                symbol: str = "stroke", width: float = LEGEND_WIDTH, **kwargs) -> alt.StrokeDash:
    """The matching dash channel. With the same legend as :func:`color`'s, Vega-Lite draws one
    legend whose swatches show both the colour and the dash."""
    scale = scales(labels)[1]
    if legend_ is True:
        legend_ = legend(labels, symbol=symbol, width=width)
    return alt.StrokeDash(f"{field}:N", title=None, scale=scale, legend=legend_, **kwargs)


def shape(field: str, labels: Sequence[str], legend_: alt.Legend | None | bool = None,
          **kwargs) -> alt.Shape:
    """The matching marker channel (no legend of its own by default)."""
    scale = scales(labels)[2]
    if legend_ is True:
        legend_ = legend(labels, symbol="circle")
    return alt.Shape(f"{field}:N", title=None, scale=scale, legend=legend_, **kwargs)


# ----- numbers on axes ------------------------------------------------------------------------

NUMBER_EXPR = ("(abs(datum.value) >= 1e7 || (datum.value != 0 && abs(datum.value) < 1e-4)) ? "
               "replace(format(datum.value, '.2~e'), 'e+', 'e') : format(datum.value, ',~r')")
"""How every axis writes a number: in full with thousands separators (0.05, 950, 150,000) and,
from ten million up or under 0.0001, as 2.5e7 or 1e-9. Never an SI prefix (Vega's default on a
log axis is one: 10G, 1P and 10n mean nothing to a beginner)."""
LOG_EXPR = ("abs(log(datum.value) / LN10 - round(log(datum.value) / LN10)) < 1e-6 ? ("
            + NUMBER_EXPR + ") : ''")
"""A log axis labels its powers of ten only (1e-6, 0.001, 1, 1,000), in :data:`NUMBER_EXPR`."""


def axis(**kwargs) -> alt.Axis:
    """A quantitative axis whose labels read :data:`NUMBER_EXPR`."""
    return alt.Axis(labelExpr=NUMBER_EXPR, **kwargs)


def log_axis(**kwargs) -> alt.Axis:
    """An axis for a log scale: labels at powers of ten, in :data:`NUMBER_EXPR`."""
    return alt.Axis(labelExpr=LOG_EXPR, **kwargs)


def decades(lo: float, hi: float) -> list[float]:
    """The powers of ten from ``lo`` to ``hi`` (both > 0): a log axis's ticks.

    >>> decades(3e-4, 3.0)
    [0.001, 0.01, 0.1, 1.0]
    """
    if not (lo > 0 and hi > 0):
        raise ValueError(f"a log axis needs positive bounds, got {lo} and {hi}")
    first, last = int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi)))
    powers = (10.0 ** k for k in range(first, last + 1))
    return [p for p in powers if lo * (1 - 1e-9) <= p <= hi * (1 + 1e-9)]


def log_scale(lo: float | None = None, hi: float | None = None, **kwargs) -> alt.Scale:
    """A log scale, its domain ``[lo, hi]`` when given (both must be > 0: a log axis has no 0)."""
    if lo is None or hi is None:
        return alt.Scale(type="log", **kwargs)
    if not (lo > 0 and hi > 0):
        raise ValueError(f"a log scale needs a positive domain, got [{lo}, {hi}]")
    return alt.Scale(type="log", domain=[lo, hi], **kwargs)


def positive(values) -> np.ndarray:
    """``values`` as floats with every value at or below 0 (which a log axis cannot place)
    made NaN, so the chart leaves a gap there."""
    v = np.asarray(values, dtype=np.float64)
    return np.where(v > 0, v, np.nan)


# ----- labelled rules -------------------------------------------------------------------------


def rule_layers(rows: Sequence[tuple[float, str, str]], y_scale=alt.Undefined,
                y_title: str | None = None, font_size: int = 10, text: bool = True,
                stroke_width: float = 1.3) -> list:
    """Horizontal rules, each in its condition's colour and dash, with its text at the left:
    ``rows`` of (y, text, condition), e.g. (475, "475: CartPole-v1 solved", "475")."""
    layers = []
    for y, words, name in rows:
        look = style(name)
        data = alt.Chart(alt.InlineData(values=[{"y": float(y), "text": words}]))
        enc = alt.Y("y:Q", scale=y_scale, title=y_title) if y_title is not None else \
            alt.Y("y:Q", scale=y_scale)
        layers.append(data.mark_rule(color=look.color, strokeDash=look.stroke_dash,
                                     strokeWidth=stroke_width).encode(y=enc))
        if text:
            layers.append(data.mark_text(align="left", baseline="bottom", dx=4, dy=-2,
                                         fontSize=font_size, fontWeight="bold",
                                         color=look.text_color).encode(
                y=enc, x=alt.value(0), text="text:N"))
    return layers
