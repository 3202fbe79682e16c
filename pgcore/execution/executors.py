"""Where process-mode jobs run: this machine's worker pool or a Ray cluster.

Experiments, ``sweep`` and ``train --seeds`` never branch on it: they take an
:class:`Executor` and ask it for a pool, which is either the process's
:class:`~pgcore.execution.WorkerPool` (``"local"``) or its
:class:`~pgcore.execution.ray_executor.RayPool` (``"ray"``); both offer ``open``, ``submit``,
``stop``, ``close``, ``workers`` and ``broken``::

    ex = Executor("ray", "auto")               # or Executor() / Executor.from_env()
    pool = ex.pool()                           # connects (ray) or starts workers (local)
    ...
    ex.shutdown()                              # the CLI does at exit

:meth:`Executor.from_env` reads ``PGLAB_EXECUTOR`` (``local`` or ``ray``) and
``PGLAB_RAY_ADDRESS`` (see :func:`~pgcore.execution.ray_executor.check_address`), so the app's
experiment pages can train on a cluster without a code change. Nothing here imports ray until
a ray pool is asked for.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from .ray_executor import ExecutorError, check_address

EXECUTORS = ("local", "ray")
"""The executor kinds: this machine's worker pool, or a Ray cluster."""

ENV_EXECUTOR = "PGLAB_EXECUTOR"
ENV_ADDRESS = "PGLAB_RAY_ADDRESS"


@dataclass(frozen=True)
class Executor:
    """An executor kind and, for ``ray``, the cluster's address (None: Ray's default, this
    machine's running cluster or else a new local one). Validated on creation:
    :class:`ExecutorError` with one line."""

    kind: str = "local"
    address: str | None = None

    def __post_init__(self):
        kind = str(self.kind).strip().lower()
        if kind not in EXECUTORS:
            raise ExecutorError(f"unknown executor {self.kind!r}: choose local or ray")
        object.__setattr__(self, "kind", kind)
        address = check_address(self.address)
        if address is not None and kind != "ray":
            raise ExecutorError("a Ray address needs the ray executor")
        object.__setattr__(self, "address", address)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Executor:
        """From ``PGLAB_EXECUTOR`` (default ``local``) and, for ``ray``,
        ``PGLAB_RAY_ADDRESS``; a bad value is an :class:`ExecutorError` naming the variable."""
        env = os.environ if environ is None else environ
        kind = env.get(ENV_EXECUTOR, "").strip().lower() or "local"
        address = env.get(ENV_ADDRESS, "").strip() or None
        try:
            return cls(kind, address if kind == "ray" else None)
        except ExecutorError as exc:
            raise ExecutorError(f"{ENV_EXECUTOR}={kind} {ENV_ADDRESS}={address or ''}: {exc}"
                                if kind == "ray" else f"{ENV_EXECUTOR}: {exc}") from None

    def pool(self, min_workers: int | None = None):
        """The process's pool of this kind (started, or connected, on first use).
        ``min_workers`` sizes the local pool (see :func:`~pgcore.execution.worker_pool`)."""
        if self.kind == "ray":
            from .ray_executor import ray_pool

            return ray_pool(self.address)
        from .pool import worker_pool

        return worker_pool(min_workers)

    def shutdown(self) -> None:
        """End the process's pool of this kind (its running jobs are stopped first)."""
        if self.kind == "ray":
            from .ray_executor import shutdown_ray_pool

            shutdown_ray_pool()
        else:
            from .pool import shutdown_worker_pool

            shutdown_worker_pool()

    def describe(self) -> str:
        """A few words for a progress note: ``local processes`` or ``Ray at auto``."""
        if self.kind == "local":
            return "local processes"
        return f"Ray at {self.address}" if self.address else "Ray"


def resolve_executor(executor: str | Executor | None = None,
                     address: str | None = None) -> Executor:
    """An :class:`Executor` from what a caller gave: an Executor as it is, a kind (with
    ``address``), or None for :meth:`Executor.from_env` (``address``, if given, replacing
    ``PGLAB_RAY_ADDRESS``)."""
    if isinstance(executor, Executor):
        if address is not None:
            return Executor(executor.kind, address)
        return executor
    if executor is None:
        env = Executor.from_env()
        return env if address is None else Executor(env.kind, address)
    return Executor(executor, address)
