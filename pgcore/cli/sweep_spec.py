"""What a ``sweep`` runs: values from ``--set`` and from a TOML/JSON ``--config`` file, and
the grid of (label, config) x seeds they make."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..training.config import PRESETS, ConfigError, TrainConfig, default_config, preset
from .common import CLIError, config_flag_fields, config_overrides, with_flag

_STRUCTURAL = ("algo", "preset")
_FLAG_FIELDS = tuple(f.name for f in config_flag_fields())
_SWEEP_FILE_KEYS = ("algo", "preset", "seeds", "episodes", "max_steps", "jobs", "set",
                    "configs", *_FLAG_FIELDS)
"""Top-level keys of a sweep file: the sweep's own, and every config field with a flag."""


def _config_fields() -> dict[str, str]:
    """Config field name -> its annotation (a string: the module uses postponed annotations)."""
    import dataclasses

    return {f.name: str(f.type) for f in dataclasses.fields(TrainConfig)}


def parse_value(field: str, text, where: str = "--set"):
    """A value for config ``field`` from text (or from a TOML/JSON scalar), or CLIError."""
    fields = _config_fields()
    if field in _STRUCTURAL:
        if not isinstance(text, str) or not text.strip():
            raise CLIError(f"{where}: {field} needs a name, got {text!r}")
        return text.strip()
    if field not in fields:
        raise CLIError(f"{where}: unknown config field {field!r}")
    if field == "seed":
        raise CLIError(f"{where}: give seeds with --seeds (or seeds = [...]), not as a field")
    kind = fields[field]
    if not isinstance(text, str):  # already typed (TOML/JSON)
        if kind.startswith("float") and isinstance(text, int) and not isinstance(text, bool):
            return float(text)
        return text
    raw = text.strip()
    if "None" in kind and raw.lower() in ("none", "null", "off"):
        return None
    try:
        if kind.startswith("bool"):
            if raw.lower() in ("true", "yes", "1", "on"):
                return True
            if raw.lower() in ("false", "no", "0", "off"):
                return False
            raise ValueError
        if kind.startswith("int"):
            return int(raw)
        if kind.startswith("float"):
            return float(raw)
    except ValueError:
        raise CLIError(f"{where}: {field} must be {kind.split(' ')[0]}, got {raw!r}") from None
    return raw


def parse_set(spec: str) -> tuple[str, list]:
    """``"lr=7e-4,1e-3"`` -> ``("lr", [0.0007, 0.001])``."""
    field, sep, values = spec.partition("=")
    field = field.strip().replace("-", "_")
    if not sep or not field or not values.strip():
        raise CLIError(f"--set {spec!r}: expected FIELD=V1,V2,...")
    parsed = [parse_value(field, v) for v in values.split(",")]
    return field, parsed


def parse_variant(tokens: list[str]) -> tuple[str, dict]:
    """``["A2C", "preset=a2c", "lr=0.001"]`` -> ``("A2C", {"preset": "a2c", "lr": 0.001})``:
    one ``--variant``, its label first, then one value per field.

    >>> parse_variant(["beta=0.01", "algo=a2c", "entropy_beta=0.01"])
    ('beta=0.01', {'algo': 'a2c', 'entropy_beta': 0.01})
    """
    label, pairs = tokens[0].strip(), tokens[1:]
    if not label:
        raise CLIError("--variant needs a label first, then FIELD=VALUE pairs")
    fields: dict = {}
    for pair in pairs:
        field, sep, value = pair.partition("=")
        field = field.strip().replace("-", "_")
        if not sep or not field:
            raise CLIError(f"--variant {label!r}: expected FIELD=VALUE, got {pair!r}")
        if field in fields:
            raise CLIError(f"--variant {label!r}: {field} is given more than once")
        fields[field] = parse_value(field, value, f"--variant {label!r}")
    return label, fields


