"""Identical work done once: what makes two requests the same computation, and the book of
computations that a class shares.

A class of 30 that presses Start on the Train page's defaults asks for 30 identical runs:
a run is deterministic given its config (seed included) and the code that trains it, so all
30 would compute the same episodes. The run hosts therefore train **one** computation per
identity and let every identical request watch it (:class:`~pgcore.execution.runner.
BackgroundRun` with ``share=True``, an :class:`~pgcore.execution.experiments.Experiment`'s
jobs with ``share=True``): a second request joins the running computation (its log holds the
run from its first episode, so the joiner sees all of it) or, once it has finished, reuses it.
The class's cost then grows with its distinct setups, not with its learners.

**Identity** (:func:`identity`): the config as plain data (every field, the seed and the
algorithm included), what else shapes the stream a viewer receives (frame and weight
intervals, an experiment job's trace settings), and the **code version**
(:func:`code_version`: pgcore's version and a hash of its source), so a server that runs
changed code never hands out a result computed by the old one.

:class:`ShareBook` keeps the running computations by identity and a bounded number of
finished ones (least recently used dropped first); only a computation that ended by itself
(``finished`` or ``diverged``, both deterministic) is kept for reuse, never a stopped or
failed one. Never imports streamlit or torch.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Hashable
from functools import cache
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")

REUSABLE_STATES = ("finished", "diverged")
"""End states a computation may be reused in: it ran to its own end, so a rerun of the same
identity would end the same way."""

FINISHED_KEPT = 32
"""Finished computations a :class:`ShareBook` keeps for reuse, at most."""


@cache
def code_version() -> str:
    """pgcore's version and the first 12 hex digits of a SHA-256 over its source files (their
    paths and bytes, in path order): any edit of the package gives another version. Read
    once per process (about 100 files, a few ms)."""
    from .. import __version__

    return f"{__version__}+{source_hash(Path(__file__).resolve().parent.parent)}"


def source_hash(root: Path) -> str:
    """The first 12 hex digits of a SHA-256 over the ``.py`` files under ``root``: each
    one's path (relative to ``root``) and bytes, in path order."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def identity(config, *extra, version: str | None = None) -> str:
    """The identity of a request: ``config`` (a :class:`~pgcore.training.config.TrainConfig`,
    every field), ``extra`` (anything else that shapes what is computed or sent, as plain
    JSON-able values) and the code version (``version``, default :func:`code_version`), as
    one string. Equal identities compute the same thing.

    >>> from pgcore import default_config
    >>> a = identity(default_config("a2c", seed=0), 0.25, version="v")
    >>> a == identity(default_config("a2c", seed=0), 0.25, version="v")
    True
    >>> a == identity(default_config("a2c", seed=1), 0.25, version="v")
    False
    """
    data = {"config": config.to_dict(), "extra": list(extra),
            "code": code_version() if version is None else version}
    return json.dumps(data, sort_keys=True, default=repr)


class ShareBook(Generic[T]):
    """Computations by identity: the running ones, and up to ``keep`` finished ones for reuse.
    Thread-safe; :attr:`lock` may be held by a caller around a look-up and an :meth:`add`,
    so two identical requests never start two computations."""

    def __init__(self, keep: int = FINISHED_KEPT):
        if not isinstance(keep, int) or keep < 0:
            raise ValueError(f"keep must be a whole number >= 0, got {keep!r}")
        self.keep = keep
        self.lock = threading.RLock()
        self._live: dict[Hashable, T] = {}
        self._done: OrderedDict[Hashable, T] = OrderedDict()
        self.started = 0
        """Computations started through this book (for tests and benchmarks)."""
        self.joined = 0
        """Requests that joined a running computation."""
        self.reused = 0
        """Requests served by a finished one."""

    def running(self, key: Hashable) -> T | None:
        with self.lock:
            return self._live.get(key)

    def finished(self, key: Hashable) -> T | None:
        """A finished computation of ``key`` (now the most recently used), or None."""
        with self.lock:
            item = self._done.get(key)
            if item is not None:
                self._done.move_to_end(key)
            return item

    def add(self, key: Hashable, item: T) -> T:
        """``item`` is now the running computation of ``key``."""
        with self.lock:
            self._live[key] = item
            self.started += 1
            return item

    def ended(self, key: Hashable, item: T, state: str) -> None:
        """``item`` (of ``key``) ended in ``state``: no longer joinable; kept for reuse if it
        ended by itself."""
        with self.lock:
            if self._live.get(key) is item:
                del self._live[key]
            if state in REUSABLE_STATES and self.keep:
                self._done[key] = item
                self._done.move_to_end(key)
                while len(self._done) > self.keep:
                    self._done.popitem(last=False)

    def forget(self, key: Hashable, item: T) -> None:
        """Drop ``item`` as the running computation of ``key`` (it is being stopped)."""
        with self.lock:
            if self._live.get(key) is item:
                del self._live[key]

    def clear(self) -> None:
        """Forget every finished computation (the running ones stay joinable)."""
        with self.lock:
            self._done.clear()

    @property
    def live(self) -> int:
        with self.lock:
            return len(self._live)

    @property
    def kept(self) -> int:
        with self.lock:
            return len(self._done)
