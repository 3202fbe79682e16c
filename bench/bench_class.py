"""A class on one server: N emulated browser tabs open the Train page and press Start.

What a teacher's lesson does to one ``streamlit run app.py`` server: ``--sessions`` (30)
learners open ``/train`` one after another over ``--ramp`` (20) seconds, each pressing
**Start** as soon as the page has drawn its button, keep their tabs open until ``--hold``
(120) seconds after the ramp, then all close their tabs at once.
Nothing here runs a browser (30 Chromiums would eat the two cores being measured): each tab
is a websocket client that speaks Streamlit's own protocol on ``/_stcore/stream``, the way the
frontend does it (read from Streamlit's frontend bundle):

* connect, then send a ``BackMsg.rerun_script`` with ``page_name="train"`` (the URL path), an
  empty ``page_script_hash`` and the query string, as a browser's first load does;
* read the ``ForwardMsg`` stream: the ``navigation`` message gives the page's script hash (sent
  with every later rerun), the deltas give the Start button's widget id (key ``ctl.start``);
* press Start: a rerun with that widget's ``trigger_value``;
* for every ``auto_rerun`` message (a fragment's ``run_every``: the live panel's 0.5 s, the
  sidebar's status), send a fragment rerun (``fragment_id``, ``is_auto_rerun``) on a fixed
  interval, like the frontend's ``setInterval``, cleared by a full-page run or a
  ``stop_auto_rerun``; cacheable messages are kept and their hashes sent back
  (``cached_message_hashes``), and the frame images are fetched from ``/media``, as a tab does.

Measured, per tab and over the class:

* **sessions whose runs progressed**: the live panel's "Episodes" number (its ``st.html``
  metrics element) reached 1 or more after Start;
* **Start to first episode**: from sending the Start press to receiving the first delta that
  shows Episodes >= 1 (median, max; a tab that never got there counts as "never");
* **live-refresh latency**: for every fragment-rerun request a tab sends for the live panel,
  the time until the end (``script_finished``) of the first run of that fragment (or of the
  whole page) that *began* (its ``new_session``) after the request was sent, i.e. how long a
  learner waits for a refresh that reflects "now", queueing in the server included. Requests
  that a busy server folded into one run share its end. p50 / p95 over all tabs; requests
  still unanswered when the tabs close are counted too, with their age then (a lower bound),
  and their number is shown. Also the cadence: the median time between two live refreshes a
  tab received (configured: the fragment's ``run_every``);
* **page exceptions**: ``exception`` elements in any delta (and websocket errors: a tab whose
  connection dropped);
* **server memory**: VmRSS summed over the server's process tree (the server and every
  process it spawned, e.g. training workers), sampled every second: idle (before the first
  tab), peak, and (peak - idle) / N per session; PSS (proportional set size, shared pages
  split between processes) beside it, since RSS counts a library that workers share once per
  worker;
* **episodes per second per run**: from the Episodes numbers a tab saw, between the first
  and the last it saw, median [min-max] over the runs that progressed (and the class total);
* **CPU back to idle**: after all tabs close, the seconds until the server tree's CPU use
  stays below 5% of one core for 5 s (1-second samples; up to ``--idle-wait``).

The targets of issue 12 (at N = 30 on 2 cores) are printed with a met / not met verdict.
The client runs in this process on the same machine, so it takes some of the CPU it
measures (its own CPU time is printed). Against a server started elsewhere use ``--url``;
its memory and CPU are read from /proc when it runs on this machine (``--pid``, or found by
the port it listens on).

Usage::

    python bench/bench_class.py                           # 30 tabs, 20 s ramp, 120 s hold
    python bench/bench_class.py --sessions 10 --hold 60
    python bench/bench_class.py --url http://127.0.0.1:8501 --json class.json
    python bench/bench_class.py --quick                   # smoke test: 3 tabs, 25 s
    # side by side, each case on a fresh server: 30/60/100 tabs on the defaults, and 30 tabs
    # on the defaults / on distinct seeds / on an experiment page, before against after
    git archive 0caffb5 | tar -x -C /tmp/before
    python bench/bench_class.py --suite all --before /tmp/before
    python bench/bench_class.py --suite sharing --scale 0.1 --hold 60   # small, to try it

Unless ``--url`` is given it starts ``streamlit run app.py`` on a free port with the app's
own settings (``PGLAB_MAX_RUNS`` only if ``--max-runs`` is given) and its run history in a
temporary database (unless ``PGLAB_DB_URL`` is set).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import free_port, load_average, log, stop_server, wait_for_streamlit  # noqa: E402
from common import markdown_table as table  # noqa: E402

TARGETS = {  # issue 12, at N = 30 on 2 cores
    "start_to_first_episode_s": 10.0,  # every session shows progress within 10 s of Start
    "refresh_p95_s": 1.0,
    "exceptions": 0,
    "memory_total_mb": 2.7 * 1024,
    "idle_after_close_s": 30.0,
}
IDLE_CPU = 0.05  # "idle": below 5% of one core ...
IDLE_HOLD = 5.0  # ... for this many seconds in a row
START_KEY = "ctl.start"
_EPISODES = re.compile(r'data-label="Episodes"[^>]*>.*?class="pg-value">([^<]*)<', re.S)
_EXP_EPISODES = re.compile(r"runs done · ([\d,]+) episodes")  # an experiment page's status
_STEPS = re.compile(r"([\d,]+) env steps")
_WAITING = "Waiting for a free training slot"
_BADGE = re.compile(r":\w+-badge\[(?::material/\w+: )?([^\]]+)\]")


def tab_path(path: str, i: int) -> str:
    """``path`` with a seed of tab ``i``'s own (1000 + i), added to its query string.

    >>> tab_path("train", 3), tab_path("train?algo=a2c", 0)
    ('train?seed=1003', 'train?algo=a2c&seed=1000')
    """
    return f"{path}{'&' if '?' in path else '?'}seed={1000 + i}"


def percentile(values, q: float) -> float | None:
    """The q-th percentile (0-100, linear interpolation); None for no values."""
    xs = sorted(values)
    if not xs:
        return None
    k = (len(xs) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


# ----- the server and its process tree -------------------------------------------------------


class Server:
    """``streamlit run app.py`` on a free port, in its own process (stopped by ``close``)."""

    def __init__(self, max_runs: int | None = None, startup_timeout: float = 90.0,
                 app_dir: Path = ROOT, env: dict[str, str] | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="bench_class_", suffix=".log",
                                               delete=False)
        env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "PYGAME_HIDE_SUPPORT_PROMPT": "1",
               **(env or {})}
        self._db_dir = None
        if "PGLAB_DB_URL" not in env:  # never write the bench's runs into data/runs.sqlite
            self._db_dir = tempfile.TemporaryDirectory(prefix="bench_class_db_")
            env["PGLAB_DB_URL"] = f"sqlite:///{self._db_dir.name}/runs.sqlite"
        if max_runs is not None:
            env["PGLAB_MAX_RUNS"] = str(max_runs)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(self.port), "--server.address", "127.0.0.1"],
            cwd=app_dir, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        try:
            wait_for_streamlit(self.proc, self.url, startup_timeout)
        except RuntimeError as exc:
            self.close(keep_log=True)
            raise RuntimeError(f"{exc}; see {self.log.name}") from None

    def close(self, keep_log: bool = False) -> None:
        """Stop the server; its log is removed unless ``keep_log``."""
        stop_server(self.proc)
        if self._db_dir is not None:
            self._db_dir.cleanup()
        self.log.close()
        if not keep_log:
            Path(self.log.name).unlink(missing_ok=True)


def pid_listening_on(port: int) -> int | None:
    """The pid of the process (of this user) listening on TCP ``port`` on this machine."""
    inodes = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    local, state, inode = parts[1], parts[3], parts[9]
                    if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                        inodes.add(f"socket:[{inode}]")
        except OSError:
            continue
    if not inodes:
        return None
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                    return int(pid)
        except OSError:
            continue
    return None


def process_tree(root: int) -> list[int]:
    """``root`` and all its live descendants (from each process's parent in /proc)."""
    children: dict[int, list[int]] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(pid))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def _read_kb(path: str, key: str) -> int:
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_ticks(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return None


@dataclass
class Sample:
    t: float  # seconds on the bench's clock
    rss_mb: float
    pss_mb: float
    cpu_cores: float  # CPU used since the previous sample, in cores (1.0 = one core busy)
    server_cores: float  # of which the server process itself (the rest: its children)
    processes: int


class TreeMonitor:
    """Samples the server tree's memory and CPU every ``every`` seconds in a thread."""

    def __init__(self, root: int, clock, every: float = 1.0):
        self.root, self.clock, self.every = root, clock, every
        self.samples: list[Sample] = []
        self._ticks: dict[int, int] = {}
        self._hz = os.sysconf("SC_CLK_TCK")
        self._stop = threading.Event()
        self._last = None
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> TreeMonitor:
        self.sample()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def sample(self) -> Sample | None:
        t = self.clock()
        pids = process_tree(self.root)
        ticks = {p: v for p in pids if (v := _cpu_ticks(p)) is not None}
        if self.root not in ticks:
            return None  # the server is gone
        used = sum(v - self._ticks[p] for p, v in ticks.items() if p in self._ticks)
        # a process born since the last sample: all its CPU time is since then
        used += sum(v for p, v in ticks.items() if p not in self._ticks and self._last)
        own = ticks[self.root] - self._ticks.get(self.root, ticks[self.root])
        cores = used / self._hz / (t - self._last) if self._last else 0.0
        own_cores = own / self._hz / (t - self._last) if self._last else 0.0
        rss = sum(_read_kb(f"/proc/{p}/status", "VmRSS:") for p in ticks) / 1024
        pss = sum(_read_kb(f"/proc/{p}/smaps_rollup", "Pss:") for p in ticks) / 1024
        self._ticks, self._last = ticks, t
        s = Sample(t, rss, pss, cores, own_cores, len(ticks))
        self.samples.append(s)
        return s

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            if self.sample() is None:
                return


def idle_after(samples: list[Sample], t_close: float, threshold: float = IDLE_CPU,
               hold: float = IDLE_HOLD) -> float | None:
    """Seconds from ``t_close`` until the CPU stays below ``threshold`` cores for ``hold``
    seconds (the start of the first such quiet stretch); None if it never does."""
    after = [s for s in samples if s.t > t_close]
    quiet_since = None
    for s in after:
        if s.cpu_cores < threshold:
            # the sample covers the second before it: the quiet stretch began then
            start = max(t_close, s.t - 1.0)
            quiet_since = start if quiet_since is None else quiet_since
            if s.t - quiet_since >= hold:
                return quiet_since - t_close
        else:
            quiet_since = None
    return None


# ----- one emulated browser tab --------------------------------------------------------------


@dataclass
class TabResult:
    """What one tab saw (times in seconds; relative ones from the tab's Start press)."""

    index: int
    connected: bool = False
    page_load_s: float | None = None  # connect -> the Train page fully drawn (None: never)
    pressed: bool = False
    start_to_first_episode_s: float | None = None
    episodes: int = 0  # the last Episodes number shown
    env_steps: int = 0
    episodes_per_s: float | None = None
    env_steps_per_s: float | None = None
    states: list[str] = field(default_factory=list)  # the run's badges, in order seen
    waited: bool = False  # "Waiting for a free training slot" shown at least once
    refreshes: int = 0  # live-panel runs received
    refresh_latencies_s: list[float] = field(default_factory=list)
    unanswered_ages_s: list[float] = field(default_factory=list)  # at close: lower bounds
    refresh_intervals_s: list[float] = field(default_factory=list)
    unanswered_requests: int = 0
    exceptions: list[str] = field(default_factory=list)
    error: str | None = None
    messages: int = 0  # ForwardMsgs received, and their bytes
    bytes: int = 0
    last_message_s: float | None = None  # when the last one came (from the Start press)
    runs_started: int = 0  # script runs (full or fragment) the server began for this tab
    runs_finished: int = 0  # ... and finished
    runs_cut_short: int = 0  # ... and ended early for a newer rerun (FINISHED_EARLY_FOR_RERUN)
    cache_misses: int = 0  # ref_hash messages for a message this client no longer had
    media_fetched: int = 0
    media_failed: int = 0
    timeline: list[tuple[float, int, int]] = field(default_factory=list)  # (s, eps, steps)


def rerun_msg(*, url: str, page_name: str = "", page_hash: str = "", query: str = "",
              fragment_id: str = "", auto: bool = False, triggers=(), cached=()) -> bytes:
    """A ``BackMsg.rerun_script`` as the frontend's ``sendRerunBackMsg`` builds it."""
    from streamlit.proto.BackMsg_pb2 import BackMsg

    msg = BackMsg()
    rs = msg.rerun_script
    rs.query_string = query
    rs.page_name = page_name
    rs.page_script_hash = page_hash
    rs.fragment_id = fragment_id
    rs.is_auto_rerun = auto
    for wid in triggers:
        w = rs.widget_states.widgets.add()
        w.id = wid
        w.trigger_value = True
    rs.cached_message_hashes.extend(cached)
    ci = rs.context_info
    ci.timezone, ci.timezone_offset, ci.locale, ci.url = "UTC", 0, "en-US", url
    ci.color_scheme = "light"
    return msg.SerializeToString()


class Tab:
    """One learner's tab: open the page, press Start, keep it open, close it."""

    def __init__(self, index: int, base_url: str, path: str, clock,
                 media: ThreadPoolExecutor | None, start_key: str = START_KEY):
        self.r = TabResult(index)
        self.start_key = start_key
        self.base_url, self.clock, self.media = base_url.rstrip("/"), clock, media
        parts = urllib.parse.urlsplit(path)
        self.page_name, self.query = parts.path.strip("/"), parts.query
        self.page_url = f"{self.base_url}/{path.lstrip('/')}"
        self.ws = None
        self.headers: dict[str, str] = {}  # sent with every request (e.g. a sticky cookie)
        self.page_hash = ""
        self.start_id: str | None = None
        self.page_ready = asyncio.Event()
        self.t_connect = self.t_press = None
        self.timers: dict[str, tuple[float, asyncio.Task]] = {}
        # the frontend's ForwardMsgCache: hash -> [run count when last used, fragment id, msg]
        self.cache: dict[str, list] = {}
        self.runs_done = 0
        self.max_cache_age = 2
        self.outstanding: dict[str, deque] = {}  # fragment id -> request send times
        self.answering: dict[str, list[tuple[str, list[float]]]] = {}  # run id -> requests
        self.run_fids: tuple[str, ...] = ()  # fragments of the run being received (): full
        self.run_id = ""
        # the live panel's fragment ids (found by content; a new run_every is a new id)
        self.live_fids: set[str] = set()
        self.latency: dict[str, list[float]] = {}
        self.finishes: dict[str, list[float]] = {}
        self._first_seen: tuple[float, int, int] | None = None

    # -- sending

    async def _send(self, **kw) -> None:
        cached = list(self.cache)
        await self.ws.send(rerun_msg(url=self.page_url, query=self.query, cached=cached, **kw))

    async def _auto_rerun(self, fid: str, interval: float) -> None:
        """The frontend's ``setInterval``: a request every ``interval`` s, answered or not."""
        from websockets.exceptions import ConnectionClosed

        nxt = self.clock() + interval
        while True:
            await asyncio.sleep(max(0.0, nxt - self.clock()))
            nxt += interval
            sent = self.clock()
            try:
                await self._send(page_hash=self.page_hash, fragment_id=fid, auto=True)
            except ConnectionClosed:
                return  # the reader records why
            # recorded once sent: a timer cancelled mid-send (its fragment gone) asked nothing
            self.outstanding.setdefault(fid, deque()).append(sent)

    def _clear_timers(self, fids=None) -> None:
        for fid in list(self.timers if fids is None else fids):
            item = self.timers.pop(fid, None)
            if item is not None:
                item[1].cancel()

    # -- the session

    async def run(self, connect_at: float, leave_at: float) -> TabResult:
        from websockets.asyncio.client import connect

        await asyncio.sleep(max(0.0, connect_at - self.clock()))
        ws_url = self.base_url.replace("http", "ws", 1) + "/_stcore/stream"
        reader = None
        try:
            self.t_connect = self.clock()
            async with connect(ws_url, subprotocols=["streamlit"], origin=self.base_url,
                               max_size=None, open_timeout=60, ping_interval=None,
                               close_timeout=5, additional_headers=self.headers) as ws:
                self.ws, self.r.connected = ws, True
                await self._send(page_name=self.page_name)
                reader = asyncio.create_task(self._read())
                remaining = leave_at - self.clock()
                ready = asyncio.create_task(self.page_ready.wait())
                await asyncio.wait({ready, reader}, timeout=max(0.0, remaining),
                                   return_when=asyncio.FIRST_COMPLETED)
                ready.cancel()
                if self.page_ready.is_set() and self.start_id is not None:
                    self.t_press = self.clock()
                    self.r.pressed = True
                    await self._send(page_hash=self.page_hash, triggers=[self.start_id])
                await asyncio.wait({reader}, timeout=max(0.0, leave_at - self.clock()))
                self._clear_timers()
                reader.cancel()
        except Exception as exc:  # a dropped or refused connection is a result, not a crash
            self.r.error = self.r.error or f"{type(exc).__name__}: {exc}"
        finally:
            self._clear_timers()
            if reader is not None:
                reader.cancel()
        self._finish()
        return self.r

    async def _read(self) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        from websockets.exceptions import ConnectionClosed

        try:
            async for data in self.ws:
                msg = ForwardMsg()
                msg.ParseFromString(data)
                self.r.messages += 1
                self.r.bytes += len(data)
                if self.t_press is not None:
                    self.r.last_message_s = round(self.clock() - self.t_press, 3)
                await self._handle(msg)
        except ConnectionClosed as exc:
            self.r.error = self.r.error or f"connection closed by the server: {exc}"
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.r.error = self.r.error or f"{type(exc).__name__}: {exc}"

    async def _handle(self, msg) -> None:
        now = self.clock()
        kind = msg.WhichOneof("type")
        if kind == "ref_hash":
            entry = self.cache.get(msg.ref_hash)
            if entry is None:  # the frontend would fail here too ("Cached ForwardMsg MISS")
                self.r.cache_misses += 1
                return
            entry[0] = self.runs_done
            full = type(msg)()
            full.CopyFrom(entry[2])
            full.metadata.CopyFrom(msg.metadata)  # where it goes this time
            msg, kind = full, "delta"
        elif msg.metadata.cacheable and msg.hash:
            if msg.hash in self.cache:
                self.cache[msg.hash][0] = self.runs_done
            else:
                self.cache[msg.hash] = [self.runs_done, msg.delta.fragment_id, msg]
        if kind == "new_session":
            run = msg.metadata.run
            self.run_id = run.script_run_id
            self.run_fids = tuple(run.fragment_ids)
            self.r.runs_started += 1
            if not self.run_fids:
                self._clear_timers()  # the frontend's cleanupAutoReruns on a full run
                self.max_cache_age = msg.new_session.config.max_cached_message_age or 2
            # this run answers every request sent before it began for its fragments (a full
            # run: for every fragment, since it redraws them all)
            for fid in self.run_fids or list(self.outstanding):
                waiting = self.outstanding.get(fid)
                if waiting:
                    self.answering.setdefault(self.run_id, []).append((fid, list(waiting)))
                    waiting.clear()
        elif kind == "navigation":
            self.page_hash = msg.navigation.page_script_hash
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            path = msg.metadata.delta_path
            self._element(msg.delta.new_element, now, main=bool(path) and path[0] == 0)
        elif kind == "auto_rerun":
            fid, interval = msg.auto_rerun.fragment_id, msg.auto_rerun.interval
            if fid and interval > 0 and self.timers.get(fid, (None,))[0] != interval:
                self._clear_timers([fid])
                self.timers[fid] = (interval, asyncio.create_task(
                    self._auto_rerun(fid, interval)))
        elif kind == "stop_auto_rerun":
            self._clear_timers(list(msg.stop_auto_rerun.fragment_ids))
        elif kind == "script_finished":
            self._script_finished(msg, now)

    def _script_finished(self, msg, now: float) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        status = msg.script_finished
        run_id = msg.metadata.run.script_run_id or self.run_id
        fids = tuple(msg.metadata.run.fragment_ids) if msg.metadata.HasField("run") \
            else self.run_fids
        answered = self.answering.pop(run_id, [])
        if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
            self.r.runs_cut_short += 1
            for fid, sent in answered:  # not answered after all: the next run answers them
                self.outstanding.setdefault(fid, deque()).extendleft(reversed(sent))
            return
        self.runs_done += 1
        self.r.runs_finished += 1
        # the frontend's incrementRunCount: a fragment run ages only that fragment's messages
        self.cache = {h: v for h, v in self.cache.items()
                      if (fids and (not v[1] or v[1] not in fids))
                      or self.runs_done - v[0] <= self.max_cache_age}
        for fid, sent in answered:
            self.latency.setdefault(fid, []).extend(now - t for t in sent)
        for fid in fids:
            self.finishes.setdefault(fid, []).append(now)
        if not fids and not self.page_ready.is_set() and self.start_id is not None:
            self.r.page_load_s = now - self.t_connect
            self.page_ready.set()

    def _element(self, el, now: float, main: bool) -> None:
        """Read one element; ``main``: in the page's main area (not the sidebar, whose own
        status badge and fragment are not the live panel)."""
        kind = el.WhichOneof("type")
        if kind == "button" and el.button.id.endswith(f"-{self.start_key}"):
            self.start_id = el.button.id
        elif kind == "markdown" and main and (m := _EXP_EPISODES.search(el.markdown.body)):
            # an experiment page: its status line counts every run's episodes
            if len(self.run_fids) == 1:
                self.live_fids.add(self.run_fids[0])
            self.r.episodes = int(m.group(1).replace(",", ""))
            self._progress(now)
        elif kind == "html" and main and 'data-label="Episodes"' in el.html.body:
            if len(self.run_fids) == 1:  # a run of this fragment alone: it is the panel
                self.live_fids.add(self.run_fids[0])
            m = _EPISODES.search(el.html.body)
            text = m.group(1).replace(",", "").strip() if m else ""
            self.r.episodes = int(text) if text.isdigit() else 0
        elif kind == "progress" and main:  # drawn right after the metrics: one reading
            m = _STEPS.search(el.progress.text)
            if m:
                self.r.env_steps = int(m.group(1).replace(",", ""))
            self._progress(now)
        elif kind == "markdown" and main:
            m = _BADGE.search(el.markdown.body)
            if m and (not self.r.states or self.r.states[-1] != m.group(1)):
                self.r.states.append(m.group(1))
        elif kind == "alert" and _WAITING in el.alert.body:
            self.r.waited = True
        elif kind == "exception":
            e = el.exception
            self.r.exceptions.append(f"{e.type}: {e.message}".strip(": ")[:300])
        elif kind == "imgs" and self.media is not None:
            for img in el.imgs.imgs:
                if img.url.startswith("/media/"):
                    self.media.submit(self._fetch, self.base_url + img.url)

    def _fetch(self, url: str) -> None:
        try:
            req = urllib.request.Request(url, headers=self.headers)
            with urllib.request.urlopen(req, timeout=30) as r:
                r.read()
            self.r.media_fetched += 1
        except OSError:
            self.r.media_failed += 1

    def _progress(self, now: float) -> None:
        if self.t_press is None:
            return
        rel = now - self.t_press
        eps = self.r.episodes
        if eps >= 1 and self.r.start_to_first_episode_s is None:
            self.r.start_to_first_episode_s = rel
        if eps >= 1 and self._first_seen is None:
            self._first_seen = (rel, eps, self.r.env_steps)
        if not self.r.timeline or self.r.timeline[-1][1:] != (eps, self.r.env_steps):
            self.r.timeline.append((round(rel, 3), eps, self.r.env_steps))

    def _finish(self) -> None:
        r = self.r
        live = self.live_fids
        if live:
            r.refresh_latencies_s = [round(x, 4) for fid in live
                                     for x in self.latency.get(fid, [])]
            done = sorted(t for fid in live for t in self.finishes.get(fid, []))
            r.refreshes = len(done)
            r.refresh_intervals_s = [round(b - a, 4)
                                     for a, b in zip(done[:-1], done[1:], strict=True)]
            now = self.clock()
            pending = [t for fid in live for t in self.outstanding.get(fid, ())] + [
                t for pairs in self.answering.values() for fid, sent in pairs if fid in live
                for t in sent]
            r.unanswered_requests = len(pending)
            r.unanswered_ages_s = [round(now - t, 4) for t in pending]
        if self._first_seen is not None and r.timeline:
            t0, e0, s0 = self._first_seen
            t1, e1, s1 = r.timeline[-1]
            if t1 > t0:
                r.episodes_per_s = (e1 - e0) / (t1 - t0)
                r.env_steps_per_s = (s1 - s0) / (t1 - t0)


# ----- the class -----------------------------------------------------------------------------


async def run_class(url: str, path: str, n: int, ramp: float, hold: float, clock,
                    media: bool, start_key: str = START_KEY,
                    distinct: bool = False) -> tuple[list[TabResult], float]:
    """Open ``n`` tabs spread over ``ramp`` s; all leave at ramp + hold. Returns the results
    and the time (on ``clock``) at which the last tab had closed. ``distinct``: tab i opens
    ``path`` with ``seed=1000 + i`` (a setup of its own) instead of the page's default."""
    pool = ThreadPoolExecutor(max_workers=4) if media else None
    t0 = clock()
    leave_at = t0 + ramp + hold
    tabs = [Tab(i, url, tab_path(path, i) if distinct else path, clock, pool, start_key)
            for i in range(n)]
    step = ramp / n if n else 0.0
    tasks = [asyncio.create_task(tab.run(t0 + i * step, leave_at)) for i, tab in
             enumerate(tabs)]

    async def report() -> None:
        while True:
            await asyncio.sleep(10)
            up = sum(t.r.connected for t in tabs)
            going = sum(t.r.start_to_first_episode_s is not None for t in tabs)
            log(f"  t={clock() - t0:5.0f} s: {up} tabs connected, {going} runs progressed, "
                f"{sum(t.r.episodes for t in tabs):,} episodes shown in all")

    reporter = asyncio.create_task(report())
    results = await asyncio.gather(*tasks)
    reporter.cancel()
    closed = clock()
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)
    return list(results), closed


