"""``python -m pgcore sweep``: grids from flags and files, outputs, errors as one line."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from pgcore import cli, default_config, train
from pgcore.execution.experiments import COLUMNS, Experiment


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _one_error_line(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def no_training(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise AssertionError("training started despite bad input")

    monkeypatch.setattr(Experiment, "start", refuse)


BASE = ["sweep", "--algo", "reinforce", "--baseline", "none", "--set", "hidden=16",
        "--episodes", "4", "--jobs", "1", "--quiet"]


def test_help_lists_sweep(capsys):
    assert cli.main(["--help"]) == 0
    assert "sweep" in capsys.readouterr().out
    assert cli.main(["sweep", "--help"]) == 0
    out = capsys.readouterr().out
    for flag in ("--set", "--seeds", "--config", "--jobs", "--out", "--summary", "TOML"):
        assert flag in out


def test_grid_from_flags_writes_csv_and_summary(tmp_path, capsys):
    out, summary = tmp_path / "s.csv", tmp_path / "s.json"
    argv = [*BASE, "--set", "lr=1e-3,2e-3", "--seeds", "0", "1", "--out", str(out),
            "--summary", str(summary)]
    assert cli.main(argv) == 0
    table = capsys.readouterr().out
    labels = ["hidden=16, lr=0.001", "hidden=16, lr=0.002"]
    for label in labels:
        assert label in table
    rows = read_csv(out)
    assert list(rows[0]) == list(COLUMNS)
    assert len(rows) == 2 * 2 * 4
    assert {r["label"] for r in rows} == set(labels)
    assert {(r["label"], r["seed"]) for r in rows} == {(lb, s) for lb in labels for s in "01"}
    doc = json.loads(summary.read_text())
    assert doc["seeds"] == [0, 1]
    assert [c["label"] for c in doc["configs"]] == labels
    assert doc["configs"][1]["config"]["lr"] == 0.002
    assert doc["configs"][0]["config"]["baseline"] == "none"
    assert len(doc["runs"]) == 4 and all(r["state"] == "finished" for r in doc["runs"])
    assert doc["by_config"][labels[0]]["runs"] == 2

    # the sweep's rows are exactly what training that config alone gives
    cfg = default_config("reinforce", "none", hidden=16, lr=2e-3, max_episodes=4, seed=1)
    result = train(cfg)
    mine = [r for r in rows if r["label"] == labels[1] and r["seed"] == "1"]
    assert [float(r["return"]) for r in mine] == result.episode_returns
    assert [int(r["env_steps"]) for r in mine] == result.episode_env_steps


def test_grid_from_toml_and_json_files(tmp_path, capsys):
    toml = tmp_path / "grid.toml"
    toml.write_text('algo = "reinforce"\nseeds = [2]\nepisodes = 3\n'
                    '[set]\nbaseline = ["none", "value"]\n'
                    '[[configs]]\nlabel = "small"\nhidden = 16\n'
                    '[[configs]]\nlabel = "tiny"\nhidden = 8\n')
    data = {"algo": "reinforce", "seeds": [2], "episodes": 3,
            "set": {"baseline": ["none", "value"]},
            "configs": [{"label": "small", "hidden": 16}, {"label": "tiny", "hidden": 8}]}
    js = tmp_path / "grid.json"
    js.write_text(json.dumps(data))
    results = []
    for path in (toml, js):
        out = tmp_path / f"{path.stem}-{path.suffix[1:]}.csv"
        assert cli.main(["sweep", "--config", str(path), "--jobs", "1", "--quiet",
                         "--out", str(out)]) == 0
        capsys.readouterr()
        results.append(read_csv(out))
    a, b = results
    labels = {"small, baseline=none", "small, baseline=value", "tiny, baseline=none",
              "tiny, baseline=value"}
    assert {r["label"] for r in a} == labels and len(a) == 4 * 3
    assert [(r["label"], r["return"]) for r in a] == [(r["label"], r["return"]) for r in b]
    # a flag replaces the file's value
    out = tmp_path / "flag.csv"
    assert cli.main(["sweep", "--config", str(toml), "--episodes", "2", "--jobs", "1",
                     "--quiet", "--out", str(out)]) == 0
    assert len(read_csv(out)) == 4 * 2


@pytest.mark.parametrize("argv, fragment", [
    (["--set", "lr=abc"], "lr must be float"),
    (["--set", "foo=1"], "unknown config field 'foo'"),
    (["--set", "seed=1,2"], "--seeds"),
    (["--set", "lr="], "FIELD=V1,V2"),
    (["--set", "lr=1e-3,1e-3"], "more than once"),
    (["--set", "entropy_beta=0,2"], "entropy_beta"),
    (["--set", "env_id=Nope-v9"], "Nope-v9"),
    (["--set", "baseline=none,magic"], "baseline"),
    (["--set", "n_envs=4"], "n_envs"),
    (["--seeds", "0", "0"], "more than once"),
    (["--seeds", "-1"], "seed"),
    (["--episodes", "-1"], "--episodes"),
    (["--jobs", "0"], "--jobs"),
    (["--preset", "a2c"], "preset"),
    (["--out", "/nonexistent-dir/x.csv"], "does not exist"),
    (["--summary", "/nonexistent-dir/x.json"], "does not exist"),
    (["--config", "/nonexistent-dir/x.toml"], "not found"),
])
def test_bad_input_exits_2_with_one_line(argv, fragment, no_training, capsys):
    assert cli.main(["sweep", "--algo", "reinforce", *argv]) == 2
    assert fragment in _one_error_line(capsys.readouterr().err)


def test_bad_files_and_missing_algo(tmp_path, no_training, capsys):
    cases = {"bad.toml": ("algo = [", "not valid TOML"),
             "bad.json": ("{", "not valid JSON"),
             "keys.toml": ('algo = "a2c"\nfoo = 1\n', "unknown key(s) foo"),
             "set.toml": ('algo = "a2c"\nset = 3\n', "[set]"),
             "noalgo.toml": ("seeds = [0]\n", "--algo or --preset")}
    for name, (text, fragment) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        assert cli.main(["sweep", "--config", str(path)]) == 2, name
        assert fragment in _one_error_line(capsys.readouterr().err), name
    assert cli.main(["sweep", "--seeds", "0"]) == 2
    assert "--algo or --preset" in _one_error_line(capsys.readouterr().err)


def test_a_failed_run_exits_1_and_the_others_still_finish(tmp_path, hidden_8_fails, capsys):
    out, summary = tmp_path / "f.csv", tmp_path / "f.json"
    assert cli.main([*BASE, "--set", "hidden=8,16", "--out", str(out),
                     "--summary", str(summary)]) == 1
    err = capsys.readouterr().err
    assert "hidden=8, seed 0: The run failed: RuntimeError: boom" in err
    rows = read_csv(out)
    assert {r["label"] for r in rows} == {"hidden=16"} and len(rows) == 4
    doc = json.loads(summary.read_text())
    assert [r["state"] for r in doc["runs"]] == ["error", "finished"]
    assert doc["by_config"]["hidden=8"]["failed"] == 1


def test_train_workers_skip_a_streamlit_main(tmp_path, monkeypatch, capsys):
    # After AppTest has run a page, sys.modules["__main__"] is that Streamlit script; spawned
    # workers must not re-run it (they would fail, and multiprocessing.Pool would restart
    # them forever).
    import sys
    import types

    fake = types.ModuleType("__main__")
    script = tmp_path / "page.py"
    script.write_text("raise SystemExit('a worker re-ran the main script')\n")
    fake.__file__ = str(script)
    fake.__spec__ = None
    monkeypatch.setitem(sys.modules, "__main__", fake)
    out = tmp_path / "par.csv"
    assert cli.main(["train", "--algo", "reinforce", "--baseline", "none", "--seeds", "0", "1",
                     "--episodes", "2", "--jobs", "2", "--quiet", "--out", str(out)]) == 0
    assert len(read_csv(out)) == 4
