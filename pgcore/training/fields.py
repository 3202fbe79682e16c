"""Config fields as data: a name, a default, a check, and how a person sets it.

Every field of :class:`pgcore.training.config.TrainConfig` is one :class:`Field`. The run-level ones
(environment, seed, network, budgets) are declared in :mod:`pgcore.training.config`; each algorithm
module declares the fields it adds (``baseline`` in :mod:`pgcore.algos.reinforce`, ``n_envs``
in :mod:`pgcore.algos.a2c`, ...). The same declaration gives

* the check that runs when a config is built (a one-line :class:`ConfigError`),
* the CLI flag (``--n-envs``) and its ``--set`` parsing,
* the Train page's widget (its label, help text, option grid, main or advanced section).

This module imports neither torch nor streamlit.

>>> f = Field("gamma", 0.99, "Discount factor.", number(0.0, 1.0, low_open=True),
...           label="Discount γ")
>>> f.check(0.5) is None
True
>>> f.check(1.5)
'gamma must be in (0, 1], got 1.5'
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

Check = Callable[[str, object], "str | None"]
"""``check(name, value)`` returns None if the value is fine, else a one-line reason."""


class ConfigError(ValueError):
    """A configuration value is out of range or two values do not fit together."""


def is_number(x) -> bool:
    """A finite int or float (not a bool)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def is_whole(x) -> bool:
    """An int (not a bool)."""
    return isinstance(x, int) and not isinstance(x, bool)


# ----- checks ---------------------------------------------------------------------------------


def number(low: float, high: float, low_open: bool = False, high_open: bool = False,
           what: str = "") -> Check:
    """A finite number in the interval; ``what`` is added after the name in the message."""
    interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"

    def check(name, v):
        ok = is_number(v) and (v > low if low_open else v >= low) \
            and (v < high if high_open else v <= high)
        if ok:
            return None
        if what:
            return f"{name} ({what}) must be a number in {interval}, got {v!r}"
        return f"{name} must be in {interval}, got {v!r}"

    return check


def whole(low: int, high: int) -> Check:
    """A whole number from ``low`` to ``high``."""

    def check(name, v):
        if is_whole(v) and low <= v <= high:
            return None
        return f"{name} must be a whole number from {low} to {high}, got {v!r}"

    return check


def positive(what: str = "a positive number") -> Check:
    """A finite number > 0."""

    def check(name, v):
        return None if is_number(v) and v > 0 else f"{name} must be {what}, got {v!r}"

    return check


def one_of(choices: tuple, style: str = "must") -> Check:
    """One of ``choices``. ``style="unknown"`` words it as an unknown name (for choices that
    are names, like baselines)."""

    def check(name, v):
        if isinstance(v, str) and v in choices:
            return None
        if style == "unknown":
            return f"unknown {name} {v!r}: choose one of {', '.join(choices)}"
        return f"{name} must be one of {', '.join(choices)}, got {v!r}"

    return check


def boolean() -> Check:
    def check(name, v):
        return None if isinstance(v, bool) else f"{name} must be true or false, got {v!r}"

    return check


def non_empty_text(what: str) -> Check:
    def check(name, v):
        return None if isinstance(v, str) and v.strip() else f"{name} must be {what}"

    return check


def optional(inner: Check, what: str = "") -> Check:
    """``None`` or a value ``inner`` accepts (``what`` replaces the message, e.g. 'or None')."""

    def check(name, v):
        if v is None:
            return None
        reason = inner(name, v)
        if reason is not None and what:
            return f"{name} must be {what}, got {v!r}"
        return reason

    return check


# ----- the field ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One config field: what it is, what it may be, and how a person sets it."""

    name: str
    default: object
    doc: str
    """What it means (the docstring of the config attribute; the CLI's help)."""
    validate: Check
    label: str = ""
    """Widget label on the Train page ('' = no widget: the preset's value is used)."""
    help: str = ""
    """Widget tooltip."""
    widget: str = "select_slider"
    """``select_slider`` over ``options``, ``radio`` over ``options``, ``number`` (a
    number_input from ``low`` to ``high``), ``slider`` (float from low to high by ``step``),
    or ``checkbox``."""
    options: tuple = ()
    low: float | None = None
    high: float | None = None
    step: float | None = None
    advanced: bool = False
    """Drawn in the Train page's "Advanced settings" expander."""
    format: str = ""
    """How a widget shows a value: '' (as is), 'g' (``f"{v:g}"``), 'off' (None -> off),
    'same' (None -> same as policy)."""
    option_labels: tuple = ()
    """Labels for ``options`` (radio buttons), same order."""
    flag: str | None = ""
    """CLI flag of ``train`` and ``sweep`` ('' = ``--`` + name with dashes; None = no flag).
    Every field can also be set with ``sweep --set name=value``."""
    cli_help: str = ""
    """The flag's help ('' = the first sentence of ``doc``)."""
    needs_critic: bool = False
    """Widget only when the run learns V(s) (a critic's learning rate, the value weight)."""
    rank: float = 100.0
    """Widget order on the Train page (the run-level and the algorithm's fields interleave)."""

    kind: str = ""
    """The annotation, as a string (``"float | None"``); '' = the default's type name."""

    @property
    def type(self) -> str:
        """The field's annotation as a string, as with postponed annotations."""
        if self.kind:
            return self.kind
        if self.default is None:
            raise ValueError(f"field {self.name!r} defaults to None: give its kind")
        return type(self.default).__name__

    def check(self, value) -> str | None:
        return self.validate(self.name, value)

    @property
    def cli_flag(self) -> str | None:
        if self.flag is None:
            return None
        return self.flag or "--" + self.name.replace("_", "-")

    def label_of(self, value) -> str:
        """How a widget shows ``value``."""
        if self.option_labels and value in self.options:
            return self.option_labels[self.options.index(value)]
        if value is None:
            return {"off": "off", "same": "same as policy"}.get(self.format, "none")
        if self.format in ("g", "off", "same") and is_number(value):
            return f"{value:g}"
        return str(value)
