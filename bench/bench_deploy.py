"""Two app servers behind HAProxy on one PostgreSQL: a lesson across both, then one server stops.

``deploy/run.py``'s deployment on this machine (one PostgreSQL, two ``streamlit run app.py``
servers ``app1`` and ``app2`` sharing it, HAProxy in front with a sticky cookie). ``--sessions``
(60) emulated tabs open ``/train`` through HAProxy over ``--ramp`` seconds and press **Start**
(the websocket client of ``bench/bench_class.py``, which also fetches each frame's image as a
browser does, with the tab's cookie). Once every run has shown an episode, and ``--before``
seconds more, ``app1`` is stopped (``--signal kill``: it crashes; ``term``: it shuts down).
Its tabs' websockets drop; each reconnects through HAProxy as a browser does (same URL, same
cookie), lands on ``app2`` as a new session, reads what the page says, and presses Start again.
The bench waits until every such tab trains again and ``--after`` seconds more, closes the
tabs, and reads the shared database.

Measured:

* **tabs per server** (HAProxy's cookie) and **sticky**: tabs whose run was recorded by the
  server their cookie names (the run's row says which server trained it); and the frame images
  each tab fetched with its cookie, loaded or not found (an image lives in one server's memory,
  so the other server has none of them; an image a newer frame replaced before a slow fetch
  reached it is not found either);
* **trained**, **Start to first episode** (median / max) and **live-refresh p95**, per server,
  before the stop (as ``bench_class.py`` measures them);
* after the stop, for the stopped server's tabs: connections dropped, the note seen (the page
  says the run was cut off or interrupted), trained again on the other server, seconds from the
  stop to the note and to the new run's first episode;
* for the other server's tabs: connections dropped (should be 0) and whether their runs kept
  adding episodes after the stop;
* the run history: the stopped server's runs recorded ``interrupted`` (and how long after the
  stop), and every run of the lesson by status, as the class board and the teacher's view
  read them.

Timings are noisy on a shared machine; the client runs on the same cores as the servers.

Usage::

    python bench/bench_deploy.py                    # 60 tabs over 30 s
    python bench/bench_deploy.py --sessions 10 --ramp 5 --before 10 --after 10
    python bench/bench_deploy.py --quick            # 4 tabs, threads: a smoke test
    python bench/bench_deploy.py --browser --runs threads   # one real Chromium tab instead

Needs Debian's ``postgresql`` and ``haproxy`` (and ``psycopg[binary]``, ``websockets``).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import statistics
import sys
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for p in (str(HERE), str(ROOT)):
    if p not in sys.path:
        sys.path.insert(0, p)

from bench_class import Tab, percentile  # noqa: E402
from common import log  # noqa: E402
from common import markdown_table as table  # noqa: E402

from deploy.run import COOKIE, NAMES, Deployment  # noqa: E402

LOST_WORDS = ("was cut off", "was interrupted")
"""What the Train page says to a tab that lost its run with its server (ui/recording.py)."""


def first_cookie(url: str) -> str:
    """The browser's first GET of the page through HAProxy: the server its cookie names."""
    with urllib.request.urlopen(url, timeout=30) as r:
        r.read()
        for value in r.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            if name.strip() == COOKIE:
                return rest.split(";")[0]
    raise RuntimeError(f"HAProxy set no {COOKIE} cookie on {url}")


class StickyTab(Tab):
    """A ``bench_class`` tab that behaves like a browser behind a sticky load balancer: it
    first GETs the page (HAProxy picks a server and sets its cookie), sends that cookie with
    the websocket and every image request, keeps the URL the page writes (the address bar),
    and records the page's alerts."""

    def __init__(self, index: int, base_url: str, path: str, clock, media, cookie=None):
        super().__init__(index, base_url, path, clock, media)
        self.server: str | None = None
        self.alerts: list[tuple[float, str]] = []
        if cookie:
            self.use(cookie)

    def use(self, cookie: str) -> None:
        self.server = cookie
        self.headers = {"Cookie": f"{COOKIE}={cookie}"}

    async def open(self) -> None:
        if self.server is None:
            self.use(await asyncio.to_thread(first_cookie, self.page_url))

    @property
    def marker(self) -> str | None:
        """The run id the page keeps in the URL (``?run=``) while the tab holds a run."""
        return urllib.parse.parse_qs(self.query).get("run", [None])[0]

    async def _handle(self, msg) -> None:
        if msg.WhichOneof("type") == "page_info_changed":
            self.query = msg.page_info_changed.query_string
        await super()._handle(msg)

    def _element(self, el, now: float, main: bool) -> None:
        if el.WhichOneof("type") == "alert":
            self.alerts.append((now, el.alert.body))
        super()._element(el, now, main)

    def lost_note(self) -> tuple[float, str] | None:
        return next(((t, a) for t, a in self.alerts if any(w in a for w in LOST_WORDS)), None)


