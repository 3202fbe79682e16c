"""A little CSS for the app's own HTML bits (the live metrics, :func:`metric`, and the action
bars), and the presenter view's (``?present=1``): large text and numbers, taller charts, for a
projector.

Injected once per script run from ``app.py`` with ``st.html`` (a style-only block takes no
space on the page). Colours follow ``.streamlit/config.toml``.
"""

from __future__ import annotations

import html

from .drawn import Drawn

CSS = """
<style>
.pg-metrics { display: grid; grid-template-columns: repeat(5, minmax(0, 1fr)); gap: 0.75rem;
              margin: 0.1rem 0 0.2rem 0; }
.pg-metric { min-width: 0; }
.pg-label { font-size: 0.875rem; color: #475569; white-space: nowrap; overflow: hidden;
            text-overflow: ellipsis; }
.pg-metric[title] .pg-label { text-decoration: underline dotted #94a3b8; cursor: help; }
.pg-value { font-size: 2rem; line-height: 1.25; color: #0f172a;
            font-variant-numeric: tabular-nums; }
.pg-prob { display: flex; align-items: center; gap: 0.5rem; margin: 0.25rem 0;
           font-size: 0.95rem; }
.pg-prob-label { width: 6.5rem; flex: none; }
.pg-bar { flex: 1; height: 0.6rem; background: #e2e8f0; border-radius: 0.3rem; overflow: hidden; }
.pg-bar > span { display: block; height: 100%; background: #1d4ed8; border-radius: 0.3rem; }
.pg-prob-value { width: 2.6rem; text-align: right; font-variant-numeric: tabular-nums; }
.pg-v { margin-top: 0.5rem; font-size: 0.95rem; }
@media (max-width: 900px) { .pg-metrics { grid-template-columns: repeat(3, minmax(0, 1fr)); } }
/* Room for the pages: the wide layout's side margins are 3rem instead of 5rem (a 1280 px
   window with the sidebar open gains 64 px for the settings, charts and tables). */
@media (min-width: 1024px) {
  [data-testid="stMainBlockContainer"] { padding-left: 3rem; padding-right: 3rem; }
}
/* A widget label too long for its column wraps onto a second line instead of being cut to
   "Orth…" (Streamlit keeps checkbox and toggle labels on one line). */
[data-testid="stWidgetLabel"] .stMarkdownEllipsis,
[data-testid="stWidgetLabel"] .stMarkdownEllipsis p {
  white-space: normal; text-overflow: clip; overflow-wrap: anywhere; }
/* Text contrast at least 4.5:1 (WCAG 1.4.3) where Streamlit's own colours fall short: inline
   code (a pale green; a caption draws its text at 60% opacity, so code there takes the text's
   colour) and the code blocks' syntax colours. */
[data-testid="stMarkdownContainer"] code { color: #166534; }
[data-testid="stCaptionContainer"] code { color: inherit; }
[data-testid="stCode"] .token.keyword, [data-testid="stCode"] .token.function,
[data-testid="stCode"] .token.builtin, [data-testid="stCode"] .token.class-name {
  color: #1d4ed8; }
[data-testid="stCode"] .token.boolean, [data-testid="stCode"] .token.string,
[data-testid="stCode"] .token.char, [data-testid="stCode"] .token.inserted { color: #166534; }
[data-testid="stCode"] .token.number, [data-testid="stCode"] .token.constant,
[data-testid="stCode"] .token.symbol { color: #9a3412; }
[data-testid="stCode"] .token.comment, [data-testid="stCode"] .token.prolog,
[data-testid="stCode"] .token.doctype, [data-testid="stCode"] .token.punctuation { color: #475569; }
[data-testid="stCode"] .token.operator, [data-testid="stCode"] .token.decorator,
[data-testid="stCode"] .token.attr-name { color: #9d174d; }
/* No fading while a page redraws: Streamlit draws an element it is about to redraw at a third
   of its opacity, so the live panels' text (redrawn every half second or so) kept flickering
   below 4.5:1 contrast. The running indicator at the top right still shows a redraw. */
[data-stale="true"] { opacity: 1 !important; }
/* A visible focus ring on everything a keyboard reaches (WCAG 2.4.7), where Streamlit draws
   a thin one or none: links (the sidebar's menu and its logo), the regions ui/a11y.py makes
   focusable, the page's main
   area (a Tab stop: it scrolls), a select box, a text or number box, and a radio option or
   checkbox (its real input is hidden, so its label shows the ring). */
a:focus-visible, [data-pg-focusable]:focus-visible, [data-testid="stLogoLink"]:focus-visible {
  outline: 2px solid #1d4ed8 !important; outline-offset: 2px; border-radius: 0.25rem; }
[data-testid="stMain"]:focus-visible { outline: 2px solid #1d4ed8; outline-offset: -2px; }
[data-testid="stSelectbox"] div:has(> div > input:focus-visible),
[data-testid="stMultiSelect"] div:has(> div > input:focus-visible),
[data-testid="stNumberInput"] div:has(> input:focus-visible),
[data-testid="stTextInput"] div:has(> input:focus-visible),
[data-testid="stTextArea"] div:has(> textarea:focus-visible) {
  outline: 2px solid #1d4ed8; outline-offset: 1px; }
label:has(input[type="radio"]:focus-visible), label:has(input[type="checkbox"]:focus-visible) {
  outline: 2px solid #1d4ed8; outline-offset: 2px; border-radius: 0.25rem; }
/* A chart's data as a table (ui/charts/words.table_html), under the chart in an expander. */
.pg-data { border-collapse: collapse; font-size: 0.875rem; font-variant-numeric: tabular-nums;
           max-width: 100%; }
.pg-data caption { text-align: left; color: #334155; padding-bottom: 0.25rem; }
.pg-data th, .pg-data td { padding: 0.15rem 0.75rem 0.15rem 0; text-align: right;
                           border-bottom: 1px solid #e2e8f0; }
.pg-data th { color: #0f172a; font-weight: 600; overflow-wrap: anywhere; }
/* The sidebar's menu (ui/sidebar.page_links): section names as small headings above their
   links, as Streamlit's own menu shows them. */
.pg-nav-section { font-size: 0.875rem; font-weight: 600; color: #334155;
                  line-height: 1.3; margin: 0.9rem 0 0.4rem 0 !important; }
</style>
"""

