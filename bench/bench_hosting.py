"""How to host a class's runs: a pool of run hosts or a process per run; how a host's run
threads share its core: free time-slicing, a baton passed at each update, or the hosts' turns.

Two "measure both" questions about a class of ~30 learners on one 2-core server, each settled by
running both options side by side in one invocation, with the same configs (``--n`` / ``--k``
runs of ``default_config(algo, seed=i, max_episodes=None, max_steps=10**7)``, the algorithms of
``--algos`` in turn) and the Train page's settings (``frame_every=0.25``, weights every 1 s),
each run a :class:`~pgcore.execution.runner.BackgroundRun` in ``hosts=`` mode, as the app starts it:

1. **Memory: a pool of run hosts vs a process per run** (``--n`` runs, default 30).
   (a) every run in one ``RunHosts(hosts=2)`` (today's server: one host per core, many runs per
   host, as threads), warmed first as in a server that has been up a while (a one-episode run
   of each algorithm on each host; the warm-up time is shown: a server pays it once); (b)
   every run in its own ``RunHosts(hosts=1)``: one spawned process per run, which imports
   torch and trains that run alone, started cold (as a run in a process of its own always
   is). The same host code and messages, so the difference is the process count. Per option:
   memory of the process tree (this process, the server here, and its children) sampled every
   second during the measuring window: RSS summed and PSS summed (RSS counts the shared torch
   libraries once per process; PSS divides them between the processes, closer to what a
   cgroup's memory limit counts), the peak, and per run (the peak less this process alone
   before the option started, / N); Start to each run's first episode (when the server
   received it) and until every run had one; episodes and env steps per second per run over
   a window of ``--seconds`` (default 20) that begins once every run had its first episode
   (or ``--first-timeout`` after the first Start); the tree's CPU in the window.
2. **Fair sharing inside one host: free time-slicing vs a per-update baton vs the hosts'
   turns** (``--k`` runs in one host, default 15: 30 runs over 2 hosts). One host trains the K
   configs at once, then another host the same K: (a) ``RunHosts(quantum=None)``, its K run
   threads left to the interpreter's own time-slicing (every 5 ms; how hosts shared their
   core before they took turns); (b) the same host whose runs pass a FIFO baton (this
   script's :class:`Baton`), taken before the run builds its trainer, handed to the run that
   has waited longest at each ``UpdateEnd`` event (after the update and the env steps that
   led to it), given up when the run ends; the others block meanwhile, so one run thread
   trains at a time (an option not taken: PPO hogs, one-step actor-critic crawls); and (c)
   a stock ``RunHosts()`` (what the app runs): its runs take
   :class:`~pgcore.execution.hosts.Turns` of at least ``--quantum-ms`` (default pgcore's
   ``TURN_QUANTUM``, 20 ms), handed on at the trainer's next check point once used (a turn
   is then the updates that fit in it, at least one, so a run that updates every env step
   gets as long a turn as one that updates every 512). Each host warmed first. Per host:
   episodes/s and env steps/s per run (median [min-max] and max/min, the fairness ratio),
   each run thread's CPU (from ``/proc/<host>/task/<tid>``; the tid is sent by the run),
   Start to first episode (median, max), all runs' env steps/s and updates/s, the host's
   CPU; then the same per algorithm, with env steps per CPU second (what switching between
   runs costs). The hosts run one after the other, not at once: a host of 15 runnable
   threads would otherwise out-compete a host of one runnable thread for the CPU (the
   kernel shares it per thread). The baton and the tid report live in this script (the
   host's run class is subclassed in the host process); pgcore is not changed.

Every host process runs one torch thread and one BLAS thread (pgcore's hosts do that), and so
does this process (:func:`common.single_thread`). Everything started is stopped afterwards
(runs stopped, hosts shut down, also on Ctrl-C); the tables say how many processes were left.
Memory and CPU are read from ``/proc`` (Linux).

Usage::

    python bench/bench_hosting.py                     # N = 30, K = 15, 20 s windows
    nice -n 5 python bench/bench_hosting.py --n 30 --k 15 --seconds 30
    python bench/bench_hosting.py --only sharing --algos a2c --quantum-ms 50   # (c) 50 ms
    python bench/bench_hosting.py --quick             # smoke test: N = 3, K = 3, 3 s windows

Ratios within one invocation are what to compare; absolute rates depend on the machine's load.
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_class import TreeMonitor, _cpu_ticks, process_tree  # noqa: E402
from common import fmt_num, load_average, log, markdown_table, median_range, single_thread  # noqa: E402

from pgcore import default_config  # noqa: E402 - after common's sys.path
from pgcore.execution import hosts as hosts_mod  # noqa: E402
from pgcore.execution import usable_cores  # noqa: E402
from pgcore.execution.hosts import RunHosts  # noqa: E402
from pgcore.execution.runner import BackgroundRun  # noqa: E402
from pgcore.training.events import EpisodeEnd, UpdateEnd  # noqa: E402

ALGOS = ("a2c", "reinforce", "ppo", "actor-critic", "dqn")
FRAME_EVERY = 0.25  # the Train page's (ui.state.FRAME_EVERY)
WEIGHTS_EVERY = 1.0  # BackgroundRun's default, the Train page's
MAX_STEPS = 10**7  # long-running: no run ends inside the measurement
HZ = os.sysconf("SC_CLK_TCK")
clock = time.monotonic


# ----- in a host process: the baton (b) and the tid report ------------------------------------


class Baton:
    """A FIFO hand-off lock: :meth:`pass_on` gives it to the run that has waited longest and
    queues the caller behind the others. A waiter blocks on a lock of its own (no busy
    waiting, one wake-up per hand-off), so only the holder's thread wants the interpreter.
    Option (b): handed on at every update, however short (pgcore's hosts use
    :class:`~pgcore.execution.hosts.Turns`, which keep a turn for a quantum)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: deque[threading.Lock] = deque()
        self._held = False

    def _queue_up(self) -> threading.Lock:  # under self._lock
        mine = threading.Lock()
        mine.acquire()
        self._waiting.append(mine)
        return mine

    def acquire(self) -> None:
        with self._lock:
            if not self._held:
                self._held = True
                return
            mine = self._queue_up()
        mine.acquire()  # the holder hands the baton over by releasing this

    def release(self) -> None:
        with self._lock:
            if self._waiting:
                self._waiting.popleft().release()
            else:
                self._held = False

    def pass_on(self) -> None:
        """Hand over to the next waiting run (if any) and wait for the baton's return."""
        with self._lock:
            if not self._waiting:
                return  # nobody waits: carry on
            mine = self._queue_up()
            self._waiting.popleft().release()
        mine.acquire()


