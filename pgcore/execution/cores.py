"""How many CPU cores, and how much memory, this process may actually use, for sizing pools.

``os.cpu_count()`` is the host's count. In a container or under ``taskset`` the process may
use far fewer: its CPU affinity (``os.sched_getaffinity``: cpusets, ``taskset``) and its cgroup's
CPU quota (``docker --cpus=2``, a Kubernetes CPU limit) both cap it. A pool sized by the host's
count would run many more workers than cores, each one slower, and all of them together no
faster. :func:`usable_cores` is the smallest of the three, at least 1.

The quota is read the way the kernel exposes it, for the process's own cgroup (found through
``/proc/self/cgroup`` and ``/proc/self/mountinfo``) and every ancestor up to the mount point
(a parent's limit caps its children):

* cgroup v2: ``cpu.max`` holds ``"<quota> <period>"`` in microseconds, or ``"max <period>"``
  for no limit;
* cgroup v1: ``cpu.cfs_quota_us`` (``-1`` for no limit) and ``cpu.cfs_period_us``.

A quota of 1.5 CPUs counts as 2 (rounded up: the pool may use the half core). Anything
unreadable or malformed counts as "no limit", never as an error. The file-system ``root`` is a
parameter so tests can lay out fake ``proc`` and ``sys/fs/cgroup`` trees.

Memory is read the same way (:func:`usable_memory_mb`): the tightest limit on the process's
cgroup and its ancestors (v2 ``memory.max``, ``max`` for none; v1 ``memory.limit_in_bytes``,
whose "no limit" is a huge number), else the machine's ``MemTotal`` from ``/proc/meminfo``.
A Streamlit Community Cloud app, a ``docker --memory=1g`` container or a Kubernetes pod gets its
limit this way; the kernel kills a process of the cgroup that goes past it.
:func:`memory_in_use_mb` is what that limit is charged with: the limited cgroup's usage less
the page cache it could drop at once (``inactive_file``, as ``kubectl top`` counts a
container's working set).
"""

from __future__ import annotations

import math
import os
import threading
from pathlib import Path, PurePosixPath

_V1_DEFAULT_MOUNTS = {
    "cpu": ("sys/fs/cgroup/cpu", "sys/fs/cgroup/cpu,cpuacct", "sys/fs/cgroup/cpuacct,cpu"),
    "memory": ("sys/fs/cgroup/memory",),
}
_V2_DEFAULT_MOUNTS = ("sys/fs/cgroup", "sys/fs/cgroup/unified")
MB = 1024 * 1024
_NO_LIMIT_BYTES = 1 << 60
"""A v1 memory limit this large means "none" (the kernel writes 9223372036854771712)."""


def usable_cores(root: str | os.PathLike = "/") -> int:
    """min(CPU affinity, the cgroup CPU quota rounded up, ``os.cpu_count()``), at least 1."""
    counts = [n for n in (affinity_cores(), cgroup_cpu_limit(root), os.cpu_count())
              if n is not None and n >= 1]
    return max(1, min(counts)) if counts else 1


def affinity_cores() -> int | None:
    """The number of CPUs this process may be scheduled on, or None where unknown."""
    getaffinity = getattr(os, "sched_getaffinity", None)
    if getaffinity is None:  # macOS, Windows
        return None
    try:
        return len(getaffinity(0)) or None
    except OSError:  # pragma: no cover - no such call in this sandbox
        return None


def cgroup_cpu_limit(root: str | os.PathLike = "/") -> int | None:
    """The tightest CPU quota on this process's cgroup and its ancestors, rounded up to whole
    CPUs; None when there is none (or it cannot be read)."""
    root = Path(root)
    limits = []
    for version, mount, rel in _cgroup_dirs(root):
        for directory in _up_to(mount, rel):
            quota = _v2_quota(directory) if version == 2 else _v1_quota(directory)
            if quota is not None:
                limits.append(quota)
    return max(1, math.ceil(min(limits) - 1e-9)) if limits else None


