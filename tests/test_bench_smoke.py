"""Smoke test: every benchmark script runs end to end with ``--quick`` and prints a table.

Runs in-process (torch is already imported) so the whole file takes a few seconds. It checks
that the scripts work, not how fast anything is: timings belong in the printed tables.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"


def _has_sb3() -> bool:
    return importlib.util.find_spec("stable_baselines3") is not None


@pytest.fixture
def load_bench(monkeypatch):
    """Import a bench script by path, with bench/ on sys.path; restore torch's thread count."""
    import torch

    threads = torch.get_num_threads()
    monkeypatch.syspath_prepend(str(BENCH))

    def load(name: str):
        spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCH / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    yield load
    torch.set_num_threads(threads)


def _table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]


def test_bench_learning_quick(load_bench, capsys):
    mod = load_bench("bench_learning")
    algos = ["reinforce", "reinforce-value", "actor-critic"] + (["a2c"] if _has_sb3() else [])
    assert mod.main(["--quick", "--algos", *algos]) == 0
    rows = _table_rows(capsys.readouterr().out)
    assert rows[0].startswith("| system | episodes to 195")
    names = " ".join(rows[1:])
    for label in ("pgcore reinforce (normalize)", "lesson REINFORCE (normalised returns)",
                  "pgcore reinforce (value)", "lesson REINFORCE + value baseline",
                  "pgcore actor-critic", "lesson one-step ActorCritic"):
        assert label in names
    assert len(rows) == 1 + 2 * len(algos)


def test_bench_reinforce_speed_quick(load_bench, capsys):
    mod = load_bench("bench_reinforce_speed")
    assert mod.main(["--quick"]) == 0
    out = capsys.readouterr().out
    rows = _table_rows(out)
    assert rows[0].startswith("| system | env steps/s")
    assert len(rows) == 3
    assert "pgcore / lesson" in out


def test_bench_experiments_quick(load_bench, capsys):
    mod = load_bench("bench_experiments")
    assert mod.main(["--quick", "--workers", "2"]) == 0  # exit 1 if parallel != sequential
    out = capsys.readouterr().out
    rows = _table_rows(out)
    assert rows[0].startswith("| mode | processes | runs | episodes")
    assert [r.split("|")[1].strip() for r in rows[1:]] == [
        "sequential (one after another)", "parallel runner, cold (starts its workers)",
        "parallel runner, warm (workers running)"]
    assert "parallel results identical to sequential: yes" in out


def _pgcore_matches_head() -> bool | None:
    """Whether pgcore/ in the working tree is exactly HEAD's (None: not a git checkout)."""
    try:
        out = subprocess.run(["git", "--no-optional-locks", "status", "--porcelain", "--",
                              "pgcore"], cwd=ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() == ""


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(),
                    reason="bench_reshape needs git and a git checkout (it makes a worktree)")