@dataclass
class Summary:
    sessions: int
    connected: int
    pressed: int
    progressed: int
    waited: int
    finished: int
    start_median_s: float | None
    start_max_s: float | None  # over the tabs that progressed
    never: int  # pressed Start, never saw an episode
    page_load_median_s: float | None
    page_load_max_s: float | None
    page_not_drawn: int  # tabs whose Train page never finished drawing (so never pressed)
    refresh_p50_s: float | None
    refresh_p95_s: float | None
    refresh_max_s: float | None
    refresh_count: int  # answered refresh requests
    unanswered: int  # requests unanswered at close (in the percentiles with their age)
    cadence_median_s: float | None
    runs_started: int  # script runs (full and fragment) the server began, all tabs
    runs_finished: int
    runs_cut_short: int
    exceptions: int
    exception_messages: list[str]
    errors: int
    error_messages: list[str]
    cache_misses: int  # this client's, not the server's: see TabResult.cache_misses
    eps_median: float | None
    eps_min: float | None
    eps_max: float | None
    eps_total: float
    steps_median: float | None
    mem_idle_mb: float | None
    mem_peak_mb: float | None
    mem_per_session_mb: float | None
    pss_idle_mb: float | None
    pss_peak_mb: float | None
    processes_peak: int | None
    cpu_mean_cores: float | None
    server_cpu_mean_cores: float | None  # the server process alone
    idle_after_s: float | None
    idle_wait_s: float
    client_cpu_s: float