_BATON: Baton | None = None  # set in a baton host


class _BenchHostedRun(hosts_mod._HostedRun):
    """A host's run that tells the server its thread id (for its CPU time) and, in a baton
    host, trains only while it holds the baton."""

    def _main(self) -> None:
        self.results.put((self.run_id, "tid", threading.get_native_id()))
        if _BATON is None:
            super()._main()
            return
        _BATON.acquire()
        try:
            super()._main()
        finally:
            _BATON.release()

    def _on_event(self, event) -> None:
        super()._on_event(event)
        if _BATON is not None and isinstance(event, UpdateEnd):
            _BATON.pass_on()


def tid_host_main(commands, results, parent: int, quantum=hosts_mod.TURN_QUANTUM,
                  **warm_turns) -> None:
    """pgcore's host (free time-slicing or turns of ``quantum``, as ``RunHosts`` says) whose
    runs report their tid."""
    hosts_mod._HostedRun = _BenchHostedRun
    hosts_mod._host_main(commands, results, parent, quantum, **warm_turns)


def baton_host_main(commands, results, parent: int, quantum=None, **warm_turns) -> None:
    """A host whose runs take turns of one update each (``RunHosts(quantum=None)``: the
    baton is all the turn-taking)."""
    global _BATON
    if quantum:
        raise ValueError("a baton host needs RunHosts(quantum=None)")
    _BATON = Baton()
    hosts_mod._HostedRun = _BenchHostedRun
    hosts_mod._host_main(commands, results, parent, None, **warm_turns)


