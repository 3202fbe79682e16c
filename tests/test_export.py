"""Take it home (pgcore.cli.export, ui/takehome.py): every preset and every experiment page's
default as a command, a script and a notebook.

* the command parses (through the CLI's own parser) to the very config or grid of the page;
* a short run of the command gives the same episode returns, seed for seed, as the app's
  runners (``BackgroundRun`` for the Train page, ``Experiment`` for the experiment pages);
* the scripts and the notebooks' code run (one subprocess for all, tiny budgets), and one
  notebook runs in a real Jupyter kernel (nbclient) with its budget injected after its
  ``parameters`` cell;
* a teacher's locked link values are in all three.

The pages are opened once each with AppTest (nothing started), with the shared controls and
the take-home helper spied on to learn what the page's Start would run.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import pytest

from pgcore import PRESETS, default_config, preset
from pgcore.cli import build_parser, config_from_args, main, sweep_jobs
from pgcore.cli.export import (
    BUDGETS,
    CHARTS,
    PAGE_CHARTS,
    ExportError,
    GradVarSetup,
    argv_of,
    command_for,
    notebook_for,
    run_options,
    script_for,
    setup_of,
)
from pgcore.execution import SlotPool, stop_all
from pgcore.execution.experiments import Experiment, Job, check_jobs, grid

TIMEOUT = 60


def train_page_config(name: str):
    """A preset as the Train page runs it: its episode and time budgets added."""
    return preset(name, max_episodes=1000, max_seconds=900.0)


def short(config):
    """The same config with a tiny budget (2 episodes, or 300 env steps without an episode
    budget)."""
    return config.replace(max_episodes=2 if config.max_episodes else None,
                          max_steps=min(config.max_steps, 300) if config.max_steps else None)


def short_jobs(jobs):
    return [Job(j.label, short(j.config)) for j in jobs]


def experiment_pages() -> list[str]:
    """Every page that builds an experiment grid through the shared controls, or calls the
    take-home helper itself (the Gradient variance lab)."""
    from ui import navigation

    return [e.url_path for e in navigation.entries() if e.url_path != "train" and (
        "controls.controls_ui(" in e.path.read_text()
        or "takehome.take_home_ui(" in e.path.read_text())]


def gradvar_lab(g: GradVarSetup):
    """The lab the Gradient variance page starts for ``g`` (as the page builds it)."""
    from pgcore.labs.gradvar import GradVarLab

    config = default_config("reinforce", "value", seed=g.seed,
                            max_episodes=max(1, g.train_episodes))
    return GradVarLab(config, g.train_episodes, n_batches=g.batches, batch_size=g.batch_size,
                      reference_batches=g.batches, seed=g.seed)


def short_gradvar(g: GradVarSetup) -> GradVarSetup:
    return GradVarSetup(g.seed, min(g.train_episodes, 2), 2, 2)


def short_what(page: dict):
    """A page's setup with a tiny budget."""
    if isinstance(page["what"], GradVarSetup):
        return short_gradvar(page["what"])
    return short(page["what"]) if page.get("jobs") is None else short_jobs(page["jobs"])


@pytest.fixture(scope="module")
def pages():
    """{page: {"jobs" or "config": ..., "options": controls_ui's keywords, "command": the
    command drawn}} of the Train page and every experiment page, at their defaults."""
    from streamlit.testing.v1 import AppTest

    from ui import experiment_controls, navigation, takehome

    seen: dict = {}
    real_controls, real_takehome = experiment_controls.controls_ui, takehome.take_home_ui

    def controls_spy(key, build, what="runs", frame_every=None, trace_every=None,
                     trace_flips=True):
        seen["jobs"] = check_jobs(build())
        seen["options"] = {"frame_every": frame_every, "trace_every": trace_every,
                           "trace_flips": trace_flips}
        return real_controls(key, build, what, frame_every, trace_every, trace_flips)

    def takehome_spy(what, key="takehome", **trace):
        seen["what"] = what
        return real_takehome(what, key, **trace)

    out = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(experiment_controls, "controls_ui", controls_spy)
        mp.setattr(takehome, "take_home_ui", takehome_spy)
        for name in ["train", *experiment_pages()]:
            seen.clear()
            at = AppTest.from_file(str(navigation.page(name).path), default_timeout=TIMEOUT)
            at.run()
            assert not at.exception, (name, at.exception)
            commands = [c.value for c in at.code if c.value.startswith("python -m pgcore")]
            assert len(commands) == 1, (name, commands)
            out[name] = {**seen, "command": commands[0]}
    stop_all()
    return out