def summarize(results: list[TabResult], samples: list[Sample] | None, t_first: float,
              t_close: float, idle_wait: float, client_cpu: float) -> Summary:
    pressed = [r for r in results if r.pressed]
    going = [r for r in pressed if r.start_to_first_episode_s is not None]
    starts = [r.start_to_first_episode_s for r in going]
    loads = [r.page_load_s for r in results if r.page_load_s is not None]
    lat = [x for r in results for x in r.refresh_latencies_s + r.unanswered_ages_s]
    cadence = [x for r in results for x in r.refresh_intervals_s]
    eps = [r.episodes_per_s for r in going if r.episodes_per_s is not None]
    steps = [r.env_steps_per_s for r in going if r.env_steps_per_s is not None]
    excs = [x for r in results for x in r.exceptions]
    errs = [f"tab {r.index}: {r.error}" for r in results if r.error]
    hold_s = [s for s in samples or [] if t_first <= s.t <= t_close]
    idle_s = [s for s in samples or [] if s.t <= t_first]
    mem_idle = idle_s[-1].rss_mb if idle_s else None
    mem_peak = max((s.rss_mb for s in hold_s), default=None)
    pss_idle = idle_s[-1].pss_mb if idle_s else None
    pss_peak = max((s.pss_mb for s in hold_s), default=None)
    return Summary(
        sessions=len(results), connected=sum(r.connected for r in results),
        pressed=len(pressed), progressed=len(going),
        waited=sum(r.waited for r in pressed),
        finished=sum("finished" in r.states for r in pressed),
        start_median_s=statistics.median(starts) if starts else None,
        start_max_s=max(starts) if starts else None, never=len(pressed) - len(going),
        page_load_median_s=statistics.median(loads) if loads else None,
        page_load_max_s=max(loads) if loads else None,
        page_not_drawn=sum(r.connected and r.page_load_s is None for r in results),
        refresh_p50_s=percentile(lat, 50), refresh_p95_s=percentile(lat, 95),
        refresh_max_s=max(lat) if lat else None,
        refresh_count=sum(len(r.refresh_latencies_s) for r in results),
        unanswered=sum(r.unanswered_requests for r in results),
        cadence_median_s=statistics.median(cadence) if cadence else None,
        runs_started=sum(r.runs_started for r in results),
        runs_finished=sum(r.runs_finished for r in results),
        runs_cut_short=sum(r.runs_cut_short for r in results),
        exceptions=len(excs), exception_messages=sorted(set(excs))[:10],
        errors=len(errs), error_messages=errs[:10],
        cache_misses=sum(r.cache_misses for r in results),
        eps_median=statistics.median(eps) if eps else None,
        eps_min=min(eps) if eps else None, eps_max=max(eps) if eps else None,
        eps_total=sum(eps), steps_median=statistics.median(steps) if steps else None,
        mem_idle_mb=mem_idle, mem_peak_mb=mem_peak,
        mem_per_session_mb=(mem_peak - mem_idle) / len(results)
        if mem_peak is not None and mem_idle is not None and results else None,
        pss_idle_mb=pss_idle, pss_peak_mb=pss_peak,
        processes_peak=max((s.processes for s in hold_s), default=None),
        cpu_mean_cores=statistics.mean(s.cpu_cores for s in hold_s) if hold_s else None,
        server_cpu_mean_cores=statistics.mean(s.server_cores for s in hold_s)
        if hold_s else None,
        idle_after_s=idle_after(samples, t_close) if samples else None,
        idle_wait_s=idle_wait, client_cpu_s=client_cpu)