@dataclass
class Learner:
    """One learner: their first tab session and, after their server stopped, the session the
    reconnect opened on the other server."""

    first: StickyTab
    again: StickyTab | None = None
    dropped_at: float | None = None
    closing: bool = False
    attempts: list[str] = field(default_factory=list)  # failed reconnects: why

    @property
    def current(self) -> StickyTab:
        return self.again or self.first


async def lesson(learner: Learner, base_url: str, clock, media, connect_at: float,
                 leave_at: float) -> None:
    tab = learner.first
    await asyncio.sleep(max(0.0, connect_at - clock()))
    await tab.open()
    await tab.run(connect_at, leave_at)
    if not tab.r.error or learner.closing:
        return
    # the connection dropped: the frontend reconnects to the same URL with its cookies, again
    # and again (backing off) until a server answers
    learner.dropped_at = clock()
    path = tab.page_name + (f"?{tab.query}" if tab.query else "")
    wait = 0.25
    while not learner.closing and clock() < leave_at:
        again = StickyTab(tab.r.index, base_url, path, clock, media, cookie=tab.server)
        learner.again = again
        await again.run(clock(), leave_at)
        if again.r.connected and again.page_ready.is_set():
            return
        learner.attempts.append(again.r.error or "no page")
        await asyncio.sleep(wait)
        wait = min(2.0, 2 * wait)


async def until(predicate, timeout: float, every: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(every)
    return predicate()


@dataclass
class Outcome:
    learners: list[Learner]
    t0: float
    t_stop: float | None = None
    victim: str = NAMES[0]
    episodes_at_stop: dict[int, int] = field(default_factory=dict)
    all_trained: bool = False
    all_recovered: bool = False
    others_grew: bool = False


async def lesson_with_a_stop(deployment: Deployment, n: int, *, ramp: float, before: float,
                             after: float, sig: int = signal.SIGKILL, victim: str = NAMES[0],
                             timeout: float = 180.0, media: bool = True,
                             path: str = "train") -> Outcome:
    """``n`` tabs open ``path`` through HAProxy and press Start; once all progressed (and
    ``before`` s), stop ``victim``; wait until its tabs train again elsewhere and the other
    server's runs have shown more episodes (and ``after`` s); close all."""
    clock = time.monotonic
    pool = ThreadPoolExecutor(max_workers=4) if media else None
    t0 = clock()
    leave_at = t0 + 3600  # the tabs are closed below, when the scenario is done
    learners = [Learner(StickyTab(i, deployment.url, path, clock, pool)) for i in range(n)]
    step = ramp / n if n else 0.0
    tasks = [asyncio.create_task(lesson(lr, deployment.url, clock, pool, t0 + i * step,
                                        leave_at)) for i, lr in enumerate(learners)]
    out = Outcome(learners, t0, victim=victim)
    try:
        out.all_trained = await until(lambda: all(
            lr.first.r.start_to_first_episode_s is not None for lr in learners), timeout)
        log(f"  {sum(lr.first.r.start_to_first_episode_s is not None for lr in learners)} of "
            f"{n} runs progressed; stopping {victim} in {before:g} s")
        await asyncio.sleep(before)
        out.episodes_at_stop = {lr.first.r.index: lr.first.r.episodes for lr in learners}
        out.t_stop = clock()
        await asyncio.to_thread(deployment.stop_server, victim, sig)
        mine = [lr for lr in learners if lr.first.server == victim]
        out.all_recovered = await until(lambda: all(
            lr.again is not None and lr.again.r.start_to_first_episode_s is not None
            for lr in mine), timeout)
        others = [lr for lr in learners if lr.first.server != victim]
        out.others_grew = await until(lambda: all(
            lr.first.r.episodes > out.episodes_at_stop[lr.first.r.index] for lr in others),
            timeout)
        log(f"  {sum(lr.again is not None for lr in mine)} of {len(mine)} tabs of {victim} "
            f"reconnected; watching {after:g} s more")
        await asyncio.sleep(after)
    finally:
        for lr in learners:
            lr.closing = True
        for lr in learners:
            ws = lr.current.ws
            if ws is not None:
                await ws.close()
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 60)
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return out