# ----- in this process ------------------------------------------------------------------------


def make_hosts(n: int, main_name: str | None = None,
               quantum: float | None = hosts_mod.TURN_QUANTUM) -> RunHosts:
    """``RunHosts(hosts=n, quantum=quantum)``; with ``main_name``, its hosts run that function
    of this module instead of pgcore's host main (taken from ``bench_hosting`` as imported by
    name, so that a spawned host can unpickle it even when this script is ``__main__``)."""
    if main_name is None:
        return RunHosts(hosts=n, quantum=quantum)
    target = getattr(importlib.import_module("bench_hosting"), main_name)
    original = hosts_mod._host_main
    hosts_mod._host_main = target  # RunHosts() looks it up when it creates its processes
    try:
        return RunHosts(hosts=n, quantum=quantum)
    finally:
        hosts_mod._host_main = original


class TimedRun(BackgroundRun):
    """A hosted run as the Train page starts it, noting when it started, when the server got
    its first episode, and its thread id in the host (if the host says)."""

    def __init__(self, config, hosts: RunHosts):
        super().__init__(config, hosts=hosts, frame_every=FRAME_EVERY,
                         weights_every=WEIGHTS_EVERY)
        self.started_at: float | None = None
        self.first_episode_at: float | None = None
        self.tid: int | None = None

    def start(self) -> TimedRun:
        self.started_at = clock()
        return super().start()

    def _computation(self):
        """The run's computation, whose host messages pass through :meth:`_heard` first (a
        hosted run's messages go to the computation it watches, ``runner._Computation``)."""
        comp, launch = super()._computation()
        on_hosted = comp._on_hosted

        def heard(kind: str, payload) -> None:
            self._heard(kind, payload)
            if kind != "tid":
                on_hosted(kind, payload)

        comp._on_hosted = heard  # before the launch, which hands it to the host
        return comp, launch

    def _heard(self, kind: str, payload) -> None:
        if kind == "tid":
            self.tid = payload
        elif (kind == "events" and self.first_episode_at is None
                and any(isinstance(e, EpisodeEnd) for e in payload)):
            self.first_episode_at = clock()

    @property
    def first_episode_s(self) -> float | None:
        if self.first_episode_at is None or self.started_at is None:
            return None
        return self.first_episode_at - self.started_at


def configs(n: int, algos) -> list:
    return [default_config(algos[i % len(algos)], seed=i, max_episodes=None, max_steps=MAX_STEPS)
            for i in range(n)]


def warm(hosts: RunHosts, algos, timeout: float) -> float:
    """A one-episode run of each algorithm on each host, as in a server that has been up a
    while (a host warms itself before its first run, ``hosts._warm_up``; whatever else a
    first run of an algorithm imports, this imports). Seconds it took."""
    t0 = clock()
    deadline = t0 + timeout
    for algo in dict.fromkeys(algos):  # started together, they go one to each host
        runs = [BackgroundRun(default_config(algo, seed=0, max_episodes=1), hosts=hosts,
                              frame_every=None).start() for _ in range(hosts.hosts)]
        for r in runs:
            r.join(max(0.1, deadline - clock()))
    return clock() - t0


def wait_first_episodes(runs, deadline: float) -> None:
    while clock() < deadline and any(r.first_episode_at is None for r in runs):
        time.sleep(0.1)


def stop_everything(runs, hosts: list[RunHosts]) -> None:
    """Stop the runs, then end every host at once (each ``shutdown`` waits for its processes)."""
    for r in runs:
        r.stop()
    deadline = clock() + 30
    for r in runs:
        r.join(max(0.1, deadline - clock()))
    if hosts:
        with ThreadPoolExecutor(max_workers=min(32, len(hosts))) as ex:
            list(ex.map(lambda h: h.shutdown(10.0), hosts))
    for h in hosts:  # belt and braces: nothing outlives the bench
        for p in h._processes:
            if p.is_alive():
                p.kill()
                p.join(5)