def _s(x: float | None, digits: int = 2) -> str:
    return "–" if x is None else f"{x:,.{digits}f}"


def _ms(x: float | None) -> str:
    return "–" if x is None else f"{1000 * x:,.0f} ms"


def _mb(x: float | None) -> str:
    return "–" if x is None else f"{x:,.0f} MB"


def verdicts(s: Summary, measured_memory: bool) -> list[list[str]]:
    """The issue's targets: [target, measured, verdict] rows."""
    def mark(ok: bool | None) -> str:
        return "not measured" if ok is None else ("met" if ok else "**not met**")

    start_ok = (s.pressed == s.sessions and s.never == 0 and s.start_max_s is not None
                and s.start_max_s <= TARGETS["start_to_first_episode_s"])
    start_text = (f"{s.progressed} of {s.sessions} progressed; max {_s(s.start_max_s, 1)} s"
                  + (f"; {s.never} never" if s.never else "")
                  + (f"; {s.sessions - s.pressed} could not press Start"
                     if s.pressed < s.sessions else ""))
    rows = [
        [f"every session shows progress within {TARGETS['start_to_first_episode_s']:.0f} s "
         "of Start", start_text, mark(start_ok)],
        [f"refresh p95 < {TARGETS['refresh_p95_s']:.0f} s", _ms(s.refresh_p95_s),
         mark(None if s.refresh_p95_s is None else
              s.refresh_p95_s < TARGETS["refresh_p95_s"])],
        ["zero exceptions", f"{s.exceptions} exceptions, {s.errors} dropped tabs",
         mark(s.exceptions + s.errors <= TARGETS["exceptions"])],
        [f"total memory < {TARGETS['memory_total_mb'] / 1024:.1f} GB (peak RSS, tree)",
         _mb(s.mem_peak_mb),
         mark(None if not measured_memory or s.mem_peak_mb is None else
              s.mem_peak_mb < TARGETS["memory_total_mb"])],
        [f"CPU idle within {TARGETS['idle_after_close_s']:.0f} s of the tabs closing",
         f"{_s(s.idle_after_s, 0)} s" if s.idle_after_s is not None
         else (f"not within {s.idle_wait_s:.0f} s" if measured_memory else "–"),
         mark(None if not measured_memory else
              s.idle_after_s is not None and s.idle_after_s <= TARGETS["idle_after_close_s"])],
    ]
    return rows


