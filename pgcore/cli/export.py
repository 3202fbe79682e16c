"""Take it home: a setup of the app as a command, a script and a notebook, made as text.

A learner who found a setup on a page takes it to their own Python three ways, each giving the
same episodes per seed as the page (the runs are seeded):

* :func:`command_for`: the ``python -m pgcore train ...`` (one config, the Train page) or
  ``python -m pgcore sweep ... --variant LABEL preset=NAME field=value ...`` (a grid of configs
  x seeds, the experiment pages) that trains exactly those runs;
* :func:`script_for`: a short standalone script on pgcore's API (:func:`pgcore.train`, or an
  :class:`~pgcore.execution.experiments.Experiment` of a :func:`grid`);
* :func:`notebook_for`: a Jupyter notebook (nbformat 4 JSON, built with the standard library)
  that trains the same runs and draws the page's charts with altair: the learning curves, then
  the page's own chart kinds (:data:`PAGE_CHARTS`, built by :data:`CHARTS`).

Each starts from a preset and names only what differs from it (:func:`setup_of` picks, per
config, the preset of its algorithm that needs the fewest changes), so the text stays short and
reads like the page. Everything here is pure: nothing is run, nothing is imported from the app;
the app only offers the text as downloads. Colours come from the caller (the app passes its
palette's), so one palette serves the page and its notebook.

>>> from pgcore import preset
>>> command_for(preset("a2c", seed=2, max_episodes=300, lr=0.001))
'python -m pgcore train --preset a2c --seeds 2 --episodes 300 --lr 0.001'
"""

from __future__ import annotations

import dataclasses
import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..training.config import FIELDS, PRESETS, TrainConfig, preset
from ..training.fields import ConfigError, is_number

__all__ = ["CHARTS", "PAGE_CHARTS", "Condition", "ExportError", "GradVarSetup", "Setup", "argv_of",
           "command_for", "notebook_for", "run_options", "script_for", "setup_of"]

BUDGETS = ("max_episodes", "max_steps")
"""The budgets: one value for every run of a setup, a parameter of the script and notebook."""

THRESHOLDS = (195.0, 475.0)
"""CartPole's "solved" levels (v0's, the lesson's, and v1's), drawn on CartPole's charts."""

TRAIN_LABEL = "this run"
"""The label of a Train run's curves in its notebook (a Train run has no condition label)."""

INSTALL = 'pip install ".[notebook]"'
"""How a learner installs pgcore (and the notebook's altair, pandas and Jupyter), run in the
project's folder: see the README."""


class ExportError(ValueError):
    """A setup that cannot be written as one command (one line, for the page)."""


@dataclass(frozen=True)
class Condition:
    """One labelled config of a setup: a preset and what differs from it (seed and budgets
    aside)."""

    label: str
    preset: str
    settings: dict


@dataclass(frozen=True)
class Setup:
    """What to export: ``train`` (one config) or ``sweep`` (conditions x seeds), with one
    budget for every run."""

    kind: str
    conditions: tuple[Condition, ...]
    seeds: tuple[int, ...]
    max_episodes: int | None
    max_steps: int | None
    env_id: str
    title: str = ""
    charts: tuple[str, ...] = ()
    """The page's chart kinds beyond the learning curves (keys of :data:`CHARTS`)."""
    options: tuple[tuple[str, object], ...] = ()
    """What the page's experiment records besides episodes (``trace_every``, ``trace_flips``:
    :class:`~pgcore.execution.experiments.Experiment`'s keywords), as (name, value) pairs."""


@dataclass(frozen=True)
class GradVarSetup:
    """The Gradient variance page's measurement (:class:`~pgcore.labs.gradvar.GradVarLab`):
    REINFORCE with a learned value baseline trained ``train_episodes`` episodes from ``seed``,
    frozen, then ``batches`` batches of ``batch_size`` episodes per estimator."""

    seed: int = 0
    train_episodes: int = 0
    batches: int = 30
    batch_size: int = 10
    title: str = ""


GRADVAR_LABELS = {"none": "no baseline", "normalize": "normalised returns",
                  "value": "value baseline"}
"""The estimators as the Gradient variance page and its notebook name them."""


# ----- the setup --------------------------------------------------------------------------------


def _same(a, b) -> bool:
    if is_number(a) and is_number(b):  # (is_number is False for a bool)
        return float(a) == float(b)
    return a == b


def condition_of(config: TrainConfig, label: str = "") -> Condition:
    """``config`` as the preset of its algorithm needing the fewest changes, plus them.

    >>> condition_of(preset("reinforce-plain", lr=0.003, hidden=64))
    Condition(label='', preset='reinforce-plain', settings={'lr': 0.003, 'hidden': 64})
    """
    budgets = {k: getattr(config, k) for k in BUDGETS}
    best: tuple[str, dict] | None = None
    for p in config.algorithm.presets:
        try:
            ref = p.config(seed=config.seed, **budgets)
        except ConfigError:
            continue
        diff = {name: getattr(config, name) for name in FIELDS
                if name not in ("seed", *BUDGETS)
                and not _same(getattr(config, name), getattr(ref, name))}
        if best is None or len(diff) < len(best[1]):
            best = (p.name, diff)
    if best is None:
        raise ExportError(f"no preset of {config.algo} fits these settings")
    name, diff = best
    if preset(name, seed=config.seed, **budgets, **diff) != config:  # never expected
        raise ExportError("these settings cannot be rebuilt from a preset")
    return Condition(label, name, diff)


