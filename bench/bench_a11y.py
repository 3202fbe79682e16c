"""Accessibility of every page, measured in a real browser with axe-core.

Starts ``streamlit run app.py``, opens each page of ``ui/navigation.py`` in Debian's Chromium,
waits for its script run to finish, and runs axe-core (the copy shipped in the
``axe-playwright-python`` package) with the WCAG 2.0 and 2.1 A and AA rules. It prints, per
page, the serious and critical violations: each rule and how many elements break it. With
``--after-run`` it also presses the page's Start (or Run) on Train, one experiment page, one DQN
page and RPS, waits for the results to be drawn, and checks again.

    python bench/bench_a11y.py                 # every page after it settles (~1 min)
    python bench/bench_a11y.py --after-run     # and four pages once a run has drawn results

``tests/test_browser_a11y.py`` asserts the same with these functions: no serious or critical
violation anywhere. Needs Playwright and Debian's ``chromium``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO_ROOT, log, markdown_table  # noqa: E402

if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from ui import navigation  # noqa: E402

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
"""The axe-core rule tags checked: WCAG 2.0 and 2.1, levels A and AA."""
BLOCKING = ("serious", "critical")
"""The impacts that fail a page."""
SETTLED = '[data-testid="stApp"][data-test-script-state="notRunning"]'
"""Streamlit marks its app element so once a script run has finished."""

AFTER_RUN = {  # url path -> (the button that starts it, what shows once results are drawn)
    "train": ("Start", '.pg-metric[data-label="Episodes"]'),
    "baseline": ("Start", '[data-testid="stVegaLiteChart"]'),
    "dqn_target": ("Start", '[data-testid="stVegaLiteChart"]'),
    "rps": ("Run", '[data-testid="stVegaLiteChart"]'),
}
"""The pages checked again once a run has drawn its results."""


def settle(page, timeout: float = 120.0) -> None:
    """Wait until the page's script run has finished, then a moment for the browser to lay
    out what it drew (charts render after the run)."""
    page.wait_for_selector(SETTLED, timeout=timeout * 1000)
    page.wait_for_timeout(500)
    page.wait_for_selector(SETTLED, timeout=timeout * 1000)


def open_page(page, url: str, url_path: str) -> None:
    """Go to the page at ``url_path`` and wait for its heading, a finished run and its images
    (the sidebar's logo among them) loaded."""
    page.goto(f"{url}/{url_path}")
    page.locator("h1").first.wait_for(timeout=180_000)  # a cold server imports torch first
    settle(page)
    page.wait_for_function("() => [...document.images].every(i => i.complete)",
                           timeout=60_000)
    # the fonts drawn (a formula may overflow only then), and the page script's next pass
    page.wait_for_function("() => document.fonts.status === 'loaded'", timeout=60_000)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => "
                  "requestAnimationFrame(r)))")


def audit(page) -> list[dict]:
    """The serious and critical WCAG 2.x A/AA violations axe-core finds on ``page`` now:
    ``{"id", "impact", "nodes", "targets", "html", "help"}`` per rule."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": TAGS},
                                       "resultTypes": ["violations"]})
    found = []
    for v in results.response["violations"]:
        if v["impact"] not in BLOCKING:
            continue
        found.append({"id": v["id"], "impact": v["impact"], "nodes": len(v["nodes"]),
                      "targets": [n["target"] for n in v["nodes"][:3]],
                      "html": [n["html"][:160] for n in v["nodes"][:3]], "help": v["help"]})
    return found


def describe(where: str, found: list[dict]) -> str:
    """One line per violated rule, for an assertion message."""
    return "\n".join(f"{where}: {v['id']} ({v['impact']}, {v['nodes']} nodes): {v['help']}; "
                     f"e.g. {v['html'][0]}" for v in found)


def run_and_wait(page, button: str, drawn: str, timeout: float = 180.0) -> None:
    """Press the page's ``button`` and wait until ``drawn`` shows (its results)."""
    start = page.get_by_role("button", name=button, exact=True)
    deadline = time.monotonic() + 60
    while not (start.count() and start.first.is_enabled()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"no enabled {button} button")
        time.sleep(0.2)
    start.first.click()
    page.locator(drawn).first.wait_for(timeout=timeout * 1000)
    page.wait_for_timeout(3000)  # a few refreshes of the live panel


def stop_runs(page) -> None:
    """Press Stop if a run is still going (the next page's check is its own)."""
    from playwright.sync_api import Error

    stop = page.get_by_role("button", name="Stop", exact=True).and_(page.locator(":enabled"))
    try:
        if stop.count():
            stop.first.click(timeout=5_000)
    except Error:  # disabled between the look and the click: nothing runs
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--after-run", action="store_true",
                        help="also check Train, an experiment, a DQN page and RPS after a run")
    args = parser.parse_args()
    from bench_pages import CHROMIUM, CHROMIUM_ARGS, start_server
    from playwright.sync_api import sync_playwright

    proc, url, _ = start_server()
    rows, total = [], Counter()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            checks = [(e.url_path, False) for e in navigation.entries()]
            if args.after_run:
                checks += [(path, True) for path in AFTER_RUN]
            for path, after in checks:
                open_page(page, url, path)
                if after:
                    run_and_wait(page, *AFTER_RUN[path])
                found = audit(page)
                if after:
                    stop_runs(page)
                name = f"/{path}" + (" after a run" if after else "")
                log(f"{name}: {sum(v['nodes'] for v in found)} serious/critical nodes")
                for v in found:
                    total[v["id"]] += v["nodes"]
                rows.append([name, str(sum(v["nodes"] for v in found)),
                             ", ".join(f"{v['id']} {v['nodes']}" for v in found) or "none"])
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(markdown_table(["page", "serious/critical nodes", "rules (nodes)"], rows))
    print(f"\ntotal: {sum(total.values())} nodes on "
          f"{sum(1 for r in rows if r[1] != '0')} of {len(rows)} checks; "
          + (", ".join(f"{k} {n}" for k, n in total.most_common()) or "no violations"))


if __name__ == "__main__":
    main()