def usable_memory_mb(root: str | os.PathLike = "/") -> float:
    """The memory this process may use, in MB: the tightest cgroup memory limit on its cgroup
    and its ancestors, or the machine's memory where that is smaller or there is no limit.
    0.0 where neither can be read (no ``/proc``: macOS, Windows); callers treat that as
    unknown."""
    limit = cgroup_memory_limit_mb(root)
    total = machine_memory_mb(root)
    sizes = [x for x in (limit, total) if x is not None and x > 0]
    return min(sizes) if sizes else 0.0


def cgroup_memory_limit_mb(root: str | os.PathLike = "/") -> float | None:
    """The tightest memory limit on this process's cgroup and its ancestors, in MB; None when
    there is none (or it cannot be read)."""
    found = _memory_limit(Path(root))
    return None if found is None else found[0]


def machine_memory_mb(root: str | os.PathLike = "/") -> float | None:
    """``MemTotal`` of ``/proc/meminfo`` in MB, or None."""
    for line in (_read(Path(root) / "proc/meminfo") or "").splitlines():
        key, _, rest = line.partition(":")
        if key == "MemTotal":
            parts = rest.split()
            try:
                kb = int(parts[0])
            except (IndexError, ValueError):
                return None
            return kb / 1024 if kb > 0 else None
    return None


def memory_in_use_mb(root: str | os.PathLike = "/") -> float | None:
    """What the limited cgroup (the one :func:`cgroup_memory_limit_mb` found) is charged with
    now, in MB, less the page cache it can drop at once (``inactive_file``): every process in
    it counted once, shared library pages once. None without a limit or where unreadable."""
    found = _memory_limit(Path(root))
    if found is None:
        return None
    version, directory = found[1], found[2]
    if version == 2:
        usage, key = _read_int(directory / "memory.current"), "inactive_file"
    else:
        usage, key = _read_int(directory / "memory.usage_in_bytes"), "total_inactive_file"
    if usage is None:
        return None
    inactive = _stat(directory / "memory.stat").get(key, 0)
    return max(0, usage - inactive) / MB


def _memory_limit(root: Path) -> tuple[float, int, Path] | None:
    """(limit in MB, cgroup version, its directory) of the tightest memory limit, or None."""
    best = None
    for version, mount, rel in _cgroup_dirs(root, "memory"):
        for directory in _up_to(mount, rel):
            name = "memory.max" if version == 2 else "memory.limit_in_bytes"
            limit = _read_int(directory / name)
            if limit is None or limit <= 0 or limit >= _NO_LIMIT_BYTES:
                continue  # "max", garbage, or v1's "no limit"
            if best is None or limit / MB < best[0]:
                best = (limit / MB, version, directory)
    return best


def _read_int(path: Path) -> int | None:
    text = _read(path)
    try:
        return int(text) if text else None
    except ValueError:
        return None


def _stat(path: Path) -> dict[str, int]:
    """``memory.stat``: ``name value`` lines as a dict (bad lines skipped)."""
    out = {}
    for line in (_read(path) or "").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            out[parts[0]] = int(parts[1])
    return out


# ----- reading the kernel's files ---------------------------------------------------------------


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii", errors="replace").strip()
    except (OSError, ValueError):
        return None


def _v2_quota(directory: Path) -> float | None:
    """``cpu.max``: ``"150000 100000"`` -> 1.5; ``"max 100000"`` or garbage -> None."""
    text = _read(directory / "cpu.max")
    if not text:
        return None
    parts = text.split()
    if len(parts) not in (1, 2) or parts[0] == "max":
        return None
    return _ratio(parts[0], parts[1] if len(parts) == 2 else "100000")