def run_options(trace_every: int | None = None, trace_flips: bool = True
                ) -> tuple[tuple[str, object], ...]:
    """The :class:`Setup` ``options`` of an experiment page's ``trace_every`` and
    ``trace_flips`` (only what differs from :class:`~pgcore.execution.experiments.Experiment`'s
    defaults).

    >>> run_options(), run_options(500, False)
    ((), (('trace_every', 500), ('trace_flips', False)))
    """
    if not trace_every:
        return ()
    return (("trace_every", int(trace_every)),) + ((("trace_flips", False),)
                                                   if not trace_flips else ())


def setup_of(what, title: str = "", charts: Sequence[str] = (),
             options: Sequence[tuple[str, object]] = ()) -> Setup | GradVarSetup:
    """The :class:`Setup` of a :class:`TrainConfig` (a Train run) or of jobs (objects with
    ``label`` and ``config``, e.g. :class:`~pgcore.execution.experiments.Job`: a grid of
    configs x seeds, every config on the same seeds with the same budget); a
    :class:`GradVarSetup` as it is (titled). ``charts``: the page's chart kinds (keys of
    :data:`CHARTS`, e.g. ``PAGE_CHARTS[page]``); ``options``: :func:`run_options`."""
    unknown = [c for c in charts if c not in CHARTS]
    if unknown:
        raise ExportError(f"unknown chart kind(s) {unknown}: one of {sorted(CHARTS)}")
    if isinstance(what, GradVarSetup):
        return dataclasses.replace(what, title=title or what.title)
    if isinstance(what, TrainConfig):
        return Setup("train", (condition_of(what),), (what.seed,), what.max_episodes,
                     what.max_steps, what.env_id, title, tuple(charts))
    jobs = list(what)
    if not jobs:
        raise ExportError("the experiment has no runs")
    by_label: dict[str, list] = {}
    for job in jobs:
        by_label.setdefault(str(job.label), []).append(job.config)
    seeds = None
    conditions = []
    for label, configs in by_label.items():
        these = tuple(int(c.seed) for c in configs)
        if seeds is None:
            seeds = these
        elif sorted(these) != sorted(seeds):
            raise ExportError("the settings do not all run on the same seeds, so no single "
                              "grid of settings x seeds makes these runs")
        first = configs[0]
        if any(c.replace(seed=first.seed) != first for c in configs[1:]):
            raise ExportError(f"{label!r}: its seeds' settings differ")
        conditions.append(condition_of(first, label))
    configs = [cs[0] for cs in by_label.values()]
    for k in BUDGETS:
        if len({getattr(c, k) for c in configs}) > 1:
            raise ExportError(f"the runs' budgets ({k}) differ")
    c0 = configs[0]
    envs = sorted({c.env_id for c in configs})
    return Setup("sweep", tuple(conditions), tuple(sorted(seeds)), c0.max_episodes,
                 c0.max_steps, envs[0] if len(envs) == 1 else ", ".join(envs), title,
                 tuple(charts), tuple(options))


def _setup(what, title: str = "") -> Setup | GradVarSetup:
    return what if isinstance(what, Setup) else setup_of(what, title)


# ----- the command ------------------------------------------------------------------------------


def value_text(v) -> str:
    """A value as the CLI reads it back (``repr`` of a float round-trips exactly).

    >>> [value_text(v) for v in (None, True, 0.0007, 1e-05, 64, "none")]
    ['none', 'true', '0.0007', '1e-05', '64', 'none']
    """
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _steps_none(setup: Setup, condition: Condition) -> bool:
    """Whether the preset has a step budget that this setup (without one) must take off."""
    return setup.max_steps is None and PRESETS[condition.preset].values.get("max_steps") \
        is not None


def _train_tokens(setup: Setup) -> list[str]:
    c = setup.conditions[0]
    tokens = ["train", "--preset", c.preset, "--seeds", *map(str, setup.seeds),
              "--episodes", str(setup.max_episodes or 0)]
    if setup.max_steps is not None:
        tokens += ["--max-steps", str(setup.max_steps)]
    elif _steps_none(setup, c):
        tokens += ["--set", "max_steps=none"]
    for name, v in c.settings.items():
        flag = FIELDS[name].cli_flag
        if flag and isinstance(v, bool):
            tokens.append(flag if v else "--no-" + flag[2:])
        elif flag and v is not None:
            tokens += [flag, value_text(v)]
        else:
            tokens += ["--set", f"{name}={value_text(v)}"]
    return tokens