def _helper(pid: int) -> bool:
    """multiprocessing's resource tracker: it ends with this process, it is not a host."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"resource_tracker" in f.read()
    except OSError:
        return True  # gone


def leftover_processes(wait: float = 5.0) -> int:
    """This process's descendants other than multiprocessing's helper, after ``wait`` s."""
    deadline = clock() + wait
    while True:
        left = [p for p in process_tree(os.getpid()) if p != os.getpid() and not _helper(p)]
        if not left or clock() >= deadline:
            return len(left)
        time.sleep(0.2)


def thread_ticks(pid: int, tid: int | None) -> int | None:
    """A host thread's CPU clock ticks (user + system), from ``/proc/<pid>/task/<tid>/stat``."""
    if tid is None:
        return None
    return _cpu_ticks(f"{pid}/task/{tid}")  # the same fields as a process's stat


@dataclass
class Window:
    """Counters of each run (and CPU ticks) at the start and at the end of the window."""

    seconds: float
    episodes: list[float]  # per run, per second
    steps: list[float]
    updates_per_s: float
    cpu: list[float | None] = field(default_factory=list)  # per run thread, cores
    host_cores: float | None = None


def measure_window(runs, seconds: float, host_pids: list[int] | None = None,
                   thread_cpu: bool = False) -> Window:
    def counters():
        counts = [r.counts for r in runs]
        updates = sum(r.snapshot().update_count for r in runs)
        ticks = ([thread_ticks(host_pids[0], r.tid) for r in runs]
                 if thread_cpu and host_pids else [])
        host = [_cpu_ticks(p) for p in host_pids or []]
        return clock(), counts, updates, ticks, host

    t0, c0, u0, k0, h0 = counters()
    time.sleep(seconds)
    t1, c1, u1, k1, h1 = counters()
    dt = t1 - t0
    cpu = [None if a is None or b is None else (b - a) / HZ / dt
           for a, b in zip(k0, k1, strict=True)]
    host = None
    if h0 and None not in h0 and None not in h1:
        host = (sum(h1) - sum(h0)) / HZ / dt
    return Window(dt, [(b[0] - a[0]) / dt for a, b in zip(c0, c1, strict=True)],
                  [(b[1] - a[1]) / dt for a, b in zip(c0, c1, strict=True)],
                  (u1 - u0) / dt, cpu, host)


# ----- 1. memory: a pool of hosts vs a process per run ----------------------------------------


@dataclass
class MemoryResult:
    label: str
    processes: int
    warm_s: float | None
    first_s: list[float | None]
    all_first_s: float | None
    window: Window
    rss_peak: float | None
    pss_peak: float | None
    rss_base: float
    pss_base: float
    rss_before: float  # the tree just before the runs started (warm hosts, if any)
    pss_before: float
    tree_cores: float | None
    left: int


def tree_now():
    """This process tree's memory now (a :class:`bench_class.Sample`; its CPU figure is 0)."""
    return TreeMonitor(os.getpid(), clock).sample()


def memory_option(label: str, per_run: bool, cfgs, args) -> MemoryResult:
    monitor = TreeMonitor(os.getpid(), clock, every=1.0).start()
    base = monitor.samples[0]
    hosts: list[RunHosts] = []
    runs: list[TimedRun] = []
    warm_s = None
    try:
        if per_run:
            log(f"  {label}: {len(cfgs)} processes, one run each (started cold)")
        else:
            hosts.append(RunHosts(hosts=2))
            warm_s = warm(hosts[0], [c.algo for c in cfgs], args.first_timeout)
            log(f"  {label}: hosts warm after {warm_s:.1f} s; starting {len(cfgs)} runs")
        before = tree_now() or base
        if per_run:
            for c in cfgs:
                hosts.append(RunHosts(hosts=1))
                runs.append(TimedRun(c, hosts[-1]).start())
        else:
            runs = [TimedRun(c, hosts[0]).start() for c in cfgs]
        t_start = runs[0].started_at
        wait_first_episodes(runs, t_start + args.first_timeout)
        firsts = [r.first_episode_at for r in runs]
        all_first = (max(firsts) - t_start) if None not in firsts else None
        log(f"  {label}: measuring {args.seconds:g} s")
        t_w = clock()
        window = measure_window(runs, args.seconds)
        in_window = [s for s in monitor.samples if s.t >= t_w]
        if not in_window:
            in_window = [tree_now() or before]
    finally:
        stop_everything(runs, hosts)
        monitor.stop()
    return MemoryResult(
        label, sum(len(h.pids()) for h in hosts), warm_s, [r.first_episode_s for r in runs],
        all_first, window, max(s.rss_mb for s in in_window), max(s.pss_mb for s in in_window),
        base.rss_mb, base.pss_mb, before.rss_mb, before.pss_mb,
        statistics.mean(s.cpu_cores for s in in_window[1:]) if len(in_window) > 1 else None,
        leftover_processes())


