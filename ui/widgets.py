"""Training settings: bounded widgets that return a validated ``TrainConfig`` (or a message).

Every widget is keyed (``cfg.<field>``) and seeded from a preset, so choosing a preset or
pressing "Reset to defaults" simply rewrites those keys. Nothing here trains: the page calls
:func:`config_ui` and gets ``(config, None)`` or ``(None, "one-line reason")``; the reason
is :class:`pgcore.ConfigError`'s own message, shown with ``st.error``.
"""

from __future__ import annotations

from types import SimpleNamespace

import streamlit as st

from pgcore import PRESETS, ConfigError, TrainConfig, algos
from pgcore.config import DEFAULT_PRESET, FIELDS, RUN_FIELDS
from pgcore.fields import Field

MAX_SECONDS = 1800
DEFAULT_EPISODES = 1000
DEFAULT_SECONDS = 900
ENV_ID = "CartPole-v1"

# The fields the widgets edit (every field with a label, whatever the algorithm). Anything
# else comes from the preset as it is.
WIDGET_FIELDS = tuple(name for name, f in FIELDS.items() if f.label)
KEEP_ON_PRESET = ("seed", "max_episodes", "max_seconds")  # a preset keeps the user's budget
WHOLE_NUMBERS = tuple(name for name, f in FIELDS.items() if f.type.startswith("int"))

K = "cfg."  # session-state key prefix
FIRST_PRESET = DEFAULT_PRESET[algos.names()[0]]  # a first visit starts here


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


def _preset_values(name: str) -> dict:
    cfg = PRESETS[name].config(env_id=ENV_ID, max_episodes=DEFAULT_EPISODES,
                               max_seconds=float(DEFAULT_SECONDS))
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


def reset_to_defaults() -> None:
    """The selected preset's values, budgets and seed included."""
    load_preset(st.session_state.get(K + "preset", FIRST_PRESET),
                keep_budget=False)


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


def keep_widget_values() -> None:
    """Carry the settings across page switches: Streamlit forgets the state of widgets a
    page did not draw, unless it is written back through the session-state API. The app
    calls this on every run, whatever the page."""
    ss = st.session_state
    for key in [k for k in ss if isinstance(k, str) and k.startswith(K)]:
        ss[key] = ss[key]


def _options(base: tuple, current) -> list:
    """``base`` plus the current value if a preset uses one off the grid (kept sorted)."""
    opts = list(base)
    if current not in opts:
        opts.append(current)
        none_first = [o for o in opts if o is None]
        opts = none_first + sorted(o for o in opts if o is not None)
    return opts


def _field_widget(f: Field, where, disabled: bool) -> None:
    """One bounded widget for config field ``f``, keyed ``cfg.<name>``."""
    key, help_text = K + f.name, f.help or None
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


def _grid(fields: list[Field], disabled: bool) -> None:
    """Full-width radios first, then the rest filled into two columns in turn."""
    radios = [f for f in fields if f.widget == "radio" and not f.advanced]
    for f in radios:
        _field_widget(f, st, disabled)
    rest = [f for f in fields if f not in radios]
    columns = st.columns(2)
    for i, f in enumerate(rest):
        _field_widget(f, columns[i % 2], disabled)


def config_ui(disabled: bool = False) -> tuple[TrainConfig | None, str | None]:
    """Draw the settings and return ``(config, None)`` or ``(None, message)``."""
    ensure_defaults()
    ss = st.session_state
    if K + "notice" in ss:
        st.error(ss.pop(K + "notice"), icon=":material/error:")
    names = list(algos.REGISTRY)
    st.radio("Algorithm", names, format_func=lambda n: algos.get(n).label, key=K + "algo",
             on_change=_on_algo_change, disabled=disabled, horizontal=True,
             help="Changing the algorithm loads its default settings.")
    algo = ss[K + "algo"]
    names = presets_for(algo)
    if ss.get(K + "preset") not in names:
        ss[K + "preset"] = names[0]
    for f in WIDGET_FIELDS:
        _val(f)
    st.selectbox("Preset", names, format_func=preset_label, key=K + "preset",
                 on_change=_on_preset_change, disabled=disabled,
                 help="A starting point; every value below can still be changed.")
    st.caption(PRESETS[ss[K + "preset"]].description)
    st.button("Reset to defaults", on_click=reset_to_defaults, disabled=disabled,
              type="tertiary", icon=":material/restart_alt:", key="cfg_reset",
              help="Back to the selected preset's values, budget and seed included.")

    critic = _has_critic(algo)
    fields = [f for f in widget_fields(algo) if critic or not f.needs_critic]
    _grid([f for f in fields if not f.advanced], disabled)
    with st.expander("Advanced settings"):
        _grid([f for f in fields if f.advanced], disabled)
    return build_config()


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
