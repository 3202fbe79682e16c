"""A learner's first minute in a real browser: the first page, then Train and Start.

Per round, for each app compared side by side (this checkout and an older one, alternating,
each on a freshly started ``streamlit run`` server so every round is a cold start):

* **first render**: from the moment the server answers its health check (when a host such as
  Streamlit Community Cloud sends the first visitor in) and Chromium opens ``/``, to Home's
  title and the sidebar's navigation both visible;
* **Train ready**: from clicking *Train* in the sidebar right after (or ``--settle`` seconds
  after: a learner who reads Home first), to its Start button enabled;
* **Start to first frame**: from clicking Start at once, to the first CartPole frame shown
  (its image loaded and laid out).

Each moment is taken in the page itself: a click when the page receives it, a sight on the
first animation frame where it holds (Playwright's own waits poll every 100-500 ms once they
have waited a while, which added up to half a second to a step before).

Targets (issue 22, on 2 cores): first render <= 2 s; Start to first frame <= 1.5 s. Medians and
[min-max] over the rounds; timings on a shared machine drift, so compare the two apps within
one invocation, not seconds across runs.

Usage::

    python bench/bench_first_page.py --before /tmp/pglab-before      # 3 rounds each
    python bench/bench_first_page.py --before /tmp/pglab-before --rounds 5
    python bench/bench_first_page.py --before /tmp/pglab-before --settle 10  # Home read first
    python bench/bench_first_page.py --quick                         # this checkout, 1 round

``--before DIR`` is an older checkout, e.g. ``git archive 0caffb5 | tar -x -C DIR`` (the app
before its first page drew without torch). Needs Chromium (Debian's ``chromium``) and
Playwright's Python package (never ``playwright install``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import free_port, load_average, log, stop_server, wait_for_streamlit  # noqa: E402
from common import markdown_table as table  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TARGETS = {"first_render_s": 2.0, "start_to_frame_s": 1.5}
FRAME = '[data-testid="stImage"] img'

# Each moment is read in the page, on the first animation frame where it is true (Playwright's
# own waits poll every 100-500 ms once they have waited a while, which would add up to half a
# second to a step): the wall-clock time in ms, or false.
HOME_SHOWN = """() => {
  const shown = e => e.getClientRects().length > 0;
  const title = [...document.querySelectorAll('h1')].some(
    h => h.textContent.includes('Policy Gradient Lab') && shown(h));
  const side = document.querySelector('[data-testid="stSidebar"]');
  const menu = side && [...side.querySelectorAll('a, span, p')].some(
    e => e.textContent.trim() === 'Train' && shown(e));
  return title && menu ? performance.timeOrigin + performance.now() : false;
}"""
START_ENABLED = """() => [...document.querySelectorAll('button')].some(
  b => !b.disabled && b.getClientRects().length > 0
    && [...b.querySelectorAll('p')].some(p => p.textContent.trim() === 'Start'))
  ? performance.timeOrigin + performance.now() : false"""
FRAME_SHOWN = """(n) => {
  const img = document.querySelectorAll('[data-testid="stImage"] img')[n];
  return img && img.complete && img.naturalWidth > 0 && img.getBoundingClientRect().height > 0
    ? performance.timeOrigin + performance.now() : false;
}"""
CLICK_CLOCK = """() => { window.__pgClicked = null; document.addEventListener('click',
  e => { window.__pgClicked = performance.timeOrigin + e.timeStamp; },
  {capture: true, once: true}); }"""


def shown_at(page, predicate: str, arg=None, timeout_ms: float = 120_000) -> float:
    """When ``predicate`` first held in the page (seconds since the epoch), checked on every
    animation frame."""
    handle = page.wait_for_function(predicate, arg=arg, polling="raf", timeout=timeout_ms)
    return handle.json_value() / 1000.0


def click_at(page, locator) -> float:
    """Click ``locator``; when the page received the click (seconds since the epoch)."""
    page.evaluate(CLICK_CLOCK)
    locator.click()
    return page.evaluate("() => window.__pgClicked") / 1000.0


@dataclass
class Round:
    app: str
    first_render_s: float | None = None
    train_ready_s: float | None = None
    start_to_frame_s: float | None = None
    error: str | None = None


class Server:
    """``streamlit run app.py`` in ``app_dir`` on a free port; ``health_at`` is when it first
    answered its health check (``time.monotonic``)."""

    def __init__(self, app_dir: Path, startup_timeout: float = 120.0):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._dir = tempfile.TemporaryDirectory(prefix="bench_first_page_")
        env = {k: v for k, v in os.environ.items()
               if k not in ("PGLAB_RUNS", "PGLAB_MEMORY_MB", "PGLAB_MAX_RUNS")}
        env.update({"SDL_VIDEODRIVER": "dummy", "PYGAME_HIDE_SUPPORT_PROMPT": "1",
                    "PGLAB_DB_URL": f"sqlite:///{self._dir.name}/runs.sqlite"})
        self.log = open(Path(self._dir.name) / "server.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(self.port), "--server.address", "127.0.0.1",
             "--browser.gatherUsageStats", "false"],
            cwd=app_dir, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        wait_for_streamlit(self.proc, self.url, startup_timeout)
        self.health_at = time.monotonic()

    def close(self) -> None:
        stop_server(self.proc)
        self.log.close()
        self._dir.cleanup()


def one_round(browser, app: str, app_dir: Path, settle: float = 0.0,
              timeout_ms: float = 120_000) -> Round:
    """A fresh server for ``app_dir``; a learner opens Home, goes to Train (``settle`` s
    later) and presses Start."""
    r = Round(app)
    server = None
    context = None
    try:
        server = Server(app_dir)
        context = browser.new_context(viewport={"width": 1440, "height": 1600})
        page = context.new_page()
        page.set_default_timeout(timeout_ms)
        t0 = time.time()
        page.goto(server.url, wait_until="commit")
        r.first_render_s = shown_at(page, HOME_SHOWN, timeout_ms=timeout_ms) - t0
        time.sleep(settle)

        # the sidebar's menu: Streamlit's own (older checkouts) or the app's page links
        nav = page.locator('[data-testid="stSidebarNav"], .st-key-pg-nav')
        t1 = click_at(page, nav.get_by_text("Train", exact=True).first)
        r.train_ready_s = shown_at(page, START_ENABLED, timeout_ms=timeout_ms) - t1
        start = page.get_by_role("button", name="Start", exact=True).and_(
            page.locator(":enabled"))

        before = page.locator(FRAME).count()
        t2 = click_at(page, start)
        r.start_to_frame_s = shown_at(page, FRAME_SHOWN, before, timeout_ms) - t2
    except Exception as exc:  # noqa: BLE001 - a failed round is a row, not a crash
        r.error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    finally:
        if context is not None:
            context.close()
        if server is not None:
            server.close()
    return r


def _cell(values: list[float], target: float | None = None) -> str:
    if not values:
        return "–"
    med = statistics.median(values)
    text = f"{med:.2f}"
    if len(values) > 1:
        text += f" [{min(values):.2f}-{max(values):.2f}]"
    if target is not None:
        text += " (met)" if med <= target else " (**not met**)"
    return text


def report(rounds: list[Round], apps: list[str], where: str) -> str:
    rows = []
    for app in apps:
        mine = [r for r in rounds if r.app == app]
        rows.append([
            app, str(len(mine)),
            _cell([r.first_render_s for r in mine if r.first_render_s is not None],
                  TARGETS["first_render_s"]),
            _cell([r.train_ready_s for r in mine if r.train_ready_s is not None]),
            _cell([r.start_to_frame_s for r in mine if r.start_to_frame_s is not None],
                  TARGETS["start_to_frame_s"]),
            str(sum(r.error is not None for r in mine))])
    out = ["### A learner's first minute: first render, Train, Start to the first frame "
           "(seconds, median [min-max])", "", where, "",
           table(["app", "rounds", "first render (target <= 2 s)", "Train ready",
                  "Start to first frame (target <= 1.5 s)", "failed rounds"], rows)]
    errors = [f"{r.app}: {r.error}" for r in rounds if r.error]
    if errors:
        out += ["", "Failures: " + "; ".join(errors[:6])]
    return "\n".join(out)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--before", type=Path,
                   help="an older checkout to compare with (its app.py), side by side")
    p.add_argument("--rounds", type=int, default=3, help="cold starts per app (default 3)")
    p.add_argument("--settle", type=float, default=0.0,
                   help="seconds on Home before going to Train (default 0: at once)")
    p.add_argument("--quick", action="store_true", help="smoke test: this checkout, 1 round")
    args = p.parse_args(argv)
    if args.quick:
        args.rounds, args.before = 1, None
    if args.rounds < 1 or args.settle < 0:
        p.error("--rounds must be >= 1, --settle >= 0")
    if args.before is not None and not (args.before / "app.py").is_file():
        p.error(f"--before: no app.py in {args.before}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not os.path.exists(CHROMIUM):
        print("bench_first_page skipped: no chromium binary on this machine")
        return 0
    from playwright.sync_api import sync_playwright

    apps = [("after (this checkout)", ROOT)]
    if args.before is not None:
        apps.insert(0, (f"before ({args.before})", args.before))
    load0 = load_average()
    rounds: list[Round] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for i in range(args.rounds):
                for name, app_dir in apps:  # alternating: drifting load hits both alike
                    log(f"round {i + 1}/{args.rounds}: {name}")
                    rounds.append(one_round(browser, name, app_dir, args.settle))
                    log(f"  {rounds[-1]}")
        finally:
            browser.close()
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    where = (f"{os.cpu_count()} CPUs, Chromium on the same machine; each round a fresh "
             f"server; Train opened {args.settle:g} s after Home drew; {stamp}; load average "
             f"{load0} at the start, {load_average()} at the end.")
    print(report(rounds, [a for a, _ in apps], where))
    return 0


if __name__ == "__main__":
    sys.exit(main())