# ----- 2. sharing inside a host: free time-slicing vs a baton vs the hosts' turns -------------


@dataclass
class SharingResult:
    label: str
    algos: list[str]
    warm_s: float
    first_s: list[float | None]
    window: Window
    left: int


def sharing_host(label: str, main_name: str, quantum: float | None, cfgs,
                 args) -> SharingResult:
    """One host (``main_name``, with ``RunHosts(quantum=quantum)``) training the K configs at
    once."""
    hosts: list[RunHosts] = []
    runs: list[TimedRun] = []
    try:
        hosts = [make_hosts(1, main_name, quantum)]
        warm_s = warm(hosts[0], [c.algo for c in cfgs], args.first_timeout)
        log(f"  {label}: host warm after {warm_s:.1f} s; starting {len(cfgs)} runs")
        runs = [TimedRun(c, hosts[0]).start() for c in cfgs]
        wait_first_episodes(runs, runs[0].started_at + args.first_timeout)
        deadline = clock() + 10  # every run has told its thread id by now; make sure
        while clock() < deadline and any(r.tid is None for r in runs):
            time.sleep(0.1)
        log(f"  {label}: measuring {args.seconds:g} s")
        window = measure_window(runs, args.seconds, hosts[0].pids(), thread_cpu=True)
    finally:
        stop_everything(runs, hosts)
    return SharingResult(label, [c.algo for c in cfgs], warm_s,
                         [r.first_episode_s for r in runs], window, leftover_processes())


# ----- tables ---------------------------------------------------------------------------------


def _sec(x: float | None) -> str:
    return "–" if x is None else f"{x:.1f} s"


def _mb(x: float | None) -> str:
    return "–" if x is None else f"{x:,.0f} MB"


def _num(x: float | None, digits: int = 2) -> str:
    return "–" if x is None else f"{x:,.{digits}f}"


def first_text(first: list[float | None]) -> str:
    got = [x for x in first if x is not None]
    if not got:
        return f"never ({len(first)} runs)"
    text = f"{statistics.median(got):.1f} s / {max(got):.1f} s"
    return text + (f" ({len(first) - len(got)} never)" if len(got) < len(first) else "")


def ratio(values: list[float | None]) -> str:
    """max / min: 1.0 is perfectly even; ∞ when a run made no progress."""
    vals = [v for v in values if v is not None]
    if not vals:
        return "–"
    lo, hi = min(vals), max(vals)
    return "∞" if lo <= 0 else f"{hi / lo:.1f}"


def progressed(w: Window) -> str:
    return f"{sum(e > 0 for e in w.episodes)} of {len(w.episodes)}"


