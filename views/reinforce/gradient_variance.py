"""Gradient-variance lab: freeze a policy, sample many batches of episodes, and measure how
biased and how noisy each REINFORCE gradient estimator is."""

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from pgcore import ConfigError, default_config
from pgcore.execution import ACTIVE_STATES
from pgcore.labs.gradvar import STAGES, GradVarLab
from ui import experiment_controls as controls
from ui import links, style, takehome
from ui.charts import palette
from ui.state import session_tasks, slot_pool, task_controls

KEY = "exp.gradvar"
SHORT = {"none": "no baseline", "normalize": "normalised returns", "value": "value baseline"}

st.title("Gradient-variance lab", anchor=False)
st.caption("A baseline should leave the policy gradient's *expected value* alone and shrink "
           "its *noise*. Here you measure both. A REINFORCE policy is trained to a stage and "
           "frozen; then many batches of episodes are played, and each batch gives one "
           "gradient estimate per estimator. They are compared with a reference gradient "
           "from many more episodes.")

STAGE = links.Param("stage", f"{KEY}.stage", "init", links.choice(list(STAGES)),
                    "Freeze the policy")
BATCHES = links.Param("batches", f"{KEY}.batches", 30, links.whole(10, 100), "Batches")
BATCH = links.Param("batch", f"{KEY}.batch", 10, links.whole(2, 20), "Episodes per batch")
SEED = links.Param("seed", f"{KEY}.seed", 0, links.whole(0, 10_000), "Seed")

with st.container(border=True):
    link = links.PageLink(KEY)
    c1, c2, c3 = st.columns(3)
    with c1:
        stage = links.widget(link, STAGE, lambda c: st.radio(
            "Freeze the policy", list(STAGES), format_func=STAGES.get, key=STAGE.key,
            horizontal=True, disabled=c.locked, help=c.help(None)))
        if stage == "init":
            train_eps = 0
            st.caption("The freshly initialised network: no training at all.")
        else:
            train = links.Param("train", f"{KEY}.train.{stage}", 100 if stage == "part" else 600,
                                links.whole(10, 3000), "Training episodes first")
            train_eps = int(links.widget(link, train, lambda c: st.number_input(
                "Training episodes first", 10, 3000, step=50, key=train.key, disabled=c.locked,
                help=c.help("REINFORCE with a learned value baseline (our default) trains "
                            "this long first."))))
    with c2:
        n_batches = int(links.widget(link, BATCHES, lambda c: st.slider(
            "Batches", 10, 100, key=BATCHES.key, disabled=c.locked,
            help=c.help("Gradient estimates per estimator."))))
        batch_size = int(links.widget(link, BATCH, lambda c: st.slider(
            "Episodes per batch", 2, 20, key=BATCH.key, disabled=c.locked,
            help=c.help("Each estimate averages this many episodes."))))
    with c3:
        seed = int(links.widget(link, SEED, lambda c: st.number_input(
            "Seed", 0, 10_000, key=SEED.key, disabled=c.locked, help=c.help(None))))
        st.caption("The value baseline is a V(s) fitted to the frozen policy's own returns on "
                   "separate episodes; the reference is the value-baseline gradient averaged "
                   "over as many batches again, on further episodes.")
    link.finish()

error = None
config = None
try:
    config = default_config("reinforce", "value", seed=seed, max_episodes=max(1, train_eps))
except ConfigError as exc:
    error = str(exc)

page = session_tasks().page(KEY)


def start() -> None:
    lab = GradVarLab(config, train_eps, pool=slot_pool(), n_batches=n_batches,
                     batch_size=batch_size, reference_batches=n_batches, seed=seed)
    lab.stage_key = stage
    page.start(lab)


task_controls(page, None if config is None else start, keys=KEY, error=error,
              start_label="Measure",
              start_help="Train (if asked), freeze, and measure, in the background.")
takehome.take_home_ui(config and takehome.GradVarSetup(seed, train_eps, n_batches, batch_size))


def stats_frame(result) -> pd.DataFrame:
    rows = []
    for name, s in result.stats.items():
        rows.append({"estimator": SHORT[name], "cosine": s.cosine,
                     "relative error": s.relative_error, "noise floor": s.noise_floor,
                     "p (noise only)": s.bias_p, "trace of cov.": s.trace_cov,
                     "variance / |mean|²": s.relative_variance,
                     "wrong-way batches": s.wrong_way})
    return pd.DataFrame(rows)


