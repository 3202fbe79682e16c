"""Training settings: bounded widgets that return a validated ``TrainConfig`` (or a message).

Every widget is keyed (``cfg.<field>``) and seeded from a preset, so choosing a preset or
pressing "Reset to defaults" simply rewrites those keys. Nothing here trains: the page calls
:func:`config_ui` and gets ``(config, None)`` or ``(None, "one-line reason")``; the reason
is :class:`pgcore.ConfigError`'s own message, shown with ``st.error``.
"""

from __future__ import annotations

import streamlit as st

from pgcore import PRESETS, ConfigError, TrainConfig
from pgcore.config import DEFAULT_PRESET

ALGO_LABELS = {"reinforce": "REINFORCE", "actor-critic": "Actor-critic (one-step)",
               "a2c": "A2C (parallel envs)"}
BASELINE_LABELS = {"none": "none (raw returns)", "normalize": "normalise returns",
                   "value": "learned value V(s)"}
PRESET_LABELS = {
    "reinforce": "Our default: learned value baseline",
    "reinforce-normalize": "Our default: normalised returns",
    "reinforce-lesson": "The lesson's settings: normalised returns",
    "reinforce-value-lesson": "The lesson's settings: value baseline",
    "actor-critic": "Our default (learns CartPole)",
    "actor-critic-lesson": "The lesson's settings (watch it collapse)",
    "a2c": "Our default",
}

LR_OPTIONS = (1e-5, 3e-5, 1e-4, 3e-4, 5e-4, 7e-4, 1e-3, 2e-3, 3e-3, 5e-3, 1e-2, 3e-2, 1e-1)
GAMMA_OPTIONS = (0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.999, 1.0)
BETA_OPTIONS = (0.0, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.02, 0.05, 0.1)
HIDDEN_OPTIONS = (16, 32, 64, 128, 256, 512)
N_ENVS_OPTIONS = (1, 2, 4, 8, 16, 32)
N_STEPS_OPTIONS = (1, 2, 3, 5, 8, 10, 16, 20, 32, 64, 128)
VALUE_COEF_OPTIONS = (0.1, 0.25, 0.5, 1.0, 2.0)
CLIP_OPTIONS = (None, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0)
CRITIC_LR_OPTIONS = (None,) + LR_OPTIONS

MAX_EPISODES = 20_000
MAX_SECONDS = 1800
DEFAULT_EPISODES = {"reinforce": 1000, "actor-critic": 1000, "a2c": 1000}
DEFAULT_SECONDS = 900
ENV_ID = "CartPole-v1"

# The fields the widgets edit. Anything else comes from the preset as it is.
WIDGET_FIELDS = ("baseline", "lr", "gamma", "entropy_beta", "seed", "hidden", "n_envs",
                 "max_episodes", "value_lr", "n_steps", "gae_lambda", "shared_layers",
                 "head_layers", "activation", "ortho_init", "value_coef", "max_grad_norm",
                 "normalize_advantages", "bootstrap_truncated", "reduction", "max_seconds")
KEEP_ON_PRESET = ("seed", "max_episodes", "max_seconds")  # a preset keeps the user's budget

K = "cfg."  # session-state key prefix


def presets_for(algo: str) -> list[str]:
    """Preset names for one algorithm, our default first."""
    names = [n for n, p in PRESETS.items() if p.values.get("algo") == algo]
    default = DEFAULT_PRESET[algo]
    return [default] + [n for n in names if n != default]


def preset_label(name: str) -> str:
    return PRESET_LABELS.get(name, name)


