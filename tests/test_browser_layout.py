"""Nothing cut off at 1280x800 and 1400x1000: every page of the app in a real browser.

One `streamlit run app.py` server (tests/test_browser.py's fixture) and one Chromium context
visit every page that ``app.py`` routes to, at both window sizes, with every expander open
(the Train page's "Advanced settings" for each algorithm), then measure in the DOM:

- text that is cut: a widget label, the select box, a button, a heading or a caption whose
  element hides what overflows (``overflow: hidden`` or ``text-overflow: ellipsis``) and whose
  text is wider than the element;
- the Train page's preset box: every preset label of every algorithm must fit in it when
  chosen (measured with the box's own font);
- sideways overflow: the page wider than the window, or a table, dataframe or formula that
  scrolls sideways inside its container (a column the reader does not see);
- charts: Vega-Lite ends text it truncates (a legend label, an axis or chart title) with "…",
  and text drawn past the chart's edge is cut by the SVG.

The Train page is measured again with a short run paused (its live charts and the downloads),
and the two pages whose results take seconds (Stochastic optimum, Smoothness) after a run.
Every offender is named in the assertion message: page, window size, what and its text.

The chart checks are a separate test (:func:`test_chart_text_is_not_cut`): the chart specs are
being changed on another branch; it is skipped until that branch is merged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.test_browser import browser, pytestmark, server, wait_until  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
VIEWPORTS = ({"width": 1280, "height": 800}, {"width": 1400, "height": 1000})
RUN_PAGES = ("rps", "smoothness")  # a Run button with results in seconds
SLACK = 1  # px: rounding
SCROLL_SLACK = 3  # px: a box sized to a formula (304.45 px) reports 306 px of content in 304
CHART_SLACK = 3  # px: a rotated axis title's font box may sit 2-3 px past the edge, ink inside


@dataclass(frozen=True)
class Page:
    path: str  # the URL path ("" for the default page)
    title: str


def app_pages() -> list[Page]:
    """Every page ``app.py`` passes to ``st.navigation`` (``ui.navigation``'s entries), with
    its URL path (``""`` for the default page)."""
    from ui import navigation

    return [Page(e.url_path, e.title) for e in navigation.entries()]


@dataclass(frozen=True)
class Offender:
    page: str
    viewport: str
    kind: str
    text: str
    detail: str = ""

    @property
    def chart(self) -> bool:
        return self.kind.startswith("chart")

    def __str__(self) -> str:
        detail = f" ({self.detail})" if self.detail else ""
        return f"{self.page} at {self.viewport}: {self.kind}: {self.text!r}{detail}"


MEASURE = r"""
([chartSlack, slack, scrollSlack]) => {
  const out = [];
  const short = s => (s || '').replace(/\s+/g, ' ').trim().slice(0, 90);
  const shown = el => {
    const r = el.getBoundingClientRect();
    return r.width > 2 && r.height > 2 && getComputedStyle(el).visibility !== 'hidden';
  };
  const headings = [...document.querySelectorAll('h1, h2, h3, h4, h5')];
  const columns = el => {  // the st.columns cells el sits in
    const out = [];
    for (let c = el.closest('[data-testid="stColumn"]'); c;
         c = c.parentElement.closest('[data-testid="stColumn"]')) out.push(c);
    return out;
  };
  const under = el => {  // the last heading before el, outside columns el is not in
    let last = null;
    for (const h of headings)
      if (h.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING
          && columns(h).every(c => c.contains(el))) last = h;
    return last ? `under "${short(last.innerText)}"` : '';
  };
  const skip = '[data-testid="stVegaLiteChart"], [data-testid="stDataFrame"], '
    + '[data-testid="stCode"], pre, .katex, [data-testid="stSkipToContent"]';
  const app = document.querySelector('[data-testid="stApp"]');

  // (a) text cut by its own element
  for (const el of app.querySelectorAll('*')) {
    if (el.closest(skip) || !shown(el)) continue;
    const cs = getComputedStyle(el);
    const clips = cs.textOverflow === 'ellipsis' || ['hidden', 'clip'].includes(cs.overflowX);
    if (!clips || el.scrollWidth <= el.clientWidth + slack) continue;
    const text = el.tagName === 'INPUT' ? el.value : el.innerText;
    if (!short(text)) continue;
    const what = el.closest('[data-testid]')?.dataset.testid || el.tagName.toLowerCase();
    out.push({kind: 'text cut', text: short(text),
              detail: `${what}, ${el.scrollWidth} px in ${el.clientWidth} px, ${under(el)}`});
  }

  // (b) sideways overflow
  const doc = document.documentElement;
  if (doc.scrollWidth > window.innerWidth + slack)
    out.push({kind: 'page wider than the window', text: '',
              detail: `${doc.scrollWidth} px in ${window.innerWidth} px`});
  for (const el of app.querySelectorAll('*')) {
    if (el.closest('[data-testid="stCode"], pre, [data-testid="stSidebar"]')) continue;
    const cs = getComputedStyle(el);
    const scrolls = ['auto', 'scroll'].includes(cs.overflowX);
    const main = el.matches('[data-testid="stMain"], [data-testid="stMainBlockContainer"]');
    if (!(scrolls || main) || !shown(el) || el.scrollWidth <= el.clientWidth + scrollSlack)
      continue;
    const df = el.closest('[data-testid="stDataFrame"]');
    const what = df ? 'dataframe' : el.closest('[data-testid="stTable"]') ? 'table'
      : el.closest('.katex-display, .katex') || el.querySelector('.katex') ? 'formula'
      : (el.closest('[data-testid]')?.dataset.testid || el.tagName.toLowerCase());
    out.push({kind: `${what} scrolls sideways`, text: short((df || el).textContent).slice(0, 60),
              detail: `${el.scrollWidth} px in ${el.clientWidth} px, ${under(el)}`});
  }

  // (c) charts: text Vega-Lite truncated ("…" at the end), or drawn past the chart's edge
  for (const chart of app.querySelectorAll('[data-testid="stVegaLiteChart"]')) {
    if (!shown(chart)) continue;
    const svg = chart.querySelector('svg');
    if (!svg) { out.push({kind: 'chart without svg', text: '', detail: under(chart)}); continue; }
    const box = svg.getBoundingClientRect();
    const title = short([...svg.querySelectorAll('.role-title-text text, .role-title text')]
                        .map(t => t.textContent).join(' '));
    const where = `${title ? 'chart "' + title + '" ' : ''}${under(chart)}`;
    for (const t of svg.querySelectorAll('text')) {
      const s = t.textContent;
      if (!s.trim()) continue;
      const role = (t.closest('[class*="role-"]')?.getAttribute('class') || '')
        .split(/\s+/).filter(c => c.startsWith('role-')).join(' ');
      if (s.trimEnd().endsWith('…'))
        out.push({kind: 'chart text truncated', text: short(s), detail: `${role}, ${where}`});
      const r = t.getBoundingClientRect();
      const past = Math.max(box.left - r.left, r.right - box.right);
      if (r.width > 0 && past > chartSlack)
        out.push({kind: 'chart text past the edge', text: short(s),
                  detail: `${role}, ${Math.round(past)} px out, ${where}`});
    }
  }
  return out;
}
"""

FITS = r"""
(labels) => {  // which labels would not fit in the preset box, drawn in its own font
  const box = [...document.querySelectorAll('[data-testid="stSelectbox"]')]
    .find(s => s.querySelector('input[aria-label="Preset"]'));
  if (!box) return null;
  const input = box.querySelector('input');
  const cs = getComputedStyle(input);
  const room = input.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
  const ctx = document.createElement('canvas').getContext('2d');
  ctx.font = cs.font;
  return labels.map(l => [l, Math.ceil(ctx.measureText(l).width), Math.floor(room)])
               .filter(([, w, r]) => w > r);
}
"""

SETTLED = ('[data-testid="stApp"][data-test-script-state="notRunning"]'
           '[data-test-connection-state="CONNECTED"]')


def measure(page) -> list[dict]:
    return page.evaluate(MEASURE, [CHART_SLACK, SLACK, SCROLL_SLACK])


def settle(page) -> list[dict]:
    """Wait until the script run is over, the fonts are in, no placeholder is left and two
    measurements half a second apart agree (charts draw after the script); return the last."""
    page.wait_for_selector(SETTLED)
    page.evaluate("document.fonts.ready.then(() => true)")
    page.locator("h1").first.wait_for()
    last: list = [None]

    def same() -> bool:
        if page.locator('[data-testid="stSkeleton"]').count():
            return False
        page.wait_for_selector(SETTLED)
        now = measure(page)
        agreed, last[0] = now == last[0], now
        return agreed

    wait_until(same, 60, every=0.5, what="the page to settle")
    return last[0]


def open_expanders(page) -> None:
    """Open every closed expander in the main area (settings and results inside them)."""
    closed = page.locator('[data-testid="stMain"] [data-testid="stExpander"] '
                          'details:not([open]) > summary')
    for _ in range(20):
        if not closed.count():
            return
        closed.first.click()
        page.wait_for_selector(SETTLED)
    raise AssertionError("expanders kept closing")


class Scan:
    """Offenders found so far, across pages and window sizes."""

    def __init__(self, page) -> None:
        self.page = page
        self.found: list[Offender] = []
        self.visited: list[str] = []

    def both_sizes(self, label: str, extra=None) -> None:
        """Measure the page as it is at each window size (resizing, not reloading)."""
        for vp in VIEWPORTS:
            self.page.set_viewport_size(vp)
            size = f"{vp['width']}x{vp['height']}"
            rows = settle(self.page)
            self.found += [Offender(label, size, r["kind"], r["text"], r["detail"]) for r in rows]
            if extra is not None:
                self.found += [Offender(label, size, *row) for row in extra()]
            self.visited.append(f"{label} {size}")

    def open(self, url: str, label: str) -> None:
        self.page.set_viewport_size(VIEWPORTS[0])
        self.page.goto(url)
        settle(self.page)
        open_expanders(self.page)
        assert self.page.locator('[data-testid="stException"]').count() == 0, label


def preset_offenders(page, labels: list[str]) -> list[tuple[str, str, str]]:
    rows = page.evaluate(FITS, labels)
    assert rows is not None, "no Preset box on the Train page"
    return [("preset label too wide for the preset box", label, f"{w} px in {room} px")
            for label, w, room in rows]


def click_button(page, name: str) -> None:
    button = page.get_by_role("button", name=name, exact=True)
    wait_until(lambda: button.is_enabled(), 60, what=f"the {name} button")
    button.click()


def train_run(scan: Scan, url: str) -> None:
    """A short Train run, paused: the live charts, metrics and downloads. (A budget it
    cannot reach in the test's time, so there is a run to pause.)"""
    page = scan.page
    # the learned-value preset: its run draws every live chart, V(s0) too
    scan.open(f"{url}/train?preset=reinforce&max_episodes=20000", "Train")
    click_button(page, "Start")
    wait_until(lambda: page.locator('[data-testid="stVegaLiteChart"]').count() >= 4, 90,
               what="the Train page's live charts")
    page.get_by_role("heading", name="Downloads").wait_for(timeout=90_000)
    click_button(page, "Pause")
    page.get_by_role("button", name="Resume", exact=True).and_(
        page.locator(":enabled")).wait_for()
    scan.both_sizes("Train (a run, paused)")
    click_button(page, "Stop")
    page.get_by_text("Stopped.").first.wait_for()


@pytest.fixture(scope="module")
def offenders(server, browser) -> list[Offender]:  # noqa: F811
    from pgcore import algos
    from ui.widgets import preset_label, presets_for

    pages = app_pages()
    assert len(pages) >= 16 and any(p.path == "train" for p in pages), pages
    context = browser.new_context(viewport=VIEWPORTS[0])
    page = context.new_page()
    page.set_default_timeout(60_000)
    scan = Scan(page)
    try:
        for p in pages:
            if p.path == "train":  # every algorithm: each has its own settings and presets
                for algo in algos.names():
                    labels = [preset_label(n) for n in presets_for(algo)]
                    scan.open(f"{server}/train?algo={algo}", f"Train ({algo})")
                    assert page.get_by_text("Advanced settings").count() == 1
                    scan.both_sizes(f"Train ({algo})",
                                    lambda ls=labels: preset_offenders(page, ls))
                continue
            scan.open(f"{server}/{p.path}", p.title)
            scan.both_sizes(p.title)
            if p.path in RUN_PAGES:
                click_button(page, "Run")
                page.get_by_text(re.compile("What we claim, and what we measured")).wait_for(
                    timeout=120_000)
                open_expanders(page)
                scan.both_sizes(f"{p.title} (after Run)")
        train_run(scan, server)
    finally:
        context.close()
    assert len(scan.visited) == 2 * (len(pages) - 1 + len(algos.names()) + len(RUN_PAGES) + 1)
    return scan.found


def report(rows: list[Offender]) -> str:
    return f"{len(rows)} cut off or overflowing:\n" + "\n".join(f"  {r}" for r in rows)


def test_nothing_is_cut_off_or_overflows(offenders):
    """Widget labels, select boxes, buttons, headings, captions and tables at 1280x800 and
    1400x1000 on every page."""
    layout = [o for o in offenders if not o.chart]
    assert not layout, report(layout)


def test_chart_text_is_not_cut(offenders):
    """Chart titles, axis titles and legend labels whole and inside their chart."""
    charts = [o for o in offenders if o.chart]
    assert not charts, report(charts)
