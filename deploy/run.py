"""Start the multi-server deployment on one machine: one PostgreSQL, two app servers
(``streamlit run app.py``) sharing it, and HAProxy in front with sticky sessions.

    python deploy/run.py                         # http://127.0.0.1:8080, a throw-away database
    python deploy/run.py --port 80 --data /srv/pglab/pg --teacher-key KEY
    python deploy/run.py --stale 30 --heartbeat 5   # mark a dead server's runs sooner

It prints the address and waits; Ctrl-C (or SIGTERM) stops everything it started. Each app
server is started as ``PGLAB_REPLICA=app1`` / ``app2`` (its rows in the run history say which
server trained them) with ``PGLAB_DB_URL`` pointing at the one database; HAProxy reads
``deploy/haproxy.cfg`` with the addresses in its environment. The tests
(``tests/test_deploy.py``) and the benchmark (``bench/bench_deploy.py``) use
:class:`Deployment` the same way. Needs Debian's ``postgresql`` and ``haproxy`` packages and
``psycopg[binary]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from deploy.pgserver import PostgresServer, PostgresUnavailable, free_port  # noqa: E402

NAMES = ("app1", "app2")
"""The app servers, as deploy/haproxy.cfg names them (its cookie values)."""
COOKIE = "PGLAB_SERVER"
"""HAProxy's sticky-session cookie (deploy/haproxy.cfg)."""


def unavailable_reason() -> str | None:
    """Why the deployment cannot start here (None: it can)."""
    from deploy.pgserver import unavailable_reason as pg_reason

    if shutil.which("haproxy") is None:
        return "HAProxy is not installed: apt-get install haproxy"
    return pg_reason()


def _healthy(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=timeout) as r:
            return r.read().strip() == b"ok"
    except OSError:
        return False


class AppServer:
    """One ``streamlit run app.py`` in its own process group (its run hosts with it)."""

    def __init__(self, name: str, env: dict, logs: Path, app_dir: Path = ROOT):
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = logs / f"{name}.log"
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(self.port), "--server.address", "127.0.0.1",
             "--browser.gatherUsageStats", "false"],
            cwd=app_dir, env={**env, "PGLAB_REPLICA": name}, stdout=self._log,
            stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not _healthy(self.url):
            if not self.alive:
                raise RuntimeError(f"{self.name} exited at start-up; see {self.log_path}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start within {timeout:.0f} s; see "
                                   f"{self.log_path}")
            time.sleep(0.3)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> None:
        """Send ``sig`` to the server and its run hosts; SIGKILL is a crash (nothing of the
        server runs any more: no end is written for its runs)."""
        if self.alive:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._log.close()


class Deployment:
    """PostgreSQL + two app servers + HAProxy on this machine (see the module docstring).

    ``env``: extra environment for the app servers (e.g. ``PGLAB_RUNS=threads``). ``data``: a
    folder for PostgreSQL's files that outlives the deployment (default: a temporary one).
    """

    def __init__(self, port: int | None = None, *, data: str | Path | None = None,
                 env: dict | None = None, heartbeat: float | None = None,
                 stale: float | None = None, app_dir: Path = ROOT):
        reason = unavailable_reason()
        if reason:
            raise PostgresUnavailable(reason)
        self.port = int(port or free_port())
        self.url = f"http://127.0.0.1:{self.port}"
        self.data = data
        self.extra_env = dict(env or {})
        if heartbeat is not None:
            self.extra_env["PGLAB_HEARTBEAT_SECONDS"] = str(heartbeat)
        if stale is not None:
            self.extra_env["PGLAB_STALE_SECONDS"] = str(stale)
        self.app_dir = app_dir
        self.logs = Path(tempfile.mkdtemp(prefix="pglab-deploy-"))
        self.pg: PostgresServer | None = None
        self.db_url: str | None = None
        self.servers: dict[str, AppServer] = {}
        self.haproxy: subprocess.Popen | None = None

    def start(self, timeout: float = 120.0) -> Deployment:
        try:
            self.pg = PostgresServer(self.data).start()
            self.db_url = self.pg.create_database("pglab")
            env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "PYGAME_HIDE_SUPPORT_PROMPT": "1",
                   **self.extra_env, "PGLAB_DB_URL": self.db_url}
            for name in NAMES:
                self.servers[name] = AppServer(name, env, self.logs, self.app_dir)
            for server in self.servers.values():
                server.wait_ready(timeout)
            lb_env = {**os.environ, "PGLAB_LB_BIND": f"127.0.0.1:{self.port}",
                      **{f"PGLAB_{n.upper()}": f"127.0.0.1:{s.port}"
                         for n, s in self.servers.items()}}
            self._lb_log = open(self.logs / "haproxy.log", "w")
            self.haproxy = subprocess.Popen(
                ["haproxy", "-f", str(HERE / "haproxy.cfg"), "-db"], env=lb_env,
                stdout=self._lb_log, stderr=subprocess.STDOUT, start_new_session=True)
            deadline = time.monotonic() + 30
            while not _healthy(self.url):
                if self.haproxy.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("HAProxy did not start; see "
                                       f"{self.logs / 'haproxy.log'}")
                time.sleep(0.2)
        except BaseException:
            self.close(keep_logs=True)  # the error names a log to read
            raise
        return self

    def stop_server(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Stop app server ``name`` mid-lesson (SIGKILL: it crashes; SIGTERM: shut down)."""
        self.servers[name].stop(sig)

    def close(self, keep_logs: bool = False) -> None:
        """Stop everything this deployment started (and remove its logs unless
        ``keep_logs``)."""
        if self.haproxy is not None and self.haproxy.poll() is None:
            self.haproxy.terminate()
            try:
                self.haproxy.wait(10)
            except subprocess.TimeoutExpired:
                self.haproxy.kill()
        if self.haproxy is not None:
            self._lb_log.close()
        for server in self.servers.values():
            server.stop(signal.SIGTERM)
        if self.pg is not None:
            self.pg.close()
        if not keep_logs:
            shutil.rmtree(self.logs, ignore_errors=True)

    def __enter__(self) -> Deployment:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, default=8080, help="HAProxy's port (default 8080)")
    p.add_argument("--data", help="PostgreSQL's folder, kept (default: a temporary one)")
    p.add_argument("--teacher-key", help="PGLAB_TEACHER_KEY for both servers")
    p.add_argument("--heartbeat", type=float, help="PGLAB_HEARTBEAT_SECONDS (default 20)")
    p.add_argument("--stale", type=float, help="PGLAB_STALE_SECONDS (default 90)")
    args = p.parse_args(argv)
    env = {"PGLAB_TEACHER_KEY": args.teacher_key} if args.teacher_key else {}
    deployment = Deployment(args.port, data=args.data, env=env, heartbeat=args.heartbeat,
                            stale=args.stale)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        deployment.start()
    except (PostgresUnavailable, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        print(f"Policy Gradient Lab on {deployment.url} (HAProxy)")
        for name, server in deployment.servers.items():
            print(f"  {name}: {server.url} (pid {server.pid})")
        print(f"  run history: {deployment.db_url}")
        print(f"  logs: {deployment.logs}\nCtrl-C stops everything.", flush=True)
        while all(s.alive for s in deployment.servers.values()):
            time.sleep(1)
        print("an app server exited; stopping", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        deployment.close(keep_logs=True)


if __name__ == "__main__":
    sys.exit(main())