def report(s: Summary, args, where: str, measured: bool) -> str:
    per = [
        ["sessions (tabs) / connected / pressed Start", f"{s.sessions} / {s.connected} / "
                                                       f"{s.pressed}"],
        ["sessions whose runs progressed", f"{s.progressed} of {s.sessions}"],
        ["... that showed \"waiting for a free slot\" at some point", str(s.waited)],
        ["... whose run finished its budget during the hold", str(s.finished)],
        ["Start to first episode: median / max (tabs that progressed)",
         f"{_s(s.start_median_s)} s / {_s(s.start_max_s)} s"
         + (f" ({s.never} never)" if s.never else "")],
        ["page load (connect to Train page drawn): median / max",
         f"{_s(s.page_load_median_s)} s / {_s(s.page_load_max_s)} s"
         + (f" ({s.page_not_drawn} tabs never drawn)" if s.page_not_drawn else "")],
        ["live-refresh latency p50 / p95 / max",
         f"{_ms(s.refresh_p50_s)} / {_ms(s.refresh_p95_s)} / {_ms(s.refresh_max_s)} "
         f"({s.refresh_count:,} answered"
         + (f", {s.unanswered:,} unanswered at close, counted with their age"
            if s.unanswered else "") + ")"],
        ["live-refresh cadence (median time between refreshes)", _ms(s.cadence_median_s)],
        ["script runs the server began / finished / cut short or replaced unsent by a newer run",
         f"{s.runs_started:,} / {s.runs_finished:,} / {s.runs_cut_short:,}"],
        ["page exceptions", str(s.exceptions)],
        ["tabs whose connection failed or dropped", str(s.errors)],
        ["server memory: idle / peak (RSS summed over the tree)",
         f"{_mb(s.mem_idle_mb)} / {_mb(s.mem_peak_mb)} (at most {s.processes_peak or '–'} "
         "processes)"],
        ["... per session ((peak - idle) / N)", _mb(s.mem_per_session_mb)],
        ["... PSS idle / peak", f"{_mb(s.pss_idle_mb)} / {_mb(s.pss_peak_mb)}"],
        ["episodes per second per run: median [min-max]",
         f"{_s(s.eps_median, 1)} [{_s(s.eps_min, 1)}-{_s(s.eps_max, 1)}]"],
        ["... all runs together", _s(s.eps_total, 1)],
        ["env steps per second per run: median", _s(s.steps_median, 0)],
        ["server CPU during the ramp and hold (mean, cores): tree / server process alone",
         f"{_s(s.cpu_mean_cores)} / {_s(s.server_cpu_mean_cores)}"],
        ["CPU back to idle after the tabs closed (< 5% of a core for 5 s)",
         f"{_s(s.idle_after_s, 0)} s" if s.idle_after_s is not None
         else (f"not within {s.idle_wait_s:.0f} s" if measured else "–")],
        ["this client's own CPU (seconds, all tabs)", _s(s.client_cpu_s, 1)],
        ["this client's message-cache misses (should be 0)", str(s.cache_misses)],
    ]
    out = [f"### A class on one server: {s.sessions} tabs on `{args.path}`, Start spread over "
           f"{args.ramp:g} s, held {args.hold:g} s more", "", where, "",
           table(["measure", "value"], per), "",
           "### Targets (issue 12, at N = 30 on 2 cores)", "",
           table(["target", "measured", "verdict"], verdicts(s, measured))]
    if s.exception_messages:
        out += ["", "Exceptions seen: " + "; ".join(f"`{m}`" for m in s.exception_messages)]
    if s.error_messages:
        out += ["", "Connection errors: " + "; ".join(s.error_messages)]
    return "\n".join(out)


