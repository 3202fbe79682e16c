"""usable_cores: the CPU affinity, the cgroup (v1 and v2) CPU quota and the host's count, on
fake /proc and /sys/fs/cgroup trees."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pgcore.execution import SlotPool, cores, usable_cores
from pgcore.execution import pool as worker_pools


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def v2_tree(root: Path, cpu_max: str, cgroup: str = "/app.slice/job",
            parent_cpu_max: str | None = None) -> Path:
    """A cgroup v2 host: the process in ``cgroup``, its ``cpu.max`` (and its parent's)."""
    write(root, "proc/self/cgroup", f"0::{cgroup}\n")
    write(root, "proc/self/mountinfo",
          "24 30 0:22 / /proc rw,nosuid - proc proc rw\n"
          "31 23 0:28 / /sys/fs/cgroup rw,nosuid,nodev - cgroup2 cgroup2 rw,nsdelegate\n")
    own = root / "sys/fs/cgroup" / cgroup.lstrip("/")
    own.mkdir(parents=True, exist_ok=True)
    (own / "cpu.max").write_text(cpu_max + "\n")
    if parent_cpu_max is not None:
        (own.parent / "cpu.max").write_text(parent_cpu_max + "\n")
    return own


def v1_tree(root: Path, quota: str, period: str = "100000", cgroup: str = "/docker/abc",
            mount_root: str = "/") -> None:
    """A cgroup v1 host with ``cpu,cpuacct`` mounted at /sys/fs/cgroup/cpu,cpuacct."""
    write(root, "proc/self/cgroup",
          f"12:memory:{cgroup}\n4:cpu,cpuacct:{cgroup}\n1:name=systemd:{cgroup}\n")
    write(root, "proc/self/mountinfo",
          f"35 31 0:31 {mount_root} /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup "
          "rw,cpu,cpuacct\n"
          f"36 31 0:32 {mount_root} /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory\n")
    rel = cgroup if mount_root == "/" else "/"
    own = root / "sys/fs/cgroup/cpu,cpuacct" / rel.lstrip("/")
    own.mkdir(parents=True, exist_ok=True)
    (own / "cpu.cfs_quota_us").write_text(quota + "\n")
    (own / "cpu.cfs_period_us").write_text(period + "\n")


@pytest.fixture
def many_cpus(monkeypatch):
    """A 64-core host on which this process may run anywhere (each test narrows it)."""
    monkeypatch.setattr(cores.os, "cpu_count", lambda: 64)
    monkeypatch.setattr(cores.os, "sched_getaffinity", lambda pid: set(range(64)), raising=False)


@pytest.mark.parametrize(("cpu_max", "expected"), [
    ("200000 100000", 2),   # --cpus=2
    ("150000 100000", 2),   # 1.5 CPUs: the half core counts
    ("50000 100000", 1),    # half a CPU: still one worker
    ("400000 100000", 4),
    ("max 100000", 64),     # no limit
])
def test_cgroup_v2_quota(tmp_path, many_cpus, cpu_max, expected):
    v2_tree(tmp_path, cpu_max)
    assert usable_cores(tmp_path) == expected


def test_cgroup_v2_parent_limit_caps_the_child(tmp_path, many_cpus):
    v2_tree(tmp_path, "max 100000", parent_cpu_max="300000 100000")
    assert cores.cgroup_cpu_limit(tmp_path) == 3
    assert usable_cores(tmp_path) == 3


def test_cgroup_v2_in_a_namespace(tmp_path, many_cpus):
    """In a container with its own cgroup namespace the process sees itself at ``/`` and the
    mount is its own cgroup."""
    write(tmp_path, "proc/self/cgroup", "0::/\n")
    write(tmp_path, "proc/self/mountinfo",
          "31 23 0:28 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n")
    write(tmp_path, "sys/fs/cgroup/cpu.max", "300000 100000\n")
    assert usable_cores(tmp_path) == 3


@pytest.mark.parametrize(("quota", "period", "expected"), [
    ("200000", "100000", 2),
    ("250000", "100000", 3),
    ("-1", "100000", 64),   # no limit
    ("100000", "50000", 2),
])
def test_cgroup_v1_quota(tmp_path, many_cpus, quota, period, expected):
    v1_tree(tmp_path, quota, period)
    assert usable_cores(tmp_path) == expected


def test_cgroup_v1_mounted_at_the_containers_own_cgroup(tmp_path, many_cpus):
    """Docker without a cgroup namespace: /proc/self/cgroup names /docker/abc, and the mount's
    root is that same cgroup, so the files sit at the mount point itself."""
    v1_tree(tmp_path, "300000", cgroup="/docker/abc", mount_root="/docker/abc")
    assert usable_cores(tmp_path) == 3


def test_cgroup_v1_without_mountinfo_uses_the_usual_mount(tmp_path, many_cpus):
    v1_tree(tmp_path, "200000")
    (tmp_path / "proc/self/mountinfo").unlink()
    assert usable_cores(tmp_path) == 2


def test_affinity_smaller_than_the_quota_wins(tmp_path, monkeypatch, many_cpus):
    v2_tree(tmp_path, "800000 100000")
    monkeypatch.setattr(cores.os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    assert usable_cores(tmp_path) == 3


def test_quota_smaller_than_the_affinity_wins(tmp_path, monkeypatch, many_cpus):
    v1_tree(tmp_path, "200000")
    monkeypatch.setattr(cores.os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    assert usable_cores(tmp_path) == 2


def test_cpu_count_caps_everything(tmp_path, monkeypatch):
    v2_tree(tmp_path, "max 100000")
    monkeypatch.setattr(cores.os, "cpu_count", lambda: 6)
    monkeypatch.setattr(cores.os, "sched_getaffinity", lambda pid: set(range(16)), raising=False)
    assert usable_cores(tmp_path) == 6


@pytest.mark.parametrize("cpu_max", ["", "lots", "max", "0 100000", "-5 100000",
                                     "100000 0", "100000 abc", "1 2 3", "\x00\xff"])
def test_garbage_cpu_max_means_no_limit(tmp_path, many_cpus, cpu_max):
    v2_tree(tmp_path, cpu_max)
    assert cores.cgroup_cpu_limit(tmp_path) is None
    assert usable_cores(tmp_path) == 64


@pytest.mark.parametrize(("quota", "period"), [("abc", "100000"), ("200000", ""),
                                               ("200000", "-1"), ("", "")])
def test_garbage_v1_files_mean_no_limit(tmp_path, many_cpus, quota, period):
    v1_tree(tmp_path, quota, period)
    assert usable_cores(tmp_path) == 64


def test_garbage_proc_files_fall_back_sanely(tmp_path, many_cpus):
    write(tmp_path, "proc/self/cgroup", "not a cgroup line\n::\n7\n")
    write(tmp_path, "proc/self/mountinfo", "garbage - \n - cgroup2\n")
    assert cores.cgroup_cpu_limit(tmp_path) is None
    assert usable_cores(tmp_path) == 64


def test_no_proc_at_all(tmp_path, many_cpus):
    assert cores.cgroup_cpu_limit(tmp_path) is None
    assert usable_cores(tmp_path) == 64


def test_no_affinity_call_and_no_cpu_count(tmp_path, monkeypatch):
    """macOS has no sched_getaffinity; os.cpu_count() may say None: still at least one."""
    monkeypatch.delattr(cores.os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(cores.os, "cpu_count", lambda: None)
    assert cores.affinity_cores() is None
    assert usable_cores(tmp_path) == 1
    v2_tree(tmp_path, "300000 100000")
    assert usable_cores(tmp_path) == 3


def test_this_machine_is_sane():
    n = usable_cores()
    assert 1 <= n <= (os.cpu_count() or 1)
    if hasattr(os, "sched_getaffinity"):
        assert n <= len(os.sched_getaffinity(0))


def test_pools_are_sized_by_usable_cores(monkeypatch):
    """The worker pool, the slot pool and an experiment's share follow usable_cores(), not
    os.cpu_count()."""
    from pgcore import default_config
    from pgcore.execution.experiments import Experiment, grid

    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(worker_pools, "usable_cores", lambda: 3)
    monkeypatch.setattr("pgcore.execution.slots.usable_cores", lambda: 3)
    monkeypatch.setattr("pgcore.execution.experiments.usable_cores", lambda: 3)
    made = []
    monkeypatch.setattr(worker_pools, "WorkerPool", lambda n: made.append(n) or _FakePool(n))
    monkeypatch.setattr(worker_pools._POOL, "current", None)
    assert worker_pools.worker_pool().workers == 3
    assert made == [3]
    assert SlotPool().max_concurrent == 3
    jobs = grid({"x": default_config("reinforce", "none", max_episodes=2)}, seeds=range(8))
    assert Experiment(jobs, executor="local").workers == 3
    assert Experiment(jobs, executor="local", workers=2).workers == 2
    assert Experiment(jobs, executor="local", workers=10).workers == 3


class _FakePool:
    def __init__(self, n):
        self.workers, self.broken, self.tasks = n, False, 0


# ----- memory -----------------------------------------------------------------------------------

MB = 1024 * 1024
V1_NO_LIMIT = "9223372036854771712"  # what the kernel writes for "no limit"


def meminfo(root: Path, total_mb: int = 16_000) -> None:
    write(root, "proc/meminfo", f"MemTotal:       {total_mb * 1024} kB\nMemFree:  1 kB\n")


def v2_memory_tree(root: Path, memory_max: str, cgroup: str = "/app.slice/job",
                   parent_max: str | None = None, current: int | None = None,
                   inactive_file: int = 0) -> Path:
    """A cgroup v2 host: the process in ``cgroup`` with its ``memory.max`` (and its parent's),
    ``memory.current`` and the ``inactive_file`` line of ``memory.stat``."""
    write(root, "proc/self/cgroup", f"0::{cgroup}\n")
    write(root, "proc/self/mountinfo",
          "31 23 0:28 / /sys/fs/cgroup rw,nosuid,nodev - cgroup2 cgroup2 rw,nsdelegate\n")
    own = root / "sys/fs/cgroup" / cgroup.lstrip("/")
    own.mkdir(parents=True, exist_ok=True)
    (own / "memory.max").write_text(memory_max + "\n")
    if parent_max is not None:
        (own.parent / "memory.max").write_text(parent_max + "\n")
    if current is not None:
        (own / "memory.current").write_text(f"{current}\n")
        (own / "memory.stat").write_text(f"anon {current // 2}\nfile 9\n"
                                         f"inactive_file {inactive_file}\nactive_file 3\n")
    return own


def v1_memory_tree(root: Path, limit: str, cgroup: str = "/docker/abc",
                   usage: int | None = None, inactive_file: int = 0) -> Path:
    """A cgroup v1 host with the ``memory`` controller at /sys/fs/cgroup/memory."""
    write(root, "proc/self/cgroup",
          f"12:memory:{cgroup}\n4:cpu,cpuacct:{cgroup}\n1:name=systemd:{cgroup}\n")
    write(root, "proc/self/mountinfo",
          "35 31 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct\n"
          "36 31 0:32 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory\n")
    own = root / "sys/fs/cgroup/memory" / cgroup.lstrip("/")
    own.mkdir(parents=True, exist_ok=True)
    (own / "memory.limit_in_bytes").write_text(limit + "\n")
    (own.parent / "memory.limit_in_bytes").write_text(V1_NO_LIMIT + "\n")
    if usage is not None:
        (own / "memory.usage_in_bytes").write_text(f"{usage}\n")
        (own / "memory.stat").write_text(f"cache 5\nrss 7\ntotal_rss 7\n"
                                         f"total_inactive_file {inactive_file}\n")
    return own


@pytest.mark.parametrize(("memory_max", "expected"), [
    (str(690 * MB), 690.0),        # Community Cloud's smallest tier
    (str(2700 * MB), 2700.0),
    ("max", 16_000.0),             # no limit: the machine's memory
    (str(64_000 * MB), 16_000.0),  # a limit above the machine's memory: the machine's
])
def test_cgroup_v2_memory_max(tmp_path, memory_max, expected):
    meminfo(tmp_path)
    v2_memory_tree(tmp_path, memory_max)
    assert cores.usable_memory_mb(tmp_path) == pytest.approx(expected)


def test_cgroup_v2_parent_memory_limit_caps_the_child(tmp_path):
    meminfo(tmp_path)
    v2_memory_tree(tmp_path, "max", parent_max=str(1024 * MB))
    assert cores.cgroup_memory_limit_mb(tmp_path) == pytest.approx(1024.0)
    assert cores.usable_memory_mb(tmp_path) == pytest.approx(1024.0)


@pytest.mark.parametrize(("limit", "expected"), [
    (str(1024 * MB), 1024.0),      # docker --memory=1g
    (V1_NO_LIMIT, 16_000.0),       # no limit
])
def test_cgroup_v1_memory_limit(tmp_path, limit, expected):
    meminfo(tmp_path)
    v1_memory_tree(tmp_path, limit)
    assert cores.usable_memory_mb(tmp_path) == pytest.approx(expected)


@pytest.mark.parametrize("memory_max", ["", "lots", "0", "-5", "12 34", "\x00\xff"])
def test_garbage_memory_max_means_no_limit(tmp_path, memory_max):
    meminfo(tmp_path)
    v2_memory_tree(tmp_path, memory_max)
    assert cores.cgroup_memory_limit_mb(tmp_path) is None
    assert cores.usable_memory_mb(tmp_path) == pytest.approx(16_000.0)


def test_no_proc_at_all_means_memory_unknown(tmp_path):
    assert cores.cgroup_memory_limit_mb(tmp_path) is None
    assert cores.machine_memory_mb(tmp_path) is None
    assert cores.usable_memory_mb(tmp_path) == 0.0
    assert cores.memory_in_use_mb(tmp_path) is None
    write(tmp_path, "proc/meminfo", "MemTotal: lots kB\n")
    assert cores.machine_memory_mb(tmp_path) is None


def test_memory_in_use_is_the_limited_cgroups_charge_less_droppable_cache(tmp_path):
    """v2: memory.current less inactive_file, read where the limit is (the parent's here:
    its other children count against that limit too)."""
    meminfo(tmp_path)
    own = v2_memory_tree(tmp_path, str(690 * MB), current=500 * MB, inactive_file=120 * MB)
    assert cores.memory_in_use_mb(tmp_path) == pytest.approx(380.0)
    v2_memory_tree(tmp_path, "max", parent_max=str(690 * MB))
    (own.parent / "memory.current").write_text(f"{600 * MB}\n")
    assert cores.memory_in_use_mb(tmp_path) == pytest.approx(600.0)  # no stat: nothing off


def test_memory_in_use_v1(tmp_path):
    meminfo(tmp_path)
    v1_memory_tree(tmp_path, str(1024 * MB), usage=700 * MB, inactive_file=200 * MB)
    assert cores.memory_in_use_mb(tmp_path) == pytest.approx(500.0)
    v1_memory_tree(tmp_path, V1_NO_LIMIT, usage=700 * MB)
    assert cores.memory_in_use_mb(tmp_path) is None  # no limit: nothing to be charged against


def test_this_machines_memory_is_sane():
    mb = cores.usable_memory_mb()
    if os.path.exists("/proc/meminfo"):
        assert 0 < mb <= cores.machine_memory_mb()
