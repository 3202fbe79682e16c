"""Run history: every run the app trains, recorded in a real database (issue 12).

By default an embedded SQLite file next to the app (``data/runs.sqlite``: zero set-up, WAL
journal, a busy timeout, so the threads and worker processes of one server write to it
safely at once); any SQLAlchemy URL (PostgreSQL for a hosted app whose disk does not persist)
from :data:`URL_ENV` or the app's secrets::

    store = RunStore(resolve_url())                     # HistoryError: one line, if it cannot
    run_id = store.start_run(config, display_name="Ada", class_code="PHYS7")
    store.heartbeat({run_id: (12, 3_400, 9.5)})         # progress; proves the server is alive
    store.finish_run(run_id, "finished", "", returns, ...)
    store.runs("PHYS7")                                 # RunRecords, newest first

A row is written when a run starts (``running``, with a heartbeat) and completed when it ends
(``finished``, ``stopped``, ``diverged``, ``error``). A server that dies mid-run leaves rows
``running`` whose heartbeat goes stale; whoever opens or refreshes the store next marks them
``interrupted`` (never deleted). Several app replicas may share one database: a live
replica keeps heartbeating its own rows, so only a dead one's rows go stale.

:class:`Recorder` is what the app uses: it writes from one daemon thread, so a slow or broken
database never slows or stops training; a failure turns recording off for that run with a
one-line note. Per-episode returns are stored as zlib-compressed little-endian float32 and
validated on read; nothing is ever unpickled. This module never imports streamlit.
"""

from __future__ import annotations

import atexit
import collections
import csv
import io
import json
import math
import os
import queue
import re
import threading
import time
import unicodedata
import uuid
import weakref
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

URL_ENV = "PGLAB_DB_URL"
"""Environment variable holding the database URL (``off`` turns recording off)."""
OFF = frozenset({"off", "none", "false", "0", "disabled"})
"""Values of :data:`URL_ENV` (or the ``db_url`` secret) that turn recording off."""
DEFAULT_PATH = Path(__file__).resolve().parents[2] / "data" / "runs.sqlite"
"""The default database: a SQLite file in ``data/`` next to the app (git-ignored)."""
TABLE = "pglab_runs"
SCHEMA_VERSION = 1

STATUSES = ("running", "finished", "stopped", "diverged", "error", "interrupted")
"""A row's status: ``running`` while its run is waiting, running or paused; then the run's end
state; ``interrupted`` when the server went away before the run ended."""
END_STATUSES = ("finished", "stopped", "diverged", "error")

NAME_MAX = 30
NAME_EXTRA = frozenset(" .-_'")
"""Characters a display name may hold besides letters and digits (no markup characters)."""
CLASS_RE = re.compile(r"[A-Z0-9]{3,16}")
MAX_RETURNS = 100_000
"""At most this many per-episode returns per run (the live run log's own cap)."""
HEARTBEAT_EVERY = 20.0
"""Seconds between two heartbeats of a server's running rows (:class:`Recorder`)."""
STALE_AFTER = 90.0
"""Seconds without a heartbeat after which a ``running`` row counts as interrupted."""
STALE_MESSAGE = ("Interrupted: the server stopped before this run ended (the figures are as "
                 "of its last heartbeat).")
SHUTDOWN_MESSAGE = "Interrupted: the app server shut down before this run ended."
HEARTBEAT_ENV = "PGLAB_HEARTBEAT_SECONDS"
STALE_ENV = "PGLAB_STALE_SECONDS"
"""Environment variables overriding :data:`HEARTBEAT_EVERY` and :data:`STALE_AFTER` for the
app's recorder (a deployment that wants a dead server's runs marked sooner)."""
REPLICA_ENV = "PGLAB_REPLICA"
"""Environment variable: a short name for this app server (``app1``), the start of the
``replica`` its rows are written under, so a row says which server trained it."""
SQLITE_BUSY_MS = 15_000


class HistoryError(RuntimeError):
    """Anything wrong with the run history (its database or a value for it), as one line
    written for the person who has to fix it. ``transient``: a database server that did not
    answer or dropped the connection (it may be restarting): worth trying again."""

    def __init__(self, message: str, transient: bool = False):
        super().__init__(message)
        self.transient = transient


# ----- validation ---------------------------------------------------------------------------


def validate_display_name(name: object) -> str:
    """A learner's display name, cleaned (NFC, spaces collapsed) or a one-line HistoryError.

    1 to :data:`NAME_MAX` characters: letters, digits, spaces and ``. - _ '`` only, so no
    markup (``< > & * [ ] ( ) # `` ...) and no control characters can reach a page.
    """
    if not isinstance(name, str):
        raise HistoryError("Display name must be text.")
    text = unicodedata.normalize("NFC", name).strip()
    if any(unicodedata.category(ch).startswith("C") for ch in text):
        raise HistoryError("Display name may not contain control characters.")
    text = " ".join(text.split())
    if not text:
        raise HistoryError("Display name is empty: type 1 to 30 letters or digits.")
    if len(text) > NAME_MAX:
        raise HistoryError(f"Display name is {len(text)} characters long; at most {NAME_MAX}.")
    for ch in text:
        if not (ch.isalnum() or ch in NAME_EXTRA):
            raise HistoryError(f"Display name may not contain {ch!r}: use letters, digits, "
                               "spaces and . - _ ' only.")
    return text