def git_state(where: Path) -> str:
    """Which code the server runs: the commit (and how many files differ from it)."""
    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=where,
                             capture_output=True, text=True, timeout=10).stdout.strip()
        if not top or Path(top).resolve() != where.resolve():
            return f"app from {where} (not a git checkout)"
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=where,
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=where,
                               capture_output=True, text=True, timeout=10).stdout
        n = len([x for x in dirty.splitlines() if x.strip()])
        return f"commit {head}" + (f" + {n} uncommitted files" if n else "")
    except (OSError, subprocess.SubprocessError):
        return f"app from {where}"


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sessions", type=int, default=30, help="browser tabs (default 30)")
    p.add_argument("--ramp", type=float, default=20.0,
                   help="seconds over which the tabs open and press Start (default 20)")
    p.add_argument("--hold", type=float, default=120.0,
                   help="seconds the tabs stay open after the ramp (default 120)")
    p.add_argument("--url", help="an already running server (default: start one)")
    p.add_argument("--pid", type=int,
                   help="with --url: the server's pid (default: found by its port)")
    p.add_argument("--path", default="train", help="the page to open (default: train)")
    p.add_argument("--app-dir", type=Path, default=ROOT,
                   help="serve app.py from this directory, e.g. an older commit exported with "
                        "`git archive` (default: this checkout)")
    p.add_argument("--max-runs", type=int,
                   help="PGLAB_MAX_RUNS for the server this script starts (default: unset)")
    p.add_argument("--idle-wait", type=float, default=60.0,
                   help="seconds to watch the CPU after the tabs close (default 60)")
    p.add_argument("--no-media", action="store_true",
                   help="do not fetch the frame images a tab would load")
    p.add_argument("--json", metavar="FILE", help="write the summary and every tab's figures")
    p.add_argument("--suite", nargs="+", choices=["scale", "sharing", "all"],
                   help="run these cases side by side, each on a fresh server, and print one "
                        "table: scale (30, 60, 100 tabs on the defaults), sharing (30 tabs on "
                        "the defaults, 30 on distinct seeds, 30 on an experiment page), all")
    p.add_argument("--scale", type=float, default=1.0,
                   help="with --suite: multiply every case's tabs by this (e.g. 0.1)")
    p.add_argument("--before", type=Path,
                   help="with --suite: also serve every case from this app directory (e.g. "
                        "`git archive 0caffb5` unpacked), before this checkout's")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: 3 tabs, 2 s ramp, 25 s hold, 15 s idle watch")
    args = p.parse_args(argv)
    if args.quick:
        args.sessions, args.ramp, args.hold, args.idle_wait = 3, 2.0, 25.0, 15.0
    if args.sessions < 1 or args.ramp < 0 or args.hold <= 0 or args.idle_wait < 0:
        p.error("--sessions must be >= 1, --ramp >= 0, --hold > 0, --idle-wait >= 0")
    if args.suite and args.url:
        p.error("--suite starts its own servers: give no --url")
    if args.before is not None and not (args.before / "app.py").is_file():
        p.error(f"--before: no app.py in {args.before}")
    if not args.scale > 0:
        p.error("--scale must be > 0")
    if not args.url and not (args.app_dir / "app.py").is_file():
        p.error(f"--app-dir: no app.py in {args.app_dir}")
    if args.url and not urllib.parse.urlsplit(args.url).scheme.startswith("http"):
        p.error(f"--url must be an http(s) URL, not {args.url!r}")
    return args


