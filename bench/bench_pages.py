"""How long a learner waits on each experiment page, measured in a real browser.

For every page that trains a grid of conditions x seeds, this starts ``streamlit run app.py``
(as deployed: runs in the run hosts), opens the page in Debian's Chromium, presses **Start** on
the page's defaults and then reads, every ``--every`` seconds, the page's own **Results (CSV)**
and its status line, until the page states its full verdict. It prints, per page:

* the seconds from Start to the first episode of **each condition** (the slowest condition is
  what a learner waits for before every curve moves; the target is 60 s);
* the seconds until every run has finished (the evidence is complete) and until the page
  shows no "too early" any more (the full verdict; the target for the three DQN exercise
  pages is 5 minutes);
* whether a verdict was shown before the evidence was complete (it must not be).

Pages run one after another, each alone on the machine, so run it on a quiet machine::

    python bench/bench_pages.py                        # every experiment page (~15 min)
    python bench/bench_pages.py --pages dqn_target dqn_polyak --every 2

Needs Playwright and Debian's ``chromium`` (``apt-get install -y chromium``).
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO_ROOT, free_port, log, markdown_table, wait_for_streamlit  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

PAGES = {  # url path -> the page's title (its heading)
    "seeds_variance": "Seeds & variance",
    "baseline": "Baseline vs none",
    "entropy": "Entropy bonus",
    "race": "Algorithm race",
    "dqn_target": "Target network",
    "dqn_polyak": "Hard copy or Polyak",
    "dqn_overestimation": "Overestimation",
    "value_vs_policy": "Value vs policy",
}
DQN_EXERCISES = ("dqn_target", "dqn_polyak", "dqn_overestimation")
STATE_NO_CLAIM = ("entropy", "race")
"""Pages that chart their conditions without judging a claim of the lesson's: they have no
verdict to hold back (their full verdict is every run done)."""
FIRST_EPISODE_TARGET = 60.0
VERDICT_TARGET = 300.0
TOO_EARLY = re.compile(r"too early", re.IGNORECASE)
NOT_ABOUT_THESE_RUNS = ("not your runs", "no runs needed")
"""How ui/verdicts.py labels a verdict's evidence when it does not rest on the page's runs."""
RUNS_DONE = re.compile(r"(\d+) of (\d+) runs done")
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


@dataclass
class PageTiming:
    """What one page made a learner wait, in seconds from Start (None: never, within the
    time allowed)."""

    path: str
    first_episode: dict[str, float] = field(default_factory=dict)  # condition -> seconds
    runs: int = 0
    all_done: float | None = None
    verdict: float | None = None
    early_verdict: str = ""  # the first verdict shown on partial evidence, if any
    env_steps: int = 0  # of every run, at the last reading
    episodes: int = 0
    error: str = ""

    @property
    def slowest_first(self) -> float | None:
        return max(self.first_episode.values()) if self.first_episode else None


def start_server(env_extra: dict[str, str] | None = None) -> tuple[subprocess.Popen, str, Path]:
    port = free_port()
    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-pages-{port}.log"
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "PGLAB_RUNS": "hosts", **(env_extra or {})}
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1",
             "--browser.gatherUsageStats", "false"],
            cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_for_streamlit(proc, url, timeout=120)
    return proc, url, log_path


def results_rows(page) -> list[dict] | None:
    """The page's Results (CSV) as rows, or None while its download button is disabled."""
    from playwright.sync_api import Error

    button = page.get_by_role("button", name="Results (CSV)")
    try:
        if button.count() == 0 or not button.first.is_enabled():
            return None
        with page.expect_download(timeout=10_000) as info:
            button.first.click(timeout=5_000)
        path = info.value.path()
    except Error:  # the live page redrew the button mid-click: read it next time
        return None
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


