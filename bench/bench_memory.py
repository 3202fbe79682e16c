"""The app under a memory limit, as a host runs it: a cgroup, a ``streamlit run``, several tabs.

Streamlit Community Cloud gives an app between 690 MB and 2.7 GB; a container gets whatever
its ``--memory`` says. The kernel charges every process of the app's cgroup against that limit
(shared library pages once, page cache too, but cache it can drop first) and kills a process
when the charge cannot be brought under it. This script creates a memory cgroup (cgroup v2
where the memory controller is on the v2 hierarchy, else v1; it needs root), starts
``streamlit run`` inside it, and drives it with the websocket tabs of ``bench_class.py``.

Two parts, each printing a markdown table (progress goes to stderr):

``costs``
    What the app costs under a limit, read from the cgroup (its working set: usage less the
    page cache it can drop at once; and its anonymous memory), not from summed RSS: the
    server before any page, after its first page (then after its background warm-up), and
    with 1..N tabs training, once with runs in threads of the server and once in the run
    hosts. The constants of ``ui/state.py`` (``SERVER_MB``, ``HOST_MB``, ``SESSION_MB``,
    ``THREAD_SESSION_MB``) come from this table. The limit here is generous (4 GB): nothing
    is reclaimed early.

``sweep``
    For each limit (690 MB, 1 GB, 2.7 GB by default), with the app reading that limit itself
    (``PGLAB_MEMORY_MB`` unset): ``--tabs`` tabs open ``/train`` one after another and press
    Start, hold, then close. Per limit: how many tabs trained (an episode shown), were told
    "The server is full", waited, or were dropped; the server's own exit (it must be alive at
    the end), the cgroup's OOM kills (must be 0), its peak charge and the run hosts the app
    chose. Every tab either trains or is told the server is full, and nothing is killed.

Usage::

    python bench/bench_memory.py                       # both parts (about 8 minutes)
    python bench/bench_memory.py --parts sweep --limits 690 1024 2700 --tabs 8
    python bench/bench_memory.py --quick               # smoke test: 690 MB, 2 tabs

Skipped with its reason (exit 0, one line) where no memory cgroup can be created.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_class import Tab, TabResult  # noqa: E402
from common import free_port, log, stop_server, wait_for_streamlit  # noqa: E402
from common import markdown_table as table  # noqa: E402

MB = 1024 * 1024
FULL = "The server is full"
V2_ROOT = Path("/sys/fs/cgroup")
V1_ROOT = Path("/sys/fs/cgroup/memory")


# ----- a memory cgroup --------------------------------------------------------------------------


def _v2_memory_root() -> Path | None:
    """The cgroup v2 mount whose root offers the memory controller, or None."""
    for base in (V2_ROOT, V2_ROOT / "unified"):
        try:
            if "memory" in (base / "cgroup.controllers").read_text().split():
                return base
        except OSError:
            continue
    return None


def _enable_memory(base: Path) -> None:
    """Let ``base``'s children use the v2 memory controller (OSError where it may not: a
    cgroup with processes of its own, other than the root, cannot)."""
    sub = base / "cgroup.subtree_control"
    if "memory" not in sub.read_text().split():
        sub.write_text("+memory")


def cgroup_unavailable() -> str | None:
    """Why no memory cgroup can be created here (None: one can)."""
    if os.name != "posix" or not Path("/proc/self/cgroup").exists():
        return "no Linux cgroups on this machine"
    if os.geteuid() != 0:
        return "creating a memory cgroup needs root"
    base = _v2_memory_root() or (V1_ROOT if (V1_ROOT / "memory.limit_in_bytes").exists()
                                 else None)
    if base is None:
        return "no memory cgroup controller is mounted"
    probe = base / f"pglab-probe-{uuid.uuid4().hex[:8]}"
    try:
        if base != V1_ROOT:
            _enable_memory(base)
        probe.mkdir()
    except OSError as exc:
        return f"cannot create a cgroup under {base}: {exc.strerror}"
    try:
        name = "memory.max" if base != V1_ROOT else "memory.limit_in_bytes"
        (probe / name).write_text(str(512 * MB))
    except OSError as exc:
        return f"cannot set a memory limit under {base}: {exc.strerror}"
    finally:
        probe.rmdir()
    return None


class MemoryCgroup:
    """A memory cgroup of ``limit_mb`` this script creates (and removes in :meth:`close`);
    :meth:`wrap` makes a command start inside it, so everything it spawns is charged too."""

    def __init__(self, limit_mb: float):
        self.v2_base = _v2_memory_root()
        base = self.v2_base or V1_ROOT
        self.version = 2 if self.v2_base else 1
        self.path = base / f"pglab-bench-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        if self.version == 2:
            _enable_memory(base)
        self.path.mkdir()
        self.limit_mb = float(limit_mb)
        limit = str(int(limit_mb * MB))
        if self.version == 2:
            (self.path / "memory.max").write_text(limit)
            (self.path / "memory.swap.max").write_text("0")
        else:
            (self.path / "memory.limit_in_bytes").write_text(limit)

    def wrap(self, cmd: list[str]) -> list[str]:
        procs = self.path / "cgroup.procs"
        return ["sh", "-c", f'echo $$ > "{procs}" && exec "$@"', "sh", *cmd]

    def _read(self, name: str) -> str:
        try:
            return (self.path / name).read_text()
        except OSError:
            return ""

    def _stat(self) -> dict[str, int]:
        out = {}
        for line in self._read("memory.stat").splitlines():
            k, _, v = line.partition(" ")
            if v.strip().isdigit():
                out[k] = int(v)
        return out

    def usage_mb(self) -> float:
        """The charge now, page cache included."""
        name = "memory.current" if self.version == 2 else "memory.usage_in_bytes"
        text = self._read(name).strip()
        return int(text) / MB if text.isdigit() else 0.0

    def working_set_mb(self) -> float:
        """The charge less the page cache the kernel can drop at once (inactive files)."""
        key = "inactive_file" if self.version == 2 else "total_inactive_file"
        return max(0.0, self.usage_mb() - self._stat().get(key, 0) / MB)

    def anon_mb(self) -> float:
        stat = self._stat()
        return (stat.get("anon", 0) if self.version == 2 else stat.get("total_rss", 0)) / MB

    def peak_mb(self) -> float | None:
        name = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        text = self._read(name).strip()
        return int(text) / MB if text.isdigit() else None

    def oom_kills(self) -> int:
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        for line in self._read(name).splitlines():
            if line.startswith("oom_kill "):
                return int(line.split()[1])
        return 0

    def pids(self) -> list[int]:
        return [int(x) for x in self._read("cgroup.procs").split() if x.isdigit()]

    def close(self) -> None:
        """Remove the cgroup once its processes have ended (waits up to 10 s for them)."""
        deadline = time.monotonic() + 10
        while self.pids() and time.monotonic() < deadline:
            time.sleep(0.2)
        try:
            self.path.rmdir()
        except OSError as exc:
            log(f"could not remove {self.path}: {exc.strerror}")


# ----- the app in it --------------------------------------------------------------------------


class LimitedServer:
    """``streamlit run app.py`` started inside ``cgroup`` on a free port, with the run history
    in a temporary database and ``PGLAB_MEMORY_MB`` unset (the app reads the limit itself)."""

    def __init__(self, cgroup: MemoryCgroup, env: dict[str, str] | None = None,
                 app_dir: Path = ROOT, entry: str = "app.py", startup_timeout: float = 90):
        self.cgroup = cgroup
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._dir = tempfile.TemporaryDirectory(prefix="bench_memory_")
        self.log_path = Path(self._dir.name) / "server.log"
        base = {k: v for k, v in os.environ.items() if k not in ("PGLAB_MEMORY_MB",
                                                                  "PGLAB_RUNS")}
        base.update({"SDL_VIDEODRIVER": "dummy", "PYGAME_HIDE_SUPPORT_PROMPT": "1",
                     "PGLAB_DB_URL": f"sqlite:///{self._dir.name}/runs.sqlite"})
        base.update(env or {})
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(cgroup.wrap(
                [sys.executable, "-m", "streamlit", "run", entry, "--server.headless", "true",
                 "--server.port", str(self.port), "--server.address", "127.0.0.1",
                 "--browser.gatherUsageStats", "false"]),
                cwd=app_dir, env=base, stdout=out, stderr=subprocess.STDOUT)
        wait_for_streamlit(self.proc, self.url, startup_timeout)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, n: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def close(self) -> int | None:
        """Stop the server (if it still runs); its exit code before we stopped it, or None
        if it was still running."""
        code = self.proc.poll()
        stop_server(self.proc)
        self._dir.cleanup()
        return code


class LimitTab(Tab):
    """A ``bench_class`` tab that also notices the "The server is full" page."""

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.full = False

    def _element(self, el, now: float, main: bool) -> None:
        if el.WhichOneof("type") == "heading" and FULL in el.heading.body:
            self.full = True
            self.page_ready.set()  # nothing to press: the tab just stays open
        super()._element(el, now, main)


@dataclass
class TabOutcome:
    trained: bool
    full: bool
    waited: bool
    dropped: bool
    start_s: float | None
    result: TabResult = field(repr=False)

    @property
    def kind(self) -> str:
        if self.dropped:
            return "dropped"
        if self.trained:
            return "trained"
        return "full" if self.full else ("waiting" if self.waited else "no progress")


async def open_tabs(url: str, n: int, every: float, hold: float) -> list[TabOutcome]:
    """``n`` tabs open ``/train`` ``every`` s apart, press Start (where drawn), stay until
    ``hold`` s after the last one opened."""
    clock = time.monotonic
    t0 = clock()
    leave = t0 + every * n + hold
    tabs = [LimitTab(i, url, "train", clock, None) for i in range(n)]
    results = await asyncio.gather(*(t.run(t0 + i * every, leave) for i, t in enumerate(tabs)))
    return [TabOutcome(trained=r.start_to_first_episode_s is not None, full=t.full,
                       waited=r.waited, dropped=r.error is not None and not t.full,
                       start_s=r.start_to_first_episode_s, result=r)
            for t, r in zip(tabs, results, strict=True)]


async def _open_home(url: str, wait: float) -> float | None:
    """One tab on Home until its first script run has finished (or ``wait`` s), then closed;
    seconds it took (None: never)."""
    t0 = time.monotonic()
    tab = LimitTab(0, url, "", time.monotonic, None)
    task = asyncio.create_task(tab.run(t0, t0 + wait))
    while not task.done() and tab.r.runs_finished < 1:
        await asyncio.sleep(0.05)
    took = time.monotonic() - t0 if tab.r.runs_finished else None
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    return took


def _settle(cg: MemoryCgroup, seconds: float) -> tuple[float, float]:
    """Wait, then (max working set, max anon) over the last 3 s of samples."""
    samples = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        samples.append((cg.working_set_mb(), cg.anon_mb()))
        time.sleep(0.5)
    tail = samples[-6:] or [(cg.working_set_mb(), cg.anon_mb())]
    return max(s[0] for s in tail), max(s[1] for s in tail)


def _with_tabs(cg: MemoryCgroup, url: str, k: int, settle: float) -> tuple[float, float, int]:
    """Open ``k`` training tabs; (working set, anon) ``settle`` s after the last opened, and
    how many of them progressed."""
    box: dict = {}
    th = threading.Thread(target=lambda: box.setdefault(
        "out", asyncio.run(open_tabs(url, k, 0.5, settle + 5))))
    th.start()
    time.sleep(0.5 * k + settle)
    ws, anon = cg.working_set_mb(), cg.anon_mb()
    th.join()
    return ws, anon, sum(o.trained for o in box.get("out", []))


# ----- part 1: costs --------------------------------------------------------------------------


def part_costs(sessions: int, settle: float, app_dir: Path) -> str:
    rows = []
    for mode in ("threads", "hosts"):
        cg = MemoryCgroup(4096)
        server = None
        try:
            log(f"costs: runs in {mode}: starting the server")
            server = LimitedServer(cg, {"PGLAB_RUNS": mode, "PGLAB_MAX_RUNS": "8"},
                                   app_dir=app_dir)
            ws, anon = _settle(cg, 3)
            rows.append([mode, "server up, no page yet", f"{ws:,.0f}", f"{anon:,.0f}", ""])
            asyncio.run(_open_home(server.url, 30))
            ws1, anon1 = cg.working_set_mb(), cg.anon_mb()
            rows.append([mode, "right after its first page (Home)", f"{ws1:,.0f}",
                         f"{anon1:,.0f}", ""])
            ws2, anon2 = _settle(cg, settle)
            rows.append([mode, f"{settle:.0f} s later (warm-up done)", f"{ws2:,.0f}",
                         f"{anon2:,.0f}", ""])
            for k in range(1, sessions + 1):  # k tabs training, read while they are open
                ws_k, anon_k, trained = _with_tabs(cg, server.url, k, settle)
                rows.append([mode, f"{k} tab(s) training ({trained} progressed)",
                             f"{ws_k:,.0f}", f"{anon_k:,.0f}",
                             f"{(ws_k - ws2) / k:,.0f} per tab"])
                time.sleep(3)  # the closed tabs' runs end
        finally:
            code = server.close() if server is not None else None
            if code is not None:
                rows.append([mode, f"**the server exited ({code})**", "", "", ""])
            rows.append([mode, "OOM kills in the cgroup", str(cg.oom_kills()), "", ""])
            cg.close()
    return "\n".join([
        "### What the app costs under a memory limit (cgroup working set, anonymous memory)",
        "", f"Limit 4 GB (nothing reclaimed early); {os.cpu_count()} CPUs; tabs emulated "
        "over websockets (bench_class.py), each pressing Start on Train.", "",
        table(["runs in", "server state", "working set (MB)", "anonymous (MB)", "increase"],
              rows)])


# ----- part 2: the sweep ----------------------------------------------------------------------


@dataclass
class LimitResult:
    limit_mb: float
    tabs: list[TabOutcome]
    server_exit: int | None  # None: alive at the end
    oom_kills: int
    peak_mb: float | None
    peak_working_set_mb: float
    plan: str
    error: str | None = None

    def count(self, kind: str) -> int:
        return sum(t.kind == kind for t in self.tabs)

    @property
    def ok(self) -> bool:
        """Every tab trained or was told the server is full; nothing was killed."""
        return (self.error is None and self.server_exit is None and self.oom_kills == 0
                and all(t.kind in ("trained", "full") for t in self.tabs))


def run_limit(limit_mb: float, tabs: int, every: float, hold: float,
              app_dir: Path = ROOT, entry: str = "app.py") -> LimitResult:
    """The app under ``limit_mb``: ``tabs`` tabs open Train and press Start."""
    cg = MemoryCgroup(limit_mb)
    server = None
    outcomes: list[TabOutcome] = []
    error = None
    peak_ws = 0.0
    plan = "?"
    try:
        server = LimitedServer(cg, app_dir=app_dir, entry=entry)
        stop = threading.Event()

        def watch() -> None:
            nonlocal peak_ws
            while not stop.wait(0.5):
                peak_ws = max(peak_ws, cg.working_set_mb())

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        outcomes = asyncio.run(open_tabs(server.url, tabs, every, hold))
        time.sleep(2)  # anything killed late shows now
        stop.set()
        watcher.join(2)
        plan = _plan_line(server.log_tail(20_000))
    except RuntimeError as exc:
        error = str(exc)
    finally:
        code = server.close() if server is not None else None
        kills = cg.oom_kills()
        peak = cg.peak_mb()
        cg.close()
    return LimitResult(limit_mb, outcomes, code, kills, peak, peak_ws, plan, error)


def _plan_line(log_text: str) -> str:
    """The app's own line on how it sized itself ("memory plan: ..."), if it printed one."""
    lines = [x for x in log_text.splitlines() if "memory plan:" in x]
    return lines[-1].split("memory plan:", 1)[1].strip() if lines else "not printed"


