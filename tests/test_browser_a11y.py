"""Accessibility in a real browser: axe-core's WCAG 2.0/2.1 A and AA rules find no serious or
critical violation on any page of the navigation once it has settled, nor on Train, an
experiment page, a DQN page and RPS once a run has drawn its results.

axe-core is the copy shipped in the ``axe-playwright-python`` package; the checks and their
figures before and after live in ``bench/bench_a11y.py`` and ``docs/accessibility.md``. The
server and browser are tests/test_browser.py's fixtures (skipped, not failed, without
chromium). One tab is reused page after page, to keep the suite short.
"""

from __future__ import annotations

import pytest

from tests.helpers import bench_module
from tests.test_browser import (  # noqa: F401 - its fixtures, marks
    browser,
    pytestmark,
    server,
    wait_until,
)
from ui import navigation

with bench_module("bench_a11y") as _bench:
    AFTER_RUN, audit, describe = _bench.AFTER_RUN, _bench.audit, _bench.describe
    open_page, run_and_wait, stop_runs = _bench.open_page, _bench.run_and_wait, _bench.stop_runs


@pytest.fixture(scope="module")
def tab(browser):  # noqa: F811
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    yield page
    page.close()


@pytest.mark.parametrize("entry", navigation.entries(), ids=lambda e: e.url_path or "home")
def test_no_serious_violation_on_any_page(server, tab, entry):  # noqa: F811
    open_page(tab, server, entry.url_path)
    found = audit(tab)
    assert not found, "\n" + describe(f"/{entry.url_path}", found)
    # the page's language, and the menu as a landmark whose link to this page says so
    assert tab.evaluate("document.documentElement.lang") == "en"
    current = tab.get_by_role("navigation", name="Pages").locator('[aria-current="page"]')
    wait_until(lambda: current.all_inner_texts() and
               current.all_inner_texts()[-1].split("\n")[-1] == entry.title, 10,
               what=f"the menu to mark {entry.title} as the current page")


@pytest.mark.parametrize("url_path", list(AFTER_RUN))
def test_no_serious_violation_once_a_run_has_drawn_its_results(server, tab,  # noqa: F811
                                                                url_path):
    open_page(tab, server, url_path)
    try:
        run_and_wait(tab, *AFTER_RUN[url_path])
        found = audit(tab)
    finally:
        stop_runs(tab)
    assert not found, "\n" + describe(f"/{url_path} after a run", found)


def test_no_serious_violation_in_the_presenter_view(server, browser):  # noqa: F811
    """The presenter view (Streamlit's menu on top, large text), from its link, in a tab of
    its own."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    try:
        for path in ("train?present=1", "theory?present=1"):
            open_page(page, server, path)
            found = audit(page)
            assert not found, "\n" + describe(f"/{path} (presenter view)", found)
        assert page.locator('[data-testid="stSidebar"]').count() == 0
    finally:
        page.close()


def test_the_audit_sees_a_violation(tab):
    """The check can fail: a page with an unlabelled button and grey-on-white text."""
    tab.set_content('<html lang="en"><body><main><button></button>'
                    '<p style="color:#bbb;background:#fff">pale</p></main></body></html>')
    assert {v["id"] for v in audit(tab)} >= {"button-name", "color-contrast"}


_LIVE_REGIONS = """() => [...document.querySelectorAll(
    '[data-testid="stMain"] :is([aria-live]:not([aria-live="off"]), [role="status"],'
    + ' [role="alert"], [role="log"], output)')].map(e => e.innerText.trim())"""


def test_the_live_panel_keeps_the_focus_and_announces_no_refresh(server, tab):  # noqa: F811
    """While a run trains, the Train page redraws about twice a second: the focus stays where
    the learner put it, and no live region (which a screen reader reads out as it changes)
    changes with the numbers."""
    from tests.test_browser import episodes

    open_page(tab, server, "train")
    try:
        run_and_wait(tab, *AFTER_RUN["train"])
        wait_until(lambda: episodes(tab) > 0, 120, what="the first episodes")
        pause = tab.get_by_role("button", name="Pause", exact=True)
        pause.focus()
        before, regions = episodes(tab), tab.evaluate(_LIVE_REGIONS)
        wait_until(lambda: episodes(tab) >= before + 5, 120, what="the panel to redraw")
        assert tab.evaluate("document.activeElement.innerText").strip().endswith("Pause")
        assert tab.evaluate(_LIVE_REGIONS) == regions, "a live region changed with a refresh"
    finally:
        stop_runs(tab)