def _variant_tokens(setup: Setup, c: Condition) -> list[str]:
    tokens = ["--variant", c.label, f"preset={c.preset}"]
    if _steps_none(setup, c):
        tokens.append("max_steps=none")
    return tokens + [f"{name}={value_text(v)}" for name, v in c.settings.items()]


def command_lines(what, title: str = "") -> list[list[str]]:
    """The command as lines of tokens: the command and its budget first, then (a sweep) one
    line per ``--variant``."""
    setup = _setup(what, title)
    head = ["python", "-m", "pgcore"]
    if isinstance(setup, GradVarSetup):
        return [head + ["gradvar", "--seed", str(setup.seed), "--train-episodes",
                        str(setup.train_episodes), "--batches", str(setup.batches),
                        "--batch-size", str(setup.batch_size)]]
    if setup.kind == "train":
        return [head + _train_tokens(setup)]
    first = head + ["sweep", "--seeds", *map(str, setup.seeds),
                    "--episodes", str(setup.max_episodes or 0)]
    if setup.max_steps is not None:
        first += ["--max-steps", str(setup.max_steps)]
    return [first] + [_variant_tokens(setup, c) for c in setup.conditions]


def command_for(what, title: str = "", wrap: bool = False) -> str:
    """The ``python -m pgcore`` command that trains ``what`` (a config or jobs) exactly, quoted
    for a POSIX shell; ``wrap``: one ``--variant`` per line (backslash continuations)."""
    lines = [shlex.join(tokens) for tokens in command_lines(what, title)]
    return (" \\\n    " if wrap else " ").join(lines)


def argv_of(command: str) -> list[str]:
    """The arguments after ``python -m pgcore`` of a :func:`command_for` text."""
    tokens = shlex.split(command.replace("\\\n", " "))
    if tokens[:3] != ["python", "-m", "pgcore"]:
        raise ExportError("not a python -m pgcore command")
    return tokens[3:]


# ----- the script -------------------------------------------------------------------------------


def _py(v) -> str:
    return repr(v)


def _settings_py(settings: dict) -> str:
    return "{" + ", ".join(f"{k!r}: {_py(v)}" for k, v in settings.items()) + "}"


def _params_py(setup: Setup, window: int | None = None) -> str:
    lines = [f"SEEDS = {list(setup.seeds)!r}",
             f"EPISODES = {setup.max_episodes!r}  # episodes per run (None: no episode cap)",
             f"MAX_STEPS = {setup.max_steps!r}  # env steps per run (None: no cap)"]
    if window is not None:
        lines.append(f"WINDOW = {window}  # episodes in each curve's moving average")
    return "\n".join(lines)


def _conditions_py(setup: Setup) -> str:
    if setup.kind == "train":
        c = setup.conditions[0]
        return (f"PRESET = {c.preset!r}\n"
                f"SETTINGS = {_settings_py(c.settings)}  # what differs from the preset\n\n\n"
                "def config_for(seed):\n"
                "    return preset(PRESET, seed=seed, max_episodes=EPISODES, "
                "max_steps=MAX_STEPS,\n"
                "                  **SETTINGS)")
    rows = "\n".join(f"    {c.label!r}: ({c.preset!r}, {_settings_py(c.settings)}),"
                     for c in setup.conditions)
    return ("CONDITIONS = {  # label: (preset, what differs from it)\n"
            f"{rows}\n}}\n\n\n"
            "def jobs():\n"
            "    return grid({label: preset(name, max_episodes=EPISODES, max_steps=MAX_STEPS, "
            "**settings)\n"
            "                 for label, (name, settings) in CONDITIONS.items()}, SEEDS)")


def _options_py(setup: Setup) -> str:
    """The Experiment keywords of the page's records (a trace), as ``, name=value``."""
    return "".join(f", {k}={v!r}" for k, v in setup.options)


def _docstring(setup: Setup, command: str, what: str) -> str:
    title = setup.title or ("a Train run" if setup.kind == "train" else "an experiment")
    body = "\n".join("    " + line for line in command.splitlines())
    return (f'r"""Policy Gradient Lab, taken home: {title}.\n\n'
            f"{what} The same runs, seed for seed, as this command:\n\n{body}\n\n"
            f"Needs pgcore: in the project's folder, {INSTALL} (see its README).\n"
            'Change SEEDS, EPISODES, MAX_STEPS or the settings below and run it again.\n"""')