# ----- reading the outcome ------------------------------------------------------------------


def recorded(store, runs: list[str]) -> dict[str, object]:
    """run id -> its RunRecord (None if it is not in the database)."""
    return {rid: store.get(rid) for rid in runs}


def server_of(record) -> str | None:
    return None if record is None else record.replica.split("-")[0]


def summarize(out: Outcome, store, marked_after: float | None) -> dict:
    """The figures of the report (see the module docstring)."""
    learners = out.learners
    firsts = [lr.first for lr in learners]
    rows = recorded(store, [t.marker for t in firsts if t.marker])
    per_server = {}
    for name in NAMES:
        tabs = [t for t in firsts if t.server == name]
        starts = [t.r.start_to_first_episode_s for t in tabs
                  if t.r.start_to_first_episode_s is not None]
        lat = [x for t in tabs for x in t.r.refresh_latencies_s]
        per_server[name] = {
            "tabs": len(tabs),
            "sticky": sum(t.marker is not None and server_of(rows.get(t.marker)) == name
                          for t in tabs),
            "trained": len(starts),
            "start_median": statistics.median(starts) if starts else None,
            "start_max": max(starts) if starts else None,
            "refresh_p95": percentile(lat, 95),
            "media": (sum(t.r.media_fetched for t in tabs), sum(t.r.media_failed for t in tabs)),
        }
    victims = [lr for lr in learners if lr.first.server == out.victim]
    others = [lr for lr in learners if lr.first.server != out.victim]
    again_rows = recorded(store, [lr.again.marker for lr in victims
                                  if lr.again is not None and lr.again.marker])
    notes = [lr.again.lost_note() for lr in victims if lr.again is not None]
    to_note = [t - out.t_stop for t, _ in filter(None, notes)]
    to_episode = [lr.again.t_press + lr.again.r.start_to_first_episode_s - out.t_stop
                  for lr in victims if lr.again is not None and lr.again.t_press is not None
                  and lr.again.r.start_to_first_episode_s is not None]
    everything = store.runs(all_classes=True)
    lesson_ids = set(rows) | set(again_rows)
    statuses: dict[str, int] = {}
    for r in everything:
        if r.run_id in lesson_ids:
            statuses[r.status] = statuses.get(r.status, 0) + 1
    return {
        "per_server": per_server,
        "victim": out.victim,
        "victim_tabs": len(victims),
        "victim_dropped": sum(lr.first.r.error is not None for lr in victims),
        "victim_noted": len(to_note),
        "victim_note_example": next((a for _, a in filter(None, notes)), None),
        "victim_moved_to": sorted({server_of(r) or "?" for r in again_rows.values()}),
        "victim_trained_again": len(to_episode),
        "stop_to_note": (statistics.median(to_note), max(to_note)) if to_note else None,
        "stop_to_episode": (statistics.median(to_episode), max(to_episode))
        if to_episode else None,
        "others": len(others),
        "others_dropped": sum(lr.first.r.error is not None or lr.again is not None
                              for lr in others),
        "others_grew": sum(lr.first.r.episodes > out.episodes_at_stop.get(lr.first.r.index, 0)
                           for lr in others),
        "interrupted": sum(1 for lr in victims if lr.first.marker and
                           (rec := store.get(lr.first.marker)) is not None
                           and rec.status == "interrupted"),
        "marked_after": marked_after,
        "statuses": statuses,
        "exceptions": sum(len(lr.first.r.exceptions) + (len(lr.again.r.exceptions)
                                                         if lr.again else 0) for lr in learners),
    }


def wait_marked(store, out: Outcome, timeout: float) -> float | None:
    """Seconds from the stop until every run of the stopped server's tabs reads
    ``interrupted`` in the database (None: not within ``timeout``)."""
    ids = [lr.first.marker for lr in out.learners
           if lr.first.server == out.victim and lr.first.marker]
    deadline = time.monotonic() + timeout
    while True:
        got = [store.get(rid) for rid in ids]
        if ids and all(r is not None and r.status == "interrupted" for r in got):
            return time.monotonic() - out.t_stop
        if time.monotonic() > deadline:
            return None
        time.sleep(0.5)


