"""The keyboard alone, in a real browser: on the Train page choose an algorithm, Start, Pause,
Resume, Stop and open a result (a chart's data table), and on an experiment page start a run
and open its chart data, with nothing but Tab, Shift+Tab, the arrow keys, Enter and Space; and
wherever the focus lands, a focus ring can be seen.

The server and browser are tests/test_browser.py's fixtures (skipped, not failed, without
chromium).
"""

from __future__ import annotations

import pytest

from tests.helpers import bench_module
from tests.test_browser import browser, pytestmark, server, wait_until  # noqa: F401

with bench_module("bench_a11y") as _bench:
    open_page = _bench.open_page

MAX_TABS = 150
"""More Tab presses than any page has stops before the one sought."""

_FOCUS = """() => {
  const a = document.activeElement;
  if (!a || a === document.body) return null;
  const ring = (e) => {
    const s = getComputedStyle(e), r = e.getBoundingClientRect();
    const outline = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 1;
    return r.width >= 4 && r.height >= 4 && (outline || s.boxShadow !== "none");
  };
  let visible = false;
  for (let e = a, i = 0; e && i < 5 && !visible; e = e.parentElement, i++) visible = ring(e);
  const label = a.closest("label");
  if (label && ring(label)) visible = true;
  const name = (a.getAttribute("aria-label") || a.innerText || "").trim().split("\\n").pop();
  const s = getComputedStyle(a), r = a.getBoundingClientRect();
  return {tag: a.tagName, role: a.getAttribute("role") || "", name: name,
          look: `${Math.round(r.width)}x${Math.round(r.height)} outline ${s.outlineStyle} ` +
                `${s.outlineWidth}, shadow ${s.boxShadow}`,
          labelText: label ? label.innerText.trim() : "", checked: !!a.checked,
          disabled: a.disabled === true || a.getAttribute("aria-disabled") === "true",
          expanded: a.closest("details") ? a.closest("details").open : null,
          visible: visible};
}"""


def focused(page) -> dict | None:
    return page.evaluate(_FOCUS)


def tab_to(page, matches, what: str, backwards: bool = False) -> dict:
    """Press Tab (or Shift+Tab) until the focused element ``matches``; it must show a ring, as
    must every stop passed on the way."""
    key = "Shift+Tab" if backwards else "Tab"
    for _ in range(MAX_TABS):
        page.keyboard.press(key)
        f = focused(page)
        if f is None:
            continue
        assert f["visible"], f"no visible focus indicator on {f} (looking for {what})"
        if matches(f):
            return f
    raise AssertionError(f"{what} not reached with {MAX_TABS} presses of {key}")


def button(name: str):
    return lambda f: f["tag"] == "BUTTON" and f["name"] == name and not f["disabled"]


def data_table(f) -> bool:
    return f["tag"] == "SUMMARY" and "Chart data" in f["name"]


def press_when_enabled(page, name: str) -> None:
    """Tab to the enabled button ``name`` (going round the page if a redraw moved the focus)
    and press Enter."""
    f = wait_until(lambda: _find(page, name), 60, what=f"an enabled {name} button")
    assert f["name"] == name
    page.keyboard.press("Enter")


def _find(page, name: str) -> dict | None:
    try:
        return tab_to(page, button(name), name)
    except AssertionError as exc:
        if "not reached" in str(exc):
            return None
        raise


def test_the_train_page_with_the_keyboard_alone(server, browser):  # noqa: F811
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    try:
        open_page(page, server, "train")  # its run finished and its images loaded
        page.get_by_role("heading", name="Train an agent").wait_for()
        a2c = page.get_by_role("radio", name="A2C (parallel envs)")
        a2c.wait_for(state="attached")
        # the algorithm: Tab into the radio group, then arrows to A2C
        tab_to(page, lambda f: f["tag"] == "INPUT" and "REINFORCE" in f["labelText"],
               "the Algorithm choice")
        for _ in range(4):
            if a2c.is_checked():
                break
            page.keyboard.press("ArrowDown")
            page.wait_for_timeout(300)
        wait_until(a2c.is_checked, 20, what="A2C chosen with the arrow keys")
        next_start = page.locator('[data-testid="stMarkdownContainer"]', has_text="Next Start:")
        wait_until(lambda: "A2C" in next_start.first.inner_text(), 20,
                   what="the next run to be A2C")

        press_when_enabled(page, "Start")
        episodes = page.locator('.pg-metric[data-label="Episodes"]').first
        episodes.wait_for()
        # a result to open at the end: the run has episodes before it pauses and stops
        wait_until(lambda: any(ch in "123456789" for ch in episodes.inner_text()), 60,
                   what="the run's first episode")
        press_when_enabled(page, "Pause")
        press_when_enabled(page, "Resume")  # enabled once the run has paused
        press_when_enabled(page, "Stop")
        page.get_by_text("Stopped.").first.wait_for()

        # a result: the returns chart's data as a table, opened with Enter
        f = tab_to(page, data_table, "a chart's data table")
        assert f["expanded"] is False
        page.keyboard.press("Enter")
        wait_until(lambda: (focused(page) or {}).get("expanded") is True, 10,
                   what="the data table to open")
        page.locator("details[open] table.pg-data").first.wait_for()
    finally:
        page.close()


@pytest.mark.parametrize("path,title", [("baseline", "Baseline vs none")])
def test_an_experiment_page_with_the_keyboard_alone(server, browser, path, title):  # noqa: F811
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    try:
        open_page(page, server, path)
        page.get_by_role("heading", name=title).wait_for()
        press_when_enabled(page, "Start")
        page.locator('[data-testid="stVegaLiteChart"]').first.wait_for(timeout=180_000)
        f = tab_to(page, data_table, "a chart's data table")
        page.keyboard.press("Space")
        wait_until(lambda: (focused(page) or {}).get("expanded") is True, 10,
                   what="the data table to open")
        assert f["visible"]
        # back up the page with Shift+Tab, rings all the way, and stop the runs
        press_stop = tab_to(page, button("Stop"), "the Stop button", backwards=True)
        assert press_stop["visible"]
        page.keyboard.press("Enter")
    finally:
        page.close()
