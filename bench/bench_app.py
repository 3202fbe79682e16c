"""The Streamlit app's costs: one live refresh, training throughput with the page open, memory.

Three parts, each printing a markdown table (progress goes to stderr):

``refresh``
    The median cost of one live refresh of the Train page with 2,000 episodes of history
    (and 20,000, to show it stays flat): ``snapshot()`` + the three chart specs + the frame
    JPEG + the headline metrics, i.e. everything the ``st.fragment`` computes before handing
    elements to Streamlit. The history is fed through a real ``BackgroundRun``'s event path
    (synthetic events, 100 updates per episode to exercise the update buckets). A second row
    times a whole Train-page rerun in ``AppTest`` (widgets, panel, Streamlit's own
    marshalling): an upper bound, since a live refresh only reruns the fragment.
    Target: under 100 ms median.

``throughput``
    Env steps per training second of one config (A2C and REINFORCE defaults). With Chromium:
    a ``streamlit run`` server is pinned to CPU 0 and Chromium to the other CPUs (as if the
    browser were on the user's machine); the same config is measured three ways in
    alternating windows, so drifting load on a shared machine hits all alike: headless (a
    ``BackgroundRun`` in this process, also on CPU 0, with the app's 0.25 s frames) while the
    server's run is paused; the server's run with the Train page live; and the same run while
    the browser shows the Theory page. Without Chromium (``--quick``/``--no-browser``), the
    page is emulated by ``AppTest`` rerunning the whole Train page every 0.5 s in-process.
    Target: page open >= 80% of headless.

``memory``
    Resident memory (VmRSS) of a ``streamlit run`` server: idle after the first page load,
    then with 1, 2, 3 and 4 browser sessions (separate Chromium contexts), each training A2C
    (``PGLAB_MAX_RUNS=4`` so all four train). Reported: RSS and the increase per session.

Usage::

    python bench/bench_app.py                       # all parts (a few minutes)
    python bench/bench_app.py --parts refresh       # just the refresh cost
    python bench/bench_app.py --seconds 30          # longer throughput windows
    python bench/bench_app.py --quick               # smoke test: small, no browser

Timings on a shared machine drift: compare rows within one invocation.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import numpy as np  # noqa: E402
from common import free_port, log, stop_server, wait_for_streamlit  # noqa: E402
from common import markdown_table as table  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
WARMUP_SECONDS = 3.0  # excluded from throughput (set to 1 s by --quick)


def median_ms(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


# ----- part 1: refresh cost -------------------------------------------------------------------


def synthetic_run(n_episodes: int, updates_per_episode: int = 100, seed: int = 0):
    """A BackgroundRun (never started) whose log holds ``n_episodes`` of plausible history,
    fed through its real event path, plus one real CartPole frame."""
    from pgcore import EpisodeEnd, Frame, UpdateEnd, preset
    from pgcore.execution import SlotPool
    from pgcore.execution.runner import BackgroundRun
    from pgcore.training.render import StateRenderer

    rng = np.random.default_rng(seed)
    # budget 2n: a run in progress (the charts' x axis ends at the budget)
    run = BackgroundRun(preset("reinforce", max_episodes=2 * n_episodes), SlotPool(1))
    steps, update, t = 0, 0, 0.0
    for i in range(1, n_episodes + 1):
        length = int(min(500, 10 + i * 0.3 + rng.normal(0, 30) ** 2 / 10))
        length = max(8, length)
        for _ in range(updates_per_episode):
            update += 1
            run._on_event(UpdateEnd(update, steps, i - 1, t, {
                "policy_loss": float(rng.normal()), "value_loss": float(rng.random() * 100),
                "entropy": 0.6 * float(rng.random()), "grad_norm": float(rng.random() * 50),
                "advantage_mean": 0.0, "advantage_std": (std := float(rng.random() * 5)),
                "advantage_rms": std, "value_mean": 40.0, "target_mean": 45.0,
                "batch_size": 1}))
        steps += length
        t += length / 3000
        run._on_event(EpisodeEnd(i, float(length), length, steps, t,
                                 float((1 - 0.99 ** length) / 0.01), float(rng.normal(50, 10))))
    renderer = StateRenderer("CartPole-v1")
    rgb = renderer.render(np.array([0.1, 0.0, 0.05, 0.0]))
    renderer.close()
    run._on_event(Frame(n_episodes, 10, np.zeros(4), np.array([0.4, 0.6]), 12.0, rgb))
    return run


def refresh_once(holder, run) -> None:
    """What the live fragment computes for one refresh (all but Streamlit's marshalling): the
    charts' specs and their words (sentence and data table), the threshold search, the
    metrics and the frame."""
    from ui import train
    from ui.charts import live, words

    snap = run.snapshot()
    for spec in (live.returns_spec(snap), *live.diagnostics_specs(snap), live.value_spec(snap)):
        if spec is not None:
            words.summary(spec)
            words.table_html(words.table(spec))
    holder.reached.clear()  # measure the threshold search every time, not its cache
    train.first_reached(holder, snap, 195.0)
    train.first_reached(holder, snap, 475.0)
    train.metrics_html(snap, holder)
    holder._frame_cache = None  # a new frame every refresh, as while training
    train.frame_jpeg(holder, snap.frame)
    train.policy_html(train.head_of("CartPole-v1"), ("left", "right"), snap.frame.probs,
                      snap.frame.value)


def _refresh_row(n: int, reps: int) -> list[str]:
    from pgcore import EpisodeEnd
    from ui.charts import live
    from ui.charts.specs import spec_points
    from ui.state import RunHolder

    log(f"refresh: building {n:,} episodes of history")
    run = synthetic_run(n)
    holder = RunHolder()
    counter = [n]

    def bump():  # a new episode before each refresh, so no cached snapshot is reused
        counter[0] += 1
        run._on_event(EpisodeEnd(counter[0], 200.0, 200, 10**6, 1e4, 80.0, 75.0))

    def snap_only():
        bump()
        run.snapshot()

    def full():
        bump()
        refresh_once(holder, run)

    refresh_once(holder, run)  # warm the altair templates (built once per chart shape)
    snap = run.snapshot()
    points = (spec_points(live.returns_spec(snap))
              + sum(spec_points(s) for s in live.diagnostics_specs(snap))
              + spec_points(live.value_spec(snap)))
    return [f"{n:,}", f"{median_ms(snap_only, reps):.2f}", f"{median_ms(full, reps):.2f}",
            f"{points:,}", f"{len(snap.updates['update']):,} of {snap.update_count:,}"]


def part_refresh(sizes: list[int], reps: int, apptest_reps: int) -> str:
    rows = [_refresh_row(n, reps) for n in sizes]
    out = ["### One live refresh (snapshot + charts + frame + metrics), median of "
           f"{reps}", "",
           table(["episodes of history", "snapshot (ms)", "whole refresh (ms)",
                  "data rows sent (all charts)", "update points kept"], rows)]
    if apptest_reps:
        ms = apptest_page_rerun(sizes[0], apptest_reps)
        out += ["", f"Whole Train-page rerun in AppTest with {sizes[0]:,} episodes (widgets, "
                f"panel, Streamlit marshalling; median of {apptest_reps}): **{ms:.1f} ms** "
                "(upper bound: a live refresh reruns only the fragment)."]
    return "\n".join(out)


def apptest_page_rerun(n: int, reps: int) -> float:
    from streamlit.testing.v1 import AppTest

    from ui import state

    run = synthetic_run(n)
    original = state.RunHolder.start

    def install(self, config, pool, preset=None, summary=None):  # Start shows the synthetic run
        self.run, self.preset, self.summary = run, preset, summary
        return run

    state.RunHolder.start = install
    try:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.run()
        at.switch_page("views/reinforce/train.py").run()
        at.button(key="ctl.start").click().run()
        if at.exception:
            raise RuntimeError(f"the Train page failed: {at.exception}")
        return median_ms(at.run, reps)
    finally:
        state.RunHolder.start = original


# ----- part 2: throughput ---------------------------------------------------------------------


def rate_from_log(env_steps, wall_seconds, warmup: float | None = None) -> float | None:
    """Env steps per training second after ``warmup`` seconds, from per-episode columns."""
    warmup = WARMUP_SECONDS if warmup is None else warmup
    steps = np.asarray(env_steps, float)
    wall = np.asarray(wall_seconds, float)
    keep = np.flatnonzero(wall >= warmup)
    if len(keep) < 2 or wall[keep[-1]] <= wall[keep[0]]:
        return None
    a, b = keep[0], keep[-1]
    return float((steps[b] - steps[a]) / (wall[b] - wall[a]))


def headless_rate(config, seconds: float, frame_every: float | None) -> float | None:
    from pgcore.execution import SlotPool
    from pgcore.execution.runner import BackgroundRun

    run = BackgroundRun(config, SlotPool(1), frame_every=frame_every).start()
    time.sleep(seconds)
    run.stop()
    run.join(60)
    ep = run.snapshot().episodes
    return rate_from_log(ep["env_steps"], ep["wall_seconds"])


def apptest_rate(algo: str, seconds: float) -> float | None:
    from streamlit.testing.v1 import AppTest

    from pgcore.execution import live_tasks, stop_all

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("views/reinforce/train.py").run()
    at.radio(key="cfg.algo").set_value(algo).run()
    at.number_input(key="cfg.max_episodes").set_value(20_000).run()
    at.button(key="ctl.start").click().run()
    runs = live_tasks()
    if len(runs) != 1:
        raise RuntimeError(f"expected one live run, found {len(runs)}")
    run = runs[0]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        t0 = time.monotonic()
        at.run()
        time.sleep(max(0.0, 0.5 - (time.monotonic() - t0)))
    run.stop()
    run.join(60)
    stop_all()
    ep = run.snapshot().episodes
    return rate_from_log(ep["env_steps"], ep["wall_seconds"])


class Server:
    """``streamlit run app.py`` on a free port, in its own process."""

    def __init__(self, max_runs: int = 2, cpus: set[int] | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="bench_app_", suffix=".log", delete=False)
        env = {**os.environ, "PGLAB_MAX_RUNS": str(max_runs)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(self.port), "--server.address", "127.0.0.1"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None)
        try:
            wait_for_streamlit(self.proc, self.url, 90.0)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}; see {self.log.name}") from None

    def rss_mb(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def close(self) -> None:
        stop_server(self.proc)


def _algo_label(algo: str) -> str:
    """The Train page's radio label of ``algo`` (from the registry)."""
    from pgcore import algos

    return algos.get(algo).label


def open_train_and_start(context, url: str, algo: str, budget: int = 20_000):
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.goto(f"{url}/train")
    page.get_by_role("button", name="Start", exact=True).wait_for()
    if algo != "reinforce":  # the page opens on REINFORCE
        page.get_by_text(_algo_label(algo), exact=True).click()
        page.wait_for_timeout(1500)
    budget_box = page.get_by_role("spinbutton", name="Episode budget")
    budget_box.fill(str(budget))
    budget_box.press("Enter")
    page.wait_for_timeout(1500)
    page.get_by_role("button", name="Start", exact=True).click()
    try:
        _enabled(page, "Stop").wait_for()  # the run exists (training or waiting)
    except Exception:
        shot = Path(tempfile.gettempdir()) / "bench_app_failed_start.png"
        page.screenshot(path=str(shot), full_page=True)
        log(f"could not start a run; screenshot in {shot}")
        raise
    return page


def progress_reading(page) -> tuple[int, float]:
    """(env steps, training seconds) from the Train page's progress bar text."""
    import re

    text = page.locator('[data-testid="stMain"] [data-testid="stProgress"]').first.inner_text()
    m = re.search(r"([\d,]+) env steps · ([\d.,]+) s of training", text)
    if m is None:
        raise RuntimeError(f"unexpected progress text: {text!r}")
    return int(m.group(1).replace(",", "")), float(m.group(2).replace(",", ""))


def _enabled(page, button: str):
    return page.get_by_role("button", name=button, exact=True).and_(page.locator(":enabled"))


def _nav(page, name: str) -> None:
    page.locator('[data-testid="stSidebar"]').get_by_role("link", name=name, exact=True).click()


def _run_reading(run) -> tuple[int, float]:
    snap = run.snapshot()
    return snap.env_steps, snap.wall_seconds


def _rate(a: tuple[int, float], b: tuple[int, float]) -> float:
    return (b[0] - a[0]) / max(b[1] - a[1], 1e-9)


def interleaved_rates(browser, server: Server, algo: str, config, window: float,
                      rounds: int = 2) -> tuple[float, float, float]:
    """Env steps/s of the same config three ways, in alternating windows so that drifting
    load on a shared machine hits all three alike:

    * *headless*: a ``BackgroundRun`` in this process (same CPU as the server), while the
      server's run is paused;
    * *Train page live*: the server's run with the Train page open, the live panel
      refreshing twice a second;
    * *Theory page*: the same server run while the browser shows the Theory page.

    Rates are steps per *training* second (pauses excluded), so the boundaries do not blur
    them. Each Theory window ends with ~1-2 s back on Train (to read the counters)."""
    from pgcore.execution import SlotPool
    from pgcore.execution.runner import BackgroundRun

    local = BackgroundRun(config, SlotPool(1), frame_every=0.25).start()
    context = browser.new_context(viewport={"width": 1440, "height": 1800})
    try:
        page = open_train_and_start(context, server.url, algo)
        time.sleep(WARMUP_SECONDS + 2)  # both runs warm up together
        local.pause()
        headless, live, theory = [], [], []
        for _ in range(rounds):
            s0 = progress_reading(page)
            time.sleep(window)
            s1 = progress_reading(page)
            live.append(_rate(s0, s1))
            _nav(page, "Theory")
            page.get_by_role("heading", name="Theory").first.wait_for()
            time.sleep(window)
            _nav(page, "Train")
            page.locator('[data-testid="stMain"] [data-testid="stProgress"]').first.wait_for()
            s2 = progress_reading(page)
            theory.append(_rate(s1, s2))
            page.get_by_role("button", name="Pause", exact=True).click()
            _enabled(page, "Resume").wait_for()
            time.sleep(1.0)  # the server's loop reaches its pause point
            local.resume()
            h0 = _run_reading(local)
            time.sleep(window)
            h1 = _run_reading(local)
            local.pause()
            headless.append(_rate(h0, h1))
            page.get_by_role("button", name="Resume", exact=True).click()
            _enabled(page, "Pause").wait_for()
        page.get_by_role("button", name="Stop", exact=True).click()
        page.get_by_text("Stopped.").first.wait_for()
        return statistics.mean(headless), statistics.mean(live), statistics.mean(theory)
    finally:
        local.stop()
        local.join(30)
        context.close()


def chromium_on(cpus: set[int] | None) -> str:
    """The Chromium binary, wrapped in ``taskset`` to run on ``cpus`` when possible."""
    taskset = shutil.which("taskset")
    if not cpus or taskset is None:
        return CHROMIUM
    wrapper = Path(tempfile.gettempdir()) / f"bench_app_chromium_{'_'.join(map(str, cpus))}"
    wrapper.write_text(f'#!/bin/sh\nexec {taskset} -c {",".join(map(str, sorted(cpus)))} '
                       f'{CHROMIUM} "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


def _fmt(x: float | None) -> str:
    return "–" if x is None else f"{x:,.0f}"


def _pct(x: float | None, base: float | None) -> str:
    return "–" if x is None or not base else f"{100 * x / base:.0f}%"


def part_throughput(seconds: float, algos: list[str], with_browser: bool, pin: bool) -> str:
    from pgcore.training.config import DEFAULT_PRESET, preset

    n_cpus = os.cpu_count() or 1
    server_cpus = {0} if pin and n_cpus >= 2 else None
    browser_cpus = set(range(1, n_cpus)) if server_cpus else None
    own = os.sched_getaffinity(0)
    browser = server = pw = None
    if with_browser:
        from playwright.sync_api import sync_playwright

        log("throughput: starting streamlit and chromium")
        server = Server(max_runs=2, cpus=server_cpus)
        pw = sync_playwright().start()
        browser = pw.chromium.launch(executable_path=chromium_on(browser_cpus),
                                     args=CHROMIUM_ARGS)
    rows = []
    try:
        if server_cpus:
            os.sched_setaffinity(0, server_cpus)  # in-process runs use the server's CPU
        for algo in algos:
            config = preset(DEFAULT_PRESET[algo], max_episodes=20_000, max_seconds=900.0)
            if browser is not None:
                log(f"throughput: {algo}: headless / Train page live / Theory page, "
                    "interleaved")
                headless, live, theory = interleaved_rates(browser, server, algo, config,
                                                           window=seconds / 2)
                rows.append([algo, _fmt(headless), f"{_fmt(live)} ({_pct(live, headless)})",
                             f"{_fmt(theory)} ({_pct(theory, headless)})",
                             _pct(live, theory), "–"])
            else:
                log(f"throughput: {algo}: headless, then the page refreshing in AppTest")
                headless = headless_rate(config, seconds, 0.25)
                app = apptest_rate(algo, seconds)
                rows.append([algo, _fmt(headless), "–", "–", "–",
                             f"{_fmt(app)} ({_pct(app, headless)})"])
    finally:
        os.sched_setaffinity(0, own)
        if browser is not None:
            browser.close()
            pw.stop()
        if server is not None:
            server.close()
    if not server_cpus:
        where = "no CPU pinning"
    elif browser is None:
        where = f"in-process runs pinned to CPU {sorted(server_cpus)}"
    else:
        where = (f"server and in-process runs pinned to CPU {sorted(server_cpus)}, Chromium "
                 f"to CPUs {sorted(browser_cpus)}, as if the browser were on the user's "
                 "machine")
    return "\n".join([
        f"### Training throughput (env steps per training second; {where})", "",
        table(["algo", "headless (in-process, frames on)", "streamlit, Train page live",
               "streamlit, Theory page", "live / Theory", "AppTest page (no browser)"], rows),
        "", "With Chromium: the three are measured in alternating windows of "
        f"{seconds / 2:.0f} s (2 rounds each) so that load drifting on a shared machine hits "
        "them alike; percentages are against headless. Without Chromium, the page is "
        "emulated by AppTest rerunning the whole Train page every 0.5 s in this process "
        "(harsher than the live fragment) after a headless run of the same length."])


# ----- part 3: memory -------------------------------------------------------------------------


def part_memory(sessions: int, settle: float) -> str:
    from playwright.sync_api import sync_playwright

    server = Server(max_runs=sessions)
    rows = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                ctx0 = browser.new_context()
                page0 = ctx0.new_page()
                page0.goto(f"{server.url}/train")
                page0.get_by_role("button", name="Start", exact=True).wait_for()
                time.sleep(settle)
                idle = server.rss_mb()
                ctx0.close()
                rows.append(["idle (app loaded once, no run)", f"{idle:,.0f}", "–"])
                log(f"memory: idle {idle:.0f} MB")
                contexts, prev = [], idle
                for k in range(1, sessions + 1):
                    ctx = browser.new_context(viewport={"width": 1440, "height": 1800})
                    open_train_and_start(ctx, server.url, "a2c")
                    contexts.append(ctx)
                    time.sleep(settle)
                    rss = server.rss_mb()
                    rows.append([f"{k} session(s) training", f"{rss:,.0f}", f"+{rss - prev:,.0f}"])
                    log(f"memory: {k} sessions {rss:.0f} MB")
                    prev = rss
                for ctx in contexts:
                    ctx.close()
            finally:
                browser.close()
    finally:
        server.close()
    per = [float(r[2][1:].replace(",", "")) for r in rows[2:]]
    note = (f"Mean increase per additional training session: **{statistics.mean(per):.0f} MB**"
            if per else "")
    return "\n".join([f"### Server memory (VmRSS of `streamlit run`, {settle:.0f} s after each "
                      "step; A2C runs; each session is a separate Chromium context)", "",
                      table(["server state", "RSS (MB)", "increase (MB)"], rows), "", note])


# ----- main -----------------------------------------------------------------------------------


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--parts", nargs="+", default=["refresh", "throughput", "memory"],
                   choices=["refresh", "throughput", "memory"])
    p.add_argument("--seconds", type=float, default=20.0,
                   help="training seconds per throughput row (default 20)")
    p.add_argument("--algos", nargs="+", default=["a2c", "reinforce"],
                   choices=["a2c", "reinforce", "actor-critic"])
    p.add_argument("--sessions", type=int, default=4, help="sessions for the memory part")
    p.add_argument("--no-browser", action="store_true", help="skip everything needing Chromium")
    p.add_argument("--no-pin", action="store_true",
                   help="do not pin the server to CPU 0 and Chromium to the other CPUs")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: small sizes, short windows, no browser")
    return p.parse_args(argv)


def _app_config() -> None:
    """In-process AppTest runs use the app's own settings (as in .streamlit/config.toml)."""
    from streamlit import config

    config.get_config_options()
    config.set_option("runner.postScriptGC", False)


def main(argv: list[str] | None = None) -> int:
    global WARMUP_SECONDS
    args = parse_args(argv)
    _app_config()
    if args.quick:
        WARMUP_SECONDS = 1.0
    import torch

    torch.set_num_threads(1)
    have_browser = os.path.exists(CHROMIUM) and not args.no_browser and not args.quick
    sections = []
    if "refresh" in args.parts:
        sizes = [200] if args.quick else [2_000, 20_000]
        sections.append(part_refresh(sizes, reps=5 if args.quick else 50,
                                     apptest_reps=0 if args.quick else 10))
    if "throughput" in args.parts:
        seconds = 4.0 if args.quick else args.seconds
        algos = ["a2c"] if args.quick else args.algos
        sections.append(part_throughput(seconds, algos, have_browser, pin=not args.no_pin))
    if "memory" in args.parts:
        if have_browser:
            sections.append(part_memory(args.sessions, settle=10.0))
        else:
            sections.append("### Server memory\n\nSkipped: needs Chromium (and not --quick).")
    print("\n\n".join(sections))
    return 0


if __name__ == "__main__":
    sys.exit(main())