# ----- the command parses to the same config / grid --------------------------------------------


def parsed_config(command: str):
    args = build_parser().parse_args(argv_of(command))
    assert args.command == "train"
    return config_from_args(args), args.seeds


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_command_parses_to_its_config(name):
    config = train_page_config(name)
    command = command_for(config)
    assert parsed_config(command) == (config, [config.seed])


def test_settings_without_a_flag_and_every_kind_of_value_survive_the_command():
    config = preset("a2c", seed=7, max_episodes=None, max_steps=12_345, hidden=32,
                    ortho_init=False, max_grad_norm=None, activation="relu", lr=7e-4,
                    bootstrap_truncated=False, eval_every=1000, max_seconds=600.0)
    command = command_for(config)
    assert "--set hidden=32" in command and "--set max_grad_norm=none" in command
    assert "--lr 0.0007" in command and "--episodes 0 --max-steps 12345" in command
    assert parsed_config(command) == (config, [7])
    dqn = preset("dqn", max_episodes=50, max_steps=None, double=False, tau=0.005)
    command = command_for(dqn)
    assert "--no-double" in command and "--set max_steps=none" in command
    assert parsed_config(command)[0] == dqn


def test_a_preset_plus_what_differs():
    setup = setup_of(default_config("reinforce", "none", lr=0.003, max_episodes=10))
    (c,) = setup.conditions
    assert (c.preset, c.settings) == ("reinforce-plain", {"lr": 0.003})


def test_page_default_commands_parse_to_the_page_grid(pages):
    assert len(pages) >= 10  # Train, eight experiment pages and the gradient-variance lab
    for name, page in pages.items():
        if isinstance(page["what"], GradVarSetup):
            args = build_parser().parse_args(argv_of(page["command"]))
            g = page["what"]
            assert (args.command, args.seed, args.train_episodes, args.batches,
                    args.batch_size) == ("gradvar", g.seed, g.train_episodes, g.batches,
                                         g.batch_size)
            continue
        if name == "train":
            assert page["command"] == command_for(page["what"], wrap=True)
            assert parsed_config(page["command"])[0] == page["what"]
            continue
        args = build_parser().parse_args(argv_of(page["command"]))
        jobs, _ = sweep_jobs(args)
        key = sorted((j.label, j.seed, repr(j.config)) for j in jobs)
        assert key == sorted((j.label, j.seed, repr(j.config)) for j in page["jobs"]), name
        assert page["what"] == page["jobs"]  # the popover exports what Start would run


def test_non_grids_and_mixed_budgets_are_one_line_errors():
    a, b = preset("a2c", max_episodes=5), preset("reinforce", max_episodes=5)
    with pytest.raises(ExportError, match="same seeds"):
        setup_of([Job("a", a), Job("a", a.replace(seed=1)), Job("b", b)])
    with pytest.raises(ExportError, match="budgets"):
        setup_of(grid({"a": a, "b": b.replace(max_episodes=6)}, [0]))


# ----- the command's runs are the app's runs ----------------------------------------------------


def cli_returns(command: str, tmp_path: Path, extra=()) -> dict:
    """{(label, seed): [returns]} of a command run here (one process, --jobs 1)."""
    argv = argv_of(command)
    if argv[0] == "train":
        out = tmp_path / "summary.json"
        assert main([*argv, "--jobs", "1", "--quiet", "--summary", str(out), *extra]) == 0
        return {("", r["seed"]): r["episode_returns"]
                for r in json.loads(out.read_text())["runs"]}
    out = tmp_path / "runs.csv"
    assert main([*argv, "--jobs", "1", "--quiet", "--out", str(out), *extra]) == 0
    returns: dict = {}
    for row in csv.DictReader(io.StringIO(out.read_text())):
        returns.setdefault((row["label"], int(row["seed"])), []).append(float(row["return"]))
    return returns