def script_for(what, title: str = "") -> str:
    """A standalone script that trains ``what`` with pgcore's API and prints a summary line
    per run (``python script.py``)."""
    setup = _setup(what, title)
    command = command_for(setup, wrap=True)
    if isinstance(setup, GradVarSetup):
        return _gradvar_script(setup, command)
    if setup.kind == "train":
        doc = _docstring(setup, command, "Trains one agent per seed with pgcore.train.")
        imports = "from pgcore import preset, train\nfrom pgcore.training.metrics import summarize"
        main = ("def main():\n"
                "    for seed in SEEDS:\n"
                "        result = train(config_for(seed))\n"
                "        report(f\"seed {seed}\", summarize(result), result.reason)\n")
    else:
        doc = _docstring(setup, command, "Trains every condition on every seed, in parallel "
                                         "processes.")
        imports = ("from pgcore import preset\n"
                   "from pgcore.execution.experiments import Experiment, grid")
        main = ("def main():\n"
                f"    snap = Experiment(jobs(){_options_py(setup)}).run()\n"
                "    for run in snap.summaries():\n"
                "        report(f\"{run['label']}, seed {run['seed']}\", run, run['state'])\n"
                "    for line in snap.errors():\n"
                "        print(line)\n")
    report = ("def report(name, s, end):\n"
              "    reached = s[\"episodes_to_195\"]\n"
              "    print(f\"{name}: {s['episodes']} episodes, final 100-episode average \"\n"
              "          f\"{s['final_avg100']:.1f}, average reached 195 at episode \"\n"
              "          f\"{'never' if reached is None else reached} ({end})\")\n")
    return (f"{doc}\n\n{imports}\n\n{_params_py(setup)}\n{_conditions_py(setup)}\n\n\n"
            f"{report}\n\n{main}\n\nif __name__ == \"__main__\":  # the worker processes import "
            "this file\n    main()\n")


_GRADVAR_PARAMS = """\
SEED = {seed}
TRAIN_EPISODES = {train}  # REINFORCE (value baseline) trains this long first; 0: the initial policy
BATCHES = {batches}  # gradient estimates per estimator
BATCH_SIZE = {batch_size}  # episodes each estimate averages"""

_GRADVAR_RUN = """\
def measure():
    \"\"\"Train, freeze and measure, as the page does; the result (or None) and a message.\"\"\"
    config = default_config("reinforce", "value", seed=SEED, max_episodes=max(1, TRAIN_EPISODES))
    lab = GradVarLab(config, TRAIN_EPISODES, n_batches=BATCHES, batch_size=BATCH_SIZE,
                     reference_batches=BATCHES, seed=SEED).start()
    lab.join()
    snap = lab.snapshot()
    return snap["result"], snap["message"]"""


def _gradvar_params(setup: GradVarSetup) -> str:
    return _GRADVAR_PARAMS.format(seed=setup.seed, train=setup.train_episodes,
                                  batches=setup.batches, batch_size=setup.batch_size)


def _gradvar_script(setup: GradVarSetup, command: str) -> str:
    title = setup.title or "the gradient-variance lab"
    doc = (f'r"""Policy Gradient Lab, taken home: {title}.\n\n'
           "Trains REINFORCE with a learned value baseline (or not at all), freezes it and\n"
           "measures how biased and how noisy each gradient estimator is; the same measurement\n"
           f"as this command:\n\n    {command}\n\n"
           f"Needs pgcore: in the project's folder, {INSTALL} (see its README).\n"
           'Change the numbers below and run it again.\n"""')
    main = ("def main():\n"
            "    result, message = measure()\n"
            "    if result is None:\n"
            "        print(message)\n"
            "        return\n"
            "    print(f\"frozen policy: mean return {result.mean_return:.1f}\")\n"
            "    for row in result.rows():\n"
            "        print(f\"{row['estimator']}: cosine {row['cosine']:.3f}, variance / \"\n"
            "              f\"|mean|^2 {row['relative_variance']:.3g}, wrong-way batches \"\n"
            "              f\"{row['wrong_way']:.0%}\")\n")
    return (f"{doc}\n\nfrom pgcore import default_config\n"
            "from pgcore.labs.gradvar import GradVarLab\n\n"
            f"{_gradvar_params(setup)}\n\n\n{_GRADVAR_RUN}\n\n\n{main}\n\n"
            "if __name__ == \"__main__\":\n    main()\n")


_GRADVAR_CHARTS = '''import altair as alt
import pandas as pd

names = [LABELS[k] for k in result.stats]
color = alt.Color("estimator:N", title=None, sort=names, legend=None,
                  scale=alt.Scale(domain=names, range=[STYLES[n][0] for n in names])
                  if all(n in STYLES for n in names) else alt.Undefined)
y = alt.Y("estimator:N", title=None, sort=names, axis=alt.Axis(labelLimit=200))
bars = pd.DataFrame({"estimator": names,
                     "noise": [s.relative_variance for s in result.stats.values()]})
cosines = pd.concat([pd.DataFrame({"estimator": LABELS[k], "cosine": s.batch_cosines})
                     for k, s in result.stats.items()], ignore_index=True)
noise = alt.Chart(bars).mark_bar().encode(
    alt.X("noise:Q", title="variance / |mean|² of one batch gradient"), y, color).properties(
    height=alt.Step(40), width=300, title="noise: smaller is better")
ticks = alt.Chart(cosines).mark_tick(thickness=2, opacity=0.6).encode(
    alt.X("cosine:Q", scale=alt.Scale(domain=[-1, 1]), title="cos(batch gradient, reference)"),
    y, color).properties(height=alt.Step(40), width=300,
                         title="each batch's direction (left of 0: wrong way)")
noise | ticks'''