def load_sweep_file(path: str) -> dict:
    """Read a TOML or JSON sweep description (keys: see ``sweep --help``)."""
    p = Path(path)
    if not p.is_file():
        raise CLIError(f"--config {path}: file not found")
    try:
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise CLIError(f"--config {path}: cannot read it ({exc})") from None
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import tomllib

            data = tomllib.loads(text)
    except (ValueError, json.JSONDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CLIError(f"--config {path}: not valid {'JSON' if p.suffix == '.json' else 'TOML'}"
                       f" ({first})") from None
    if not isinstance(data, dict):
        raise CLIError(f"--config {path}: the top level must be a table / object")
    unknown = sorted(set(data) - set(_SWEEP_FILE_KEYS))
    if unknown:
        raise CLIError(f"--config {path}: unknown key(s) {', '.join(unknown)}; allowed: "
                       f"{', '.join(_SWEEP_FILE_KEYS)}")
    return data


def _fmt_value(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def sweep_jobs(args: argparse.Namespace) -> tuple[list, list[int]]:
    """The jobs (label, config with seed) and the seeds of a sweep, from flags and file."""
    import itertools

    from ..execution.experiments import ExperimentError, check_jobs, grid

    file = load_sweep_file(args.config) if args.config else {}
    where = f"--config {args.config}"

    def pick(flag_value, key):
        return flag_value if flag_value is not None else file.get(key)

    seeds = pick(args.seeds, "seeds") or [0]
    if not isinstance(seeds, list) or not all(isinstance(s, int) and not isinstance(s, bool)
                                              for s in seeds):
        raise CLIError(f"{where}: seeds must be a list of whole numbers")
    if len(set(seeds)) != len(seeds):
        dups = sorted({s for s in seeds if seeds.count(s) > 1})
        raise CLIError(f"--seeds lists seed {', '.join(map(str, dups))} more than once")
    episodes, max_steps = pick(args.episodes, "episodes"), pick(args.max_steps, "max_steps")
    common = {}
    if episodes is not None:
        if not isinstance(episodes, int) or isinstance(episodes, bool) or episodes < 0:
            raise CLIError(f"--episodes must be a whole number >= 0, got {episodes!r}")
        common["max_episodes"] = None if episodes == 0 else episodes
    if max_steps is not None:
        common["max_steps"] = max_steps
    for name in _FLAG_FIELDS:  # the file's field values, then the flags given, which win
        if name in file:
            common[name] = parse_value(name, file[name], where)
    common.update(config_overrides(args))
    base = {k: v for k, v in (("algo", pick(args.algo, "algo")),
                              ("preset", pick(args.preset, "preset"))) if v is not None}

    axes: dict[str, list] = {}
    file_set = file.get("set", {})
    if not isinstance(file_set, dict):
        raise CLIError(f"{where}: [set] must be a table of field = [values]")
    for field, values in file_set.items():
        values = values if isinstance(values, list) else [values]
        axes[field] = [parse_value(field, v, where) for v in values]
    for spec in args.set:
        field, values = parse_set(spec)
        axes[field] = values
    for field, values in axes.items():
        if not values:
            raise CLIError(f"--set {field}: give at least one value")
        if len(set(map(repr, values))) != len(values):
            raise CLIError(f"--set {field}: a value is listed more than once")

    flag_variants = getattr(args, "variant", None) or []
    if flag_variants and "configs" in file:
        raise CLIError(f"--variant and the [[configs]] of {where} cannot be combined: "
                       "give the configs in one place")
    variants = file.get("configs", [{}])
    if not isinstance(variants, list) or not variants or \
            not all(isinstance(v, dict) for v in variants):
        raise CLIError(f"{where}: [[configs]] must be a list of tables")
    named = []
    for n, v in enumerate(variants):
        v = dict(v)
        label = str(v.pop("label", "") or (f"config {n + 1}" if len(variants) > 1 else ""))
        named.append((label, {k: parse_value(k, x, where) for k, x in v.items()}))
    if flag_variants:
        named = [parse_variant(tokens) for tokens in flag_variants]
        labels = [label for label, _ in named]
        if len(set(labels)) != len(labels):
            dups = sorted({label for label in labels if labels.count(label) > 1})
            raise CLIError(f"--variant {', '.join(map(repr, dups))}: a label is given more "
                           "than once")
    only = getattr(args, "only", None)
    if only:
        known = [label for label, _ in named]
        unknown = [label for label in only if label not in known]
        if unknown:
            raise CLIError(f"--only {', '.join(unknown)}: no such [[configs]] label; choose "
                           f"from {', '.join(known) or '(none: the sweep has no labels)'}")
        named = [(label, fields) for label, fields in named if label in only]

    configs: dict[str, TrainConfig] = {}
    names = list(axes)
    for (vlabel, vfields), point in itertools.product(named, itertools.product(
            *axes.values())):
        fields = {**common, **vfields, **dict(zip(names, point, strict=True))}
        spec = {**base, **{k: fields.pop(k) for k in _STRUCTURAL if k in fields}}
        parts = [vlabel] if vlabel else []
        parts += [f"{k}={_fmt_value(v)}" for k, v in zip(names, point, strict=True)]
        label = ", ".join(parts) or spec.get("preset") or spec.get("algo") or "config"
        try:
            if "preset" in spec:
                pre = PRESETS.get(spec["preset"])
                if pre is None:
                    raise ConfigError(f"unknown preset {spec['preset']!r}: choose one of "
                                      f"{', '.join(PRESETS)}")
                if "algo" in spec and spec["algo"] != pre.values["algo"]:
                    raise CLIError(f"preset {spec['preset']!r} is for {pre.values['algo']}, "
                                   f"not {spec['algo']}")
                cfg = preset(spec["preset"], **fields)
            elif "algo" in spec:
                cfg = default_config(spec["algo"], **fields)
            else:
                raise CLIError("sweep needs --algo or --preset (or algo in the --config file)")
        except ConfigError as exc:
            raise CLIError(f"{label}: {exc}" if parts else with_flag(str(exc))) from None
        except TypeError as exc:
            raise CLIError(f"{label}: {str(exc).splitlines()[0]}") from None
        configs[label] = cfg
    try:
        jobs = check_jobs(grid(configs, seeds))
    except ConfigError as exc:  # a seed out of range
        raise CLIError(with_flag(str(exc))) from None
    except ExperimentError as exc:
        raise CLIError(str(exc)) from None
    return jobs, seeds