def _s(x, digits: int = 1) -> str:
    return "–" if x is None else f"{x:,.{digits}f}"


def _ms(x) -> str:
    return "–" if x is None else f"{1000 * x:,.0f} ms"


def report(s: dict, args, where: str) -> str:
    ps = s["per_server"]
    head = ["measure", *NAMES]
    rows = [
        ["tabs (HAProxy's cookie)", *[str(ps[n]["tabs"]) for n in NAMES]],
        ["sticky: the tab's run recorded by the server its cookie names",
         *[f"{ps[n]['sticky']} of {ps[n]['tabs']}" for n in NAMES]],
        ["frame images loaded / not found (with the tab's cookie)",
         *[f"{ps[n]['media'][0]} / {ps[n]['media'][1]}" for n in NAMES]],
        ["runs that trained (an episode shown)", *[str(ps[n]["trained"]) for n in NAMES]],
        ["Start to first episode: median / max",
         *[f"{_s(ps[n]['start_median'])} s / {_s(ps[n]['start_max'])} s" for n in NAMES]],
        ["live-refresh latency p95", *[_ms(ps[n]["refresh_p95"]) for n in NAMES]],
    ]
    v = s["victim"]
    after = [
        [f"{v}'s tabs: connection dropped", f"{s['victim_dropped']} of {s['victim_tabs']}"],
        ["... reconnected to (the run's server in the database)",
         ", ".join(s["victim_moved_to"]) or "–"],
        ["... saw the page say their run was cut off / interrupted",
         f"{s['victim_noted']} of {s['victim_tabs']}"],
        ["... stop to that note: median / max",
         "–" if s["stop_to_note"] is None else
         f"{_s(s['stop_to_note'][0])} s / {_s(s['stop_to_note'][1])} s"],
        ["... pressed Start again and trained", f"{s['victim_trained_again']} of "
                                               f"{s['victim_tabs']}"],
        ["... stop to the new run's first episode: median / max",
         "–" if s["stop_to_episode"] is None else
         f"{_s(s['stop_to_episode'][0])} s / {_s(s['stop_to_episode'][1])} s"],
        [f"{v}'s runs recorded interrupted", f"{s['interrupted']} of {s['victim_tabs']}"
         + ("" if s["marked_after"] is None else
            f" ({_s(s['marked_after'])} s after the stop)")],
        ["the other server's tabs: connection dropped", f"{s['others_dropped']} of "
                                                        f"{s['others']}"],
        ["... runs still adding episodes after the stop", f"{s['others_grew']} of "
                                                          f"{s['others']}"],
        ["the lesson's runs in the database, by status (what the board lists)",
         ", ".join(f"{k} {n}" for k, n in sorted(s["statuses"].items())) or "–"],
        ["page exceptions (all sessions)", str(s["exceptions"])],
    ]
    out = [f"### Two app servers behind HAProxy: {args.sessions} tabs, then {v} stopped "
           f"({args.signal})", "", where, "", table(head, rows), "",
           f"### After {v} stopped", "", table(["measure", "value"], after)]
    if s["victim_note_example"]:
        out += ["", f"What a tab of {v} read: \"{s['victim_note_example']}\""]
    return "\n".join(out)


