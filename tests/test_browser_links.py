"""Lesson links in a real browser: `streamlit run app.py` driven by Playwright and Chromium.

Open the Train page at a teacher's link (a value and a lock), see the widgets show the link's
values with the locked one disabled, change another setting and see the address bar follow
and the share dialog's link with it; a bad value named in one box at the top of the page;
the same on an experiment page; the presenter view from its link, and out of it again.

Reuses tests/test_browser.py's server and browser fixtures (skipped, not failed, without a
Chromium binary; never runs ``playwright install``).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.test_browser import browser, pytestmark, server, wait_until  # noqa: F401


def query(page) -> dict[str, str]:
    """The address bar's query parameters (Playwright's page.url can lag a replaceState)."""
    href = page.evaluate("window.location.href")
    return {k: v[-1] for k, v in parse_qs(urlsplit(href).query).items()}


def test_a_teachers_link_sets_and_locks_the_train_page(server, browser):  # noqa: F811
    page = browser.new_page(viewport={"width": 1440, "height": 2000})
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{server}/train?algo=a2c&lr=0.01&seed=2&lock=lr")
        page.get_by_role("heading", name="Train an agent").wait_for()
        lr = page.get_by_role("slider", name="Learning rate")
        lr.wait_for()
        wait_until(lambda: lr.get_attribute("aria-valuetext") == "0.01", 20,
                   what="the learning-rate slider to show the link's 0.01")
        assert lr.get_attribute("disabled") is not None, "the locked slider is disabled"
        assert page.get_by_role("radio", name="A2C (parallel envs)").is_checked()
        seed = page.get_by_role("spinbutton", name="Seed")
        wait_until(lambda: seed.input_value() == "2", 20, what="the seed box to show 2")
        assert seed.is_enabled()
        page.get_by_text("Set by your teacher's link: Learning rate").wait_for()
        wait_until(lambda: query(page).get("seed") == "2", 20, what="the URL to keep the link")

        seed.fill("5")
        seed.press("Enter")
        wait_until(lambda: query(page).get("seed") == "5", 20, what="the URL to follow the seed")
        q = query(page)
        assert q["algo"] == "a2c" and q["lr"] == "0.01" and q["lock"] == "lr"

        # the link to copy says the same, in a dialog as wide as the page
        page.get_by_role("button", name="Share this setup").click()
        dialog = page.get_by_role("dialog")
        code = dialog.locator('[data-testid="stCode"]').first
        code.wait_for()
        assert "seed=5" in code.inner_text() and "lock=lr" in code.inner_text()
        assert dialog.bounding_box()["width"] > 900
    finally:
        page.close()


def test_a_bad_link_value_is_named_at_the_top_and_the_builder_is_readable(server,  # noqa: F811
                                                                        browser):  # noqa: F811
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{server}/train?algo=a2c&seed=1e99")
        box = page.get_by_text("This link has values the page could not use")
        box.wait_for()
        settings = page.get_by_role("heading", name="Settings")
        assert box.bounding_box()["y"] < settings.bounding_box()["y"] < 1000  # seen at once
        assert "2,147,483,647" in page.locator('[data-testid="stAlert"]').first.inner_text()

        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        dialog = page.get_by_role("dialog")
        lock = dialog.get_by_role("combobox").first
        # A click while the page is still drawing its first run can land on the button's
        # outgoing copy (Streamlit replaces the element), and then nothing opens: click again
        # until the dialog shows, as a person would.
        for _ in range(5):
            page.get_by_role("button", name="Share this setup").click()
            try:
                lock.wait_for(timeout=10_000)
                break
            except PlaywrightTimeout:
                continue
        lock.wait_for()
        assert lock.bounding_box()["width"] > 300  # not a sliver in the settings column
        lock.click()
        page.get_by_role("option", name="Learning rate").click()
        code = dialog.locator('[data-testid="stCode"]').nth(1)
        code.wait_for()
        assert "lock=lr" in code.inner_text()
        assert "lock" not in query(page)  # building a link locks nothing here
    finally:
        page.close()


def test_an_experiment_link_and_the_presenter_view(server, browser):  # noqa: F811
    page = browser.new_page(viewport={"width": 1440, "height": 1600})
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{server}/seeds_variance?seeds=5&episodes=300&lock=seeds&present=1")
        page.get_by_role("heading", name="Seeds & variance").wait_for()
        seeds = page.get_by_role("slider", name="Seeds")
        seeds.wait_for()
        wait_until(lambda: seeds.get_attribute("aria-valuetext") == "5", 20,
                   what="the seeds slider to show the link's 5")
        assert seeds.get_attribute("disabled") is not None
        episodes = page.get_by_role("spinbutton", name="Episodes per run")
        # the number box can show its minimum for a moment before the link's value arrives
        wait_until(lambda: episodes.input_value() == "300", 20,
                   what="the episodes box to show the link's 300")
        # presenter view: no sidebar, the navigation on top, big numbers
        assert page.locator('[data-testid="stSidebar"]').count() == 0
        title = page.get_by_role("heading", name="Seeds & variance")
        size = title.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
        assert size >= 52, size  # 3.4rem; 2.75rem in the normal view

        episodes.fill("500")
        episodes.press("Enter")
        wait_until(lambda: query(page).get("episodes") == "500", 20, what="the URL to follow")
        assert query(page)["present"] == "1" and query(page)["seeds"] == "5"

        page.get_by_role("button", name="Leave presenter view").click()
        page.locator('[data-testid="stSidebar"]').wait_for()
        wait_until(lambda: "present" not in query(page), 20, what="present=1 to go")
        assert query(page)["episodes"] == "500"
    finally:
        page.close()


def _widgets_sent(page, keys: tuple[str, ...]) -> list[list]:
    """Record, from the page's websocket, each widget with one of ``keys`` the server sends:
    a list per run started after the call, of ``(key, set_value, value)``."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    runs: list[list] = []

    def received(payload) -> None:
        if not isinstance(payload, bytes):
            return
        msg = ForwardMsg()
        msg.ParseFromString(payload)
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            runs.append([])
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element" and runs:
            element = msg.delta.new_element
            w = getattr(element, element.WhichOneof("type"))
            key = next((k for k in keys if getattr(w, "id", "").endswith(k)), None)
            if key is not None:
                value = list(w.value) if element.WhichOneof("type") == "slider" else w.value
                runs[-1].append((key, w.set_value, value))

    page.on("websocket", lambda ws: ws.on("framereceived", received))
    return runs