def validate_class_code(code: object) -> str:
    """A class code, upper-cased: 3 to 16 letters A-Z and digits, or a one-line HistoryError."""
    if not isinstance(code, str):
        raise HistoryError("Class code must be text.")
    text = code.strip().upper()
    if not CLASS_RE.fullmatch(text):
        raise HistoryError("Class code must be 3 to 16 letters (A-Z) and digits, "
                           "e.g. PHYS7.")
    return text


# ----- returns, stored compactly ------------------------------------------------------------


def encode_returns(returns: Sequence[float]) -> bytes:
    """Per-episode returns as zlib-compressed little-endian float32 (the last
    :data:`MAX_RETURNS` at most)."""
    x = np.asarray(returns, dtype="<f4").ravel()[-MAX_RETURNS:]
    return zlib.compress(x.tobytes(), 6)


def decode_returns(blob: bytes | None) -> np.ndarray:
    """The returns of :func:`encode_returns`, validated: a HistoryError for anything that is
    not a whole number of finite float32 values (at most :data:`MAX_RETURNS`)."""
    if blob is None:
        return np.zeros(0, dtype=np.float64)
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        raise HistoryError("stored returns are not bytes")
    limit = 4 * MAX_RETURNS
    try:
        d = zlib.decompressobj()
        raw = d.decompress(bytes(blob), limit + 1)
    except zlib.error as exc:
        raise HistoryError(f"stored returns are unreadable: {exc}") from None
    if len(raw) > limit or d.unconsumed_tail:
        raise HistoryError("stored returns are longer than any run can be")
    if len(raw) % 4:
        raise HistoryError("stored returns are not whole float32 values")
    x = np.frombuffer(raw, dtype="<f4").astype(np.float64)
    if not np.isfinite(x).all():
        raise HistoryError("stored returns hold values that are not finite")
    return x


# ----- the record ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRecord:
    """One recorded run, as read back (times are Unix seconds; figures None if not reached)."""

    run_id: str
    replica: str
    class_code: str | None
    display_name: str | None
    algo: str
    env_id: str
    seed: int
    preset: str | None
    config: Mapping
    status: str
    message: str
    started_at: float
    heartbeat_at: float
    ended_at: float | None
    episodes: int
    env_steps: int
    seconds: float
    best_avg100: float | None
    final_avg100: float | None
    episodes_to_475: int | None
    first_episode: int
    """The episode number of ``returns[0]`` (1 unless the live log dropped early episodes)."""
    returns: np.ndarray
    damaged: bool = False
    """The stored returns failed validation (``returns`` is then empty)."""

    @property
    def who(self) -> str:
        return self.display_name or "anonymous"

    @property
    def baseline(self) -> str | None:
        value = self.config.get("baseline")
        return value if isinstance(value, str) else None


def _metadata():
    import sqlalchemy as sa

    meta = sa.MetaData()
    runs = sa.Table(
        TABLE, meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(32), nullable=False, unique=True),
        sa.Column("replica", sa.String(32), nullable=False),
        sa.Column("class_code", sa.String(16), index=True),
        sa.Column("display_name", sa.String(NAME_MAX)),
        sa.Column("algo", sa.String(40), nullable=False),
        sa.Column("env_id", sa.String(80), nullable=False),
        sa.Column("seed", sa.Integer, nullable=False),
        sa.Column("preset", sa.String(120)),
        sa.Column("config", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("message", sa.String(300), nullable=False, default=""),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("heartbeat_at", sa.Float, nullable=False),
        sa.Column("ended_at", sa.Float),
        sa.Column("episodes", sa.Integer, nullable=False, default=0),
        sa.Column("env_steps", sa.Integer, nullable=False, default=0),
        sa.Column("seconds", sa.Float, nullable=False, default=0.0),
        sa.Column("best_avg100", sa.Float),
        sa.Column("final_avg100", sa.Float),
        sa.Column("episodes_to_475", sa.Integer),
        sa.Column("first_episode", sa.Integer, nullable=False, default=1),
        sa.Column("returns", sa.LargeBinary),
    )
    info = sa.Table("pglab_meta", meta, sa.Column("key", sa.String(32), primary_key=True),
                    sa.Column("value", sa.String(64), nullable=False))
    return meta, runs, info


_META, RUNS, INFO = _metadata()


def default_url() -> str:
    """``sqlite:///`` + :data:`DEFAULT_PATH`."""
    return f"sqlite:///{DEFAULT_PATH}"


def resolve_url(url: str | None = None) -> str | None:
    """The database URL: ``url`` if given, else :data:`URL_ENV`, else :func:`default_url`;
    None when the value is one of :data:`OFF` (recording off)."""
    raw = url if url else os.environ.get(URL_ENV, "")
    raw = raw.strip()
    if raw.lower() in OFF:
        return None
    return raw or default_url()


