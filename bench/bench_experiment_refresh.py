"""What one live refresh of an experiment page costs the server: the time of the page's
fragment body (``ui.experiment_controls._live_fragment``: its status line, charts, tables and
verdicts, Streamlit's own marshalling of each element included), this checkout against an
older one side by side.

The page runs under ``AppTest`` with its experiment replaced by a synthetic one (no training:
the machine's load then moves both sides alike). Start builds it from the page's own jobs
(labels, seeds, configs); each job has ``--episodes`` episodes of made-up but CartPole-like
history, and each round measures three refreshes:

* **new episodes**: every job has ``--step`` more episodes (a new snapshot);
* **another tab, same episodes**: a snapshot with the same episodes in new objects, as a
  second tab watching the same shared jobs (``pgcore.execution.sharing``) has in its own
  store;
* **nothing new**: the same snapshot's runs again, as a refresh between two flushes sees.

Usage::

    git -C /work/main archive 8937b8a | tar -x -C /tmp/ec_before
    python bench/bench_experiment_refresh.py --before /tmp/ec_before
    python bench/bench_experiment_refresh.py --page entropy --rounds 10
    python bench/bench_experiment_refresh.py --quick

Timings on a shared machine drift: compare the ratios within one invocation.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODES = ("new episodes", "another tab, same episodes", "nothing new")
PAGES = {"seeds_variance": "exp.seeds", "entropy": "exp.entropy",
         "baseline": "exp.baseline", "race": "exp.race"}


# ----- the child: one checkout's page under AppTest ----------------------------------------------


def _history(label: str, seed: int, n: int):
    """``n`` CartPole-like episodes of a job (deterministic in its label and seed)."""
    import zlib

    import numpy as np

    rng = np.random.default_rng([seed, zlib.crc32(label.encode())])
    t = np.arange(n, dtype=np.float64)
    ret = np.clip(20 + 480 / (1 + np.exp(-(t - 300 - 40 * seed) / 80))
                  + rng.normal(0, 40, n), 9, 500).round()
    steps = np.cumsum(ret)
    return {"episode": t + 1, "return": ret, "length": ret, "env_steps": steps,
            "wall_seconds": steps / 8000.0, "entropy": 0.69 * np.exp(-t / 400),
            "q_mean": np.full(n, np.nan), "target_distance": np.full(n, np.nan)}


class FakeExperiment:
    """An experiment's surface as the page reads it (state, snapshot, start, stop), its
    episodes made up (:func:`_history`) and moved on by the benchmark."""

    def __init__(self, jobs, episodes: int, total: int):
        from pgcore.execution.experiments import EVAL_COLUMNS, TRACE_COLUMNS

        self.jobs = jobs
        self.full = [_history(j.label, j.seed, total) for j in jobs]
        self.empty = ({c: __import__("numpy").empty(0) for c in EVAL_COLUMNS},
                      {c: __import__("numpy").empty(0) for c in TRACE_COLUMNS})
        self.n, self.version, self.state = episodes, 0, "running"
        self.runs = self._views()

    def _views(self):
        from pgcore.execution.experiments import RunView

        out = []
        for job, full in zip(self.jobs, self.full, strict=True):
            cols = {}
            for k, v in full.items():
                cols[k] = v[:self.n].copy()
                cols[k].setflags(write=False)
            out.append(RunView(job.label, job.seed, job.config, "running", "", cols, None,
                               *self.empty))
        return tuple(out)

    def advance(self, step: int) -> None:
        self.n += step
        self.version += 1
        self.runs = self._views()

    def same_in_new_objects(self) -> None:
        self.runs = self._views()

    def snapshot(self):
        from pgcore.execution.experiments import ExperimentSnapshot

        return ExperimentSnapshot(self.state, self.runs, self.version, 12.0)

    def start(self) -> None:
        pass

    def stop(self) -> None:
        self.state = "stopped"


def child(args) -> None:
    """Measure one checkout (``--app-dir``): print {mode: [seconds, ...]} as JSON."""
    app = Path(args.app_dir).resolve()
    sys.path.insert(0, str(app))
    os.chdir(app)
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    from streamlit.testing.v1 import AppTest

    from ui import experiment_controls as controls
    from ui import navigation
    from ui.state import session_tasks

    made: list[FakeExperiment] = []

    def start_fake(key, jobs, *rest, **kw):
        fake = FakeExperiment(jobs, args.episodes, args.episodes + args.step * args.rounds)
        made.append(fake)
        session_tasks().page(key).start(fake)

    controls.start_experiment = start_fake
    took: list[float] = []
    body = controls._live_fragment

    profiles: dict = {}
    mode = MODES[0]

    def timed(key, draw):
        prof = None
        if args.profile:
            import cProfile

            prof = profiles.setdefault(mode, cProfile.Profile())
            prof.enable()
        began = time.perf_counter()
        body(key, draw)
        took.append(time.perf_counter() - began)
        if prof is not None:
            prof.disable()

    controls._live_fragment = timed
    key = PAGES[args.page]
    at = AppTest.from_file(str(navigation.page(args.page).path), default_timeout=120)
    at.run()
    at.button(key=f"{key}.start").click().run()
    assert made and not at.exception, at.exception
    fake = made[-1]
    at.run()  # warm: templates, reference bands, imports
    out: dict[str, list[float]] = {m: [] for m in MODES}
    for _ in range(args.rounds):
        for mode in MODES:  # noqa: B007 - timed() reads it
            if mode == "new episodes":
                fake.advance(args.step)
            elif mode == "another tab, same episodes":
                fake.same_in_new_objects()
            took.clear()
            at.run()
            assert not at.exception, at.exception
            assert len(took) == 1, took
            out[mode].append(took[0])
    at.button(key=f"{key}.reset").click().run()
    for i, prof in enumerate(profiles.values()):
        prof.dump_stats(f"{args.profile}.{i}")  # one file per mode, in MODES order
    print(json.dumps(out))


# ----- the parent: both checkouts side by side --------------------------------------------------


def measure(app_dir: Path, args) -> dict[str, list[float]]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--app-dir", str(app_dir),
           "--page", args.page, "--rounds", str(args.rounds), "--episodes",
           str(args.episodes), "--step", str(args.step)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    if done.returncode:
        sys.exit(f"{app_dir}: the child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def p90(values: list[float]) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(0.9 * (len(s) - 1)))]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--page", choices=list(PAGES), default="seeds_variance")
    p.add_argument("--before", type=Path, help="an older checkout to set beside this one")
    p.add_argument("--rounds", type=int, default=20, help="refreshes per mode (default 20)")
    p.add_argument("--episodes", type=int, default=600,
                   help="episodes each job has at the first refresh (default 600)")
    p.add_argument("--step", type=int, default=10,
                   help="episodes each job gains per new snapshot (default 10)")
    p.add_argument("--repeat", type=int, default=2,
                   help="alternations of the checkouts (default 2)")
    p.add_argument("--quick", action="store_true", help="a smoke test: 3 rounds, once")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--app-dir", default=str(ROOT), help=argparse.SUPPRESS)
    p.add_argument("--profile", metavar="FILE",
                   help="with --child: cProfile the fragment body, FILE.0 .. FILE.2 per mode")
    args = p.parse_args(argv)
    if args.quick:
        args.rounds, args.repeat = 3, 1
    if args.child:
        child(args)
        return 0
    sides = [("this checkout", ROOT)]
    if args.before is not None:
        sides.insert(0, ("before", args.before))
    times: dict[str, dict[str, list[float]]] = {name: {m: [] for m in MODES}
                                               for name, _ in sides}
    for i in range(args.repeat):
        for name, path in sides:
            print(f"{args.page}: {name}, pass {i + 1} of {args.repeat}", file=sys.stderr)
            for mode, values in measure(path, args).items():
                times[name][mode] += values
    try:
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        load = "?"
    print(f"Fragment body per refresh, page {args.page}, {args.episodes}+ episodes per job, "
          f"{args.rounds * args.repeat} refreshes per mode (load average {load}):\n")
    head = ["refresh"]
    for name, _ in sides:
        head += [f"{name}: median ms", f"{name}: p90 ms"]
    if len(sides) == 2:
        head.append("median ratio (before / this)")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for mode in MODES:
        row = [mode]
        for name, _ in sides:
            v = times[name][mode]
            row += [f"{1000 * statistics.median(v):,.1f}", f"{1000 * p90(v):,.1f}"]
        if len(sides) == 2:
            a = statistics.median(times["before"][mode])
            b = statistics.median(times["this checkout"][mode])
            row.append(f"{a / b:,.1f}x")
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