_READ_PAGE = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  if (!main) return {text: "", decided: []};
  const decided = [];
  for (const el of main.querySelectorAll("strong")) {
    const status = el.innerText.trim().toLowerCase();
    if (!["holds", "partly", "does not hold"].includes(status)) continue;
    const block = el.closest('[data-testid="stMarkdownContainer"]');
    decided.push({status: status, context: block ? block.innerText : ""});
  }
  return {text: main.innerText, decided: decided};
}"""


def complete_evidence(line: str) -> bool:
    """Whether a verdict's line names complete evidence, as ``ui/verdicts.py`` words it: the
    seeds of every condition it compares finished ("all 3 seeds of C = 1000 finished"), none
    still running or waiting. A verdict that names no evidence, or partial evidence, is
    early."""
    return "finished" in line and not re.search(r"\b(running|waiting)\b", line)


def reading(page) -> tuple[tuple[int, int] | None, list[str]]:
    """From one reading of the page (so the two agree): ``(done, total)`` from its status
    line ("3 of 6 runs done") or None, and the verdicts it states *early*: each decided
    status ("holds", "partly", "does not hold") shown, with its line, unless its evidence is
    complete (:func:`complete_evidence`: a claim about some conditions may be judged once
    those have finished, before the page's other runs) or is not these runs
    (:data:`NOT_ABOUT_THESE_RUNS`: the reference runs' typical result, or a fact true by
    construction)."""
    seen = page.evaluate(_READ_PAGE)
    found = RUNS_DONE.search(seen["text"])
    done = (int(found.group(1)), int(found.group(2))) if found else None
    decided = [f"{d['status']}: {d['context'][:200]}" for d in seen["decided"]
               if not any(mark in d["context"] for mark in NOT_ABOUT_THESE_RUNS)
               and not complete_evidence(d["context"])]
    return done, decided


def press_start(page, url: str, path: str, title: str) -> float:
    """Open the page, press Start; the monotonic time of the click."""
    page.goto(f"{url}/{path}")
    page.get_by_role("heading", name=title).first.wait_for(timeout=180_000)  # a cold server
    start = page.get_by_role("button", name="Start", exact=True)
    deadline = time.monotonic() + 60
    while not (start.count() and start.first.is_enabled()):
        if time.monotonic() > deadline:
            raise RuntimeError("no enabled Start button")
        time.sleep(0.2)
    t0 = time.monotonic()
    start.first.click()
    return t0


def time_page(browser, url: str, path: str, title: str, every: float,
              timeout: float) -> PageTiming:
    timing = PageTiming(path)
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page.set_default_timeout(60_000)
    try:
        t0 = press_start(page, url, path, title)
        while time.monotonic() - t0 < timeout:
            time.sleep(every)
            now = time.monotonic() - t0
            rows = results_rows(page) or []
            last: dict[tuple[str, str], int] = {}
            for row in rows:
                timing.first_episode.setdefault(row["label"], now)
                last[row["label"], row["seed"]] = int(float(row["env_steps"]))
            if rows:
                timing.env_steps, timing.episodes = sum(last.values()), len(rows)
            done, decided = reading(page)
            early = bool(TOO_EARLY.search(page.locator('[data-testid="stMain"]').inner_text()))
            if done is not None:
                timing.runs = done[1]
                if decided and not timing.early_verdict:
                    timing.early_verdict = decided[0]  # a verdict on partial evidence
                if done[0] == done[1] and timing.all_done is None:
                    timing.all_done = now
            if timing.all_done is not None and (not early or path in STATE_NO_CLAIM):
                timing.verdict = now
                break
        if page.locator('[data-testid="stException"]').count():
            timing.error = "the page raised an exception"
        stop = page.get_by_role("button", name="Stop", exact=True)
        if stop.count() and stop.first.is_enabled():
            stop.first.click()
    except Exception as exc:  # noqa: BLE001 - one page's failure is a row, not the end
        timing.error = str(exc).splitlines()[0][:120]
    finally:
        page.close()
    return timing


def _s(x: float | None) -> str:
    return "-" if x is None else f"{x:,.0f}"


def report(timings: list[PageTiming]) -> str:
    rows = []
    for t in timings:
        per = ", ".join(f"{k}: {v:,.0f}" for k, v in sorted(t.first_episode.items(),
                                                            key=lambda kv: kv[1]))
        target = VERDICT_TARGET if t.path in DQN_EXERCISES else None
        ok_first = t.slowest_first is not None and t.slowest_first <= FIRST_EPISODE_TARGET
        ok_verdict = target is None or (t.verdict is not None and t.verdict <= target)
        rate = (t.env_steps / (t.all_done * CORES)) if t.all_done else None
        length = t.env_steps / t.episodes if t.episodes else None
        rows.append([PAGES[t.path], str(t.runs), _s(t.slowest_first), per or "-",
                     _s(t.all_done), _s(t.verdict), _s(rate), _s(length),
                     f"YES: {t.early_verdict[:80]}" if t.early_verdict else "no",
                     ("PASS" if ok_first and ok_verdict and not t.early_verdict else "FAIL")
                     + (f" ({t.error})" if t.error else "")])
    return markdown_table(["page", "runs", "s to every condition's 1st episode",
                           "per condition (s)", "s to all runs done", "s to full verdict",
                           "env steps/s per core", "mean episode length",
                           "verdict before evidence", "targets"], rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", nargs="+", choices=list(PAGES), default=list(PAGES))
    parser.add_argument("--every", type=float, default=3.0,
                        help="seconds between two readings of a page (default 3)")
    parser.add_argument("--timeout", type=float, default=900.0,
                        help="seconds a page may take before it is given up (default 900)")
    args = parser.parse_args(argv)
    if not os.path.exists(CHROMIUM):
        print("no chromium binary: apt-get install -y chromium", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    proc, url, log_path = start_server()
    timings = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for path in args.pages:
                log(f"{PAGES[path]}: Start")
                t = time_page(browser, url, path, PAGES[path], args.every, args.timeout)
                log(f"{PAGES[path]}: every condition by {_s(t.slowest_first)} s, "
                    f"verdict at {_s(t.verdict)} s {t.error}")
                timings.append(t)
            browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    print(f"\nexperiment pages on {CORES} cores, each page alone, page defaults "
          f"(server log: {log_path})\n")
    print(report(timings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