def measure(url: str, pid: int | None, args, where: str, *, path: str | None = None,
            sessions: int | None = None, start_key: str = START_KEY,
            distinct: bool = False) -> tuple[Summary, str, dict]:
    """One class against the server at ``url`` (its process tree ``pid``, if known): the
    tabs' summary, ``where`` with the time and machine load added, and the raw figures."""
    clock = time.monotonic
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    path = args.path if path is None else path
    sessions = args.sessions if sessions is None else sessions
    load0 = load_average()
    monitor = TreeMonitor(pid, clock).start() if pid else None
    if monitor is not None:
        time.sleep(2.0)  # an idle baseline
    cpu0 = time.process_time()
    log(f"{sessions} tabs on {path}{' (distinct seeds)' if distinct else ''} over "
        f"{args.ramp:g} s, then {args.hold:g} s")
    t_first = clock()
    results, t_close = asyncio.run(run_class(url, path, sessions, args.ramp, args.hold, clock,
                                             media=not args.no_media, start_key=start_key,
                                             distinct=distinct))
    client_cpu = time.process_time() - cpu0
    if monitor is not None:
        log(f"tabs closed; watching the server's CPU for up to {args.idle_wait:g} s")
        deadline = t_close + args.idle_wait
        while clock() < deadline:
            time.sleep(1.0)
            if idle_after(monitor.samples, t_close) is not None:
                break
        monitor.stop()
    where += (f"; {stamp}; machine load average {load0} at the start, "
              f"{load_average()} at the end.")
    samples = monitor.samples if monitor is not None else None
    summary = summarize(results, samples, t_first, t_close, args.idle_wait, client_cpu)
    extra = {"tabs": [asdict(r) for r in results],
             "samples": [asdict(s) for s in samples or []],
             "t_first": t_first, "t_close": t_close}
    return summary, where, extra


