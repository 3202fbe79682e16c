"""Small helpers several test files share."""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def wait_for(predicate, timeout: float = 60.0, every: float = 0.02) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass (generous bounds: the
    machine is shared); its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return predicate()


@contextlib.contextmanager
def bench_module(name: str):
    """``bench/<name>.py`` imported by path as ``_bench_<name>``, registered in
    ``sys.modules`` while in use (its dataclasses look their module up while defined)."""
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)