def _gradvar_notebook(setup: GradVarSetup, command: str,
                      styles: Mapping[str, tuple] | None) -> list[dict]:
    name = setup.title or "the gradient-variance lab"
    intro = (f"# Policy Gradient Lab, taken home: {name}\n\n"
             "REINFORCE with a learned value baseline trains (or not), is frozen, and each "
             "gradient estimator (no baseline, normalised returns, value baseline) is measured "
             "against a reference gradient: the same measurement as the page's, and as this "
             f"command:\n\n```bash\n{command}\n```\n\n"
             f"It needs pgcore: in the project's folder, `{INSTALL}` (see its README).")
    labels = list(GRADVAR_LABELS.values())
    return [
        _cell("markdown", intro, 0),
        _cell("code", _gradvar_params(setup), 1, tags=["parameters"]),
        _cell("code", "from pgcore import default_config\n"
                      "from pgcore.labs.gradvar import GradVarLab\n\n\n" + _GRADVAR_RUN
                      + "\n\n\nresult, message = measure()\nprint(message)", 2),
        _cell("code", "import pandas as pd\n\npd.DataFrame(result.rows())", 3),
        _cell("code", f"LABELS = {GRADVAR_LABELS!r}\n{_styles_py(labels, styles)}\n\n"
                      + _GRADVAR_CHARTS, 4),
    ]


# ----- the notebook -----------------------------------------------------------------------------


def _cell(kind: str, source: str, n: int, tags: Sequence[str] = ()) -> dict:
    cell = {"cell_type": kind, "id": f"cell-{n}", "metadata": {"tags": list(tags)} if tags
            else {}, "source": source.splitlines(keepends=True)}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def _styles_py(labels: Sequence[str], styles: Mapping[str, tuple] | None) -> str:
    if not styles:
        return "STYLES = {}  # label: (colour, dash); empty: altair's own colours"
    rows = "\n".join(f"    {label!r}: ({styles[label][0]!r}, {list(styles[label][1])!r}),"
                     for label in labels if label in styles)
    return f"STYLES = {{  # label: (colour, dash), the app's palette\n{rows}\n}}"


_CHART = """import altair as alt


def curves(df, x, title, raw=False, column="return", y_title=None, window=None,
           thresholds=True):
    \"\"\"Per condition (``label``): each seed's moving average of ``column`` (thin), the mean
    across seeds (bold) and a band of +/- 1 standard deviation across seeds, by ``x``
    (``episode``, or binned: env steps, seconds); ``raw``: each episode's value too (grey);
    ``window``: the moving average's (WINDOW by default; 1: none).\"\"\"
    window = window or WINDOW
    y_title = y_title or (f"{column} ({window}-episode average)" if window > 1 else column)
    df = df.dropna(subset=[column]) if column in df else df.iloc[0:0]
    if df.empty:  # nothing recorded yet (e.g. a tiny budget ended before the first update)
        return alt.Chart(pd.DataFrame({"x": []})).mark_line().properties(
            title=title, width=640, height=320)
    df = df.sort_values(["label", "seed", x]).copy()
    df["smoothed"] = df.groupby(["label", "seed"])[column].transform(
        lambda r: r.rolling(window, min_periods=1).mean())
    if x != "episode":  # seeds reach a step or a second at different episodes: bin them
        step = max(float(df[x].max()) / 200, 1e-9 if x == "wall_seconds" else 1)
        df["x"] = (df[x] // step + 1) * step
    else:
        df["x"] = df[x]
    per_seed = df.groupby(["label", "seed", "x"], as_index=False)["smoothed"].mean()
    band = per_seed.groupby(["label", "x"], as_index=False)["smoothed"].agg(["mean", "std"])
    band["std"] = band["std"].fillna(0.0)
    band["lo"], band["hi"] = band["mean"] - band["std"], band["mean"] + band["std"]
    labels = list(dict.fromkeys(df["label"]))
    color, dash = styled(labels)
    xs = alt.X("x:Q", title=X_TITLES.get(x, x))
    layers = [alt.Chart(df).mark_line(color="#8C8C8C", strokeWidth=0.6, opacity=0.6).encode(
        xs, alt.Y(f"{column}:Q", title=y_title), alt.Detail("seed:N"))] if raw else []
    layers += [
        alt.Chart(band).mark_area(opacity=0.18).encode(
            xs, alt.Y("lo:Q", title=y_title), alt.Y2("hi:Q"), color),
        alt.Chart(per_seed).mark_line(strokeWidth=0.8, opacity=0.45).encode(
            xs, alt.Y("smoothed:Q"), color, alt.Detail("seed:N")),
        alt.Chart(band).mark_line(strokeWidth=2.5).encode(xs, alt.Y("mean:Q"), color, dash),
    ]
    if THRESHOLDS and thresholds:
        rules = pd.DataFrame({"y": THRESHOLDS})
        layers.append(alt.Chart(rules).mark_rule(color="#117733", strokeDash=[4, 3]).encode(
            y="y:Q"))
    return alt.layer(*layers).properties(title=title, width=640, height=320)


def styled(labels):
    \"\"\"Colour and dash encodings of the conditions: the app's palette (STYLES) when it has
    them all, altair's own otherwise.\"\"\"
    kept = [label for label in labels if label in STYLES]
    ours = len(kept) == len(labels)
    color = alt.Color("label:N", title=None, sort=labels, legend=alt.Legend(orient="top"),
                      scale=alt.Scale(domain=kept, range=[STYLES[k][0] for k in kept])
                      if ours else alt.Undefined)
    dash = alt.StrokeDash("label:N", sort=labels, legend=None,
                          scale=alt.Scale(domain=kept, range=[STYLES[k][1] for k in kept])
                          if ours else alt.Undefined)
    return color, dash


X_TITLES = {"episode": "episode", "env_steps": "env steps",
            "wall_seconds": "training seconds (each run's own clock)"}
"""