def draw(snap: dict) -> None:
    state = snap["state"]
    label, color = controls.STATE_BADGES.get(state, (state, "gray"))
    s1, s2 = st.columns([1, 5], vertical_alignment="center")
    with s1:
        st.badge(label, color=color)
    s2.caption(snap["stage"] or snap["message"])
    if state in ACTIVE_STATES:
        st.progress(float(snap["fraction"]))
    if state in ("error", "stopped") and snap["message"]:
        (st.error if state == "error" else st.info)(snap["message"])
    returns = snap["train_returns"]
    if returns and snap["result"] is None:
        df = pd.DataFrame({"episode": np.arange(1, len(returns) + 1), "return": returns})
        style.chart(st, alt.Chart(df).mark_line(color=palette.style(palette.AVERAGE).color).encode(
            x=alt.X("episode:Q", axis=palette.axis()),
            y=alt.Y("return:Q", scale=alt.Scale(domain=[0, 520]), axis=palette.axis())).properties(
            height=180, title="training before the freeze"), width="stretch")
    result = snap["result"]
    if result is None:
        return
    stage_key = getattr(item_now(), "stage_key", "init")
    page.notes[stage_key] = result
    st.markdown(f"**Frozen policy {STAGES.get(stage_key, '')}**: mean return "
                f"{result.mean_return:.1f} over the measured episodes; "
                f"{result.n_batches} batches of {result.batch_size} episodes; "
                f"{result.n_params:,} policy parameters"
                + (f"; the fitted V(s) explains {result.critic_r2:.0%} of the returns' variance"
                   if result.critic_r2 is not None else "") + ".")
    if max(s.noise_floor for s in result.stats.values()) > 0.5:
        st.warning("Here the reference gradient is small next to the noise (the noise floor is "
                   "over half its length), so the bias columns say little: a policy that "
                   "already scores near 500 is close to the top, where the true gradient is "
                   "tiny and every estimate is mostly noise. The variance columns still "
                   "compare the estimators. (CartPole's observation does not include the time "
                   "step either, so near the 500-step limit V(s) cannot know how many steps "
                   "remain, and the value baseline helps less.) Try more batches, or the "
                   "part-trained stage.", icon=":material/info:")
    df = stats_frame(result)
    st.dataframe(df.style.format({c: "{:.3g}" for c in df.columns if c != "estimator"}
                                 | {"wrong-way batches": "{:.0%}"}),
                 hide_index=True, width="stretch")
    st.caption("**No bias**: the cosine with the reference gradient should be near 1, and the "
               "relative error |mean − reference| / |reference| no larger than the noise floor "
               "(what noise alone gives with this many batches; p: the chance that noise alone "
               "gives an error this large, tiny when the mean is really off). Normalised "
               "returns are not exactly unbiased and change the gradient's scale, so for them "
               "look at the cosine. "
               "**Less noise**: variance / |mean|² is the scale-free noise of one batch "
               "gradient; wrong-way batches point against the reference (negative dot product).")
    left, right = st.columns(2, gap="medium")
    bars = df[["estimator", "variance / |mean|²"]]
    order = list(SHORT.values())
    y = alt.Y("estimator:N", title=None, sort=order, axis=alt.Axis(labelLimit=200))
    color = palette.color("estimator", order, legend_=None)
    style.chart(left, alt.Chart(bars).mark_bar().encode(
        x=alt.X("variance / |mean|²:Q", title="variance / |mean|² of one batch gradient",
                axis=palette.axis()),
        y=y, color=color, tooltip=["estimator:N", alt.Tooltip("variance / |mean|²:Q",
                                                               format=".3g")]
    ).properties(height=alt.Step(40), title="noise: smaller is better"), width="stretch")
    cos = pd.concat([pd.DataFrame({"estimator": SHORT[n], "cosine": s.batch_cosines})
                     for n, s in result.stats.items()], ignore_index=True)
    style.chart(right, alt.Chart(cos).mark_tick(thickness=2, opacity=0.6).encode(
        x=alt.X("cosine:Q", scale=alt.Scale(domain=[-1, 1]), axis=palette.axis(),
                title="cos(batch gradient, reference)"), y=y, color=color
    ).properties(height=alt.Step(40), title="each batch's direction (left of 0: wrong way)"),
        width="stretch")
    st.download_button("Statistics (CSV)", df.to_csv(index=False).encode(),
                       file_name=f"gradient-variance-{stage_key}.csv", mime="text/csv",
                       icon=":material/table:", key=f"{KEY}.csv", on_click="ignore")
    measured = page.notes
    if len(measured) > 1:
        st.subheader("Across the stages you measured", anchor=False)
        rows = []
        for sk in STAGES:
            if sk in measured:
                for name, s in measured[sk].stats.items():
                    rows.append({"stage": STAGES[sk], "estimator": SHORT[name],
                                 "cosine": f"{s.cosine:.3f}",
                                 "variance / |mean|²": f"{s.relative_variance:.3g}",
                                 "wrong-way batches": f"{s.wrong_way:.0%}"})
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def item_now():
    return page.task


st.caption("The three estimators weight ∇log π(a_t|s_t) by A_t = G_t (no baseline), by the "
           "episode's returns standardised (normalised returns), or by G_t − V(s_t) (value "
           "baseline).")
controls.live_ui(
    KEY, draw, "Choose a stage and press **Measure**. At initialisation it takes a few "
    "seconds; a trained policy plays long episodes and takes longer.")
