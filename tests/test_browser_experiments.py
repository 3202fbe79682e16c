"""Every experiment page in a real browser: press Start on the page's defaults, and every
condition has episodes while the others are still running (read from the page's own Results
CSV), and while the evidence is partial the page says "too early" instead of a verdict.

How long each page takes is measured by ``bench/bench_pages.py``, never here. The server and
browser are tests/test_browser.py's fixtures (skipped, not failed, without chromium).
"""

from __future__ import annotations

import time

import pytest

from tests.helpers import bench_module
from tests.test_browser import browser, pytestmark, server  # noqa: F401 - its fixtures, marks

with bench_module("bench_pages") as _bench:
    PAGES, press_start = _bench.PAGES, _bench.press_start
    results_rows, reading = _bench.results_rows, _bench.reading

CONDITIONS = {"seeds_variance": 2, "baseline": 2, "entropy": 2, "race": 5, "dqn_target": 2,
              "dqn_polyak": 3, "dqn_overestimation": 2, "value_vs_policy": 3}
"""How many conditions each page's default grid compares."""
WAIT = 240.0  # generous: CI's machine is shared; the figures live in bench/bench_pages.py


def test_the_pages_under_test_are_the_benchmarks_pages():
    assert set(CONDITIONS) == set(PAGES)


@pytest.mark.parametrize("path", list(CONDITIONS))
def test_every_condition_moves_at_once_and_no_verdict_comes_early(server, browser,  # noqa: F811
                                                                    path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page.set_default_timeout(60_000)
    try:
        press_start(page, server, path, PAGES[path])
        deadline = time.monotonic() + WAIT
        labels: set[str] = set()
        while time.monotonic() < deadline:
            rows = results_rows(page) or []
            labels = {r["label"] for r in rows}
            if len(labels) >= CONDITIONS[path]:
                break
            time.sleep(1.0)
        assert len(labels) == CONDITIONS[path], f"only {sorted(labels)} have episodes"
        # while runs are still going, no verdict stands on them (one on conditions whose
        # seeds have all finished may: reading() passes those over)
        done, early = reading(page)
        assert done is not None, "no status line"
        assert not early, f"{done[0]} of {done[1]} runs done, yet: {early}"
        assert page.locator('[data-testid="stException"]').count() == 0
        # stop the runs (the next page's timings are its own); they may all have just ended
        from playwright.sync_api import TimeoutError as ClickTimeout

        stop = page.get_by_role("button", name="Stop", exact=True).and_(page.locator(":enabled"))
        try:
            if stop.count():
                stop.first.click(timeout=5_000)
        except ClickTimeout:  # disabled between the look and the click: nothing runs
            pass
    finally:
        page.close()
