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
from tests.test_browser import browser, pytestmark, server  # noqa: F401 - its fixtures, marks
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


@pytest.mark.parametrize("url_path", [e.url_path for e in navigation.entries()])
def test_no_serious_violation_on_any_page(server, tab, url_path):  # noqa: F811
    open_page(tab, server, url_path)
    found = audit(tab)
    assert not found, "\n" + describe(f"/{url_path}", found)


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


def test_the_audit_sees_a_violation(tab):
    """The check can fail: a page with an unlabelled button and grey-on-white text."""
    tab.set_content('<html lang="en"><body><main><button></button>'
                    '<p style="color:#bbb;background:#fff">pale</p></main></body></html>')
    assert {v["id"] for v in audit(tab)} >= {"button-name", "color-contrast"}
