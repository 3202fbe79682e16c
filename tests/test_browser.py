"""The real thing: `streamlit run app.py` on a free port, driven by Playwright and Chromium.

Open Train, start a run, see the chart and the CartPole frame change; pause (they stop
changing), resume, stop; switch to Theory and back (the run's results are still there).
Screenshots of the Train page go to ``artifacts/train.png`` (live) and
``artifacts/train-after-page-switch.png``.

Skipped (not failed) only when no Chromium binary exists. Never runs ``playwright install``:
it uses the system Chromium.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="no chromium binary on this machine"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = _free_port()
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    env = {**os.environ, "PGLAB_MAX_RUNS": "2", "SDL_VIDEODRIVER": "dummy",
           "PGLAB_RUNS": "hosts"}  # as deployed: Train runs in host processes
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1",
             "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited early:\n{log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("streamlit did not answer its health check within 90 s")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def wait_until(predicate, timeout: float = 60.0, every: float = 0.25, what: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or predicate}")


def episodes(page) -> int:
    """The 'Episodes' metric on the Train page (0 when absent)."""
    value = page.locator('.pg-metric[data-label="Episodes"] .pg-value')
    if value.count() == 0:
        return 0
    text = value.first.inner_text()
    digits = re.sub(r"[^0-9]", "", text)
    return int(digits) if digits else 0


def shot(locator, tries: int = 10) -> bytes:
    """A screenshot of ``locator``'s element. A live page redraws its charts, so the element
    can be replaced while Playwright waits for it to be stable: then try the new one."""
    from playwright.sync_api import Error

    for attempt in range(tries):
        try:
            return locator.screenshot(animations="disabled")
        except Error as exc:
            if "not attached" not in str(exc) or attempt == tries - 1:
                raise
            time.sleep(0.2)
    raise AssertionError("unreachable")


def returns_chart_png(page) -> bytes:
    chart = page.locator('[data-testid="stVegaLiteChart"]').first
    chart.scroll_into_view_if_needed()
    return shot(chart)


def frame_src(page) -> str:
    img = page.locator('[data-testid="stImage"] img').first
    return img.get_attribute("src") or ""


def sidebar_link(page, title: str):
    """The sidebar menu's link to the page called ``title``."""
    return page.locator('[data-testid="stSidebar"]').get_by_role("link", name=title, exact=True)


def enabled(page, name: str):
    return page.get_by_role("button", name=name, exact=True).and_(page.locator(":enabled"))