def test_start_pressed_at_once_shows_the_links_values(server, browser):  # noqa: F811
    """A link's values are written on the page's first run; Start pressed the moment it shows
    starts the next run before the browser has recorded them all. The page uses the link's
    values, and its widgets must show those, not their minimums: every run sends them."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    keys = ("exp.seeds.seeds", "exp.seeds.episodes", "exp.seeds.reference")
    runs = _widgets_sent(page, keys)
    try:
        page.goto(f"{server}/seeds_variance?episodes=200&seeds=4&lock=seeds")
        start = page.get_by_role("button", name="Start", exact=True)
        wait_until(lambda: start.count() and start.first.is_enabled(), 180, every=0.01,
                   what="an enabled Start button")
        start.first.click()
        stop = page.get_by_role("button", name="Stop", exact=True).and_(page.locator(":enabled"))
        stop.first.wait_for()  # the run Start began has drawn its controls
        started = wait_until(lambda: next((r for r in runs[1:] if len(r) == len(keys)), None),
                             30, what="a second run that drew the settings")
        assert [(k, s) for k, s, _ in started] == [(k, True) for k in keys], started
        assert [v for _, _, v in started] == [[4.0], 200.0, True], started
        episodes = page.get_by_role("spinbutton", name="Episodes per run")
        wait_until(lambda: episodes.input_value() == "200", 20,
                   what="the episodes box to show the link's 200")
        assert page.get_by_role("switch", name="Typical-run bands").is_checked()
        assert page.get_by_role("slider", name="Seeds").get_attribute("aria-valuetext") == "4"
        stop.first.click()
    finally:
        page.close()
