"""The CLI: exit codes, outputs, parallel == sequential, eval, errors as one line."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from pgcore import cli, default_config
from pgcore.training.checkpoint import checkpoint_bytes, load_checkpoint
from pgcore.training.metrics import EpisodeHistory
from pgcore.training.trainer import RunResult

REPO = Path(__file__).resolve().parents[1]


def _env() -> dict:
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", PYGAME_HIDE_SUPPORT_PROMPT="1")
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_cli(*args: str, cwd: Path | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pgcore", *args], capture_output=True, text=True,
                          cwd=cwd, env=_env(), timeout=timeout)


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def no_training(monkeypatch):
    """For tests of bad input: training must not even start."""
    def refuse(*_args, **_kwargs):
        raise AssertionError("training started despite bad input")

    monkeypatch.setattr(cli, "train", refuse)


def _one_error_line(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


# ----- help and argparse --------------------------------------------------------------------


def test_help(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "train" in out and "eval" in out
    assert cli.main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    for flag in ("--algo", "--baseline", "--preset", "--entropy-beta", "--lr", "--gamma", "--env",
                 "--seeds", "--episodes", "--max-steps", "--n-envs", "--jobs", "--out",
                 "--summary", "--save", "--quiet", "reinforce", "actor-critic", "a2c"):
        assert flag in out, flag


def test_eval_help(capsys):
    assert cli.main(["eval", "--help"]) == 0
    out = capsys.readouterr().out
    for flag in ("--checkpoint", "--episodes", "--seed", "--greedy", "--gif"):
        assert flag in out


@pytest.mark.parametrize("argv", [
    [],
    ["train", "--algo", "bogus"],
    ["train", "--algo", "reinforce", "--lr", "abc"],
    ["train", "--algo", "reinforce", "--baseline", "magic"],
    ["train", "--preset", "no-such-preset"],
    ["eval"],
    ["fly"],
])
def test_argparse_errors_exit_2(argv, no_training, capsys):
    assert cli.main(argv) == 2
    assert "Traceback" not in capsys.readouterr().err


# ----- bad values: one line, exit 2, nothing trained -----------------------------------------


@pytest.mark.parametrize("argv, fragment", [
    (["--lr", "-1"], "lr"),
    (["--lr", "nan"], "lr"),
    (["--gamma", "0"], "gamma"),
    (["--gamma", "1.5"], "gamma"),
    (["--entropy-beta", "-0.1"], "entropy_beta"),
    (["--algo", "dqn", "--env", "Pendulum-v1"], "discrete action space"),
    (["--env", "Nope-v9"], "Nope-v9"),
    (["--episodes", "-3"], "--episodes"),
    (["--n-envs", "4"], "n_envs"),
    (["--seeds", "-1"], "seed"),
    (["--seeds", "0", "0"], "more than once"),
    (["--jobs", "0"], "--jobs"),
    (["--baseline", "normalize", "--algo", "a2c"], "baseline"),
    (["--preset", "a2c", "--algo", "reinforce"], "preset"),
    (["--out", "/nonexistent-dir/x.csv"], "does not exist"),
    (["--summary", "/nonexistent-dir/x.json"], "does not exist"),
    (["--save", "/nonexistent-dir/a.pt"], "does not exist"),
    (["--eval-every", "0"], "eval_every"),
    (["--eval-episodes", "0"], "eval_episodes"),
    (["--algo", "dqn", "--target-update", "0"], "target_update"),
    (["--algo", "dqn", "--tau", "0"], "tau"),
    (["--algo", "dqn", "--epsilon-start", "0.1", "--epsilon-end", "0.5"], "epsilon"),
    (["--algo", "dqn", "--lr-end", "2"], "lr_end"),
])
def test_bad_values_exit_2_with_one_line(argv, fragment, no_training, capsys):
    given = "--algo" in argv or "--preset" in argv
    full = ["train", *argv] if given else ["train", "--algo", "reinforce", *argv]
    assert cli.main(full) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert fragment in line


def test_train_with_greedy_evaluations(tmp_path, capsys):
    summary = tmp_path / "s.json"
    assert cli.main(["train", "--algo", "dqn", "--max-steps", "1500", "--eval-every", "500",
                     "--eval-episodes", "2", "--quiet", "--summary", str(summary)]) == 0
    out = capsys.readouterr().out
    assert "greedy last" in out and "steps to greedy 475" in out
    run = json.loads(summary.read_text())["runs"][0]
    assert [e["env_steps"] for e in run["evaluations"]] == [500, 1000, 1500]
    assert all(len(e["returns"]) == 2 for e in run["evaluations"])
    assert run["eval_last"] == run["evaluations"][-1]["mean_return"]


def test_train_needs_algo_or_preset(no_training, capsys):
    assert cli.main(["train", "--episodes", "3"]) == 2
    assert "--algo" in _one_error_line(capsys.readouterr().err)


def test_output_path_that_is_a_directory(tmp_path, no_training, capsys):
    assert cli.main(["train", "--algo", "reinforce", "--out", str(tmp_path)]) == 2
    assert "directory" in _one_error_line(capsys.readouterr().err)


def test_subprocess_bad_value():
    """The real ``python -m pgcore``: a bad value exits 2 with one line, no traceback."""
    proc = run_cli("train", "--algo", "dqn", "--env", "Pendulum-v1")
    assert proc.returncode == 2, proc.stderr
    assert "discrete action space" in _one_error_line(proc.stderr)
    assert proc.stdout == ""


# ----- training outputs -----------------------------------------------------------------------


def test_train_writes_csv_json_and_table(tmp_path, capsys):
    out, summary = tmp_path / "runs.csv", tmp_path / "runs.json"
    rc = cli.main(["train", "--algo", "reinforce", "--seeds", "3", "4", "--episodes", "3",
                   "--jobs", "1", "--out", str(out), "--summary", str(summary), "--quiet"])
    assert rc == 0
    captured = capsys.readouterr()
    assert captured.err == ""  # --quiet: no bar, no notes
    table = captured.out
    for head in ("seed", "episodes", "env steps", "seconds", "ep to 195", "steps to 195",
                 "s to 195", "ep to 475", "steps to 475", "s to 475", "final avg100", "steps/s"):
        assert head in table
    assert re.search(r"^\s+3\s+3\s", table, re.M) and re.search(r"^\s+4\s+3\s", table, re.M)
    assert "median" in table

    rows = read_csv(out)
    assert list(rows[0]) == ["seed", "episode", "return", "length", "env_steps", "wall_seconds"]
    assert [(r["seed"], r["episode"]) for r in rows] == [
        ("3", "1"), ("3", "2"), ("3", "3"), ("4", "1"), ("4", "2"), ("4", "3")]
    for seed in ("3", "4"):
        mine = [r for r in rows if r["seed"] == seed]
        lengths = [int(r["length"]) for r in mine]
        assert [float(r["return"]) for r in mine] == lengths  # CartPole: +1 per step
        assert [int(r["env_steps"]) for r in mine] == np.cumsum(lengths).tolist()
        secs = [float(r["wall_seconds"]) for r in mine]
        assert secs == sorted(secs) and secs[0] >= 0

    doc = json.loads(summary.read_text())
    assert doc["config"] == default_config("reinforce", max_episodes=3, seed=3).to_dict()
    assert [r["seed"] for r in doc["runs"]] == [3, 4]
    for run in doc["runs"]:
        for key in ("episodes_to_195", "episodes_to_475", "steps_to_475", "seconds_to_475"):
            assert run[key] is None  # three episodes cannot fill a 100-episode window
        csv_returns = [float(r["return"]) for r in rows if int(r["seed"]) == run["seed"]]
        assert run["episode_returns"] == csv_returns
        assert run["final_avg100"] == pytest.approx(np.mean(csv_returns))
        assert run["episodes"] == 3 and run["reason"] == "max_episodes"
        assert run["env_steps"] == sum(csv_returns)
        assert run["steps_per_second"] > 0


def test_only_given_flags_change_the_defaults(tmp_path):
    summary = tmp_path / "s.json"
    rc = cli.main(["train", "--algo", "actor-critic", "--lr", "0.0005", "--gamma", "0.95",
                   "--entropy-beta", "0.01", "--episodes", "2", "--summary", str(summary),
                   "--quiet"])
    assert rc == 0
    expected = default_config("actor-critic", lr=5e-4, gamma=0.95, entropy_beta=0.01,
                              max_episodes=2)
    assert json.loads(summary.read_text())["config"] == expected.to_dict()


def test_preset_and_baseline(tmp_path):
    summary = tmp_path / "s.json"
    assert cli.main(["train", "--preset", "reinforce-lesson", "--episodes", "2",
                     "--summary", str(summary), "--quiet"]) == 0
    config = json.loads(summary.read_text())["config"]
    assert config["reduction"] == "sum" and config["bootstrap_truncated"] is False
    assert cli.main(["train", "--algo", "reinforce", "--baseline", "none", "--episodes", "2",
                     "--summary", str(summary), "--quiet"]) == 0
    assert json.loads(summary.read_text())["config"]["baseline"] == "none"


def test_step_budget_and_episode_budget(tmp_path):
    summary = tmp_path / "s.json"
    assert cli.main(["train", "--algo", "a2c", "--episodes", "0", "--max-steps", "200",
                     "--summary", str(summary), "--quiet"]) == 0
    doc = json.loads(summary.read_text())
    assert doc["config"]["max_episodes"] is None and doc["config"]["max_steps"] == 200
    run = doc["runs"][0]
    assert run["reason"] == "max_steps" and run["env_steps"] >= 200
    assert cli.main(["train", "--algo", "a2c", "--episodes", "4", "--max-steps", "100000",
                     "--summary", str(summary), "--quiet"]) == 0
    run = json.loads(summary.read_text())["runs"][0]
    assert run["reason"] == "max_episodes" and run["episodes"] == 4


def test_progress_bar_goes_to_stderr(capsys):
    assert cli.main(["train", "--algo", "reinforce", "--episodes", "3"]) == 0
    captured = capsys.readouterr()
    assert "seed 0" in captured.err and "3/3" in captured.err
    assert "seed 0" not in captured.out and "ep to 475" in captured.out


def test_parallel_equals_sequential(tmp_path):
    """Worker processes (spawn) give exactly the returns of in-process sequential runs.

    (The real ``python -m pgcore`` with worker processes is exercised by the Ctrl-C test.)
    """
    args = ["train", "--algo", "a2c", "--seeds", "0", "1", "--episodes", "6", "--quiet"]
    assert cli.main([*args, "--jobs", "2", "--out", str(tmp_path / "par.csv")]) == 0
    assert cli.main([*args, "--jobs", "1", "--out", str(tmp_path / "seq.csv")]) == 0

    def key(rows):
        return [(r["seed"], r["episode"], r["return"], r["length"], r["env_steps"]) for r in rows]

    par_rows, seq_rows = read_csv(tmp_path / "par.csv"), read_csv(tmp_path / "seq.csv")
    assert len(par_rows) == 12
    assert key(par_rows) == key(seq_rows)


def test_save_single_and_several_seeds(tmp_path):
    single = tmp_path / "agent.pt"
    assert cli.main(["train", "--algo", "reinforce", "--episodes", "2", "--save", str(single),
                     "--quiet"]) == 0
    agent, config, meta = load_checkpoint(single)
    assert config.seed == 0 and meta["extra"]["episodes"] == 2
    assert cli.main(["train", "--algo", "reinforce", "--episodes", "2", "--seeds", "5", "6",
                     "--jobs", "1", "--save", str(tmp_path / "many.pt"), "--quiet"]) == 0
    for seed in (5, 6):
        _, config, _ = load_checkpoint(tmp_path / f"many-seed{seed}.pt")
        assert config.seed == seed
    assert not (tmp_path / "many.pt").exists()
    assert cli.seed_path("runs/agent", 2) == Path("runs/agent-seed2")


def test_diverged_run_exits_1(monkeypatch, capsys, tmp_path):
    def diverge(config, on_event=None, **_):
        return RunResult(config, reason="diverged",
                         message="Training diverged: the loss became nan at update 3.",
                         history=EpisodeHistory.from_arrays([10.0], [10], [10], [0.1]),
                         env_steps=10, wall_seconds=0.1)

    monkeypatch.setattr(cli, "train", diverge)
    summary = tmp_path / "s.json"
    assert cli.main(["train", "--algo", "reinforce", "--summary", str(summary), "--quiet"]) == 1
    captured = capsys.readouterr()
    assert "Training diverged: the loss became nan" in captured.err
    assert "Traceback" not in captured.err
    assert json.loads(summary.read_text())["runs"][0]["reason"] == "diverged"


# ----- Ctrl-C ---------------------------------------------------------------------------------


def _interrupt_when_training(args: list[str], marker: bytes) -> tuple[int, str]:
    proc = subprocess.Popen([sys.executable, "-m", "pgcore", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=_env())
    err = bytearray()

    def pump():
        while chunk := proc.stderr.read1(4096):
            err.extend(chunk)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 90
        while marker not in err and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker in err, bytes(err).decode(errors="replace")
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(timeout=10)
    return rc, bytes(err).decode(errors="replace")


def test_ctrl_c_exits_130_cleanly():
    """SIGINT to a real ``python -m pgcore`` training two seeds in worker processes."""
    rc, err = _interrupt_when_training(
        ["train", "--algo", "reinforce", "--seeds", "0", "1", "--episodes", "100000",
         "--jobs", "2"], b"mean avg100")
    assert rc == 130, err
    assert "interrupted" in err and "Traceback" not in err


def test_sigterm_exits_143(monkeypatch, capsys):
    def terminate(*_args, **_kwargs):
        os.kill(os.getpid(), signal.SIGTERM)  # the CLI's handler turns it into a clean exit
        time.sleep(5)
        raise AssertionError("SIGTERM was not handled")

    before = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(cli, "train", terminate)
    assert cli.main(["train", "--algo", "reinforce", "--jobs", "1"]) == 143
    assert "terminated" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) is before  # handler restored


def test_ctrl_c_in_process(monkeypatch, tmp_path, capsys):
    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "train", interrupted)
    out = tmp_path / "x.csv"
    assert cli.main(["train", "--algo", "reinforce", "--jobs", "1", "--out", str(out)]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert not out.exists()  # nothing half-written


# ----- eval -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkpoint_file(tmp_path_factory) -> Path:
    from pgcore.algos import make_agent
    from pgcore.rl.envs import EnvSpec

    agent = make_agent(default_config("a2c", seed=1), EnvSpec.discrete(4, 2))
    path = tmp_path_factory.mktemp("ckpt") / "agent.pt"
    path.write_bytes(checkpoint_bytes(agent, extra={"episodes": 0}))
    return path


def _returns_from(out: str) -> list[float]:
    line = next(ln for ln in out.splitlines() if ln.startswith("returns"))
    return [float(x) for x in line.split(":", 1)[1].split()]


def test_eval_prints_mean_std_and_writes_gif(checkpoint_file, tmp_path, capsys):
    gif = tmp_path / "play.gif"
    assert cli.main(["eval", "--checkpoint", str(checkpoint_file), "--episodes", "3",
                     "--seed", "4", "--gif", str(gif)]) == 0
    out = capsys.readouterr().out
    returns = _returns_from(out)
    assert len(returns) == 3
    m = re.search(r"mean return ([\d.]+)\s+std ([\d.]+)\s+over 3 episodes", out)
    assert m, out
    assert float(m.group(1)) == pytest.approx(np.mean(returns), abs=0.005)
    assert float(m.group(2)) == pytest.approx(np.std(returns), abs=0.005)
    assert gif.read_bytes()[:4] == b"GIF8"
    frames = int(re.search(r"\((\d+) frames", out).group(1))
    assert frames == returns[0] + 1  # the reset frame plus one per step


def test_eval_is_reproducible_and_greedy_works(checkpoint_file, capsys):
    argv = ["eval", "--checkpoint", str(checkpoint_file), "--episodes", "2", "--seed", "9"]
    assert cli.main(argv) == 0
    first = capsys.readouterr().out
    assert cli.main(argv) == 0
    assert capsys.readouterr().out == first
    assert cli.main([*argv, "--greedy"]) == 0
    assert "greedy" in capsys.readouterr().out


def test_eval_bad_checkpoints_exit_2(tmp_path, checkpoint_file, capsys):
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(checkpoint_file.read_bytes()[:500])
    d = torch.load(checkpoint_file, weights_only=True)
    d["config"]["hidden"] = 32
    mismatched = tmp_path / "mismatched.pt"
    torch.save(d, mismatched)
    cases = [(tmp_path / "missing.pt", "not found"), (corrupt, "not a valid checkpoint"),
             (mismatched, "shape")]
    for path, fragment in cases:
        assert cli.main(["eval", "--checkpoint", str(path)]) == 2
        assert fragment in _one_error_line(capsys.readouterr().err)
    for argv in (["--episodes", "0"], ["--seed", "-1"], ["--gif", "/nonexistent-dir/a.gif"]):
        assert cli.main(["eval", "--checkpoint", str(checkpoint_file), *argv]) == 2
        _one_error_line(capsys.readouterr().err)
