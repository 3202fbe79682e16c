"""Shared test setup: headless pygame, one torch thread, a throw-away run-history database,
and a few small fixtures."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

# Before anything imports pygame (rendering CartPole): draw off-screen, no banner.
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
# Every Train run is recorded in the run history (pgcore.store.history): the tests, and the app
# servers they start, write to a throw-away database, never to the real data/runs.sqlite.
# Runs train in threads of the test process (easy to patch and inspect); tests/test_hosts.py
# and the browser tests' app server train them in host processes, as a deployed app does.
os.environ.setdefault("PGLAB_RUNS", "threads")
if "PGLAB_DB_URL" not in os.environ:
    _DB_DIR = tempfile.mkdtemp(prefix="pglab-test-db-")
    atexit.register(shutil.rmtree, _DB_DIR, ignore_errors=True)
    os.environ["PGLAB_DB_URL"] = f"sqlite:///{_DB_DIR}/runs.sqlite"

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # `pytest` (not `python -m pytest`) with importlib mode
    sys.path.insert(0, str(REPO_ROOT))

import pytest
import torch

# Reproducible and polite on a shared 2-core machine: every test trains on one thread.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository's root directory (where ``pgcore/`` lives)."""
    return REPO_ROOT


class EventLog:
    """Records trainer events: pass it as ``on_event``; ``of(cls)`` filters by type.

    Deliberately not a list subclass: an empty list is falsy, and ``on_event or default``
    would then silently drop the callback.
    """

    def __init__(self) -> None:
        self.events: list = []

    def __call__(self, event) -> None:
        self.events.append(event)

    def __getitem__(self, index):
        return self.events[index]

    def __iter__(self):
        return iter(self.events)

    def of(self, cls) -> list:
        return [e for e in self.events if isinstance(e, cls)]


@pytest.fixture
def event_log() -> EventLog:
    """Pass as ``on_event``; afterwards ``event_log.of(EpisodeEnd)`` etc. filter by type."""
    return EventLog()


@pytest.fixture
def hidden_8_fails(monkeypatch):
    """Experiment jobs whose config has ``hidden == 8`` fail at once with "RuntimeError: boom";
    the others train normally (for testing that one failure spares the rest)."""
    from pgcore.execution import experiments

    real = experiments.run_job

    def flaky(index, config, emit, should_stop, *args, **kwargs):
        if config.hidden == 8:
            emit(("start", index))
            emit(("end", index, "error", "The run failed: RuntimeError: boom"))
            return
        real(index, config, emit, should_stop, *args, **kwargs)

    monkeypatch.setattr(experiments, "run_job", flaky)


# ----- the run history's databases: SQLite, and a PostgreSQL server of the tests' own ----------


def _needs(reason: str) -> None:
    """Skip for ``reason`` here; in CI (``CI`` set) fail instead: nothing is skipped there."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must run this test: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server for the whole session (deploy/pgserver.py: Debian's initdb and
    pg_ctl in a temporary folder on a free port; as root it runs as the ``postgres`` user).
    Skipped where PostgreSQL or its driver is missing, except in CI, where that fails."""
    from deploy.pgserver import PostgresServer, unavailable_reason

    reason = unavailable_reason()
    if reason:
        _needs(reason)
    server = PostgresServer().start()
    yield server
    server.close()


_DATABASES = iter(range(1, 1_000_000))


@pytest.fixture
def pg_url(postgres) -> str:
    """A fresh, empty database on the session's PostgreSQL server (its SQLAlchemy URL)."""
    return postgres.create_database(f"test_{next(_DATABASES)}")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """A fresh, empty run history: a SQLite file, then a PostgreSQL database: a test that
    takes it runs against both."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db' / 'runs.sqlite'}"
    return request.getfixturevalue("pg_url")