def _preset_values(name: str) -> dict:
    algo = PRESETS[name].values["algo"]
    cfg = PRESETS[name].config(env_id=ENV_ID, max_episodes=DEFAULT_EPISODES[algo],
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
    load_preset(st.session_state.get(K + "preset", DEFAULT_PRESET["reinforce"]),
                keep_budget=False)


def ensure_defaults(name: str = "reinforce") -> None:
    """First visit: seed every widget key from a preset."""
    ss = st.session_state
    if K + "loaded" not in ss or K + "algo" not in ss or ss.get(K + "preset") not in PRESETS:
        load_preset(name, keep_budget=False)


def _val(field: str):
    """The widget value for ``field``, restored from the preset if Streamlit dropped it
    (a widget that was not drawn in the last run loses its key)."""
    ss = st.session_state
    if K + field not in ss:
        ss[K + field] = _preset_values(ss.get(K + "preset", DEFAULT_PRESET["reinforce"]))[field]
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


def _fmt_lr(v) -> str:
    return "same as policy" if v is None else f"{v:g}"


def config_ui(disabled: bool = False) -> tuple[TrainConfig | None, str | None]:
    """Draw the settings and return ``(config, None)`` or ``(None, message)``."""
    ensure_defaults()
    ss = st.session_state
    st.radio("Algorithm", list(ALGO_LABELS), format_func=ALGO_LABELS.get, key=K + "algo",
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

    if algo == "reinforce":
        st.radio("Baseline", list(BASELINE_LABELS), format_func=BASELINE_LABELS.get,
                 key=K + "baseline", horizontal=True, disabled=disabled,
                 help="What REINFORCE subtracts from (or does to) the returns G_t before "
                      "weighting log pi(a_t|s_t). A learned V(s) lowers the variance "
                      "without biasing the gradient.")
    c1, c2 = st.columns(2)
    c1.select_slider("Learning rate", _options(LR_OPTIONS, _val("lr")), key=K + "lr",
                     format_func=lambda v: f"{v:g}", disabled=disabled,
                     help="Adam's step size for the policy (and a shared trunk).")
    c2.select_slider("Discount γ", _options(GAMMA_OPTIONS, _val("gamma")), key=K + "gamma",
                     disabled=disabled, help="How much a reward one step later is worth.")
    c1.select_slider("Entropy bonus β", _options(BETA_OPTIONS, _val("entropy_beta")),
                     key=K + "entropy_beta", format_func=lambda v: f"{v:g}", disabled=disabled,
                     help="Adds β·H(π) to the objective: keeps the policy from becoming "
                          "deterministic too early.")
    c2.select_slider("Hidden units", _options(HIDDEN_OPTIONS, _val("hidden")),
                     key=K + "hidden", disabled=disabled, help="Units in every hidden layer.")
    if algo == "a2c":
        c1.select_slider("Parallel environments", _options(N_ENVS_OPTIONS, _val("n_envs")),
                         key=K + "n_envs", disabled=disabled,
                         help="A2C steps this many CartPoles together and learns from all "
                              "of them in one batch.")
        c2.select_slider("Steps per update (n)", _options(N_STEPS_OPTIONS, _val("n_steps")),
                         key=K + "n_steps", disabled=disabled,
                         help="Rollout length per environment: n-step returns.")
    c1.number_input("Episode budget", min_value=10, max_value=MAX_EPISODES, step=100,
                    key=K + "max_episodes", disabled=disabled,
                    help=f"Stop after this many episodes (at most {MAX_EPISODES:,}).")
    c2.number_input("Seed", min_value=0, max_value=2**31 - 1, step=1, key=K + "seed",
                    disabled=disabled, help="Same seed and settings, same run.")

    with st.expander("Advanced settings"):
        a1, a2 = st.columns(2)
        if algo != "reinforce" or _val("baseline") == "value":
            a1.select_slider("Critic learning rate",
                             _options(CRITIC_LR_OPTIONS, _val("value_lr")),
                             key=K + "value_lr", format_func=_fmt_lr, disabled=disabled,
                             help="Adam's step size for the critic's own layers.")
            a2.select_slider("Value-loss weight", _options(VALUE_COEF_OPTIONS,
                                                           _val("value_coef")),
                             key=K + "value_coef", disabled=disabled,
                             help="Weight of the critic's loss in the total loss (matters "
                                  "when actor and critic share layers).")
        a1.number_input("Shared layers (trunk)", min_value=0, max_value=4, step=1,
                        key=K + "shared_layers", disabled=disabled,
                        help="Hidden layers shared by actor and critic; 0 = two networks.")
        a2.number_input("Layers per head", min_value=0, max_value=4, step=1,
                        key=K + "head_layers", disabled=disabled,
                        help="Hidden layers in each head on top of the trunk.")
        a1.select_slider("Gradient clipping (max norm)", _options(CLIP_OPTIONS,
                                                                  _val("max_grad_norm")),
                         key=K + "max_grad_norm", disabled=disabled,
                         format_func=lambda v: "off" if v is None else f"{v:g}",
                         help="Rescale the whole gradient when its norm exceeds this.")
        if algo == "a2c":
            a2.slider("GAE λ", min_value=0.0, max_value=1.0, step=0.05, key=K + "gae_lambda",
                      disabled=disabled, help="1: n-step returns; 0: one-step TD errors.")
        a1.radio("Activation", ["relu", "tanh"], key=K + "activation", horizontal=True,
                 disabled=disabled)
        a2.radio("Loss over time steps", ["mean", "sum"], key=K + "reduction", horizontal=True,
                 disabled=disabled, help="The lesson sums; we average.")
        a1.checkbox("Orthogonal init", key=K + "ortho_init", disabled=disabled,
                    help="Orthogonal weights and a near-uniform first policy.")
        a2.checkbox("Normalise advantages", key=K + "normalize_advantages", disabled=disabled,
                    help="Standardise each update's advantages (mean 0, std 1).")
        a1.checkbox("Bootstrap truncated episodes", key=K + "bootstrap_truncated",
                    disabled=disabled,
                    help="At the 500-step time limit, use V(s') instead of treating the end "
                         "as terminal (the lesson treats it as terminal).")
        a2.number_input("Time budget (seconds)", min_value=10, max_value=MAX_SECONDS, step=60,
                        key=K + "max_seconds", disabled=disabled,
                        help=f"Every run also stops after this long (at most {MAX_SECONDS}).")
    return build_config()


def build_config() -> tuple[TrainConfig | None, str | None]:
    """The config from the widgets' current values, or the reason it is invalid."""
    ss = st.session_state
    algo = ss[K + "algo"]
    base = PRESETS[ss[K + "preset"]].values
    values = {**base, "algo": algo, "env_id": ENV_ID}
    for f in WIDGET_FIELDS:
        if K + f in ss:
            values[f] = ss[K + f]
    if algo != "reinforce":
        values["baseline"] = "value"
    if algo == "actor-critic":
        values["n_envs"], values["n_steps"] = 1, 1
    if algo == "reinforce":
        values["n_envs"] = 1
    for f in ("seed", "max_episodes", "shared_layers", "head_layers", "hidden", "n_envs",
              "n_steps"):
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


def is_lesson_actor_critic(config: TrainConfig | None) -> bool:
    """Whether ``config`` has the lesson actor-critic's collapsing ingredients."""
    if config is None or config.algo != "actor-critic":
        return False
    lesson = PRESETS["actor-critic-lesson"].config()
    return (config.shared_layers == lesson.shared_layers and config.lr == lesson.lr
            and config.max_grad_norm == lesson.max_grad_norm
            and config.bootstrap_truncated == lesson.bootstrap_truncated)