PRESENTER_CSS = """
<style>
/* The presenter view: readable from the back of a room. The root font size stays as it is
   (Streamlit's chart theme reads it once per session), so text is enlarged element by element
   and the charts get their larger fonts from their own config (ui/style.for_screen). */
h1 { font-size: 3.4rem !important; }
h2 { font-size: 2.4rem !important; }
h3 { font-size: 1.9rem !important; }
h5 { font-size: 1.5rem !important; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li {
    font-size: 1.3rem; line-height: 1.5; }
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p { font-size: 1.15rem; }
[data-testid="stWidgetLabel"] p { font-size: 1.15rem; }
[data-testid="stSliderThumbValue"] p, [data-testid="stSliderTickBar"] p { font-size: 0.9rem; }
[data-testid="stAlertContainer"] p { font-size: 1.2rem; }
[data-testid="stTable"] td, [data-testid="stTable"] th { font-size: 1.15rem; }
.pg-metrics { gap: 1.25rem; }
.pg-label { font-size: 1.2rem; color: #334155; }
.pg-value { font-size: 3.6rem; font-weight: 600; line-height: 1.15; }
.pg-prob { font-size: 1.3rem; }
.pg-prob-label { width: 8rem; }
.pg-prob-value { width: 3.4rem; }
.pg-bar { height: 1rem; }
.pg-v { font-size: 1.3rem; }
[data-testid="stMetricValue"] { font-size: 3.2rem; }
[data-testid="stMetricLabel"] p { font-size: 1.2rem; }
</style>
"""
"""Added after :data:`CSS` in the presenter view (the sidebar is left out by ``app.py``)."""

CHART_SCALE = 1.6
"""How much taller a chart is in the presenter view."""
CHART_FONTS = {"axis": {"labelFontSize": 17, "titleFontSize": 19},
               "legend": {"labelFontSize": 17, "titleFontSize": 18},
               "header": {"labelFontSize": 18, "titleFontSize": 19},
               "title": {"fontSize": 22, "subtitleFontSize": 17}}
"""Vega-Lite config for the presenter view's charts (the defaults are 10 to 13 px)."""


FONT_SCALE = 1.4
"""How much larger a font a chart sets itself (a title's, a text mark's) is in the presenter
view."""
_FONT_KEYS = ("fontSize", "subtitleFontSize", "labelFontSize", "titleFontSize")


