"""The Ray executor: the same jobs on a Ray cluster give the same episodes as the local pool;
progress streams back; stop works (running and queued jobs); the CLI's --executor / --address
flags and their one-line errors. A local 2-CPU Ray instance is started once for the module."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import wait_for as _wait_for

ray = pytest.importorskip("ray", reason="ray is not installed (pip install ray)")

from pgcore import cli, default_config
from pgcore.execution import (
    NOT_STARTED,
    Executor,
    ExecutorError,
    ray_executor,
    ray_pool,
    shutdown_ray_pool,
    shutdown_worker_pool,
    stop_all,
)
from pgcore.execution.experiments import Experiment, _process_job, grid
from pgcore.rl.envs import EnvError

WAIT = 300.0  # generous: on a loaded 2-core machine a Ray worker may take a minute to start
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    """A local Ray instance of 2 CPUs for this module; its GCS address for other drivers."""
    shutdown_ray_pool()
    if ray.is_initialized():  # pragma: no cover - someone else's instance
        ray.shutdown()
    # a small object store: Ray's default reserves a share of RAM, more than a `ulimit -v` shell
    # allows (ray.init then hangs), and nothing here needs it
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False,
             object_store_memory=200 * 1024 * 1024)
    yield ray.get_runtime_context().gcs_address
    stop_all()
    shutdown_ray_pool()
    ray.shutdown()


@pytest.fixture(autouse=True)
def _no_env_executor(monkeypatch):
    monkeypatch.delenv("PGLAB_EXECUTOR", raising=False)
    monkeypatch.delenv("PGLAB_RAY_ADDRESS", raising=False)
    yield
    stop_all()


def wait_for(predicate, timeout: float = WAIT, every: float = 0.02) -> bool:
    return _wait_for(predicate, timeout, every)


def small_jobs():
    return grid({"r": default_config("reinforce", "none", hidden=16, max_episodes=20)},
                seeds=[0, 1])


def long_config(seed: int = 0):
    return default_config("reinforce", "none", hidden=16, max_episodes=100_000, seed=seed)


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def one_error_line(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


# ----- the same results -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def local_pool_result():
    try:
        snap = Experiment(small_jobs(), mode="process", executor="local").run(timeout=WAIT)
    finally:
        shutdown_worker_pool()
    assert snap.state == "finished", snap.errors()
    return snap


def test_experiment_on_ray_gives_the_local_pools_episodes(local_pool_result):
    exp = Experiment(small_jobs(), executor="ray")
    assert exp.workers == 2
    snap = exp.run(timeout=WAIT)
    assert snap.state == "finished", snap.errors()
    assert [r.state for r in snap.runs] == ["finished", "finished"]
    assert isinstance(ray_executor._POOL.current, ray_executor.RayPool)  # it really ran there
    for local, remote in zip(local_pool_result.runs, snap.runs, strict=True):
        assert (local.label, local.seed) == (remote.label, remote.seed)
        assert remote.episodes == 20
        for col in ("episode", "return", "length", "env_steps", "entropy"):
            assert list(remote.columns[col]) == list(local.columns[col]), col
    # the two seeds really differ: the comparison above is not vacuous
    assert list(snap.runs[0].columns["return"]) != list(snap.runs[1].columns["return"])


def test_cli_sweep_and_train_on_ray_match_the_local_runs(tmp_path, capsys):
    base = ["--algo", "reinforce", "--baseline", "none", "--episodes", "15", "--seeds", "0", "1",
            "--quiet"]
    for command, extra in (("sweep", ["--set", "hidden=16,32"]), ("train", [])):
        local, remote = tmp_path / f"{command}-local.csv", tmp_path / f"{command}-ray.csv"
        assert cli.main([command, *base, *extra, "--jobs", "1", "--out", str(local)]) == 0
        assert cli.main([command, *base, *extra, "--executor", "ray", "--out", str(remote)]) == 0
        a, b = read_csv(local), read_csv(remote)
        assert len(a) == (2 if command == "sweep" else 1) * 2 * 15
        keys = [k for k in ("label", "seed", "episode", "return", "length") if k in a[0]]
        assert [[r[k] for k in keys] for r in a] == [[r[k] for k in keys] for r in b]
    capsys.readouterr()
    assert ray.is_initialized()  # the CLI left the test's connection alone


def test_cli_sweep_connects_to_a_cluster_by_address(local_ray, tmp_path):
    """Another driver (a teacher's shell) points a sweep at the running cluster's address:
    pgcore is shipped to the cluster with the job, and the table and CSV come back."""
    out = tmp_path / "sweep.csv"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PGLAB_", "RAY_ADDRESS"))}
    proc = subprocess.run(
        [sys.executable, "-m", "pgcore", "sweep", "--algo", "reinforce", "--baseline", "none",
         "--set", "hidden=16", "--episodes", "15", "--seeds", "0", "1", "--executor", "ray",
         "--address", local_ray, "--out", str(out)],
        cwd=tmp_path, env={**env, "PYTHONPATH": str(REPO)}, capture_output=True, text=True,
        timeout=WAIT)
    assert proc.returncode == 0, proc.stderr
    assert f"on Ray at {local_ray} (2 CPUs)" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "reached 195" in proc.stdout
    rows = read_csv(out)
    assert sorted({r["seed"] for r in rows}) == ["0", "1"] and len(rows) == 30
    here = tmp_path / "here.csv"
    assert cli.main(["sweep", "--algo", "reinforce", "--baseline", "none", "--set", "hidden=16",
                     "--episodes", "15", "--seeds", "0", "1", "--jobs", "1", "--quiet",
                     "--out", str(here)]) == 0
    assert [r["return"] for r in rows] == [r["return"] for r in read_csv(here)]


# ----- streaming and stopping -------------------------------------------------------------------


def test_progress_streams_and_stop_ends_a_running_experiment(monkeypatch):
    """Through PGLAB_EXECUTOR=ray (as the app's pages would): episodes arrive while the job
    runs, and stop() ends it."""
    monkeypatch.setenv("PGLAB_EXECUTOR", "ray")
    exp = Experiment(grid({"long": long_config()}, seeds=[0]), flush_every=0.05)
    assert exp.executor == Executor("ray")
    exp.start()
    assert wait_for(lambda: exp.snapshot().runs[0].episodes >= 5), exp.snapshot().runs[0]
    snap = exp.snapshot()
    assert snap.runs[0].state == "running"
    assert exp.state == "running"
    seen = snap.runs[0].episodes
    assert wait_for(lambda: exp.snapshot().runs[0].episodes > seen)  # it keeps streaming
    exp.stop()
    assert exp.join(60.0)
    snap = exp.snapshot()
    assert snap.state == "stopped"
    assert snap.runs[0].state == "stopped"
    assert 5 <= snap.runs[0].episodes < 100_000


def test_stop_reaches_running_and_queued_ray_jobs():
    """Three jobs on two CPUs: one waits in Ray's queue. After stop() the two running ones end
    stopped, and the queued one ends at once when it starts, without training."""
    pool = ray_pool()
    inbox: list = []
    task = pool.open(inbox.append)
    try:
        futures = [pool.submit(task, _process_job, i, long_config(i), 0.05) for i in range(3)]
        assert wait_for(lambda: sum(m[0] == "start" for m in inbox) >= 2)
        pool.stop(task)
        assert wait_for(lambda: all(f.done() for f in futures), timeout=60.0)
        assert all(f.exception() is None for f in futures)
        ends = {m[1]: m[2:] for m in inbox if m[0] == "end"}
        assert sorted(ends) == [0, 1, 2]
        assert all(state == "stopped" for state, _ in ends.values())
        started = {m[1] for m in inbox if m[0] == "start"}
        queued = [i for i in range(3) if i not in started]
        assert len(queued) == 1 and ends[queued[0]] == ("stopped", NOT_STARTED)
    finally:
        pool.close(task)


def test_a_failing_job_hands_back_its_exception():
    """The function's own exception comes back through the future, as from the local pool."""
    from pgcore.cli.workers import _worker_train

    pool = ray_pool()
    task = pool.open(lambda msg: None)
    try:
        bad = default_config("reinforce", "none", env_id="Nope-v0", max_episodes=2)
        fut = pool.submit(task, _worker_train, 0, bad, False)
        assert wait_for(fut.done)
        assert isinstance(fut.exception(), EnvError)
        assert "Nope-v0" in str(fut.exception())
    finally:
        pool.close(task)


# ----- choosing an executor, and its errors -----------------------------------------------------


def test_executor_from_the_environment():
    assert Executor.from_env({}) == Executor("local")
    assert Executor.from_env({"PGLAB_EXECUTOR": " Ray "}) == Executor("ray")
    assert Executor.from_env({"PGLAB_EXECUTOR": "ray", "PGLAB_RAY_ADDRESS": "10.0.0.5:6379"}) \
        == Executor("ray", "10.0.0.5:6379")
    # an address alone does not move the runs off this machine
    assert Executor.from_env({"PGLAB_RAY_ADDRESS": "auto"}) == Executor("local")
    with pytest.raises(ExecutorError, match="PGLAB_EXECUTOR: unknown executor 'spark'"):
        Executor.from_env({"PGLAB_EXECUTOR": "spark"})
    with pytest.raises(ExecutorError, match="PGLAB_RAY_ADDRESS=nowhere: bad Ray address"):
        Executor.from_env({"PGLAB_EXECUTOR": "ray", "PGLAB_RAY_ADDRESS": "nowhere"})


@pytest.mark.parametrize("address", ["auto", "10.0.0.5:6379", "ray://head.lan:10001",
                                     "[::1]:6379", None, " "])
def test_good_addresses(address):
    ex = Executor("ray", address)
    assert ex.address == (address.strip() or None if address else None)


@pytest.mark.parametrize("address", ["nowhere", "http://x:1", "host:0", "host:99999", "a:b",
                                     "ray://", "host:6379/extra"])
def test_bad_addresses(address):
    with pytest.raises(ExecutorError, match="bad Ray address"):
        Executor("ray", address)


def test_experiment_executor_errors(monkeypatch):
    jobs = small_jobs()
    with pytest.raises(ExecutorError, match="unknown executor"):
        Experiment(jobs, executor="spark")
    with pytest.raises(ExecutorError, match="bad Ray address"):
        Experiment(jobs, executor="ray", address="nowhere")
    with pytest.raises(ExecutorError, match="needs mode='process'"):
        Experiment(jobs, executor="ray", mode="inline")
    # a bad environment variable fails the started experiment with one line, training nothing
    monkeypatch.setenv("PGLAB_EXECUTOR", "spark")
    snap = Experiment(jobs).run(timeout=WAIT)
    assert snap.state == "error"
    assert all(r.state == "error" and r.episodes == 0 for r in snap.runs)
    assert "PGLAB_EXECUTOR: unknown executor 'spark'" in Experiment(jobs).run(WAIT).runs[0].message
    # an inline experiment ignores it: nothing leaves this process
    assert Experiment(jobs[:1], mode="inline").executor == Executor("local")


def test_without_ray_one_line(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails
    monkeypatch.setattr(ray_executor._POOL, "current", None)
    snap = Experiment(small_jobs(), executor="ray").run(timeout=WAIT)
    assert snap.state == "error"
    assert snap.runs[0].message == ("The experiment failed: ray is not installed: "
                                    "pip install ray")
    for command in ("sweep", "train"):
        argv = [command, "--algo", "reinforce", "--episodes", "2", "--seeds", "0", "1",
                "--executor", "ray", "--quiet"]
        assert cli.main(argv) == 2
        assert one_error_line(capsys.readouterr().err) == \
            "error: ray is not installed: pip install ray"


@pytest.mark.parametrize(("flags", "env", "fragment"), [
    (["--executor", "ray", "--address", "nowhere"], {},
     "--address: bad Ray address 'nowhere': give auto, HOST:PORT or ray://HOST:PORT"),
    (["--executor", "ray", "--address", "127.0.0.1:1"], {},
     "cannot reach the Ray cluster at 127.0.0.1:1"),
    (["--address", "auto"], {}, "--address needs --executor ray"),
    (["--executor", "spark"], {}, "--executor: unknown executor 'spark': choose local or ray"),
    ([], {"PGLAB_EXECUTOR": "spark"}, "PGLAB_EXECUTOR: unknown executor 'spark'"),
    ([], {"PGLAB_EXECUTOR": "ray", "PGLAB_RAY_ADDRESS": "x:y"}, "PGLAB_RAY_ADDRESS: bad Ray"),
])
@pytest.mark.parametrize("command", ["sweep", "train"])
def test_cli_executor_errors_exit_2_with_one_line(command, flags, env, fragment, monkeypatch,
                                                   capsys):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr(Experiment, "start", lambda self: pytest.fail("training started"))
    monkeypatch.setattr("pgcore.cli.training.run_parallel",
                        lambda *a, **k: pytest.fail("training started"))
    argv = [command, "--algo", "reinforce", "--episodes", "2", "--seeds", "0", "1", "--quiet",
            *flags]
    assert cli.main(argv) == 2
    assert fragment in one_error_line(capsys.readouterr().err)


def test_help_names_the_flags(capsys):
    for command in ("sweep", "train"):
        assert cli.main([command, "--help"]) == 0
        out = capsys.readouterr().out
        assert "--executor" in out and "--address" in out and "ray start --head" in out


def test_a_dead_clusters_note_is_one_line_not_a_hang(tmp_path, monkeypatch):
    """``auto`` (and no address) follow RAY_ADDRESS or the note ``ray start`` leaves in Ray's
    temp directory; one that no longer answers is reported at once."""
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")
    with pytest.raises(ExecutorError, match=r"cannot reach the Ray cluster at 127\.0\.0\.1:1: "
                                            r".*\(from RAY_ADDRESS"):
        ray_executor._probe_running_cluster()
    monkeypatch.delenv("RAY_ADDRESS")
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path))
    ray_executor._probe_running_cluster()  # no note: nothing to check
    (tmp_path / "ray").mkdir()
    (tmp_path / "ray" / "ray_current_cluster").write_text("127.0.0.1:1\n")
    with pytest.raises(ExecutorError, match="ray_current_cluster; `ray stop` clears"):
        ray_executor._probe_running_cluster()