def env_seconds(name: str, default: float) -> float:
    """A positive number of seconds from environment variable ``name`` (else ``default``: a
    missing or malformed value never stops the app)."""
    try:
        value = float(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if math.isfinite(value) and value > 0 else default


def replica_id() -> str:
    """A new id for this server's rows (32 characters): :data:`REPLICA_ENV`'s name (letters,
    digits and ``-``, at most 15), a dash and random hex; random hex alone without a name.

    >>> import os; os.environ[REPLICA_ENV] = "App 1"; r = replica_id(); del os.environ[REPLICA_ENV]
    >>> r.startswith("app1-"), len(r)
    (True, 32)
    """
    name = re.sub(r"[^a-z0-9-]", "", os.environ.get(REPLICA_ENV, "").lower())[:15]
    random = uuid.uuid4().hex
    return f"{name}-{random[:31 - len(name)]}" if name else random


def _clip(text: str, n: int = 300) -> str:
    return " ".join(str(text).split())[:n]


def _describe(exc: BaseException) -> str:
    """A database exception as one short line (SQLAlchemy's own text has the SQL and a link)."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()
    return _clip(text[0] if text else type(exc).__name__, 200)


def _number(value, kind=float):
    if value is None:
        return None
    value = kind(value)
    return value if kind is int or math.isfinite(value) else None


# ----- the store ----------------------------------------------------------------------------


class RunStore:
    """The run history in one database (thread-safe; one per process and URL is plenty).

    Opening connects, creates the schema if needed and marks stale rows ``interrupted``.
    ``replica`` names this process's rows (a fresh id per store by default). Every database
    problem (a directory that cannot be made, a read-only, corrupt or non-SQLite file, an
    unreachable server, a missing driver) is a :class:`HistoryError` with one line.
    """

    def __init__(self, url: str | None = None, *, replica: str | None = None,
                 stale_after: float = STALE_AFTER, connect_timeout: float = 5.0):
        import sqlalchemy as sa
        from sqlalchemy import event

        resolved = resolve_url(url)
        if resolved is None:
            raise HistoryError("Run history is turned off (PGLAB_DB_URL=off).")
        self.replica = replica or replica_id()
        self.stale_after = float(stale_after)
        try:
            parsed = sa.engine.make_url(resolved)
        except Exception as exc:  # noqa: BLE001 - an unparsable URL is the user's to fix
            raise HistoryError(f"Run history: {resolved!r} is not a database URL "
                               f"({_describe(exc)}).") from None
        self.url = parsed.render_as_string(hide_password=True)
        self.path: Path | None = None
        self._lock = threading.Lock()
        backend = parsed.get_backend_name()
        kwargs: dict = {}
        if backend == "sqlite":
            database = parsed.database or ""
            if database.startswith("file:"):  # a URI filename (sqlite:///file:x?mode=ro&uri=true)
                database = database[5:]
            if database in ("", ":memory:") or "mode=memory" in resolved:
                raise HistoryError("Run history needs a SQLite file, not an in-memory "
                                   "database (e.g. sqlite:////srv/pglab/runs.sqlite).")
            self.path = Path(database).expanduser().resolve()
            self._make_dir()
            kwargs["connect_args"] = {"timeout": SQLITE_BUSY_MS / 1000,
                                      "check_same_thread": False}
        elif backend.startswith("postgresql") or backend == "mysql":
            kwargs["connect_args"] = {"connect_timeout": int(max(1, connect_timeout))}
            kwargs["pool_pre_ping"] = True
        try:
            self.engine = sa.create_engine(parsed, **kwargs)
        except ModuleNotFoundError as exc:
            raise HistoryError(f"Run history cannot use {self.url}: its driver is not "
                               f"installed (pip install {exc.name}).") from None
        except Exception as exc:  # noqa: BLE001 - e.g. an unknown dialect
            raise HistoryError(f"Run history cannot use {self.url}: {_describe(exc)}.") from None
        if backend == "sqlite":
            event.listen(self.engine, "connect", _sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
        self._reader = self.engine.execution_options(pglab_read=True)
        self._refreshed = -math.inf
        try:
            self._run(self._create, "open")
        except HistoryError:  # two replicas creating the schema at once: the loser retries
            time.sleep(0.5)
            self._run(self._create, "open")
        self.refresh()

    # ----- plumbing ---------------------------------------------------------------------------
    def _make_dir(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HistoryError(f"Run history: cannot create the folder {self.path.parent} "
                               f"({exc.strerror or exc}).") from None

    def _call(self, fn: Callable, what: str, read: bool = False):
        """Run ``fn(connection)`` in one transaction; any database error is a HistoryError.
        A SQLite file deleted while the app ran is made afresh first (with its schema), so
        later runs are not written into a file nobody can see any more."""
        if self.path is not None and not self.path.exists():
            with self._lock:
                if not self.path.exists():
                    self.engine.dispose()
                    self._make_dir()
                    self._run(self._create, "open")
        return self._run(fn, what, read)

    def _run(self, fn: Callable, what: str, read: bool = False):
        try:
            with (self._reader if read else self.engine).begin() as conn:
                return fn(conn)
        except HistoryError:
            raise
        except Exception as exc:  # noqa: BLE001 - sqlite3 / driver / SQLAlchemy: one line
            raise HistoryError(self._explain(exc, what), self._transient(exc)) from None

    def _transient(self, exc: BaseException) -> bool:
        """A database server that refused, dropped or lost the connection (not SQLite, whose
        failures are about the file): the pool reconnects on the next use, so a writer may
        try again once the server is back."""
        import sqlalchemy as sa

        if self.path is not None:
            return False
        return bool(getattr(exc, "connection_invalidated", False)) or isinstance(
            exc, (sa.exc.OperationalError, sa.exc.InterfaceError))

    def _explain(self, exc: BaseException, what: str) -> str:
        text = _describe(exc)
        low = text.lower()
        where = self.path if self.path is not None else self.url
        if "readonly" in low or "read-only" in low or "read only" in low:
            return (f"Run history file {where} is read-only: make it writable or set "
                    f"{URL_ENV} to another file.")
        if "not a database" in low or "malformed" in low or "file is encrypted" in low:
            return (f"Run history file {where} is not a readable SQLite database (corrupt?): "
                    f"move it away and a new one is made, or set {URL_ENV}.")
        if "unable to open" in low:
            return f"Run history cannot open {where}: check the folder exists and is writable."
        if "locked" in low or "busy" in low:
            return f"Run history {where} stayed locked by another writer; try again."
        if what == "open":
            return f"Run history cannot open {where}: {text}."
        return f"Run history ({where}) could not {what}: {text}."

    def _create(self, conn) -> None:
        import sqlalchemy as sa

        _META.create_all(conn, checkfirst=True)
        row = conn.execute(sa.select(INFO.c.value).where(INFO.c.key == "schema")).first()
        if row is None:
            conn.execute(sa.insert(INFO).values(key="schema", value=str(SCHEMA_VERSION)))
        elif row[0] != str(SCHEMA_VERSION):
            raise HistoryError(f"Run history {self.url} has schema version {row[0]!r}; this "
                               f"app reads version {SCHEMA_VERSION}.")

    def dispose(self) -> None:
        """Close the store's connections (it reconnects if used again)."""
        self.engine.dispose()

    # ----- writing ----------------------------------------------------------------------------
    def start_run(self, config, *, display_name: str | None = None,
                  class_code: str | None = None, preset: str | None = None,
                  run_id: str | None = None, now: float | None = None) -> str:
        """A new row, status ``running`` with a heartbeat; returns its run id. ``config`` is a
        :class:`~pgcore.training.config.TrainConfig` (or its ``to_dict()``)."""
        import sqlalchemy as sa

        row = start_row(config, display_name=display_name, class_code=class_code,
                        preset=preset, run_id=run_id, now=now, replica=self.replica)
        self._call(lambda conn: conn.execute(sa.insert(RUNS).values(**row)), "record a run")
        return row["run_id"]

    def heartbeat(self, progress: Mapping[str, tuple], now: float | None = None) -> None:
        """Mark this process's rows ``run_id -> (episodes, env_steps, seconds)`` alive, with
        their progress so far (one transaction). A fourth and fifth item, the returns so far
        and the episode number of the first, are saved too: a run cut off with its server then
        keeps its curve up to its last heartbeat."""
        import sqlalchemy as sa

        now = time.time() if now is None else float(now)

        def work(conn):
            for run_id, (episodes, env_steps, seconds, *curve) in progress.items():
                values = dict(heartbeat_at=now, episodes=int(episodes),
                              env_steps=int(env_steps), seconds=float(seconds),
                              replica=self.replica)
                if curve:
                    returns = np.asarray(curve[0], dtype=np.float64).ravel()
                    returns = returns[np.isfinite(returns)]
                    first = int(curve[1]) if len(curve) > 1 else 1
                    values.update(returns=encode_returns(returns), first_episode=first + max(
                        0, len(returns) - MAX_RETURNS))
                conn.execute(sa.update(RUNS).where(RUNS.c.run_id == run_id,
                                                   RUNS.c.status == "running")
                             .values(**values))
        if progress:
            self._call(work, "save a heartbeat")

    def finish_run(self, run_id: str, status: str, message: str = "",
                   returns: Sequence[float] = (), *, episodes: int | None = None,
                   env_steps: int = 0, seconds: float = 0.0,
                   best_avg100: float | None = None, final_avg100: float | None = None,
                   episodes_to_475: int | None = None, first_episode: int = 1,
                   start: dict | None = None, now: float | None = None) -> None:
        """Complete a row with its end ``status`` (one of :data:`END_STATUSES`, or
        ``interrupted`` for a run its server stopped as it shut down), message and
        summary figures. ``start`` (a :func:`start_row` dict) inserts the row whole if it is
        missing (its start was never written, or the file was replaced meanwhile)."""
        import sqlalchemy as sa

        if status not in END_STATUSES + ("interrupted",):
            raise HistoryError(f"not an end status: {status!r}")
        now = time.time() if now is None else float(now)
        returns = np.asarray(returns, dtype=np.float64).ravel()
        returns = returns[np.isfinite(returns)]
        values = dict(status=status, message=_clip(message), ended_at=now, heartbeat_at=now,
                      episodes=int(len(returns) if episodes is None else episodes),
                      env_steps=int(env_steps), seconds=float(seconds),
                      best_avg100=_number(best_avg100), final_avg100=_number(final_avg100),
                      episodes_to_475=_number(episodes_to_475, int),
                      first_episode=int(first_episode) + max(0, len(returns) - MAX_RETURNS),
                      returns=encode_returns(returns))

        def work(conn):
            done = conn.execute(sa.update(RUNS).where(RUNS.c.run_id == run_id)
                                .values(**values)).rowcount
            if not done and start is not None:
                conn.execute(sa.insert(RUNS).values(**{**start, **values}))
            elif not done:
                raise HistoryError(f"Run history has no run {run_id!r} to finish.")
        self._call(work, "record the end of a run")

    def refresh(self, now: float | None = None) -> int:
        """Mark ``running`` rows whose heartbeat is older than ``stale_after`` seconds as
        ``interrupted`` (their server went away); returns how many. A live replica's rows are
        fresh, so they are left alone."""
        import sqlalchemy as sa

        now = time.time() if now is None else float(now)
        cutoff = now - self.stale_after

        def work(conn):
            return conn.execute(
                sa.update(RUNS).where(RUNS.c.status == "running",
                                      RUNS.c.heartbeat_at < cutoff)
                .values(status="interrupted", ended_at=RUNS.c.heartbeat_at,
                        message=STALE_MESSAGE)).rowcount
        self._refreshed = time.monotonic()
        return int(self._call(work, "mark interrupted runs") or 0)

    def refresh_due(self, every: float = 10.0) -> int:
        """:meth:`refresh`, at most once every ``every`` seconds (a page may call it on each
        rerun)."""
        if time.monotonic() - self._refreshed < every:
            return 0
        return self.refresh()

    # ----- reading ----------------------------------------------------------------------------
    def runs(self, class_code: str | None = None, *, all_classes: bool = False,
             status: Iterable[str] | None = None, limit: int = 2_000) -> list[RunRecord]:
        """Recorded runs, newest first: those of ``class_code`` (validated); with
        ``all_classes`` every run (also those recorded under no class)."""
        import sqlalchemy as sa

        query = sa.select(RUNS).order_by(RUNS.c.started_at.desc(), RUNS.c.id.desc())
        if not all_classes:
            if class_code is None:
                query = query.where(RUNS.c.class_code.is_(None))
            else:
                query = query.where(RUNS.c.class_code == validate_class_code(class_code))
        if status is not None:
            query = query.where(RUNS.c.status.in_(list(status)))
        query = query.limit(int(limit))
        rows = self._call(lambda conn: conn.execute(query).mappings().all(), "read runs",
                          read=True)
        return [_record(r) for r in rows]

    def get(self, run_id: str) -> RunRecord | None:
        import sqlalchemy as sa

        query = sa.select(RUNS).where(RUNS.c.run_id == run_id)
        row = self._call(lambda conn: conn.execute(query).mappings().first(), "read a run",
                         read=True)
        return None if row is None else _record(row)

    def classes(self) -> list[tuple[str, int]]:
        """Every class code with its number of runs, most runs first."""
        import sqlalchemy as sa

        query = (sa.select(RUNS.c.class_code, sa.func.count())
                 .where(RUNS.c.class_code.is_not(None)).group_by(RUNS.c.class_code)
                 .order_by(sa.func.count().desc(), RUNS.c.class_code))
        rows = self._call(lambda conn: conn.execute(query).all(), "read classes", read=True)
        return [(str(code), int(n)) for code, n in rows]

    def count(self) -> int:
        import sqlalchemy as sa

        query = sa.select(sa.func.count()).select_from(RUNS)
        return int(self._call(lambda conn: conn.execute(query).scalar_one(), "count runs",
                              read=True))


def start_row(config, *, display_name: str | None = None, class_code: str | None = None,
              preset: str | None = None, run_id: str | None = None, now: float | None = None,
              replica: str = "") -> dict:
    """The validated row a run starts with (``config``: a TrainConfig or its ``to_dict()``)."""
    data = dict(config.to_dict() if hasattr(config, "to_dict") else config)
    now = time.time() if now is None else float(now)
    return dict(
        run_id=run_id or uuid.uuid4().hex, replica=replica,
        class_code=None if class_code is None else validate_class_code(class_code),
        display_name=None if display_name is None else validate_display_name(display_name),
        algo=str(data.get("algo", "?"))[:40], env_id=str(data.get("env_id", "?"))[:80],
        seed=int(data.get("seed") or 0), preset=None if preset is None else _clip(preset, 120),
        config=json.dumps(data, sort_keys=True, allow_nan=False, default=str),
        status="running", message="", started_at=now, heartbeat_at=now, episodes=0,
        env_steps=0, seconds=0.0, first_episode=1)


def _sqlite_connect(dbapi_conn, _record) -> None:
    """Every SQLite connection: we issue BEGIN ourselves; WAL; wait, don't fail, when busy."""
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    try:
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")
        cur.execute("PRAGMA journal_mode = WAL")  # persistent; a read-only file keeps its own
    finally:
        cur.close()


def _sqlite_begin(conn) -> None:
    """A writing transaction is BEGIN IMMEDIATE: it takes the write lock up front, so two
    writers queue behind the busy timeout instead of one failing at once on a lock upgrade.
    A reading one is a plain BEGIN: in WAL mode readers never wait for writers."""
    read = conn.get_execution_options().get("pglab_read", False)
    conn.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")


def _record(row: Mapping) -> RunRecord:
    damaged = False
    try:
        returns = decode_returns(row["returns"])
    except HistoryError:
        returns, damaged = np.zeros(0), True
    try:
        config = json.loads(row["config"])
        if not isinstance(config, dict):
            raise ValueError
    except (TypeError, ValueError):
        config, damaged = {}, True
    returns.setflags(write=False)
    name = row["display_name"]
    if name is not None:
        try:
            name = validate_display_name(name)
        except HistoryError:  # written by something else: never shown raw
            name, damaged = "(unreadable name)", True
    status = row["status"] if row["status"] in STATUSES else "error"
    return RunRecord(
        run_id=str(row["run_id"]), replica=str(row["replica"]), class_code=row["class_code"],
        display_name=name, algo=str(row["algo"]), env_id=str(row["env_id"]),
        seed=int(row["seed"]), preset=row["preset"], config=config, status=status,
        message=str(row["message"] or ""), started_at=float(row["started_at"]),
        heartbeat_at=float(row["heartbeat_at"]),
        ended_at=None if row["ended_at"] is None else float(row["ended_at"]),
        episodes=int(row["episodes"] or 0), env_steps=int(row["env_steps"] or 0),
        seconds=float(row["seconds"] or 0.0), best_avg100=_number(row["best_avg100"]),
        final_avg100=_number(row["final_avg100"]),
        episodes_to_475=_number(row["episodes_to_475"], int),
        first_episode=int(row["first_episode"] or 1), returns=returns, damaged=damaged)


# ----- CSV ------------------------------------------------------------------------------------

CSV_COLUMNS = ("run_id", "class_code", "display_name", "algo", "baseline", "env_id", "seed",
               "preset", "status", "message", "started_utc", "ended_utc", "episodes",
               "env_steps", "seconds", "best_avg100", "final_avg100", "episodes_to_475",
               "returns")
"""The columns of :func:`csv_text`; ``returns`` is the per-episode returns, space-separated."""


def _utc(t: float | None) -> str:
    if t is None:
        return ""
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _safe_cell(value) -> str:
    """A CSV cell a spreadsheet will not run as a formula (=, +, -, @ at the start)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "@", "\t", "\r") else text


def csv_text(records: Iterable[RunRecord]) -> str:
    """The runs as CSV text, one row each (:data:`CSV_COLUMNS`), for the teacher."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in records:
        w.writerow([_safe_cell(v) for v in (
            r.run_id, r.class_code or "", r.display_name or "", r.algo, r.baseline or "",
            r.env_id, r.seed, r.preset or "", r.status, r.message, _utc(r.started_at),
            _utc(r.ended_at), r.episodes, r.env_steps, f"{r.seconds:.1f}",
            "" if r.best_avg100 is None else f"{r.best_avg100:.2f}",
            "" if r.final_avg100 is None else f"{r.final_avg100:.2f}",
            "" if r.episodes_to_475 is None else r.episodes_to_475,
            _returns_text(r.returns))])
    return buf.getvalue()


def _returns_text(returns: np.ndarray) -> str:
    """Returns as space-separated numbers: whole ones as integers (CartPole's always are),
    others to 6 significant digits."""
    if not len(returns):
        return ""
    whole = returns.astype(np.int64)
    if np.array_equal(whole, returns):
        return " ".join(map(str, whole.tolist()))
    return " ".join(f"{v:.6g}" for v in returns.tolist())


# ----- leaderboards ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Challenge:
    """A leaderboard: which runs take part, what is measured, which way is better. Each
    learner's best qualifying run counts once."""

    key: str
    title: str
    rule: str
    """What the page says the challenge is, in one sentence."""
    measure: Callable[[RunRecord], float | None]
    unit: str
    higher_is_better: bool = False
    algos: tuple[str, ...] = ()
    """Only runs of these algorithms (empty: any)."""
    baselines: tuple[str, ...] = ()
    """Only runs whose config has one of these ``baseline`` values (empty: any)."""
    env_id: str = "CartPole-v1"
    min_episodes: int = 0


STABLE_MIN_EPISODES = 300

CHALLENGES = (
    Challenge("fast475", "Fastest to 475: REINFORCE with a baseline",
              "REINFORCE with a learned value baseline or normalised returns on CartPole-v1: "
              "the fewest episodes until the 100-episode average first reached 475.",
              lambda r: None if r.episodes_to_475 is None else float(r.episodes_to_475),
              "episodes", algos=("reinforce",), baselines=("value", "normalize")),
    Challenge("stable", "Most stable finish",
              f"Any algorithm on CartPole-v1, runs of at least {STABLE_MIN_EPISODES} episodes: "
              "the highest average return over the run's last 100 episodes.",
              lambda r: r.final_avg100, "final 100-episode average", higher_is_better=True,
              min_episodes=STABLE_MIN_EPISODES),
    Challenge("steps475", "Fewest env steps to 475",
              "Any algorithm on CartPole-v1: the fewest environment steps the run had taken "
              "when its 100-episode average first reached 475 (an episode of A2C is not an "
              "episode of REINFORCE; a step is a step).",
              lambda r: _steps_to(r, 475.0), "env steps"),
)
"""The class board's leaderboards, in the order the page shows them."""


def _steps_to(r: RunRecord, threshold: float) -> float | None:
    """Env steps at the first full 100-episode window reaching ``threshold`` (None if not, or
    when only the summary survives). Needs the per-episode lengths: approximated from the
    returns, which on CartPole-v1 equal the episode lengths."""
    if r.episodes_to_475 is None or not len(r.returns) or r.first_episode != 1:
        return None
    from ..training.metrics import episodes_to_threshold

    hit = episodes_to_threshold(r.returns, threshold)
    return None if hit is None else float(np.sum(r.returns[:hit]))


@dataclass(frozen=True)
class Entry:
    rank: int
    display_name: str
    value: float
    record: RunRecord


def leaderboard(records: Iterable[RunRecord], challenge: Challenge, top: int = 10
                ) -> list[Entry]:
    """The ``top`` learners of ``challenge``: each named learner's best qualifying run (ties:
    the earlier run first), ranked; anonymous runs take no part."""
    best: dict[str, tuple[float, float, RunRecord]] = {}
    sign = -1.0 if challenge.higher_is_better else 1.0
    for r in records:
        if r.display_name is None or r.status not in END_STATUSES + ("interrupted",):
            continue
        if challenge.algos and r.algo not in challenge.algos:
            continue
        if challenge.baselines and r.baseline not in challenge.baselines:
            continue
        if challenge.env_id and r.env_id != challenge.env_id:
            continue
        if r.episodes < challenge.min_episodes:
            continue
        value = challenge.measure(r)
        if value is None or not math.isfinite(value):
            continue
        key = (sign * value, r.started_at)
        if r.display_name not in best or key < best[r.display_name][:2]:
            best[r.display_name] = (*key, r)
    ranked = sorted(best.values(), key=lambda t: t[:2])[:top]
    return [Entry(i + 1, rec.display_name, sign * score, rec)
            for i, (score, _, rec) in enumerate(ranked)]


# ----- the app's recorder ---------------------------------------------------------------------


class Recording:
    """One run's entry in a :class:`Recorder`: its id and, if recording failed, why."""

    def __init__(self, recorder: Recorder, row: dict):
        self._recorder = recorder
        self.row = row
        self.run_id: str = row["run_id"]
        self.display_name: str | None = row["display_name"]
        self.class_code: str | None = row["class_code"]
        self.algo: str = row["algo"]
        self.note = ""
        """Empty while recording works; else one line: why this run is not recorded."""
        self.status = "running"
        self._run: weakref.ref | None = None
        self._ended = False

    @property
    def ok(self) -> bool:
        return not self.note

    def attach(self, run) -> None:
        """Follow ``run`` (a :class:`~pgcore.execution.runner.BackgroundRun`): the recorder
        heartbeats
        its progress while it is active."""
        self._run = weakref.ref(run)
        self._recorder._follow(self, run)

    @property
    def run(self):
        return None if self._run is None else self._run()

    def ended(self, snapshot) -> None:
        """The run's end (a :class:`~pgcore.execution.runner.RunSnapshot`): queue its row's
        completion. A run stopped while its server shuts down (the recorder's
        ``shutting_down()`` says so) is recorded ``interrupted``, not ``stopped``: the learner
        did not stop it. Cheap and never raises: it is called from the run's thread as it ends."""
        if self._ended:
            return
        self._ended = True
        status, message = snapshot.state, snapshot.message
        if status == "stopped" and self._recorder.shutting_down():
            status, message = "interrupted", SHUTDOWN_MESSAGE
        self.status = status
        self._recorder._submit(self, lambda store: _finish(store, self, snapshot, status,
                                                           message))

    def fail(self, message: str) -> None:
        if not self.note:
            self.note = f"This run is not being recorded: {message}"


def _finish(store: RunStore, rec: Recording, snap, status: str, message: str) -> None:
    from ..training.metrics import EpisodeHistory, summarize

    ep = snap.episodes
    history = EpisodeHistory.from_arrays(ep["episode_return"], ep["length"], ep["env_steps"],
                                         ep["wall_seconds"], episode=ep["episode"])
    figures = summarize(history, run_steps=snap.env_steps, run_seconds=snap.wall_seconds)
    first = int(ep["episode"][0]) if len(ep["episode"]) else 1
    store.finish_run(rec.run_id, status, message, ep["episode_return"],
                     episodes=snap.episode_count, env_steps=snap.env_steps,
                     seconds=snap.wall_seconds, best_avg100=figures["best_avg100"],
                     final_avg100=figures["final_avg100"],
                     episodes_to_475=figures["episodes_to_475"], first_episode=first,
                     start=rec.row)


class Recorder:
    """Records the app's runs in the store at ``url``, from one daemon thread.

    :meth:`record` (cheap, never raises for a database problem) returns a :class:`Recording`;
    pass its ``ended`` as the run's ``on_end`` and :meth:`Recording.attach` the run. The
    thread writes the start row, heartbeats the active runs' progress every
    ``heartbeat_every`` seconds (and marks other servers' stale rows interrupted), and writes
    each run's end. A database server that does not answer (restarting, say) is asked again
    every ``retry_every`` seconds for up to ``retry_for`` seconds, each run's writes in their
    order; any other database error, or one that outlasts that, turns recording off for that
    run (``Recording.note``). Training is never waited for. :meth:`store` opens the store for
    reading (a failure is remembered for ``retry_after`` seconds, so a dead server is not asked
    on every rerun).

    A run stopped while ``shutting_down()`` is true (the server is going away) is recorded
    ``interrupted``; at the interpreter's exit, the queued writes get a few seconds.

    ``heartbeat_every`` and ``stale_after`` default to :data:`HEARTBEAT_ENV` and
    :data:`STALE_ENV` (else :data:`HEARTBEAT_EVERY`, :data:`STALE_AFTER`); rows are written
    under :func:`replica_id` (:data:`REPLICA_ENV` names this server).
    """

    def __init__(self, url: str | None = None, *, heartbeat_every: float | None = None,
                 stale_after: float | None = None, retry_after: float = 15.0,
                 retry_for: float = 120.0, retry_every: float = 1.0,
                 shutting_down: Callable[[], bool] | None = None):
        self.url = url
        self.shutting_down = shutting_down or (lambda: False)
        """True while the server shuts down (the app asks Streamlit's runtime): runs that stop
        then are recorded ``interrupted``."""
        self.heartbeat_every = (env_seconds(HEARTBEAT_ENV, HEARTBEAT_EVERY)
                                if heartbeat_every is None else float(heartbeat_every))
        stale = env_seconds(STALE_ENV, STALE_AFTER) if stale_after is None else stale_after
        # a live server's rows must never look stale: at least two missed heartbeats
        self.stale_after = max(float(stale), 2 * self.heartbeat_every)
        self.retry_after = float(retry_after)
        self.retry_for = float(retry_for)
        self.retry_every = float(retry_every)
        self.replica = replica_id()
        self._store: RunStore | None = None
        self._error: tuple[float, HistoryError] | None = None
        self._open_lock = threading.Lock()
        self._lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue()
        self._active: dict[str, Recording] = {}
        self._runs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._pending: dict[str, _Pending] = {}  # run id -> writes waiting for the server
        self._flushes: list[Callable[[], object]] = []  # flush markers waiting for those
        self._thread: threading.Thread | None = None
        self._closed = False
        _RECORDERS.add(self)

    # ----- the store --------------------------------------------------------------------------
    def store(self) -> RunStore:
        """The open store, or a HistoryError saying why not."""
        with self._open_lock:
            if self._store is not None:
                return self._store
            if self._error is not None and time.monotonic() - self._error[0] < self.retry_after:
                raise self._error[1]
            try:
                self._store = RunStore(self.url, replica=self.replica,
                                       stale_after=self.stale_after)
            except HistoryError as exc:
                self._error = (time.monotonic(), exc)
                raise
            self._error = None
            return self._store

    @property
    def error(self) -> str | None:
        """The last failure to open the store (None once it is open)."""
        return None if self._error is None else str(self._error[1])

    @property
    def waiting(self) -> int:
        """How many runs have writes waiting for the database server to answer again."""
        return len(self._pending)

    # ----- recording --------------------------------------------------------------------------
    def record(self, config, *, display_name: str | None = None,
               class_code: str | None = None, preset: str | None = None) -> Recording:
        """A recording for a run of ``config`` about to start (the row is written by the
        recorder's thread). Bad names or codes raise HistoryError (validate them first)."""
        row = start_row(config, display_name=display_name, class_code=class_code,
                        preset=preset, replica=self.replica)
        rec = Recording(self, row)
        with self._lock:
            self._active[rec.run_id] = rec
        self._submit(rec, lambda store: store.start_run(
            config, display_name=display_name, class_code=class_code, preset=preset,
            run_id=rec.run_id, now=row["started_at"]))
        return rec

    def recording_of(self, run) -> Recording | None:
        """The recording following ``run`` (None if it is not recorded here)."""
        with self._lock:
            return self._runs.get(run)

    def active(self) -> list[Recording]:
        with self._lock:
            return list(self._active.values())

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued write is done (also those waiting for the database server
        to answer again); True if it was in time."""
        done = threading.Event()
        self._queue.put(done.set)
        self._ensure_thread()
        return done.wait(timeout)

    def close(self) -> None:
        self._closed = True
        self._queue.put(None)
        if self._store is not None:
            self._store.dispose()

    def _follow(self, rec: Recording, run) -> None:
        with self._lock:
            self._runs[run] = rec

    def _submit(self, rec: Recording, job: Callable[[RunStore], object]) -> None:
        self._queue.put((rec, job))
        self._ensure_thread()

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._main, daemon=True,
                                                name="pgcore-history")
                self._thread.start()

    def _main(self) -> None:
        next_beat = time.monotonic() + self.heartbeat_every
        next_retry = math.inf
        while not self._closed:
            wake = min(next_beat, next_retry)
            try:
                item = self._queue.get(timeout=max(0.05, wake - time.monotonic()))
            except queue.Empty:
                item = ()
            if item is None:
                return
            if callable(item):  # a flush marker: done once nothing waits for the server
                self._flushes.append(item)
            elif item:
                self._do(*item)
            now = time.monotonic()
            if self._pending and now >= next_retry:
                self._retry()
            if now >= next_beat:
                self._beat()
                next_beat = time.monotonic() + self.heartbeat_every
            if not self._pending:
                next_retry = math.inf
                for done in self._flushes:
                    done()
                self._flushes.clear()
            elif next_retry == math.inf or now >= next_retry:
                next_retry = time.monotonic() + self.retry_every

    def _do(self, rec: Recording, job: Callable[[RunStore], object]) -> None:
        waiting = self._pending.get(rec.run_id)
        if waiting is not None:  # an earlier write of this run waits: keep their order
            waiting.jobs.append(job)
        else:
            self._write(rec, collections.deque([job]))

    def _write(self, rec: Recording, jobs: collections.deque, since: float | None = None
               ) -> None:
        """Do ``jobs`` in order; if the database server does not answer, keep the rest for
        :meth:`_retry` (until ``retry_for`` seconds after the first failure)."""
        while jobs:
            try:
                if rec.ok:
                    jobs[0](self.store())
            except HistoryError as exc:
                if exc.transient and not self._closed:
                    since = time.monotonic() if since is None else since
                    if time.monotonic() - since < self.retry_for:
                        self._pending[rec.run_id] = _Pending(rec, jobs, since)
                        return
                    exc = HistoryError(f"{exc} (still so after {self.retry_for:.0f} s)")
                rec.fail(str(exc))
            except Exception as exc:  # noqa: BLE001 - recording must never take training down
                rec.fail(f"{type(exc).__name__}: {_clip(str(exc), 200)}")
            jobs.popleft()
        self._pending.pop(rec.run_id, None)
        if rec._ended:
            with self._lock:
                self._active.pop(rec.run_id, None)

    def _retry(self) -> None:
        for run_id, waiting in list(self._pending.items()):
            del self._pending[run_id]
            self._write(waiting.rec, waiting.jobs, waiting.since)

    def _beat(self) -> None:
        """Heartbeat the active runs (with their progress) and mark stale rows interrupted."""
        progress = {}
        for rec in self.active():
            run = rec.run
            if rec.ok and not rec._ended and run is not None:
                curve = getattr(run, "returns_so_far", None)  # the returns, if it has them
                progress[rec.run_id] = (*run.counts, *(curve() if curve else ()))
        try:  # a failed heartbeat is retried next time; the run's end write says if it sticks
            store = self.store()
            store.heartbeat(progress)
            store.refresh()
        except HistoryError:
            pass


_RECORDERS: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _flush_at_exit() -> None:
    """The interpreter exits (a server shutting down): write what the recorders still hold,
    briefly (their thread is a daemon and would be cut off)."""
    for recorder in list(_RECORDERS):
        if not recorder._closed and recorder._thread is not None and \
                recorder._thread.is_alive():
            recorder.flush(5.0)


@dataclass
class _Pending:
    """One run's writes waiting for the database server to answer again."""

    rec: Recording
    jobs: collections.deque
    since: float