def memory_table(a: MemoryResult, b: MemoryResult, n: int) -> str:
    def per_run(peak, base):
        return "–" if peak is None else f"{(peak - base) / n:,.1f} MB"

    def pair(f):
        return [f(a), f(b)]

    rows = [
        ["processes training (host processes)", *pair(lambda r: str(r.processes))],
        ["runs that progressed in the window", *pair(lambda r: progressed(r.window))],
        ["memory, process tree: RSS peak", *pair(lambda r: _mb(r.rss_peak))],
        ["... PSS peak", *pair(lambda r: _mb(r.pss_peak))],
        ["... this process alone before (RSS / PSS)",
         *pair(lambda r: f"{_mb(r.rss_base)} / {_mb(r.pss_base)}")],
        ["... the tree just before the runs started (RSS / PSS)",
         *pair(lambda r: f"{_mb(r.rss_before)} / {_mb(r.pss_before)}")],
        ["MB per run, all in: (peak - this process alone) / N, RSS / PSS",
         *pair(lambda r: f"{per_run(r.rss_peak, r.rss_base)} / "
                         f"{per_run(r.pss_peak, r.pss_base)}")],
        ["MB per run, added by the runs: (peak - before the runs) / N, RSS / PSS",
         *pair(lambda r: f"{per_run(r.rss_peak, r.rss_before)} / "
                         f"{per_run(r.pss_peak, r.pss_before)}")],
        ["hosts' warm-up before the first run (once per server)",
         *pair(lambda r: "– (each run starts cold)" if r.warm_s is None else _sec(r.warm_s))],
        ["Start to first episode: median / max", *pair(lambda r: first_text(r.first_s))],
        ["every run had its first episode after", *pair(lambda r: _sec(r.all_first_s))],
        ["episodes/s per run: median / min",
         *pair(lambda r: f"{_num(statistics.median(r.window.episodes))} / "
                         f"{_num(min(r.window.episodes))}")],
        ["env steps/s per run: median / min",
         *pair(lambda r: f"{fmt_num(statistics.median(r.window.steps), 'rate')} / "
                         f"{fmt_num(min(r.window.steps), 'rate')}")],
        ["env steps/s, all runs", *pair(lambda r: fmt_num(sum(r.window.steps), "rate"))],
        ["CPU used by the tree in the window (cores)", *pair(lambda r: _num(r.tree_cores))],
        ["env steps per tree CPU second",
         *pair(lambda r: "–" if not r.tree_cores else
               fmt_num(sum(r.window.steps) / r.tree_cores, "rate"))],
        ["processes left after shutdown", *pair(lambda r: str(r.left))],
    ]
    return markdown_table(["measure", f"(a) {a.label}", f"(b) {b.label}"], rows)


def sharing_table(results: list[SharingResult]) -> str:
    def pair(f):
        return [f(r) for r in results]

    def cpu_pct(r):
        return [None if c is None else 100 * c for c in r.window.cpu]

    rows = [
        ["runs that progressed in the window", *pair(lambda r: progressed(r.window))],
        ["episodes/s per run: median [min-max]",
         *pair(lambda r: median_range(r.window.episodes, "fine"))],
        ["... max/min (fairness; 1 = even)", *pair(lambda r: ratio(r.window.episodes))],
        ["env steps/s per run: median [min-max]",
         *pair(lambda r: median_range(r.window.steps, "rate"))],
        ["... max/min", *pair(lambda r: ratio(r.window.steps))],
        ["CPU per run thread, % of a core: median [min-max]",
         *pair(lambda r: median_range(cpu_pct(r), "avg", empty="–"))],
        ["... max/min", *pair(lambda r: ratio(cpu_pct(r)))],
        ["Start to first episode: median / max", *pair(lambda r: first_text(r.first_s))],
        ["env steps/s, all runs", *pair(lambda r: fmt_num(sum(r.window.steps), "rate"))],
        ["updates/s, all runs", *pair(lambda r: fmt_num(r.window.updates_per_s, "rate"))],
        ["host CPU in the window (cores)", *pair(lambda r: _num(r.window.host_cores))],
        ["processes left after shutdown", *pair(lambda r: str(r.left))],
    ]
    return markdown_table(["measure", *(f"({'abc'[i]}) {r.label}"
                                        for i, r in enumerate(results))], rows)