def click(page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()


def test_train_live_pause_resume_stop_and_page_switch(server, browser):
    page = browser.new_page(viewport={"width": 1440, "height": 2200})
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{server}/train")
        start = page.get_by_role("button", name="Start", exact=True)
        start.wait_for()
        wait_until(lambda: start.is_enabled(), what="the Start button")
        assert page.get_by_role("heading", name="Train an agent").count() == 1

        click(page, "Start")
        wait_until(lambda: episodes(page) >= 3, 90, what="the first episodes")
        page.locator('[data-testid="stImage"] img').first.wait_for()

        # Live: the chart and the frame change over time.
        chart0, frame0 = returns_chart_png(page), frame_src(page)
        wait_until(lambda: frame_src(page) != frame0, 30, what="a new CartPole frame")
        wait_until(lambda: returns_chart_png(page) != chart0, 30, what="the chart to move")

        # Pause: they stop changing.
        click(page, "Pause")
        enabled(page, "Resume").wait_for()
        time.sleep(2.0)  # let the run reach its pause point and the page catch up

        def settled_chart() -> bytes | None:  # a refresh already on its way may still land
            first = returns_chart_png(page)
            time.sleep(0.6)
            return first if returns_chart_png(page) == first else None

        wait_until(settled_chart, 15, every=0.1, what="the chart to settle after Pause")
        n, chart1, frame1 = episodes(page), returns_chart_png(page), frame_src(page)
        time.sleep(2.5)  # ~5 refreshes of the live panel
        assert episodes(page) == n, "episodes kept counting while paused"
        assert frame_src(page) == frame1, "the frame kept changing while paused"
        assert returns_chart_png(page) == chart1, "the chart kept changing while paused"

        # Resume: moving again.
        click(page, "Resume")
        wait_until(lambda: episodes(page) > n, 60, what="episodes after resuming")
        wait_until(lambda: frame_src(page) != frame1, 30, what="a new frame after resuming")
        ARTIFACTS.mkdir(exist_ok=True)
        page.get_by_role("heading", name="Downloads").wait_for()
        page.screenshot(path=str(ARTIFACTS / "train.png"), full_page=True)

        # Stop: the results stay.
        click(page, "Stop")
        page.get_by_text("Stopped.").first.wait_for()
        final = episodes(page)
        assert final > n

        # Switch to Theory and back: the run's results are still there.
        sidebar_link(page, "Theory").click()
        page.get_by_role("heading", name="Theory").first.wait_for()
        page.locator(".katex").first.wait_for()  # formulas typeset
        page.locator('[data-testid="stCode"]').nth(5).wait_for()  # next to the real code
        sidebar_link(page, "Train").click()
        page.get_by_role("heading", name="Train an agent").wait_for()
        wait_until(lambda: episodes(page) == final, 30, what="the same episode count")
        # the first visit's plain REINFORCE has no critic: returns and diagnostics, no V(s)
        assert page.locator('[data-testid="stVegaLiteChart"]').count() >= 3
        page.get_by_text("This run has no critic").first.wait_for()
        page.get_by_text("Stopped.").first.wait_for()
        page.get_by_role("heading", name="Downloads").wait_for()
        page.screenshot(path=str(ARTIFACTS / "train-after-page-switch.png"), full_page=True)
    finally:
        page.close()


def test_seeds_and_variance_experiment_end_to_end(server, browser):
    """Exercise 1 in a real browser: start 3 seeds of plain REINFORCE and of DQN in the run
    hosts, see the charts fill in live, get the numbers and the CSV, and hide the typical-run
    bands."""
    page = browser.new_page(viewport={"width": 1440, "height": 1800}, accept_downloads=True)
    page.set_default_timeout(60_000)
    try:
        page.goto(server)
        sidebar_link(page, "Seeds & variance").click()
        page.get_by_role("heading", name="Seeds & variance").wait_for()
        episodes_box = page.get_by_role("spinbutton", name="Episodes per run")
        episodes_box.fill("150")
        episodes_box.press("Enter")
        wait_until(lambda: episodes_box.input_value() == "150", 10, what="the episode budget")
        wait_until(lambda: enabled(page, "Start").count() == 1, 30, what="the Start button")
        click(page, "Start")

        # Live: a status line with progress, then two charts that change while runs go.
        status = page.get_by_text(re.compile(r"\d+ of 6 runs done"))
        status.first.wait_for()
        charts = page.locator('[data-testid="stVegaLiteChart"]')
        wait_until(lambda: charts.count() == 2, 60, what="the two seed charts")
        before = shot(charts.first)
        wait_until(lambda: shot(charts.first) != before, 60,
                   what="the REINFORCE chart to fill in")

        # Done: the spread numbers, the explanation of the grey band, the CSV.
        page.get_by_text("6 of 6 runs done").first.wait_for(timeout=180_000)
        page.get_by_text("finished", exact=True).first.wait_for()
        # The live panel says "finished" first; then the whole page redraws once (Start is
        # enabled again). A download button from before that redraw has lost its file.
        wait_until(lambda: enabled(page, "Start").count() == 1, 60,
                   what="the page's redraw once the runs end")
        spreads = page.locator('[data-testid="stMetric"]').filter(has_text="Spread over the run")
        wait_until(lambda: spreads.count() == 2, 30, what="two spread metrics")

        def spreads_shown() -> bool:  # all at once: the page may be redrawing
            values = spreads.locator('[data-testid="stMetricValue"]').all_inner_texts()
            return len(values) == 2 and all(re.fullmatch(r"[0-9.,]+", v.strip())
                                            for v in values)

        wait_until(spreads_shown, 30, what="numbers for both spreads")
        band_note = page.get_by_text(re.compile("Faint bands with dashed lines"))
        band_note.wait_for()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "seeds-variance.png"), full_page=True)

        with page.expect_download() as info:
            page.get_by_role("button", name="Results (CSV)").click()
        with open(info.value.path(), newline="") as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == 6 * 150
        assert {(r["label"], r["seed"]) for r in rows} == {
            (label, seed) for label in ("REINFORCE, no baseline", "DQN, our default")
            for seed in "012"}
        assert all(float(r["return"]) >= 1 for r in rows)

        # The typical-run bands go when switched off, and the charts redraw without them.
        with_bands = shot(charts.first)
        page.get_by_text("Typical-run bands").click()
        wait_until(lambda: band_note.count() == 0, 30, what="the band caption to go")
        wait_until(lambda: shot(charts.first) != with_bands, 30,
                   what="the chart without its band")
        assert charts.count() == 2
        assert page.get_by_text("This app has encountered an error").count() == 0
        assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        page.close()