_TRAIN_RECORDER = '''class Recorder:
    """Keeps what the Train page's other charts need from a run's events: each episode's
    V(s_0) and discounted return, and each episode's mean of the update statistics."""

    def __init__(self):
        self.episodes, self.sums = [], {}

    def __call__(self, event):
        if isinstance(event, EpisodeEnd):
            self.episodes.append((event.episode, event.start_value, event.discounted_return))
        elif isinstance(event, UpdateEnd):  # summed per episode: a run has many updates
            n, sums = self.sums.setdefault(event.episodes, [0, {}])
            self.sums[event.episodes][0] = n + 1
            for k, v in event.stats.items():
                sums[k] = sums.get(k, 0.0) + v

    def starts(self, seed):
        return pd.DataFrame(self.episodes, columns=["episode", "V(s0)", "collected"]).assign(
            seed=seed)

    def updates(self, seed):
        rows = [{"seed": seed, "episode": e, **{k: v / n for k, v in sums.items()}}
                for e, (n, sums) in sorted(self.sums.items())]
        return pd.DataFrame(rows) if rows else pd.DataFrame(columns=["seed", "episode"])'''

_RECORDS = '''
from pgcore.execution.experiments import EVAL_COLUMNS, TRACE_COLUMNS


def records(snap, part):
    """Every run's greedy evaluations (``"evals"``) or trace (``"trace"``) as one table, led
    by its label and seed."""
    frames = [pd.DataFrame({"label": r.label, "seed": r.seed, **getattr(r, part)})
              for r in snap.runs if len(getattr(r, part).get("env_steps", ()))]
    names = EVAL_COLUMNS if part == "evals" else TRACE_COLUMNS  # (the columns of none)
    return (pd.concat(frames, ignore_index=True) if frames
            else pd.DataFrame(columns=["label", "seed", *names]))
'''