def _v1_quota(directory: Path) -> float | None:
    """``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``; ``-1`` (no limit) or garbage -> None."""
    quota = _read(directory / "cpu.cfs_quota_us")
    period = _read(directory / "cpu.cfs_period_us")
    if quota is None or period is None:
        return None
    return _ratio(quota, period)


def _ratio(quota: str, period: str) -> float | None:
    try:
        q, p = int(quota), int(period)
    except ValueError:
        return None
    if q <= 0 or p <= 0:
        return None
    return q / p


# ----- finding this process's cgroup directories ------------------------------------------------


def _own_cgroups(root: Path, controller: str = "cpu") -> tuple[str | None, str | None]:
    """From ``/proc/self/cgroup``: (the v2 path, the v1 ``controller``'s path)."""
    v2 = v1 = None
    text = _read(root / "proc/self/cgroup") or ""
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hierarchy, controllers, path = parts
        if hierarchy == "0" and controllers == "":
            v2 = path
        elif controller in controllers.split(","):
            v1 = path
    return v2, v1


def _mounts(root: Path, controller: str = "cpu") -> list[tuple[int, str, str]]:
    """From ``/proc/self/mountinfo``: (version, mount root, mount point) of the cgroup mounts
    that can hold a ``controller`` limit (v2, and v1 with that controller)."""
    out = []
    text = _read(root / "proc/self/mountinfo") or ""
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if not sep or len(fields) < 5 or len(tail) < 3:
            continue
        fstype, options = tail[0], tail[2].split(",")
        if fstype == "cgroup2":
            out.append((2, fields[3], fields[4]))
        elif fstype == "cgroup" and controller in options:
            out.append((1, fields[3], fields[4]))
    return out


def _cgroup_dirs(root: Path, controller: str = "cpu") -> list[tuple[int, Path, PurePosixPath]]:
    """(version, mount directory, this process's cgroup path relative to it) for each cgroup
    hierarchy that can hold a ``controller`` (``cpu``, ``memory``) limit; the usual mount
    points when mountinfo says nothing."""
    v2_path, v1_path = _own_cgroups(root, controller)
    mounts = _mounts(root, controller)
    if not mounts:
        mounts = [(2, "/", "/" + m) for m in _V2_DEFAULT_MOUNTS] + \
                 [(1, "/", "/" + m) for m in _V1_DEFAULT_MOUNTS[controller]]
    out = []
    for version, mount_root, mount_point in mounts:
        own = v2_path if version == 2 else v1_path
        if own is None:
            continue
        directory = root / mount_point.lstrip("/")
        if not directory.is_dir():
            continue
        own_p, base = PurePosixPath(own), PurePosixPath(mount_root)
        try:  # a container sees its own cgroup as the mount's root
            rel = own_p.relative_to(base)
        except ValueError:
            rel = PurePosixPath(*own_p.parts[1:])
        if not (directory / rel).is_dir():  # e.g. a namespaced path: the mount is the cgroup
            rel = PurePosixPath()
        out.append((version, directory, rel))
    return out


def _up_to(mount: Path, rel: PurePosixPath) -> list[Path]:
    """The cgroup directory ``mount/rel`` and each parent up to ``mount`` itself."""
    parts = [p for p in rel.parts if p not in ("/", "..", ".")]
    return [mount.joinpath(*parts[:k]) for k in range(len(parts), -1, -1)]


WARM_NICE = 10
"""The run hosts after the first (:class:`~pgcore.execution.hosts.RunHosts`) warm up this much
lower in CPU priority than the rest of the machine's work: they warm while the first host
already trains learners' runs. Never what a learner waits for: a thread waiting for a lowered
one (an import it is doing) would wait at its priority."""


def lower_thread_priority(by: int = WARM_NICE) -> bool:
    """Lower the calling thread's CPU priority by ``by`` (on Linux a thread's own; threads it
    starts inherit it); False where it cannot."""
    try:
        tid = threading.get_native_id()
        now = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(19, now + by))
        return True
    except (AttributeError, OSError):
        return False