def _taller(node, scale: float):
    """A copy of a Vega-Lite spec with every numeric ``height`` scaled, and every font size
    it sets itself by :data:`FONT_SCALE` (datasets and other leaves are shared, not copied)."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            number = isinstance(v, (int, float)) and not isinstance(v, bool)
            if k == "height" and number:
                out[k] = round(v * scale)
            elif k in _FONT_KEYS and number:
                out[k] = round(v * FONT_SCALE)
            elif k == "height" and isinstance(v, dict) and "step" in v:
                out[k] = {**v, "step": round(v["step"] * scale)}
            elif k in ("datasets", "data", "values"):
                out[k] = v
            else:
                out[k] = _taller(v, scale)
        return out
    if isinstance(node, list):
        return [_taller(v, scale) for v in node]
    return node


def presenting() -> bool:
    """Whether the presenter view is on (:func:`ui.links.presenting`, read only when drawing:
    the HTML helpers here need no Streamlit)."""
    from .links import presenting as on

    return on()


def screen_key() -> bool:
    """What :func:`for_screen` depends on (a cache of drawn specs keys on it)."""
    return presenting()


def for_screen(spec: dict) -> dict:
    """``spec`` as drawn now: with Vega's ARIA marks switched off (:func:`without_aria_marks`),
    and in the presenter view taller with larger fonts."""
    spec = without_aria_marks(spec)
    if not presenting():
        return spec
    out = _taller(spec, CHART_SCALE)
    config = dict(out.get("config") or {})
    for part, fonts in CHART_FONTS.items():  # ours win: the point is to be readable
        config[part] = {**(config.get(part) or {}), **fonts}
    out["config"] = config
    return out


def without_aria_marks(spec: dict) -> dict:
    """A shallow copy of ``spec`` whose marks and guides Vega leaves out of the accessibility
    tree (``config.aria`` and ``config.mark.aria`` false). Vega gives each mark group a
    ``graphics-symbol`` role, and an empty one (a band before its data arrives) has no name,
    which axe-core flags; a screen reader gets the chart's numbers from its caption and data
    table instead (:func:`chart_words`)."""
    config = spec.get("config") or {}
    return {**spec, "config": {**config, "aria": False,
                               "mark": {**(config.get("mark") or {}), "aria": False}}}


def chart(where, altair_chart, caption: str | None = None, **kwargs):
    """Draw a chart in ``where`` (``st`` or a column), then its words (:func:`chart_words`).

    ``altair_chart`` is an Altair chart or a Vega-Lite spec (a dict), drawn as its spec through
    :func:`for_screen` (in the presenter view taller with larger fonts). ``caption``: the
    sentence under it, instead of the one read from its data."""
    spec = altair_chart if isinstance(altair_chart, dict) else altair_chart.to_dict()
    out = where.vega_lite_chart(for_screen(spec), **kwargs)
    chart_words(where, spec, caption)
    return out


def chart_words(where, spec: dict, caption: str | None = None) -> None:
    """Under a chart, what it shows in words: one sentence with its numbers
    (:func:`ui.charts.words.summary`, or ``caption``) and its data as an HTML table
    (:func:`ui.charts.words.table_html`) in a closed "Chart data (table)" expander, for a
    screen reader and for anyone who cannot tell its lines apart (WCAG 1.1.1 and 1.4.1)."""
    text, table = _words_of(spec, caption)
    if text:
        where.caption(text)
    if table:
        where.expander("Chart data (table)", icon=":material/table:").html(table)


_WORDS = Drawn(64)
"""The words of recent specs, by the spec object's id: the Train page's specs are built once per
snapshot and shared by every tab watching it (ui/train.py), so their words are made once for
all of them too (:class:`ui.drawn.Drawn`). An entry holds its spec, so the id is not reused
while it is kept."""


def _words_of(spec: dict, caption: str | None) -> tuple[str, str]:
    """(the sentence, the data table's HTML or "") of ``spec``, made once per spec object."""
    from .charts import words

    def build() -> tuple[dict, str, str]:
        text = caption if caption is not None else words.summary(spec)
        data = words.table(spec)
        table = (words.table_html(data, "The data the chart above draws")
                 if data is not None and len(data) else "")
        return spec, text, table

    held = _WORDS.make((id(spec), caption), None, build)
    return held[1], held[2]


def metric(label: str, value: str, help_text: str = "") -> str:
    """One headline number as HTML in the ``pg-metric`` style (a row of them goes in a
    ``pg-metrics`` element): its label, its value, and ``help_text`` as the tooltip."""
    tip = f' title="{html.escape(help_text)}"' if help_text else ""
    return (f'<div class="pg-metric" data-label="{html.escape(label)}"{tip}>'
            f'<div class="pg-label">{html.escape(label)}</div>'
            f'<div class="pg-value">{html.escape(value)}</div></div>')