# ----- the suite: several classes side by side, each on a fresh server -------------------------

CASES = {
    "scale": [("defaults", "train", 30), ("defaults", "train", 60), ("defaults", "train", 100)],
    "sharing": [("defaults", "train", 30), ("distinct seeds", "train", 30),
                ("experiment page", "seeds_variance", 30)],
}
"""The suites: (case, page, tabs). ``defaults``: every tab presses Start on the page's own
settings (identical runs); ``distinct seeds``: tab i on seed 1000 + i (nothing to share);
``experiment page``: Start on Seeds & variance's default grid."""
START_KEYS = {"train": START_KEY, "seeds_variance": "exp.seeds.start"}


def suite_cases(names: list[str], scale: float) -> list[tuple[str, str, int]]:
    """The cases of the named suites (``all``: both), each listed once, their tab counts
    multiplied by ``scale`` (at least 1).

    >>> suite_cases(["sharing"], 0.1)
    [('defaults', 'train', 3), ('distinct seeds', 'train', 3), ('experiment page', \
'seeds_variance', 3)]
    """
    out: list[tuple[str, str, int]] = []
    for name in (list(CASES) if "all" in names else names):
        for case, page, n in CASES[name]:
            item = (case, page, max(1, round(n * scale)))
            if item not in out:
                out.append(item)
    return out


def run_suite(args) -> int:
    """Every case of ``--suite`` on a fresh server of this checkout (and of ``--before``,
    side by side), then one table."""
    servers = [("after", args.app_dir, {})]
    if args.before is not None:
        servers.insert(0, ("before", args.before, {}))
    rows, notes = [], []
    for case, page, n in suite_cases(args.suite, args.scale):
        for name, app_dir, env in servers:
            log(f"{case}, {n} tabs, {name} ({app_dir})")
            server = Server(max_runs=args.max_runs, app_dir=app_dir, env=env)
            try:
                s, where, _ = measure(server.url, server.pid, args, f"{name}: "
                                      f"{git_state(app_dir)}", path=page, sessions=n,
                                      start_key=START_KEYS[page],
                                      distinct=case == "distinct seeds")
            finally:
                server.close()
            notes.append(f"- {case}, {n} tabs, {where}")
            fair = (f"{_s(s.eps_median, 1)} [{_s(s.eps_min, 1)}-{_s(s.eps_max, 1)}]"
                    if s.eps_median is not None else "–")
            rows.append([case, str(n), name, f"{s.progressed} of {s.sessions}",
                         f"{_s(s.start_max_s, 1)} s" + (f" ({s.never} never)" if s.never
                                                        else ""),
                         _ms(s.refresh_p95_s), _mb(s.mem_peak_mb), fair,
                         _s(s.steps_median, 0),
                         _s(s.server_cpu_mean_cores), str(s.exceptions + s.errors)])
    print(f"### Classes side by side: ramp {args.ramp:g} s, hold {args.hold:g} s, each case "
          "on a fresh server\n")
    print(table(["case", "tabs", "server", "trained", "Start to first episode, max",
                 "live panel p95", "peak memory (tree RSS)",
                 "episodes/s a tab shows: median [min-max]",
                 "env steps/s a tab shows: median", "server process CPU (cores)",
                 "exceptions + dropped tabs"], rows))
    print("\n" + "\n".join(notes))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.suite:
        return run_suite(args)
    try:
        import websockets  # noqa: F401 - the client needs it (streamlit's own dependency)
    except ImportError:
        print("bench_class needs the 'websockets' package: pip install websockets",
              file=sys.stderr)
        return 2
    server = None
    try:
        if args.url:
            url = args.url.rstrip("/")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=10) as r:
                    r.read()
            except OSError as exc:
                print(f"no Streamlit server answers at {url}: {exc}", file=sys.stderr)
                return 2
            parts = urllib.parse.urlsplit(url)
            pid = args.pid
            if pid is None and parts.hostname in ("127.0.0.1", "localhost", "::1"):
                pid = pid_listening_on(parts.port or (443 if parts.scheme == "https" else 80))
            where = f"Server: {url} (pid {pid or 'unknown: memory and CPU not measured'})"
        else:
            log("starting streamlit run app.py")
            server = Server(max_runs=args.max_runs, app_dir=args.app_dir)
            url, pid = server.url, server.pid
            where = (f"Server: `streamlit run app.py` started by this script (pid {pid}, "
                     f"PGLAB_MAX_RUNS={args.max_runs if args.max_runs else 'unset'}), "
                     f"{os.cpu_count()} CPUs")
            where += f"; {git_state(args.app_dir)}"
        page = urllib.parse.urlsplit(args.path).path.strip("/")
        summary, where, extra = measure(url, pid, args, where,
                                        start_key=START_KEYS.get(page, START_KEY))
        print(report(summary, args, where, measured=pid is not None))
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"args": vars(args), "where": where, "summary": asdict(summary),
                           "targets": TARGETS, **extra}, f, indent=1, default=str)
            log(f"wrote {args.json}")
        return 0
    except RuntimeError as exc:
        print(f"bench_class: {exc}", file=sys.stderr)
        return 2
    finally:
        if server is not None:
            server.close()


if __name__ == "__main__":
    sys.exit(main())