def part_sweep(limits: list[float], tabs: int, every: float, hold: float,
               app_dir: Path) -> tuple[str, bool]:
    rows, all_ok = [], True
    for limit in limits:
        log(f"sweep: {limit:,.0f} MB, {tabs} tabs")
        r = run_limit(limit, tabs, every, hold, app_dir)
        all_ok &= r.ok
        starts = sorted(t.start_s for t in r.tabs if t.start_s is not None)
        rows.append([
            f"{limit:,.0f} MB", r.plan, f"{r.count('trained')} of {len(r.tabs)}",
            str(r.count("full")), str(r.count("waiting") + r.count("no progress")),
            str(r.count("dropped")),
            "alive" if r.server_exit is None else f"**exited {r.server_exit}**",
            str(r.oom_kills), "–" if r.peak_mb is None else f"{r.peak_mb:,.0f}",
            f"{r.peak_working_set_mb:,.0f}",
            "–" if not starts else f"{starts[len(starts) // 2]:.1f} / {starts[-1]:.1f}",
            "yes" if r.ok else ("**no**" + (f": {r.error}" if r.error else ""))])
    text = "\n".join([
        f"### The app under a memory limit: {tabs} tabs open Train and press Start, "
        f"{every:g} s apart, held {hold:g} s", "",
        f"{os.cpu_count()} CPUs; the app reads the limit itself (PGLAB_MEMORY_MB unset); "
        "peak charge includes page cache, the working set does not.", "",
        table(["limit", "the app's plan", "trained", "told full", "waiting", "dropped",
               "server", "OOM kills", "peak charge (MB)", "peak working set (MB)",
               "Start to 1st episode median / max (s)", "every tab trained or told full, "
               "nothing killed"], rows)])
    return text, all_ok


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--parts", nargs="+", default=["costs", "sweep"], choices=["costs", "sweep"])
    p.add_argument("--limits", nargs="+", type=float, default=[690, 1024, 2700],
                   help="memory limits in MB for the sweep (default 690 1024 2700)")
    p.add_argument("--tabs", type=int, default=8, help="tabs per limit (default 8)")
    p.add_argument("--every", type=float, default=2.0, help="seconds between tabs (default 2)")
    p.add_argument("--hold", type=float, default=40.0,
                   help="seconds the tabs stay after the last opened (default 40)")
    p.add_argument("--sessions", type=int, default=3, help="tabs for the costs part (default 3)")
    p.add_argument("--settle", type=float, default=20.0,
                   help="seconds the costs part lets the charge settle (default 20)")
    p.add_argument("--app-dir", type=Path, default=ROOT,
                   help="serve app.py from this directory (e.g. a worktree of an older commit)")
    p.add_argument("--quick", action="store_true", help="smoke test: the sweep at 690 MB, 2 tabs")
    args = p.parse_args(argv)
    if args.quick:
        args.parts, args.limits, args.tabs, args.every, args.hold = ["sweep"], [690], 2, 2.0, 20
    if args.tabs < 1 or args.every < 0 or args.hold <= 0 or any(x < 64 for x in args.limits):
        p.error("--tabs >= 1, --every >= 0, --hold > 0, every limit >= 64 MB")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    why = cgroup_unavailable()
    if why:
        print(f"bench_memory skipped: {why}")
        return 0
    if shutil.which("sh") is None:
        print("bench_memory skipped: no sh to start the server inside the cgroup")
        return 0
    out, ok = [], True
    if "costs" in args.parts:
        out.append(part_costs(args.sessions, args.settle, args.app_dir))
    if "sweep" in args.parts:
        text, ok = part_sweep(args.limits, args.tabs, args.every, args.hold, args.app_dir)
        out.append(text)
    print("\n\n".join(out))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