def by_algorithm_table(results: list[SharingResult]) -> str:
    def per_cpu(r, i):  # a run's env steps per second of its thread's CPU
        c = r.window.cpu[i]
        return r.window.steps[i] / c if c else None

    algos = results[0].algos
    rows = []
    for algo in dict.fromkeys(algos):
        idx = [i for i, x in enumerate(algos) if x == algo]

        def med(values, idx=idx, scale=1.0):
            vals = [values[i] * scale for i in idx if values[i] is not None]
            return statistics.median(vals) if vals else None

        def first(r, idx=idx):
            got = [r.first_s[i] for i in idx if r.first_s[i] is not None]
            return _sec(statistics.median(got)) if got else "never"

        def each(f):
            return " / ".join(f(r) for r in results)

        rows.append([f"{algo} ({len(idx)})",
                     each(lambda r: _num(med(r.window.episodes))),
                     each(lambda r: fmt_num(med(r.window.steps), "rate")),
                     each(lambda r: _num(med(r.window.cpu, scale=100), 1)),
                     each(lambda r: fmt_num(med([per_cpu(r, i) for i in range(len(algos))]),
                                            "rate")),
                     each(first)])
    return markdown_table(["algorithm (runs)", "episodes/s per run", "env steps/s per run",
                           "CPU per run, % of a core", "env steps per CPU second",
                           "first episode"], rows)


# ----- main -----------------------------------------------------------------------------------


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=30, help="runs for the memory question (30)")
    p.add_argument("--k", type=int, default=15, help="runs per host for the sharing question (15)")
    p.add_argument("--seconds", type=float, default=20.0,
                   help="measuring window, seconds (20)")
    p.add_argument("--first-timeout", type=float, default=180.0,
                   help="seconds to wait for every run's first episode before the window (180)")
    p.add_argument("--algos", default=",".join(ALGOS),
                   help=f"algorithms, in turn over the runs (default {','.join(ALGOS)})")
    p.add_argument("--quantum-ms", type=float, default=hosts_mod.TURN_QUANTUM * 1000,
                   help="(c): the hosts' turns last at least this long, ms "
                        f"(default pgcore's {hosts_mod.TURN_QUANTUM * 1000:g})")
    p.add_argument("--only", choices=("memory", "sharing"), help="one question only")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: N = 3, K = 3, 3 s windows, 60 s first-episode wait")
    args = p.parse_args(argv)
    if args.quick:
        args.n, args.k, args.seconds, args.first_timeout = 3, 3, 3.0, 60.0
    args.algos = [a.strip() for a in args.algos.split(",") if a.strip()]
    if (args.n < 1 or args.k < 1 or args.seconds <= 0 or args.first_timeout <= 0
            or not args.quantum_ms > 0):
        p.error("--n and --k must be >= 1, --seconds, --first-timeout and --quantum-ms > 0")
    if not args.algos:
        p.error("--algos: at least one algorithm")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    single_thread()
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load0 = load_average()
    out = []
    if args.only in (None, "memory"):
        cfgs = configs(args.n, args.algos)
        log(f"1. memory: {args.n} runs")
        a = memory_option("pool of 2 run hosts (today)", False, cfgs, args)
        b = memory_option("a process per run", True, cfgs, args)
        out += [f"### 1. Memory: {args.n} runs in a pool of 2 run hosts vs a process per run",
                "", memory_table(a, b, args.n), ""]
    if args.only in (None, "sharing"):
        cfgs = configs(args.k, args.algos)
        log(f"2. sharing: {args.k} runs in one host, free, then a baton, then the hosts' turns")
        q = args.quantum_ms
        today = " (today)" if q == hosts_mod.TURN_QUANTUM * 1000 else ""
        hosted = [sharing_host("free time-slicing (quantum=None)", "tid_host_main", None,
                               cfgs, args),
                  sharing_host("baton: one update per turn", "baton_host_main", None, cfgs,
                               args),
                  sharing_host(f"turns of >= {q:g} ms{today}", "tid_host_main", q / 1000,
                               cfgs, args)]
        names = f"free / baton / {q:g} ms turns"
        out += [f"### 2. Fair sharing inside one host: {args.k} runs, free time-slicing vs a "
                "baton passed at each update vs the hosts' turns", "", sharing_table(hosted),
                "", f"By algorithm: medians over that algorithm's runs, {names}:", "",
                by_algorithm_table(hosted), ""]
    out.append(f"Runs: {', '.join(args.algos)} in turn, seeds 0.., max_steps={MAX_STEPS:.0e}; "
               f"windows of {args.seconds:g} s; {usable_cores()} usable cores; this process's "
               f"nice {os.nice(0)}; {stamp}; machine load average {load0} at the start, "
               f"{load_average()} at the end.")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