def runner_returns(config) -> list[float]:
    from pgcore.execution.runner import BackgroundRun

    run = BackgroundRun(config, SlotPool(1), frame_every=None).start()
    assert run.join(120)
    return [float(x) for x in run.snapshot().episodes["episode_return"]]


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_command_gives_the_train_pages_episodes(name, tmp_path):
    config = short(train_page_config(name)).replace(seed=3)
    got = cli_returns(command_for(config), tmp_path)
    want = runner_returns(config)
    assert len(want) >= 1 and got == {("", 3): want}


def test_every_experiment_page_command_gives_the_pages_episodes(pages, tmp_path):
    for name, page in pages.items():
        if isinstance(page["what"], GradVarSetup):
            g = short_gradvar(page["what"])
            lab = gradvar_lab(g).start()
            assert lab.join(120)
            want = [{k: str(v) for k, v in row.items()} for row in lab.snapshot()["result"].rows()]
            out = tmp_path / "gradvar.csv"
            assert main([*argv_of(command_for(g)), "--quiet", "--out", str(out)]) == 0
            assert list(csv.DictReader(io.StringIO(out.read_text()))) == want
            continue
        if name == "train":
            got = cli_returns(command_for(short(page["what"])), tmp_path)
            assert got == {("", page["what"].seed): runner_returns(short(page["what"]))}
            continue
        jobs = short_jobs(page["jobs"])
        snap = Experiment(jobs, mode="inline", **page["options"]).run(120)
        assert snap.state == "finished", (name, snap.errors())
        want = {(r.label, r.seed): [float(x) for x in r.returns] for r in snap.runs}
        got = cli_returns(command_for(jobs), tmp_path)
        assert got == want, name


# ----- scripts and notebooks run -----------------------------------------------------------------

DRIVER = textwrap.dedent('''\
    """Run every script (as __main__) and every notebook's code cells, one after another."""
    import ast, json, runpy, sys

    def display(*objects):
        for obj in objects:
            title = ""
            if type(obj).__module__.startswith("altair"):
                spec = obj.to_dict()  # an altair chart: its whole spec
                title = spec.get("title", "")
                rows = sum(len(v) for v in spec.get("datasets", {}).values())
                title += f" ({rows} rows)"
            print("displayed", type(obj).__name__, title)

    def main():
        for path in sys.argv[1:]:
            if path.endswith(".py"):
                runpy.run_path(path, run_name="__main__")
            else:
                cells = json.load(open(path))["cells"]
                env = {"__name__": "__notebook__", "display": display}
                for cell in cells:
                    if cell["cell_type"] == "code":
                        tree = ast.parse("".join(cell["source"]))
                        last = tree.body.pop() if isinstance(tree.body[-1], ast.Expr) else None
                        exec(compile(tree, path, "exec"), env)
                        if last is not None:  # the cell's shown value, as Jupyter shows it
                            display(eval(compile(ast.Expression(last.value), path, "eval"),
                                         env))
            print("ran", path, flush=True)

    if __name__ == "__main__":
        main()
''')


def short_options(page: dict):
    """The page's trace, every 100 env steps at most (so a tiny budget still has rows)."""
    options = page.get("options") or {}
    every = options.get("trace_every")
    return run_options(every and min(every, 100), options.get("trace_flips", True))


SHOWN = {  # what each page draws besides its learning curves, as the page titles it
    "train": ("The critic against reality", "Diagnostics"),
    "seeds_variance": (),  # its spread table (a DataFrame, checked below)
    "baseline": ("Episodes to reach 195",),
    "entropy": ("Policy entropy",),
    "race": ("Return by training seconds",),
    "value_vs_policy": ("Greedy evaluation", "Policy entropy", "Greedy flips"),
    "dqn_target": ("Mean predicted Q",),
    "dqn_polyak": ("Target-network distance",),
    "dqn_overestimation": ("Predicted vs collected start value",),
}


def evaluated(what):
    """Jobs whose greedy evaluations come often enough for a tiny budget to have some."""
    if isinstance(what, GradVarSetup):
        return what
    def often(c):
        if c.eval_every:
            c = c.replace(eval_every=min(c.eval_every, 100), eval_episodes=2)
        if c.eval_every_episodes:
            c = c.replace(eval_every_episodes=1, eval_episodes=2)
        return c

    return [Job(j.label, often(j.config)) for j in what]


