"""A PostgreSQL server of our own, from Debian's ``postgresql`` binaries: ``initdb`` and
``pg_ctl`` in a folder (a temporary one by default) on a free port of 127.0.0.1.

The tests (``tests/conftest.py``), the multi-server deployment (``deploy/run.py``) and its
benchmark (``bench/bench_deploy.py``) all start their database this way::

    server = PostgresServer().start()          # initdb on first use, then pg_ctl start
    url = server.create_database("pglab")      # postgresql+psycopg://pglab@127.0.0.1:PORT/pglab
    server.restart()                           # pg_ctl stop -m fast, then start on the same port
    server.close()                             # stop; a temporary folder is removed

PostgreSQL refuses to run as root. As root (a CI container), the server runs as the
``postgres`` user that Debian's package creates (else ``nobody``), and its folder belongs to
that user. It trusts connections from 127.0.0.1 (``--auth=trust``) and listens nowhere else:
a server for one machine, not for a network.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

BIN_ENV = "PGLAB_PG_BIN"
"""Environment variable: the folder holding ``initdb`` and ``pg_ctl`` (default: the newest
``/usr/lib/postgresql/*/bin``, else the ``PATH``)."""
USER = "pglab"
"""The database superuser ``initdb`` creates (trusted from 127.0.0.1, no password)."""


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL binaries, or no driver: one line saying which and how to install it."""


def find_bindir() -> Path | None:
    """The folder of ``initdb`` / ``pg_ctl``: :data:`BIN_ENV`, else Debian's newest
    ``/usr/lib/postgresql/<version>/bin``, else wherever ``initdb`` is on the PATH."""
    given = os.environ.get(BIN_ENV, "").strip()
    candidates = [Path(given)] if given else []
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                    key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit()
                    else 0, reverse=True)
    candidates += [Path(p) for p in debian]
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def unavailable_reason() -> str | None:
    """Why a server cannot be started here (None: it can)."""
    if find_bindir() is None:
        return ("PostgreSQL is not installed (no initdb/pg_ctl): apt-get install postgresql, "
                f"or set {BIN_ENV} to the folder holding them")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "the PostgreSQL driver is not installed: pip install 'psycopg[binary]'"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_as() -> tuple[int, int] | None:
    """(uid, gid) to run the server as when we are root (None: run as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return entry.pw_uid, entry.pw_gid
    raise PostgresUnavailable("running as root and there is no 'postgres' or 'nobody' user "
                              "to run PostgreSQL as")


class PostgresServer:
    """One PostgreSQL server in ``folder`` (created; a temporary folder, removed by
    :meth:`close`, when None) on ``port`` (a free one when None).

    ``durable=False`` (the default for a temporary folder) turns off fsync and synchronous
    commits: fast for tests, and a crash of the *machine* may lose the last commits. A crash of
    the server alone never does."""

    def __init__(self, folder: str | Path | None = None, port: int | None = None, *,
                 durable: bool | None = None):
        reason = unavailable_reason()
        if reason:
            raise PostgresUnavailable(reason)
        self.bindir = find_bindir()
        self.temporary = folder is None
        self.folder = Path(tempfile.mkdtemp(prefix="pglab-pg-") if folder is None
                           else folder).resolve()
        self.data = self.folder / "data"
        self.log = self.folder / "postgres.log"
        self.port = int(port or free_port())
        self.durable = (not self.temporary) if durable is None else durable
        self.owner = _run_as()
        self.running = False
        atexit.register(self.close)

    # ----- processes --------------------------------------------------------------------------
    def _cmd(self, *args: str, timeout: float = 120.0) -> str:
        kwargs = {}
        if self.owner is not None:
            kwargs = {"user": self.owner[0], "group": self.owner[1], "extra_groups": []}
        env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
        out = subprocess.run([str(self.bindir / args[0]), *args[1:]], cwd=self.folder,
                             env=env, capture_output=True, text=True, timeout=timeout,
                             **kwargs)
        if out.returncode != 0:
            tail = (out.stderr or out.stdout).strip().splitlines()[-3:]
            log = ""
            if self.log.exists():
                log = " | log: " + " ".join(self.log.read_text(errors="replace")
                                            .strip().splitlines()[-3:])
            raise PostgresUnavailable(f"{args[0]} failed: {' '.join(tail)}{log}"[:600])
        return out.stdout

    def _init(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.owner is not None:
            os.chown(self.folder, *self.owner)
            self.folder.chmod(0o700)
        if (self.data / "PG_VERSION").exists():
            return
        self._cmd("initdb", "-D", str(self.data), "-U", USER, "--auth=trust", "-E", "UTF8",
                  "--no-instructions", *(() if self.durable else ("--no-sync",)))
        settings = [f"port = {self.port}", "listen_addresses = '127.0.0.1'",
                    f"unix_socket_directories = '{self.folder}'", "max_connections = 200",
                    "log_min_messages = warning"]
        if not self.durable:
            settings += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        with open(self.data / "postgresql.conf", "a") as f:
            f.write("\n# written by deploy/pgserver.py\n" + "\n".join(settings) + "\n")

    def start(self, timeout: float = 60.0) -> PostgresServer:
        """initdb (the first time), then ``pg_ctl start``: back once it accepts connections."""
        self._init()
        self._cmd("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t",
                  str(int(timeout)), "-o", f"-p {self.port}", "start", timeout=timeout + 10)
        self.running = True
        return self

    def stop(self, mode: str = "fast") -> None:
        """``pg_ctl stop -m fast`` (clients disconnected, a clean shutdown) or ``immediate``
        (as if the server crashed: recovery on the next start)."""
        if self.running:
            self._cmd("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")
            self.running = False

    def restart(self, down_for: float = 0.0) -> None:
        """Stop, wait ``down_for`` seconds, start again on the same port and folder."""
        self.stop()
        time.sleep(down_for)
        self.start()

    def close(self) -> None:
        """Stop the server; remove a temporary folder."""
        try:
            if self.running and (self.data / "postmaster.pid").exists():
                self.stop("immediate")
        except (PostgresUnavailable, OSError, subprocess.SubprocessError):
            pass
        self.running = False
        if self.temporary:
            shutil.rmtree(self.folder, ignore_errors=True)
        atexit.unregister(self.close)

    # ----- databases --------------------------------------------------------------------------
    def url(self, database: str = "postgres", driver: str = "psycopg") -> str:
        """A SQLAlchemy URL for ``database`` on this server."""
        return f"postgresql+{driver}://{USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create database ``name`` (letters, digits, _) if it does not exist; its URL."""
        import psycopg

        if not name.replace("_", "").isalnum():
            raise ValueError(f"not a plain database name: {name!r}")
        with psycopg.connect(host="127.0.0.1", port=self.port, user=USER, dbname="postgres",
                             autocommit=True, connect_timeout=10) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                  (name,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)
