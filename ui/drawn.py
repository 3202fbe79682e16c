"""What the live views draw, made once for every session of the server.

Identical runs share one computation and so one snapshot per moment
(:mod:`pgcore.execution.sharing`): a class of 60 watching one run asks for the same frame image,
chart specs and chart words up to 60 times at once. :class:`Drawn` keeps each by the identity
of what it is made from, and makes it **once** even when many sessions ask at the same moment:
the first one makes it, the others wait for its result instead of making it again (without
that, a new snapshot reached by 20 refreshes at once was drawn 20 times over).
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

_MISSING = object()


class Drawn:
    """Values by key, each made once for every session. An entry may hold a weak reference to
    the object it was made from (``source``): it is valid while that object lives (its id,
    often part of the key, cannot be reused meanwhile) and goes with it. Without a source the
    entry holds its value until it is among the least recently used beyond ``size``.
    Thread-safe."""

    def __init__(self, size: int):
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"size must be a whole number >= 1, got {size!r}")
        self.size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[Hashable, tuple[Callable[[], Any] | None, Any]] = OrderedDict()
        self._making: dict[Hashable, threading.Event] = {}
        self.made = 0
        """Values made (for tests and benchmarks: identical requests must not add to it)."""

    def _lookup(self, key: Hashable) -> Any:
        """The value of ``key`` or _MISSING (under the lock)."""
        item = self._items.get(key)
        if item is None:
            return _MISSING
        ref, value = item
        if ref is not None and ref() is None:  # what it was made from is gone: so is the entry
            del self._items[key]
            return _MISSING
        self._items.move_to_end(key)
        return value

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            value = self._lookup(key)
        return default if value is _MISSING else value

    def put(self, key: Hashable, source: Any, value: Any) -> Any:
        """Keep ``value`` for ``key`` (while ``source`` lives, if not None); returns it."""
        ref = None if source is None else weakref.ref(source)
        with self._lock:
            self._items[key] = (ref, value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def make(self, key: Hashable, source: Any, build: Callable[[], Any]) -> Any:
        """The value of ``key``, built with ``build()`` if there is none yet. While one
        session builds it, the others that ask for the same key wait for that value rather
        than build their own; if the build fails, it raises in that session, and a waiting
        one tries again.

        >>> d = Drawn(4)
        >>> d.make("k", None, lambda: 42), d.make("k", None, lambda: 0), d.made
        (42, 42, 1)
        """
        while True:
            with self._lock:
                value = self._lookup(key)
                if value is not _MISSING:
                    return value
                pending = self._making.get(key)
                mine = pending is None
                if mine:
                    pending = self._making[key] = threading.Event()
            if not mine:
                pending.wait()
                continue  # made (or failed: then one of the waiters makes it)
            try:
                value = build()
                with self._lock:
                    self.made += 1
                return self.put(key, source, value)
            finally:
                with self._lock:
                    del self._making[key]
                pending.set()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