def test_bench_reshape_quick(load_bench, capsys):
    mod = load_bench("bench_reshape")
    # a ref that cannot be checked out: exit 2 with a one-line reason, nothing trained
    assert mod.main(["--quick", "--before-ref", "no-such-ref-for-bench"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no-such-ref-for-bench" in err
    # the default path (a temporary git worktree), against HEAD, which always exists
    worktrees = subprocess.run(["git", "worktree", "list"], cwd=ROOT, capture_output=True,
                               text=True).stdout
    code = mod.main(["--quick", "--before-ref", "HEAD", "--jobs", "2"])
    out = capsys.readouterr().out
    rows = _table_rows(out)
    assert "FAILED" not in out, out  # e.g. pgcore does not import, or train() raised
    assert rows[0].startswith("| config | seed | episodes | env steps | before steps/s")
    assert rows[4].startswith("| config | before steps/s | after steps/s | after / before")
    assert len(rows) == 8
    for label in ('default_config("reinforce")', 'default_config("reinforce", "normalize")',
                  'default_config("a2c")'):
        assert sum(r.startswith(f"| {label} |") for r in rows) == 2
    verdicts = [r.split("|")[-2].strip() for r in rows[1:4]]
    assert all(v == "identical" or v.startswith("DIFFERENT") for v in verdicts)
    if _pgcore_matches_head():  # same code on both sides (as in CI): must behave the same
        assert code == 0 and verdicts == ["identical"] * 3
    else:  # uncommitted pgcore edits may change behaviour; the script must still report
        assert code in (0, 1)
    # the temporary worktree is gone again
    assert subprocess.run(["git", "worktree", "list"], cwd=ROOT, capture_output=True,
                          text=True).stdout == worktrees


@pytest.mark.skipif(not _has_sb3(), reason="stable-baselines3 is not installed")
def test_bench_sb3_quick(load_bench, capsys):
    mod = load_bench("bench_sb3")
    assert mod.main(["--quick"]) == 0
    out = capsys.readouterr().out
    rows = _table_rows(out)
    assert rows[0].startswith("| system | steps to 475")
    for label in ("pgcore a2c", "SB3 A2C (RL Zoo)", "SB3 PPO (RL Zoo)"):
        assert any(label in r for r in rows)
    assert "Ratios pgcore a2c / SB3" in out


def test_threshold_helpers_agree(load_bench):
    common = load_bench("common")
    returns = [float(r) for r in ([20] * 150 + [500] * 120)]
    n = common.episodes_to_threshold(returns, 475.0)
    watch = common.ThresholdWatch(475.0)
    first = next(i + 1 for i, r in enumerate(returns) if watch.update(r))
    assert n == first
    # the 100-episode window must be full, and the average must actually reach the threshold
    assert common.episodes_to_threshold([500.0] * 99, 1.0) is None
    assert sum(returns[n - 100:n]) / 100 >= 475.0 > sum(returns[n - 101:n - 1]) / 100


def test_bench_dqn_quick(load_bench, capsys):
    mod = load_bench("bench_dqn")
    assert mod.main(["--quick", "--jobs", "1"]) == 0  # in-process: the module is not picklable
    out = capsys.readouterr().out
    rows = _table_rows(out)
    sb3 = _has_sb3()
    header = "| metric | pgcore dqn" + (" | SB3 DQN (RL Zoo) | pgcore / SB3 |" if sb3 else " |")
    assert rows[0] == header
    for label in ("env steps to training avg-100 >= 475", "env steps to greedy eval mean >= 475",
                  "best greedy eval mean", "gradient steps / s (training time)"):
        assert any(r.startswith(f"| {label}") for r in rows)
    assert sum(r.startswith("| 0 | ") for r in rows) == (2 if sb3 else 1)  # per-seed table
    for target in ("(1) pgcore reaches training avg-100 475", "(2) pgcore's median env steps",
                   "(3) pgcore's median training seconds"):
        assert target in out


@pytest.mark.skipif(not _has_sb3(), reason="stable-baselines3 is not installed")
def test_bench_sb3_ppo_quick(load_bench, capsys):
    mod = load_bench("bench_sb3")
    assert mod.main(["--quick", "--systems", "pgcore-ppo", "sb3-ppo"]) == 0
    out = capsys.readouterr().out
    rows = _table_rows(out)
    assert rows[0] == ("| system | steps to 475 | seconds to 475 | episodes to 475 (seeds) | "
                       "episodes to 195 | env steps/s |")
    assert [r.split("|")[1].strip() for r in rows[1:3]] == ["pgcore ppo", "SB3 PPO (RL Zoo)"]
    assert any(r.startswith("| 0 | ") for r in rows)  # per-seed table
    for ratio, target in (("pgcore ppo / SB3 PPO (RL Zoo), env steps to 475", "< 1.00"),
                          ("pgcore ppo / SB3 PPO (RL Zoo), wall seconds to 475", "<= 0.20")):
        assert any(r.startswith(f"| {ratio} |") and target in r for r in rows)
    assert not any("pgcore a2c" in r for r in rows)


def test_bench_pendulum_quick(load_bench, capsys):
    mod = load_bench("bench_pendulum")
    assert mod.main(["--quick"]) == 0  # in-process: --jobs 1 (the default)
    out = capsys.readouterr().out
    rows = _table_rows(out)
    assert rows[0] == ("| system | best avg-100 | final avg-100 | seeds reaching -200 | "
                       "env steps to -200 | seconds to -200 | training seconds | env steps/s |")
    labels = ["pgcore ppo-pendulum"]
    if _has_sb3():
        labels += ["SB3 PPO gSDE (RL Zoo)", "SB3 PPO Gaussian (RL Zoo, no gSDE)"]
    assert [r.split("|")[1].strip() for r in rows[1:1 + len(labels)]] == labels
    assert all(r.split("|")[4].strip() == "0 of 1" for r in rows[1:1 + len(labels)])
    assert sum(r.startswith("| 0 | ") for r in rows) == len(labels)  # per-seed table
    assert "Target (issue 10)" in out and "pgcore ppo-pendulum: best avg-100 >= -200" in out


def test_bench_stop_quick(load_bench, capsys):
    mod = load_bench("bench_stop")
    assert mod.main(["--quick"]) == 0
    rows = _table_rows(capsys.readouterr().out)
    assert rows[0] == "| preset | stops | stop to end, s: median [range] | max, s |"
    assert rows[1].startswith("| ppo-pendulum | 1 | ")


@pytest.mark.parametrize("argv", [["--stops", "0"], ["--presets", "nope"]])
def test_bench_stop_refuses_bad_arguments(load_bench, argv):
    mod = load_bench("bench_stop")
    with pytest.raises(SystemExit) as exit_info:
        mod.main(argv)
    assert exit_info.value.code == 2


def test_bench_rps_quick(load_bench, capsys):
    mod = load_bench("bench_rps")
    assert mod.main(["--quick"]) == 0
    rows = _table_rows(capsys.readouterr().out)
    assert rows[0].startswith("| learner | rounds to exploitability <= 0.05")
    assert [r.split("|")[1].strip() for r in rows[1:]] == [
        "policy-gradient, time-averaged policy", "policy-gradient, current policy",
        "greedy (argmax of action values)"]
    assert "never (0/1)" in rows[3]  # a pure strategy is always exploitable by 1
    assert mod.settled(mod.np.array([0.3, 0.04, 0.2, 0.05, 0.01])) == 3


def test_bench_update_quick(load_bench, capsys):
    mod = load_bench("bench_update")
    assert mod.main(["--quick"]) == 0
    rows = _table_rows(capsys.readouterr().out)
    assert rows[0].startswith("| case | batch | autograd")
    assert [r.split("|")[1].strip() for r in rows[1:]] == ["a2c", "ppo", "dqn"]
    for row in rows[1:]:  # the two sides' gradients agree to float32 rounding
        assert float(row.split("|")[-2]) < 1e-4


def test_bench_value_policy_quick(load_bench, capsys):
    mod = load_bench("bench_value_policy")
    assert mod.main(["--quick", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    rows = _table_rows(out)
    assert rows[0] == "| measurement | DQN | A2C | REINFORCE + baseline |"
    assert any(r.startswith("| final 100-episode training average |") for r in rows)
    for aspect in ("action space", "policy type", "stability", "sample efficiency",
                   "convergence"):
        assert f"- **{aspect}** (" in out


def test_bench_first_page_report(monkeypatch):
    """The first-page benchmark's table from hand-made rounds (the browser run itself is the
    benchmark's; it needs Chromium and minutes): medians, ranges, the targets, failures."""
    from tests.helpers import bench_module

    monkeypatch.syspath_prepend(str(BENCH))
    with bench_module("bench_first_page") as mod:
        _first_page_report(mod)


def _first_page_report(mod) -> None:
    rounds = [mod.Round("before", 8.0, 9.0, 20.0), mod.Round("before", 10.0, 9.5, 22.0),
              mod.Round("after", 1.5, 3.0, 1.2), mod.Round("after", error="Timeout: no frame")]
    text = mod.report(rounds, ["before", "after"], "a test")
    rows = {r.split("|")[1].strip(): r for r in _table_rows(text)}
    assert "9.00 [8.00-10.00] (**not met**)" in rows["before"]
    assert "1.50 (met)" in rows["after"] and "1.20 (met)" in rows["after"]
    assert rows["after"].rstrip(" |").endswith("1")  # one failed round
    assert "after: Timeout: no frame" in text


def test_bench_experiment_refresh_quick(load_bench, capsys):
    """The experiment pages' refresh benchmark: the page under AppTest in a child process,
    its experiment made up, one row per kind of refresh."""
    mod = load_bench("bench_experiment_refresh")
    assert mod.main(["--quick", "--page", "entropy", "--episodes", "60"]) == 0
    rows = _table_rows(capsys.readouterr().out)
    assert rows[0].startswith("| refresh | this checkout: median ms")
    assert [r.split("|")[1].strip() for r in rows[1:]] == list(mod.MODES)