def browser_check(deployment: Deployment, sig: int, timeout: float = 90.0) -> list[list[str]]:
    """One real Chromium tab (Debian's, through Playwright): open Train, press Start, stop the
    tab's server, and time what the page shows until it reads the note. Rows for the report."""
    from playwright.sync_api import sync_playwright

    rows: list[list[str]] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(timeout * 1000)
            page.goto(f"{deployment.url}/train?max_episodes=20000")
            page.get_by_role("button", name="Start").first.click()
            page.get_by_text("Episodes").first.wait_for()
            time.sleep(3)
            cookie = {c["name"]: c["value"] for c in page.context.cookies()}.get(COOKIE)
            rows.append(["the tab's server (cookie) / URL", f"{cookie} / "
                         f"`{urllib.parse.urlsplit(page.url).query}`"])
            t = time.monotonic()
            deployment.stop_server(cookie, sig)
            seen: dict[str, float] = {}
            while time.monotonic() - t < timeout:
                text = page.inner_text("body")
                for what in ("Connecting", "Connection error", "cut off", "was interrupted"):
                    if what in text and what not in seen:
                        seen[what] = time.monotonic() - t
                if "cut off" in text or "was interrupted" in text:
                    break
                time.sleep(0.2)
            for what, after in seen.items():
                rows.append([f"the page showed \"{what}\"", f"{after:.1f} s after the stop"])
            cookie2 = {c["name"]: c["value"] for c in page.context.cookies()}.get(COOKIE)
            rows.append(["the tab's cookie afterwards / URL", f"{cookie2} / "
                         f"`{urllib.parse.urlsplit(page.url).query}`"])
        finally:
            browser.close()
    return rows


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sessions", type=int, default=60, help="tabs (default 60)")
    p.add_argument("--ramp", type=float, default=30.0,
                   help="seconds over which the tabs open (default 30)")
    p.add_argument("--before", type=float, default=20.0,
                   help="seconds after every run progressed before the stop (default 20)")
    p.add_argument("--after", type=float, default=20.0,
                   help="seconds to watch after the stopped server's tabs train again")
    p.add_argument("--signal", choices=("kill", "term"), default="kill",
                   help="how app1 stops: kill (a crash, default) or term (a shutdown)")
    p.add_argument("--heartbeat", type=float, default=5.0,
                   help="PGLAB_HEARTBEAT_SECONDS of both servers (default 5; the app's: 20)")
    p.add_argument("--stale", type=float, default=20.0,
                   help="PGLAB_STALE_SECONDS of both servers (default 20; the app's: 90)")
    p.add_argument("--runs", choices=("hosts", "threads"), default="hosts",
                   help="PGLAB_RUNS of both servers (default hosts, as deployed)")
    p.add_argument("--path", default="train?max_episodes=20000",
                   help="the page each tab opens (default: Train with the longest budget, so "
                        "runs last the lesson)")
    p.add_argument("--browser", action="store_true",
                   help="instead of the emulated tabs: one real Chromium tab (Playwright, "
                        "Debian's /usr/bin/chromium), its server stopped; what the page shows")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: 4 tabs, 2 s ramp, 3 s before and after, threads")
    args = p.parse_args(argv)
    if args.quick:
        args.sessions, args.ramp, args.before, args.after = 4, 2.0, 3.0, 3.0
        args.runs, args.heartbeat, args.stale = "threads", 0.5, 3.0
    if args.sessions < 2 or args.ramp < 0 or args.before < 0 or args.after < 0:
        p.error("--sessions must be >= 2 and --ramp, --before, --after >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from deploy.pgserver import PostgresUnavailable
    from pgcore.store.history import RunStore

    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    sig = signal.SIGKILL if args.signal == "kill" else signal.SIGTERM
    try:
        env = {"PGLAB_RUNS": args.runs}
        if args.runs == "threads":  # every tab's run at once, as run hosts do
            env["PGLAB_MAX_RUNS"] = str(args.sessions)
        deployment = Deployment(env=env, heartbeat=args.heartbeat, stale=args.stale)
    except PostgresUnavailable as exc:
        print(f"bench_deploy: {exc}", file=sys.stderr)
        return 2
    log("starting PostgreSQL, two app servers and HAProxy")
    try:
        deployment.start()
        if args.browser:
            log("one Chromium tab; its server will be stopped")
            rows = browser_check(deployment, sig)
            print(f"### One Chromium tab, its server stopped ({args.signal})\n")
            print(table(["what", "when"], rows))
            return 0
        log(f"{args.sessions} tabs through {deployment.url} over {args.ramp:g} s")
        out = asyncio.run(lesson_with_a_stop(deployment, args.sessions, ramp=args.ramp,
                                             before=args.before, after=args.after, sig=sig,
                                             path=args.path))
        store = RunStore(deployment.db_url, stale_after=3600)
        log("waiting for the stopped server's runs to be marked interrupted")
        marked = wait_marked(store, out, timeout=args.stale + 4 * args.heartbeat + 30)
        s = summarize(out, store, marked)
        with open("/proc/loadavg") as f:
            load = f.read().split()[0]
        where = (f"`deploy/run.py`'s deployment on this machine: PostgreSQL, app1 and app2 "
                 f"(PGLAB_RUNS={args.runs}, heartbeat {args.heartbeat:g} s, stale after "
                 f"{args.stale:g} s), HAProxy; {stamp}; load average {load} at the end.")
        print(report(s, args, where))
        store.dispose()
        return 0
    except RuntimeError as exc:
        print(f"bench_deploy: {exc}", file=sys.stderr)
        return 2
    finally:
        deployment.close()


if __name__ == "__main__":
    sys.exit(main())