def test_every_script_and_notebook_runs(pages, tmp_path):
    """Every script and notebook runs; each page's notebook shows the page's chart kinds (a
    chart titled as the kind, or the spread table), after the learning curves."""
    setups = [(short(train_page_config(n)), "train") for n in PRESETS]
    setups += [(evaluated(short_what(p)), n) for n, p in pages.items() if n != "train"]
    paths, expected, names = [], {}, {}
    for i, (what, name) in enumerate(setups):
        script, nb = tmp_path / f"s{i}.py", tmp_path / f"n{i}.ipynb"
        script.write_text(script_for(what, "test"))
        nb.write_text(notebook_for(what, "test", styles={"A2C": ("#332288", [8, 4]),
                                                         "no baseline": ("#882255", [1, 0])},
                                   charts=PAGE_CHARTS.get(name, ()),
                                   options=short_options(pages.get(name, {}))))
        compile(script.read_text(), str(script), "exec")
        paths += [str(script), str(nb)]
        kinds = PAGE_CHARTS.get(name, ())
        if name == "train" and not what.has_critic:  # the page says so, without a chart
            kinds = tuple(k for k in kinds if k != "critic_value")
        expected[str(nb)], names[str(nb)] = kinds, name
    assert set(PAGE_CHARTS) == {"train", *(n for n, p in pages.items()
                                           if not isinstance(p["what"], GradVarSetup))}
    (tmp_path / "driver.py").write_text(DRIVER)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SDL_VIDEODRIVER": "dummy"}
    done = subprocess.run([sys.executable, str(tmp_path / "driver.py"), *paths], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert [line for line in done.stdout.splitlines() if line.startswith("ran ")] == \
        [f"ran {p}" for p in paths]
    labs = sum(isinstance(what, GradVarSetup) for what, _ in setups)
    assert labs == 1 and done.stdout.count("displayed HConcatChart") == labs
    assert "final 100-episode average" in done.stdout
    shown: dict[str, list[str]] = {}  # notebook: what its cells displayed, in order
    lines: list[str] = []
    for line in done.stdout.splitlines():
        if line.startswith("ran "):
            shown[line[4:]], lines = lines, []
        elif line.startswith("displayed "):
            lines.append(line[len("displayed "):])
    for path, kinds in expected.items():
        if "HConcatChart" in " ".join(shown[path]):
            continue  # the gradient-variance lab (its own two charts, counted above)
        charts = [d.split(" ", 1)[1].rsplit(" (", 1)[0] for d in shown[path]
                  if not d.startswith("DataFrame")]
        assert charts == ["Return by episode", "Return by env step",
                          *(CHARTS[k][0] for k in kinds if k != "spread")], (path, shown[path])
        assert [c for c in charts[2:] if c != "The critic against reality"] == \
            [t for t in SHOWN[names[path]] if t != "The critic against reality"]
        drawn = [d for d in shown[path] if "Diagnostics" not in d]  # (below)
        assert "(0 rows)" not in " ".join(drawn), (path, shown[path])  # each has data
        if names[path] == "seeds_variance":
            assert "spread" in kinds and shown[path][-1] == "DataFrame ", shown[path]
    assert "This run has no critic" in done.stdout
    # a preset whose updates start after a few hundred steps has no statistics yet in a tiny
    # run (its diagnostics are drawn empty); the others draw theirs
    diagnostics = [d for ds in shown.values() for d in ds if "Diagnostics" in d]
    assert len(diagnostics) == len(PRESETS)
    assert sum("(0 rows)" not in d for d in diagnostics) >= len(PRESETS) // 2, diagnostics


def test_a_notebook_runs_in_jupyter_with_a_tiny_budget(pages, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    config = pages["train"]["what"]
    nb = nbformat.reads(notebook_for(config, "Train", charts=PAGE_CHARTS["train"]),
                        as_version=4)
    nbformat.validate(nb)
    params = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and "EPISODES = 1000" in nb.cells[params[0]].source
    nb.cells.insert(params[0] + 1, nbformat.v4.new_code_cell("EPISODES, MAX_STEPS = 3, None"))
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute(env={**os.environ, "PYTHONPATH": str(ROOT)})
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    # altair's default renderer: the vega-lite spec inside HTML (a vega-lite mime type in
    # JupyterLab); one chart per output, each titled as the page's chart
    charts = [v for o in outputs for k, v in o.get("data", {}).items()
              if "vnd.vegalite" in k or (k == "text/html" and "vegaEmbed" in v)]
    charts = [json.dumps(v) if isinstance(v, dict) else v for v in charts]
    want = ["Return by episode", "Return by env step",
            *(CHARTS[k][0] for k in PAGE_CHARTS["train"]
              if config.has_critic or k != "critic_value")]
    assert len(charts) == len(want), charts
    for chart, title in zip(charts, want, strict=True):
        assert f'"title": "{title}"' in chart, (title, chart[:2000])
    assert "seed 0: 3 episodes" in "".join(o.get("text", "") for o in outputs)


# ----- a teacher's locked values ------------------------------------------------------------------


def test_locked_and_hidden_link_settings_go_into_all_three():
    from streamlit.testing.v1 import AppTest

    from ui import navigation

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params.update(algo="a2c", lr="0.0007", gamma="0.95", hidden="32",
                           lock="lr", hide="gamma,hidden")
    at.switch_page(str(navigation.page("train").path))
    at.run()
    assert not at.exception, at.exception
    (command,) = [c.value for c in at.code if c.value.startswith("python -m pgcore")]
    config, _ = parsed_config(command)
    assert (config.lr, config.gamma, config.hidden) == (0.0007, 0.95, 32)
    assert "--lr 0.0007" in command and "--gamma 0.95" in command
    script, nb = script_for(config), notebook_for(config)
    for text in (script, nb):
        assert "'lr': 0.0007" in text and "'gamma': 0.95" in text and "'hidden': 32" in text

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params.update(episodes="300", seeds="4", lock="episodes", hide="seeds")
    at.switch_page(str(navigation.page("seeds_variance").path))
    at.run()
    assert not at.exception, at.exception
    (command,) = [c.value for c in at.code if c.value.startswith("python -m pgcore")]
    jobs, seeds = sweep_jobs(build_parser().parse_args(argv_of(command)))
    assert seeds == [0, 1, 2, 3] and {j.config.max_episodes for j in jobs} == {300}
    for text in (script_for(jobs), notebook_for(jobs)):
        assert "SEEDS = [0, 1, 2, 3]" in text and "EPISODES = 300" in text
    stop_all()


def test_budgets_are_the_scripts_parameters():
    text = script_for(grid({"a": preset("a2c", max_episodes=50)}, [0, 1]))
    assert "SEEDS = [0, 1]\nEPISODES = 50" in text and "MAX_STEPS = None" in text
    assert set(BUDGETS) == {"max_episodes", "max_steps"}


@pytest.mark.parametrize("argv, reason", [
    (["train", "--preset", "a2c", "--set", "hidden=16,32"], "one value per field"),
    (["train", "--preset", "a2c", "--set", "algo=dqn"], "--algo"),
    (["train", "--preset", "a2c", "--set", "seed=3"], "--seeds"),
    (["train", "--preset", "a2c", "--set", "hidden=big"], "hidden must be int"),
    (["sweep", "--variant", " "], "needs a label"),
    (["sweep", "--variant", "A", "lr"], "expected FIELD=VALUE"),
    (["sweep", "--variant", "A", "lr=1e-3", "lr=2e-3"], "more than once"),
    (["sweep", "--variant", "A", "preset=a2c", "--variant", "A", "preset=ppo"], "more than once"),
    (["sweep", "--variant", "A", "nope=1"], "unknown config field 'nope'"),
    (["sweep", "--variant", "A", "preset=nope"], "unknown preset 'nope'"),
    (["sweep", "--variant", "A", "preset=a2c", "n_envs=0"], "n_envs"),
    (["gradvar", "--batches", "1"], "--batches must be a whole number from 2"),
    (["gradvar", "--seed", "-1"], "--seed must be"),
    (["gradvar", "--batch-size", "0"], "--batch-size must be"),
])
def test_bad_set_and_variant_values_exit_2_with_one_line(argv, reason, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and reason in err[0], err