CHARTS: dict[str, tuple[str, str]] = {
    "critic_value": ("The critic against reality", '''\
# the critic's V(s0) against the discounted return each episode collected (10-episode averages)
if not config_for(SEEDS[0]).has_critic:
    print("This run has no critic, so there is no V(s) to compare with the returns.")
else:
    both = pd.concat([starts.assign(label=name, value=starts[column])
                      for name, column in (("V(s0), predicted", "V(s0)"),
                                           ("discounted return, collected", "collected"))],
                     ignore_index=True)
    display(curves(both, "episode", "The critic against reality", column="value",
                   y_title="start value (10-episode average)", window=10, thresholds=False))'''),
    "diagnostics": ("Diagnostics", '''\
# the algorithm's own diagnostic panels (its registry entry), per episode: the mean of the
# updates made while it was played
config = config_for(SEEDS[0])
panels = [p for p in config.algorithm.panels if config.has_critic or not p.needs_critic]
for p in panels:  # a statistic not reported yet (no update so far) is drawn empty
    if p.key not in updates:
        updates[p.key] = pd.Series(dtype=float)
alt.concat(*[alt.Chart(updates.dropna(subset=[p.key])).mark_line(strokeWidth=1).encode(
    alt.X("episode:Q"), alt.Y(f"{p.key}:Q", title=p.title,
                              scale=alt.Scale(type={"log": "symlog"}.get(p.scale, p.scale))),
    alt.Detail("seed:N")).properties(width=300, height=180) for p in panels],
    columns=2).properties(title="Diagnostics")'''),
    "entropy": ("Policy entropy", '''\
curves(df, "episode", "Policy entropy", column="entropy", y_title="policy entropy (nats)",
       thresholds=False)'''),
    "race": ("Return by training seconds", '''\
curves(df, "wall_seconds", "Return by training seconds")'''),
    "q_values": ("Mean predicted Q", '''\
from pgcore.labs.dqn_exercises import target_numbers

# the page's numbers: each setting's peak per-episode mean Q and final average (seed medians)
display(pd.DataFrame([{"setting": n["label"], "peak mean Q (median)": n["q_peak"]["median"],
                       "final average (median)": n["final"]["median"]}
                      for n in (target_numbers(snap, label) for label in snap.labels)]))
# each episode's mean predicted Q (episodes before the first update have none)
curves(df, "episode", "Mean predicted Q", column="q_mean", y_title="mean Q per episode",
       window=1, thresholds=False)'''),
    "target_distance": ("Target-network distance", '''\
from pgcore.labs.dqn_exercises import mean_distance

display(pd.DataFrame([{"setting": r.label, "seed": r.seed, "mean distance": mean_distance(r)}
                      for r in snap.runs]))
# the distance ||theta_target - theta|| traced every few env steps of each run
curves(records(snap, "trace"), "env_steps", "Target-network distance",
       column="target_distance", y_title="distance of target to online weights", window=1,
       thresholds=False)'''),
    "overestimation": ("Predicted vs collected start value", '''\
# each greedy evaluation: the start value Q predicts (mean max_a Q(s0, a)) and what the
# greedy episodes collected (mean discounted return)
evals = records(snap, "evals").rename(columns={"episodes": "episode"})
both = pd.concat([evals.assign(label=evals["label"] + ": " + name, value=evals[column])
                  for name, column in (("predicted", "start_value"),
                                       ("collected", "discounted_return"))],
                 ignore_index=True)
curves(both, "episode", "Predicted vs collected start value", column="value",
       y_title="start value", window=1, thresholds=False)'''),
    "greedy": ("Greedy evaluation", '''\
curves(records(snap, "evals"), "env_steps", "Greedy evaluation", column="eval_return",
       y_title="mean greedy return", window=1)'''),
    "flips": ("Greedy flips", '''\
# how much the greedy action moved on fixed probe states since the previous trace row
curves(records(snap, "trace"), "env_steps", "Greedy flips", column="flip_since_last",
       y_title="fraction of probe states flipped", window=1, thresholds=False)'''),
    "threshold_dots": ("Episodes to reach 195", '''\
from pgcore.labs.stats import seed_spread

# each seed's first episode whose 100-episode average reached 195 (never: drawn at the budget)
budget = EPISODES or int(df["episode"].max())
dots = pd.DataFrame([{"label": label, "seed": r.seed,
                      "episodes": budget if hit is None else hit, "reached": hit is not None}
                     for label in snap.labels for r, hit in zip(
                         snap.by_label(label),
                         seed_spread([r.returns for r in snap.by_label(label)]).to_195)])
color, _ = styled(list(snap.labels))
alt.Chart(dots).mark_point(size=80, filled=True).encode(
    alt.X("episodes:Q", title="episodes to reach 195 (at the budget: never)",
          scale=alt.Scale(domain=[0, budget])),
    alt.Y("label:N", title=None, sort=list(snap.labels)), color,
    alt.Shape("reached:N", title="reached 195")).properties(
    title="Episodes to reach 195", width=640, height=alt.Step(40))'''),
    "spread": ("Spread across seeds", '''\
from pgcore.labs.stats import seed_spread

# how far apart the seeds landed: the band's average half-width and the finals' spread
spreads = {label: seed_spread([r.returns for r in snap.by_label(label)])
           for label in snap.labels}
pd.DataFrame([{"setting": label, "seeds": s.seeds, "spread over the run": s.run_std,
               "spread at the end": s.final_std, "final average (mean)": s.final_mean}
              for label, s in spreads.items()])'''),
}
"""Chart kinds a page draws beyond its learning curves: kind: (title, notebook code). The code
runs after the learning-curve cells (``snap``, ``df``, ``curves``, ``records``, ``styled``,
``pd`` and ``alt`` defined) and ends with the chart (or, for ``spread``, the table) to show."""

PAGE_CHARTS: dict[str, tuple[str, ...]] = {
    "train": ("critic_value", "diagnostics"),
    "seeds_variance": ("spread",),
    "baseline": ("threshold_dots",),
    "entropy": ("entropy",),
    "race": ("race",),
    "value_vs_policy": ("greedy", "entropy", "flips"),
    "dqn_target": ("q_values",),
    "dqn_polyak": ("target_distance",),
    "dqn_overestimation": ("overestimation",),
}
"""Each take-home page (its URL path) and the chart kinds of :data:`CHARTS` its notebook adds:
the page's charts, from the numbers pgcore's own functions compute for the page."""