def test_dqn_target_network_page_end_to_end(server, browser):
    """The lesson's DQN exercise 1 in a real browser: C = 1000 against C = 1 on 3 seeds in the
    worker processes, live Q charts on a log scale, the numbers, the lesson's claims checked,
    and a CSV with the per-episode Q."""
    page = browser.new_page(viewport={"width": 1440, "height": 2000}, accept_downloads=True)
    page.set_default_timeout(60_000)
    try:
        page.goto(server)
        sidebar_link(page, "Target network").click()
        page.get_by_role("heading", name="Target network").wait_for()
        episodes_box = page.get_by_role("spinbutton", name="Episodes per run")
        episodes_box.fill("30")
        episodes_box.press("Enter")
        wait_until(lambda: episodes_box.input_value() == "30", 10, what="the episode budget")
        wait_until(lambda: enabled(page, "Start").count() == 1, 30, what="the Start button")
        click(page, "Start")

        page.get_by_text(re.compile(r"\d+ of 6 runs done")).first.wait_for()
        page.get_by_text("6 of 6 runs done").first.wait_for(timeout=240_000)
        wait_until(lambda: enabled(page, "Start").count() == 1, 60,
                   what="the page's redraw once the runs end")  # then its downloads hold
        charts = page.locator('[data-testid="stVegaLiteChart"]')
        wait_until(lambda: charts.count() == 4, 60, what="returns and Q charts per setting")
        page.get_by_text("What the lesson says, and what we measured").wait_for()
        table = page.locator('[data-testid="stDataFrame"]')
        wait_until(lambda: table.count() >= 1, 30, what="the numbers table")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dqn-target-network.png"), full_page=True)

        with page.expect_download() as info:
            page.get_by_role("button", name="Results (CSV)").click()
        with open(info.value.path(), newline="") as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == 6 * 30
        assert {r["label"] for r in rows} == {"C = 1000 (frozen target)",
                                              "C = 1 (no target network)"}
        q = [float(r["q_mean"]) for r in rows if r["q_mean"]]
        assert len(q) > 100 and all(map(lambda v: v == v, q))  # DQN reports Q per episode
        assert all(r["entropy"] == "" for r in rows)  # and no policy entropy
        assert page.get_by_text("This app has encountered an error").count() == 0
        assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        page.close()


