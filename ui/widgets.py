"""Training settings: bounded widgets that return a validated ``TrainConfig`` (or a message).

Every widget is keyed (``cfg.<field>``) and seeded from a preset, so choosing a preset or
pressing "Reset to defaults" simply rewrites those keys. Nothing here trains: the page calls
:func:`config_ui` and gets ``(config, None)`` or ``(None, "one-line reason")``; the reason
is :class:`pgcore.ConfigError`'s own message, shown with ``st.error``.

The settings also live in the page's URL (:mod:`ui.links`): a link names the algorithm, the
preset and the fields that differ from that preset (``?algo=a2c&lr=0.003&seed=2``), each checked
by its :class:`~pgcore.training.fields.Field`; a teacher's link can lock or hide fields.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import streamlit as st

from pgcore import PRESETS, ConfigError, TrainConfig, algos
from pgcore.training.config import DEFAULT_PRESET, FIELDS, RUN_FIELDS
from pgcore.training.fields import Field, is_number, is_whole

from . import links

MAX_SECONDS = 1800
DEFAULT_EPISODES = 1000
DEFAULT_SECONDS = 900
ENV_ID = "CartPole-v1"

# The fields the widgets edit (every field with a label, whatever the algorithm). Anything
# else comes from the preset as it is.
WIDGET_FIELDS = tuple(name for name, f in FIELDS.items() if f.label)
KEEP_ON_PRESET = ("seed", "max_episodes", "max_seconds")  # a preset keeps the user's budget
WHOLE_NUMBERS = tuple(name for name, f in FIELDS.items() if f.type.startswith("int"))

K = links.SETTINGS_KEY  # session-state key prefix ("cfg.")
FIRST_PRESET = DEFAULT_PRESET[algos.names()[0]]  # a first visit starts here: plain REINFORCE
PAGE = "train"  # the Train page's link (ui/links.py)
SHOW_CHANGED = 3  # "changed: a, b, c and 2 more"


def presets_for(algo: str) -> list[str]:
    """Preset names for one algorithm on this page's environment (CartPole-v1), our default
    first: a preset for another environment (``a2c-pendulum``) belongs to its own page."""
    return [p.name for p in algos.get(algo).presets
            if p.values.get("env_id", ENV_ID) == ENV_ID]


def preset_label(name: str) -> str:
    p = PRESETS.get(name)
    return (p.label or p.name) if p is not None else name


def widget_fields(algo: str) -> list[Field]:
    """The fields the Train page draws for ``algo``: the run-level ones and the algorithm's
    own, in widget order."""
    own = {f.name for f in algos.get(algo).fields}
    fields = [f for f in RUN_FIELDS if f.label] + [FIELDS[n] for n in FIELDS if n in own]
    return sorted((f for f in fields if f.label), key=lambda f: f.rank)


def preset_config(name: str = FIRST_PRESET) -> TrainConfig:
    """What the settings hold once preset ``name`` is loaded with the page's default budget
    (by default the first visit's: plain REINFORCE)."""
    return PRESETS[name].config(env_id=ENV_ID, max_episodes=DEFAULT_EPISODES,
                                max_seconds=float(DEFAULT_SECONDS))


def _preset_values(name: str) -> dict:
    cfg = preset_config(name)
    values = {f: getattr(cfg, f) for f in WIDGET_FIELDS}
    values["max_seconds"] = int(values["max_seconds"])  # the widget is a whole number
    return values


def load_preset(name: str, keep_budget: bool = True) -> None:
    """Write a preset's values into the widgets' session-state keys."""
    ss = st.session_state
    values = _preset_values(name)
    ss[K + "algo"] = PRESETS[name].values["algo"]
    ss[K + "preset"] = name
    for f, v in values.items():
        if keep_budget and f in KEEP_ON_PRESET and (K + f) in ss:
            continue
        ss[K + f] = v
    ss[K + "loaded"] = name


def _on_algo_change() -> None:
    load_preset(DEFAULT_PRESET[st.session_state[K + "algo"]])


def _on_preset_change() -> None:
    load_preset(st.session_state[K + "preset"])


def link_values(algo: str) -> dict:
    """The values the link this session opened set for ``algo``'s settings, by widget key
    ({} without a link)."""
    own = {K + f.name for f in widget_fields(algo)}
    return {k: v for k, v in links.given(PAGE).items() if k in own}


def reset_to_defaults() -> None:
    """The selected preset's values, budgets and seed included; then the values the link
    this session opened set (what its URL said), as the link had them."""
    ss = st.session_state
    load_preset(ss.get(K + "preset", FIRST_PRESET), keep_budget=False)
    ss.update(link_values(ss[K + "algo"]))


def ensure_defaults(name: str = FIRST_PRESET) -> None:
    """First visit: seed every widget key from a preset. Settings that name an algorithm or
    preset this version does not have (an old session, a hand-made link) are replaced by the
    defaults, and the reason is kept to be shown once."""
    ss = st.session_state
    algo = ss.get(K + "algo")
    if algo is not None and algo not in algos.REGISTRY:
        try:
            algos.get(algo)
        except ConfigError as exc:
            ss[K + "notice"] = f"{exc}. Showing the defaults instead."
        ss.pop(K + "loaded", None)
    if K + "loaded" not in ss or K + "algo" not in ss or ss.get(K + "preset") not in PRESETS:
        load_preset(name, keep_budget=False)


def _val(field: str):
    """The widget value for ``field``, restored from the preset if Streamlit dropped it
    (a widget that was not drawn in the last run loses its key)."""
    ss = st.session_state
    if K + field not in ss:
        ss[K + field] = _preset_values(ss.get(K + "preset", FIRST_PRESET))[field]
    return ss[K + field]


def _options(base: tuple, current) -> list:
    """``base`` plus the current value if a preset uses one off the grid (kept sorted)."""
    opts = list(base)
    if current not in opts:
        opts.append(current)
        none_first = [o for o in opts if o is None]
        opts = none_first + sorted(o for o in opts if o is not None)
    return opts


def _field_widget(f: Field, where, disabled: bool,
                  control: links.Control = links.FREE) -> None:
    """One bounded widget for config field ``f``, keyed ``cfg.<name>``; not drawn when a
    teacher's link hides it, disabled when it locks it."""
    if control.hidden:
        return
    key, help_text = K + f.name, control.help(f.help or None)
    disabled = disabled or control.locked
    fmt = f.label_of if (f.format or f.option_labels) else None
    if f.widget == "radio":
        where.radio(f.label, list(f.options), format_func=fmt or str, key=key, horizontal=True,
                    disabled=disabled, help=help_text)
    elif f.widget == "select_slider":
        kwargs = {"format_func": fmt} if fmt else {}
        where.select_slider(f.label, _options(f.options, _val(f.name)), key=key,
                            disabled=disabled, help=help_text, **kwargs)
    elif f.widget == "number":
        where.number_input(f.label, min_value=f.low, max_value=f.high, step=f.step, key=key,
                           disabled=disabled, help=help_text)
    elif f.widget == "slider":
        where.slider(f.label, min_value=f.low, max_value=f.high, step=f.step, key=key,
                     disabled=disabled, help=help_text)
    elif f.widget == "checkbox":
        where.checkbox(f.label, key=key, disabled=disabled, help=help_text)
    else:  # pragma: no cover - a field declared with an unknown widget kind
        raise ValueError(f"{f.name}: unknown widget {f.widget!r}")


def _has_critic(algo: str) -> bool:
    """Whether the current settings learn V(s) (REINFORCE: only with the value baseline)."""
    values = {f.name: _val(f.name) for f in widget_fields(algo)}
    return bool(algos.get(algo).has_critic(SimpleNamespace(**values)))


def _grid(fields: list[Field], disabled: bool, link: links.PageLink | None = None) -> None:
    """Full-width radios first, then the rest filled into two columns in turn, then the
    checkboxes full width (a field the link hides takes no place)."""
    def control(f: Field) -> links.Control:
        return link.control(f.name) if link is not None else links.FREE

    fields = [f for f in fields if not control(f).hidden]
    radios = [f for f in fields if f.widget == "radio" and not f.advanced]
    for f in radios:
        _field_widget(f, st, disabled, control(f))
    rest = [f for f in fields if f not in radios]
    # Checkboxes go full width after the pairs: in half of the settings column, beside the
    # box and the help icon, their labels had no room ("Orth…").
    checks = [f for f in rest if f.widget == "checkbox"]
    columns = st.columns(2)
    for i, f in enumerate(f for f in rest if f not in checks):
        _field_widget(f, columns[i % 2], disabled, control(f))
    for f in checks:
        _field_widget(f, st, disabled, control(f))


# ----- the Train page's link ----------------------------------------------------------------


def _parse_algo(text: str) -> str:
    name = text.strip()
    try:
        algos.get(name)
    except ConfigError as exc:
        raise links.LinkError(str(exc)) from None
    return name


def train_presets() -> list[str]:
    """Every preset the Train page offers, whatever the algorithm."""
    return [n for a in algos.names() for n in presets_for(a)]


def _algo_param() -> links.Param:
    return links.Param("algo", K + "algo", PRESETS[FIRST_PRESET].values["algo"], _parse_algo,
                       "Algorithm")


def _preset_param(algo: str) -> links.Param:
    return links.Param("preset", K + "preset", DEFAULT_PRESET[algo],
                       links.choice(train_presets()), "Preset")


def _field_parser(f: Field, default) -> links.Parser:
    """URL text -> a value the field's check and its widget accept, else a LinkError."""
    def parse(text: str):
        t = text.strip()
        if "None" in f.type and t.lower() in ("off", "none"):
            value = None
        elif f.type.startswith("bool"):
            value = links.flag()(t)
        elif f.type.startswith(("int", "float")):
            bounded = f.widget in ("number", "slider")
            try:
                value = float(t)
            except ValueError:
                raise links.LinkError(f"must be {range_text(f)}" if bounded
                                      else "must be a number") from None
            whole = f.type.startswith("int") or (is_number(default) and isinstance(default, int))
            if not math.isfinite(value):
                raise links.LinkError(f"must be {range_text(f)}" if bounded
                                      else "must be a finite number")
            if whole:
                if not value.is_integer():
                    raise links.LinkError(f"must be {range_text(f)}" if bounded
                                          else "must be a whole number")
                value = int(value)
        else:
            value = t
        reason = _bounds_reason(f, value) or f.check(value)
        if reason is None and f.widget == "radio" and value not in f.options:
            reason = f"must be one of {', '.join(map(str, f.options))}"
        if reason is not None:
            shown = repr(value)  # a check's "got ..." shows the value: never 100 digits
            if shown in reason:
                reason = reason.replace(shown, links.shown(value) if is_number(value)
                                        else links.shorten(shown))
            raise links.LinkError(reason)
        return value
    return parse


def range_text(f: Field) -> str:
    """A number widget's range, as its own bounds say (the one range a message states).

    >>> range_text(FIELDS["max_episodes"]), range_text(FIELDS["gae_lambda"])
    ('a whole number from 10 to 20,000', 'a number from 0 to 1')
    """
    whole = f.type.startswith("int") or all(
        is_whole(v) for v in (f.low, f.high, f.step) if v is not None)
    return (f"{'a whole number' if whole else 'a number'} from {links.shown(f.low)} to "
            f"{links.shown(f.high)}")


def _bounds_reason(f: Field, value) -> str | None:
    """Why a number widget cannot show ``value``: outside its bounds (None: it can)."""
    if f.widget not in ("number", "slider") or value is None or not is_number(value):
        return None
    return None if f.low <= value <= f.high else f"must be {range_text(f)}"


def _field_param(f: Field, default) -> links.Param:
    return links.Param(f.name, K + f.name, default, _field_parser(f, default), f.label)


def _apply_link(link: links.PageLink) -> None:
    """A new link: the preset it names (or its algorithm's default, or the first), then its
    values on top. A setting of another algorithm is ignored with a warning."""
    ss = st.session_state
    algo = link.read(_algo_param())
    preset = link.read(_preset_param(algos.names()[0]))
    if preset is not links.MISSING and algo is not links.MISSING \
            and PRESETS[preset].values["algo"] != algo:
        link.warn(_preset_param(algo), link.url["preset"],
                  f"is a preset of {algos.get(PRESETS[preset].values['algo']).label}, "
                  f"not of {algos.get(algo).label}")
        preset = links.MISSING
    if preset is links.MISSING:
        preset = DEFAULT_PRESET[algo] if algo is not links.MISSING else FIRST_PRESET
    load_preset(preset, keep_budget=False)
    algo = ss[K + "algo"]
    own = {f.name for f in widget_fields(algo)}
    defaults = _preset_values(preset)
    for name in WIDGET_FIELDS:
        if name not in link.url:
            continue
        link.handled.add(name)
        if name not in own:
            link.warnings.append(f"Link parameter `{name}` ignored: {FIELDS[name].label} is not a "
                                 f"setting of {algos.get(algo).label}.")
            continue
        value = link.read(_field_param(FIELDS[name], defaults[name]))
        if value is not links.MISSING:
            ss[K + name] = value


def _bind_link(link: links.PageLink) -> None:
    """Bind the algorithm, the preset and the algorithm's fields (defaults: the selected
    preset's values), so locks hold and the URL gets what differs from them."""
    ss = st.session_state
    link.bind(_algo_param(), apply=False)
    algo = ss[K + "algo"]
    if algo not in algos.REGISTRY:  # a locked value from an older session: the first
        ss[K + "algo"] = algo = PRESETS[FIRST_PRESET].values["algo"]
    link.bind(_preset_param(algo), apply=False)
    if "preset" in link.state.locks and "algo" not in link.state.locks:
        link.state.locks["algo"] = algo  # a locked preset fixes its algorithm too
    preset = ss[K + "preset"]
    defaults = _preset_values(preset if preset in PRESETS else DEFAULT_PRESET[algo])
    for f in widget_fields(algo):
        link.bind(_field_param(f, defaults[f.name]), apply=False)


def config_ui(disabled: bool = False, notices=None) -> tuple[TrainConfig | None, str | None]:
    """Draw the settings and return ``(config, None)`` or ``(None, message)``. The settings
    come from the page's link when one is opened, and go back into the URL after; what is
    wrong with a link goes in ``notices`` (a placeholder at the top of the page)."""
    ensure_defaults()
    ss = st.session_state
    link = links.PageLink(PAGE, notices=notices)
    if link.applying:
        _apply_link(link)
    _bind_link(link)
    if K + "notice" in ss:
        st.error(ss.pop(K + "notice"), icon=":material/error:")
    names = list(algos.REGISTRY)
    algo_c = link.control("algo")
    if not algo_c.hidden:
        st.radio("Algorithm", names, format_func=lambda n: algos.get(n).label, key=K + "algo",
                 on_change=_on_algo_change, disabled=disabled or algo_c.locked,
                 horizontal=True,
                 help=algo_c.help("Changing the algorithm loads its default settings."))
    algo = ss[K + "algo"]
    names = presets_for(algo)
    if ss.get(K + "preset") not in names:
        ss[K + "preset"] = names[0]
    for f in WIDGET_FIELDS:
        _val(f)
    preset_c = link.control("preset")
    if not preset_c.hidden:
        st.selectbox("Preset", names, format_func=preset_label, key=K + "preset",
                     on_change=_on_preset_change, disabled=disabled or preset_c.locked,
                     help=preset_c.help("A starting point; every value below can still be "
                                        "changed."))
        st.caption(PRESETS[ss[K + "preset"]].description)
    st.button("Reset to defaults", on_click=reset_to_defaults, disabled=disabled,
              type="tertiary", icon=":material/restart_alt:", key="cfg_reset",
              help=reset_help(algo, locked=bool(link.state.locks)))

    critic = _has_critic(algo)
    fields = [f for f in widget_fields(algo) if critic or not f.needs_critic]
    _grid([f for f in fields if not f.advanced], disabled, link)
    advanced = [f for f in fields if f.advanced]
    if any(not link.control(f.name).hidden for f in advanced):
        with st.expander("Advanced settings"):
            _grid(advanced, disabled, link)
    link.finish(dialog=True)  # the teacher's builder needs more room than this column
    return build_config()


def reset_help(algo: str, locked: bool = False) -> str:
    """"Reset to defaults"'s tooltip: what it puts back, naming what the link set."""
    kept = [_lower(FIELDS[k.removeprefix(K)].label) for k in link_values(algo)]
    if not kept:
        return "Back to the selected preset's values, budget and seed included."
    who = "your teacher's link" if locked else "the link you opened"
    return ("Back to the selected preset's values, budget and seed included, except what "
            f"{who} set ({', '.join(kept)}): that goes back to the link's values.")


# ----- what a Start runs, in words --------------------------------------------------------------


def _lower(label: str) -> str:
    """A label inside a sentence: "Learning rate" -> "learning rate", "GAE λ" stays."""
    return label if len(label) > 1 and label[1].isupper() else label[:1].lower() + label[1:]


def show_value(f: Field, value) -> str:
    """A setting's value as a sentence shows it (the widget's own labels; 1,000; on/off)."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if f.option_labels or f.format or value is None:
        return f.label_of(value)
    return links.shown(value)


def _differs(a, b) -> bool:
    if is_number(a) and is_number(b):
        return float(a) != float(b)
    return a != b


def changed_settings(old: TrainConfig, new: TrainConfig) -> list[str]:
    """What differs between two runs' settings, as "label: old → new" (the algorithm first;
    when it differs, the rest of the settings differ with it and are not listed).

    >>> from pgcore import preset
    >>> changed_settings(preset("reinforce"), preset("reinforce", baseline="none", seed=2))
    ['baseline: learned value V(s) → none (raw returns)', 'seed: 0 → 2']
    >>> changed_settings(preset("reinforce"), preset("a2c"))
    ['algorithm: REINFORCE → A2C']
    """
    if old.algo != new.algo:
        return [f"algorithm: {old.algorithm.title} → {new.algorithm.title}"]
    return [f"{_lower(f.label)}: {show_value(f, getattr(old, f.name))} → "
            f"{show_value(f, getattr(new, f.name))}"
            for f in widget_fields(new.algo)
            if _differs(getattr(old, f.name), getattr(new, f.name))]


def preset_changes(config: TrainConfig, name: str) -> list[str] | None:
    """The labels of the settings where ``config`` differs from preset ``name`` (its seed and
    budgets aside: a preset keeps those); None when it is not a preset of that algorithm."""
    p = PRESETS.get(name)
    if p is None or p.values["algo"] != config.algo:
        return None
    base = _preset_values(name)
    return [_lower(f.label) for f in widget_fields(config.algo)
            if f.name not in KEEP_ON_PRESET and _differs(getattr(config, f.name), base[f.name])]


def settings_origin(config: TrainConfig, name: str) -> str:
    """Where ``config`` comes from: ``the preset “X”``, or ``custom settings based on the
    preset “X” (changed: baseline)`` once a setting differs from it."""
    changed = preset_changes(config, name)
    if changed is None:
        return "custom settings"
    preset = f"the preset “{preset_label(name)}”"
    if not changed:
        return preset
    shown = ", ".join(changed[:SHOW_CHANGED])
    if len(changed) > SHOW_CHANGED:
        shown += f" and {len(changed) - SHOW_CHANGED} more"
    return f"custom settings based on {preset} (changed: {shown})"


def preset_record(config: TrainConfig, name: str) -> str:
    """The preset as the run history records it: its label, or ``custom, based on “X”``."""
    changed = preset_changes(config, name)
    if changed == []:
        return preset_label(name)
    return "custom" if changed is None else f"custom, based on “{preset_label(name)}”"


def run_title(config: TrainConfig) -> str:
    """The algorithm and what makes its kind of run, e.g. ``REINFORCE, baseline: none (raw
    returns)`` (an algorithm's ``variant_fields``; none for most)."""
    parts = [config.algorithm.title]
    for name in config.algorithm.variant_fields:
        f = FIELDS[name]
        parts.append(f"{_lower(f.label)}: {show_value(f, getattr(config, name))}")
    return ", ".join(parts)


def describe_run(config: TrainConfig, name: str) -> str:
    """One line naming what a run of ``config`` is: the algorithm (and its baseline), the
    seed, the budget and where the settings come from (:func:`settings_origin`)."""
    budget = (f", {config.max_episodes:,} episodes" if config.max_episodes else "")
    return (f"{run_title(config)}, seed {config.seed}{budget} · "
            f"{settings_origin(config, name)}")


def build_config() -> tuple[TrainConfig | None, str | None]:
    """The config from the widgets' current values, or the reason it is invalid. Only the
    run-level fields and the algorithm's own are taken from the widgets; the others keep
    their defaults."""
    ss = st.session_state
    algo = ss[K + "algo"]
    base = PRESETS[ss[K + "preset"]].values
    values = {**base, "algo": algo, "env_id": ENV_ID}
    for f in widget_fields(algo):
        if K + f.name in ss:
            values[f.name] = ss[K + f.name]
    for f in WHOLE_NUMBERS:
        if isinstance(values.get(f), float) and values[f].is_integer():
            values[f] = int(values[f])
    if values.get("max_seconds") is not None:
        values["max_seconds"] = float(min(values["max_seconds"], MAX_SECONDS))
    try:
        return TrainConfig(**values), None
    except ConfigError as exc:
        return None, str(exc)
    except (TypeError, ValueError) as exc:  # a value of the wrong kind: still one line
        return None, str(exc).splitlines()[0] if str(exc) else type(exc).__name__