def notebook_for(what, title: str = "", styles: Mapping[str, tuple] | None = None,
                 window: int | None = None, charts: Sequence[str] = (),
                 options: Sequence[tuple[str, object]] = ()) -> str:
    """A Jupyter notebook (nbformat 4.5 JSON text) that trains ``what`` and draws its learning
    curves: per condition each seed's moving average, their mean and a band of one standard
    deviation across seeds, by episode and by env step, with CartPole's 195 and 475 lines;
    then one cell per chart kind of the setup's page (``charts``, or a :class:`Setup`'s own:
    :data:`CHARTS`), the runs recording what those need (``options``: :func:`run_options`).

    ``styles``: ``{label: (colour, dash)}`` for the conditions (the app's palette); the cell
    tagged ``parameters`` holds the seeds, the budgets and the smoothing ``window`` (default
    100 for a Train run, 20 for an experiment, as the pages draw them)."""
    setup = what if isinstance(what, Setup) else setup_of(what, title, charts, options)
    command = command_for(setup, wrap=True)
    if isinstance(setup, GradVarSetup):
        return _notebook_json(_gradvar_notebook(setup, command, styles))
    window = window or (100 if setup.kind == "train" else 20)
    labels = [c.label or TRAIN_LABEL for c in setup.conditions]
    name = setup.title or ("a Train run" if setup.kind == "train" else "an experiment")
    intro = (f"# Policy Gradient Lab, taken home: {name}\n\n"
             "This notebook trains the same runs as the page's Start (the same settings and seeds, "
             "so the same episodes) and draws its charts. The same runs from a "
             "terminal:\n\n"
             f"```bash\n{command}\n```\n\n"
             f"It needs pgcore: in the project's folder, `{INSTALL}` (see its README). "
             "Lower `EPISODES` below for a quick look, change a setting, and run all cells "
             "again.")
    if setup.kind == "train":
        label = labels[0]
        run = ("import pandas as pd\n\n"
               "from pgcore import train\n"
               "from pgcore.training.events import EpisodeEnd, UpdateEnd\n\n\n"
               + _TRAIN_RECORDER + "\n\n\n"
               "results, frames, recorders = {}, [], {}\n"
               "for seed in SEEDS:\n"
               "    rec = recorders[seed] = Recorder()\n"
               "    result = results[seed] = train(config_for(seed), on_event=rec)\n"
               "    frames.append(pd.DataFrame({\n"
               f"        \"label\": {label!r}, \"seed\": seed,\n"
               "        \"episode\": range(1, len(result.episode_returns) + 1),\n"
               "        \"return\": result.episode_returns,\n"
               "        \"env_steps\": result.episode_env_steps}))\n"
               "    print(f\"seed {seed}: {result.episodes} episodes, {result.reason}\")\n"
               "df = pd.concat(frames, ignore_index=True)\n"
               "starts = pd.concat([r.starts(s) for s, r in recorders.items()], "
               "ignore_index=True)\n"
               "updates = pd.concat([r.updates(s) for s, r in recorders.items()], "
               "ignore_index=True)")
        table = ("from pgcore.training.metrics import summarize\n\n"
                 "pd.DataFrame([{\"seed\": seed, **summarize(r)} for seed, r in "
                 "results.items()])")
        setup_cell = "from pgcore import preset\n\n" + _conditions_py(setup)
    else:
        run = ("import pandas as pd\n\n"
               "from pgcore.execution.experiments import Experiment\n\n"
               "# every run in parallel processes; this cell returns when all have ended\n"
               f"snap = Experiment(jobs(){_options_py(setup)}).run()\n"
               "for line in snap.errors():\n"
               "    print(line)\n"
               "df = snap.to_frame()")
        table = "pd.DataFrame(snap.summaries())"
        setup_cell = ("from pgcore import preset\n"
                      "from pgcore.execution.experiments import grid\n\n" + _conditions_py(setup))
    cartpole = setup.env_id.startswith("CartPole")
    raw = setup.kind == "train"  # the Train page draws each episode's return under its average
    charts = (_CHART + ("" if setup.kind == "train" else _RECORDS) + "\n\n"
              f"THRESHOLDS = {list(THRESHOLDS) if cartpole else []!r}  # CartPole's 195 (v0, "
              "the lesson's) and 475 (v1)\n"
              f"{_styles_py(labels, styles)}\n\n"
              f"curves(df, \"episode\", \"Return by episode\", raw={raw})")
    cells = [
        _cell("markdown", intro, 0),
        _cell("code", _params_py(setup, window), 1, tags=["parameters"]),
        _cell("code", setup_cell, 2),
        _cell("code", run, 3),
        _cell("code", charts, 4),
        _cell("code", f"curves(df, \"env_steps\", \"Return by env step\", raw={raw})", 5),
        _cell("markdown", "Per run: episodes, when the 100-episode average first reached 195 "
                          "and 475, the final 100-episode average and more.", 6),
        _cell("code", table, 7),
    ]
    for kind in setup.charts:
        chart_title, code = CHARTS[kind]
        cells += [_cell("markdown", f"## {chart_title}\n\nAs the page draws it.", len(cells)),
                  _cell("code", code, len(cells) + 1)]
    return _notebook_json(cells)


def _notebook_json(cells: list[dict]) -> str:
    doc = {"cells": cells, "metadata": {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