def test_rock_paper_scissors_page_end_to_end(server, browser):
    """The stochastic-optimum demo in a real browser: one click plays both learners on every
    seed, draws the policies and exploitabilities, states the verdicts, and the CSV holds
    both learners' records with the greedy learner exploitable by 1 throughout."""
    page = browser.new_page(viewport={"width": 1440, "height": 2000}, accept_downloads=True)
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{server}/rps")  # deep link: the sidebar may fold the last sections
        page.get_by_role("heading", name="Stochastic optimum (RPS)").wait_for()
        wait_until(lambda: enabled(page, "Run").count() == 1, 30, what="the Run button")
        click(page, "Run")
        page.get_by_text("What we claim, and what we measured").wait_for()
        charts = page.locator('[data-testid="stVegaLiteChart"]')
        wait_until(lambda: charts.count() >= 7, 60, what="policies, exploitability, payoff, "
                                                          "simplex")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "rps.png"), full_page=True)

        with page.expect_download() as info:
            page.get_by_role("button", name="Records (CSV)").click()
        with open(info.value.path(), newline="") as f:
            rows = list(csv.DictReader(f))
        assert {r["learner"] for r in rows} == {"policy-gradient", "greedy"}
        assert {r["seed"] for r in rows} == {"0", "1", "2", "3", "4"}
        greedy = [float(r["exploitability"]) for r in rows if r["learner"] == "greedy"]
        assert greedy and all(abs(e - 1.0) < 1e-9 for e in greedy)
        assert page.get_by_text("This app has encountered an error").count() == 0
        assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        page.close()


def test_continuous_actions_page_end_to_end(server, browser):
    """The Pendulum page in a real browser, from its deep link: Start trains a Gaussian policy
    in the background, the returns and sigma charts fill in, the pendulum frame (with the
    policy's torque drawn on it) changes; DQN on a discretised torque starts beside it and
    its curve joins the comparison chart; Stop keeps the results."""
    page = browser.new_page(viewport={"width": 1440, "height": 3400})  # both sections
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{server}/pendulum")
        page.get_by_role("heading", name="Continuous actions").wait_for()
        start = enabled(page, "Start").first
        wait_until(lambda: start.count() == 1, 30, what="the Start button")
        start.click()
        wait_until(lambda: episodes(page) >= 20, 90, what="the first rollout's episodes")
        page.get_by_text("Orange arrow").first.wait_for()
        charts = page.locator('[data-testid="stVegaLiteChart"]')
        wait_until(lambda: charts.count() >= 2, 30, what="the returns and σ charts")
        frame0 = frame_src(page)
        wait_until(lambda: frame_src(page) != frame0, 30, what="a new pendulum frame")
        n = episodes(page)
        wait_until(lambda: episodes(page) > n, 60, what="more episodes")
        if page.get_by_text("not in this version of pgcore yet").count() == 0:
            enabled(page, "Start").first.click()  # the DQN section's (PPO's is disabled now)
            page.get_by_text("grey dots").first.wait_for(timeout=60_000)
            wait_until(lambda: charts.count() >= 3, 30, what="the DQN-vs-PPO chart")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "pendulum.png"), full_page=True)
        # Stop each section's run. A Stop button counted as enabled can turn disabled before
        # the click lands (the page redraws once its run has stopped): then look again. After
        # each click, wait for the page's script run to end before looking: a run stops a
        # moment after its click, so its Stop is still enabled in the click's own rerun, and
        # clicking it again then starts another rerun that cuts the one in progress short;
        # on a busy machine, where this page's rerun takes over a second, clicking once a
        # second kept any rerun from finishing, and the buttons never changed.
        from playwright.sync_api import TimeoutError as ClickTimeout

        settled = page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]')
        deadline = time.monotonic() + 90
        while enabled(page, "Stop").count() and time.monotonic() < deadline:
            try:
                enabled(page, "Stop").first.click(timeout=5_000)
            except ClickTimeout:
                pass
            time.sleep(0.5)  # the click's rerun has begun
            settled.wait_for(timeout=60_000)
        if enabled(page, "Stop").count():  # what the page shows then, for the report
            page.screenshot(path=str(ARTIFACTS / "pendulum-not-stopped.png"), full_page=True)
        assert enabled(page, "Stop").count() == 0, "a run did not stop (see the screenshot)"
        page.get_by_text("Stopped.").first.wait_for()
        assert charts.count() >= 2 and episodes(page) >= n
        assert page.get_by_text("This app has encountered an error").count() == 0
        assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        page.close()
