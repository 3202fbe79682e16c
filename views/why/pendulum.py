"""Continuous actions: a Gaussian policy learns Pendulum-v1's torque live, in the background,
like the Train page's run; beside it, the value-based alternative on a discretised torque."""

import streamlit as st

from pgcore import PRESETS, algos
from pgcore.execution import ACTIVE_STATES
from pgcore.execution.runner import BackgroundRun
from ui import links, state, style
from ui import pendulum as pc
from ui.verdicts import PARTLY, Verdict

KEY = "pend"
DQN_KEY = "pend.dqn"
EPISODES = (100, 250, 500, 750, 1000, 1500, 2000)
DEFAULT_EPISODES = 1000  # 200k env steps: PPO's preset budget, about 2 minutes on 2 cores
MAX_SECONDS = 900.0
MAX_SEED = 10_000
BINS = (3, 5, 11)
DEFAULT_BINS = 5
REFRESH_SECONDS = 0.5
BADGES = {"waiting": ("waiting for a free slot", "orange"), "starting": ("starting", "orange"),
          "running": ("training", "blue"), "paused": ("paused", "violet"),
          "finished": ("finished", "green"), "stopped": ("stopped", "gray"),
          "diverged": ("diverged", "red"), "error": ("error", "red")}

pool = state.slot_pool()
tasks = state.session_tasks()
pg_page, dqn_page = tasks.page(KEY), tasks.page(DQN_KEY)
ss = st.session_state

st.title("Continuous actions", anchor=False)
st.markdown(
    "Pendulum-v1 hangs a pole from a motor. Each step the agent chooses a **torque**, any "
    "number from −2 to 2, to swing the pole up and keep it upright. A value-based agent "
    "learns a score Q(s, a) for every action and plays the one with the highest score, so it "
    "needs a list of actions to look through. A torque has no such list: between any two "
    "torques there are infinitely many more. A policy network does not search. For each "
    "state it outputs the centre μ(s) of a bell curve over torques, and the curve has a width "
    "σ; to act, the agent draws one torque from that curve. Learning shifts μ(s) towards the "
    "torques that turned out better than expected and, as the agent becomes sure, narrows σ. "
    "Nothing in that needs the actions to be countable.")
st.caption(
    "Here μ(s) is the network's output (PPO's default, as in Stable-Baselines3) or, with "
    "a squashed mean (A2C's preset), 2·tanh of it, which keeps the centre inside "
    "the range; log σ is one learned number shared by every state "
    "(`pgcore.rl.heads.GaussianHead`). A drawn torque can fall outside [−2, 2]: the environment "
    "gets it clipped, but the update uses the number that was actually drawn. Reward: "
    "−(angle² + 0.1·speed² + 0.001·torque²) per step, 200 "
    "steps per episode, so a return near 0 is perfect; a random torque scores about −1,200, "
    f"and one that swings up and holds the pole scores above about −{-pc.GOOD_RETURN:.0f}.")


# ----- settings -------------------------------------------------------------------------------


def _clean(key: str, ok, default) -> str | None:
    """Put ``default`` back in a widget's session-state key whose value the widget cannot
    take (an old session, a hand-made link) and say so in one line."""
    if key in ss and not ok(ss[key]):
        bad, ss[key] = ss[key], default
        return f"{bad!r} is not a valid value here; back to {default!r}"
    return None


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _restore_from(page, prefix: str, fields: dict) -> None:
    """Back from another page (Streamlit forgot the widgets): show the current run's
    settings."""
    for field, value in fields.items():
        if page.task is not None and f"{prefix}.{field}" not in ss:
            ss[f"{prefix}.{field}"] = value


def start_run(page, config, preset_name: str) -> None:
    """Stop the page's current run (if any) and start ``config`` in the background (a button
    callback). It trains where a Train-page run does (:func:`ui.state.training_hosts`)."""
    page.notes["preset"] = preset_name
    page.notes["frame"] = {}
    page.start(BackgroundRun(config, pool, frame_every=state.FRAME_EVERY,
                             max_pause_seconds=state.MAX_PAUSE_SECONDS,
                             idle_timeout=state.IDLE_TIMEOUT, hosts=state.training_hosts()))


link = links.PageLink(KEY)
names = pc.policy_presets()
P_PRESET = links.Param("preset", f"{KEY}.preset", names[0], links.choice(names),
                       "Algorithm and preset")
P_SEED = links.Param("seed", f"{KEY}.seed", 0, links.whole(0, MAX_SEED), "Seed")
P_EPISODES = links.Param("episodes", f"{KEY}.episodes", DEFAULT_EPISODES,
                         links.choice(EPISODES), "Episodes")
P_BINS = links.Param("bins", f"{DQN_KEY}.bins", DEFAULT_BINS, links.choice(BINS),
                     "Torque values (bins)")
if pg_page.task is not None:
    c = pg_page.task.config
    _restore_from(pg_page, KEY, {"preset": pg_page.notes.get("preset", names[0]),
                                 "seed": c.seed, "episodes": c.max_episodes})
# The widgets read their values from session state, never twice: the link's, the session's
# or the defaults.
pg_controls = {p.name: link.bind(p) for p in (P_PRESET, P_SEED, P_EPISODES)}
problems = [p for p in (
    _clean(f"{KEY}.preset", lambda v: v in names, names[0]),
    _clean(f"{KEY}.seed", lambda v: _is_int(v) and 0 <= v <= MAX_SEED, 0),
    _clean(f"{KEY}.episodes", lambda v: v in EPISODES, DEFAULT_EPISODES)) if p]

with st.container(border=True):
    for p in problems:
        st.error(f"{p}.", icon=":material/error:")
    c1, c2, c3 = st.columns([2.2, 1, 1.6])
    c_preset = pg_controls["preset"]
    name = ss[P_PRESET.key] if c_preset.hidden else c1.selectbox(
        "Algorithm and preset", names, key=P_PRESET.key, format_func=pc.preset_label,
        disabled=c_preset.locked,
        help=c_preset.help("The policy-gradient presets for Pendulum-v1 in pgcore's registry."))
    c_seed = pg_controls["seed"]
    seed = int(ss[P_SEED.key] if c_seed.hidden else c2.number_input(
        "Seed", 0, MAX_SEED, step=1, key=P_SEED.key, disabled=c_seed.locked,
        help=c_seed.help("The same seed and settings give the same run.")))
    c_episodes = pg_controls["episodes"]
    episodes = int(ss[P_EPISODES.key] if c_episodes.hidden else c3.select_slider(
        "Episodes", EPISODES, key=P_EPISODES.key, disabled=c_episodes.locked,
        format_func=lambda v: f"{v:,} ({v * pc.STEPS_PER_EPISODE // 1000}k steps)",
        help=c_episodes.help(f"The budget: {pc.STEPS_PER_EPISODE} env steps per episode. Each run "
                      f"also stops after {MAX_SECONDS / 60:.0f} minutes of training.")))
    st.caption(PRESETS[name].description)
    config, error = pc.pendulum_config(name, seed, episodes, MAX_SECONDS)
    state.task_controls(
        pg_page, None if config is None else (lambda: start_run(pg_page, config, name)),
        keys=f"{KEY}.ctl", error=error, pausable=True,
        start_help="Train this preset in the background; you can change pages meanwhile.",
        stop_help="End the run; its charts stay.", reset_help="Stop and forget this run.")
    share_box = st.container()  # "Share this setup", filled once every setting is bound


# ----- the policy-gradient run ----------------------------------------------------------------


def status_line(snap, preset_name: str | None) -> str:
    label, color = BADGES.get(snap.state, (snap.state, "gray"))
    c = snap.config
    text = f"{algos.get(c.algo).title} on {c.env_id}, seed {c.seed}"
    bins = getattr(c, "action_bins", None)
    if bins:
        text += f" · {bins} torque values"
    elif preset_name in PRESETS:
        text += f" · {pc.preset_label(preset_name)}"
    return f":{color}-badge[{label}] &nbsp; :gray[{text}]"


def draw_frame(snap, page, who: str, empty: str):
    """The run's latest frame with its caption (the JPEG cached in the page's notes); returns
    the frame, or None (and says ``empty``) before there is one."""
    frame = snap.frame
    data = pc.frame_jpeg(frame, page.notes.setdefault("frame", {}))
    if data is None:
        st.caption(empty)
        return None
    st.image(data, width="stretch", caption=f"{who}: episode {frame.episode:,}, "
                                            f"step {frame.step}")
    return frame


def progress(snap) -> None:
    c = snap.config
    st.progress(snap.progress(), text=f"{snap.episode_count:,} of {c.max_episodes:,} episodes"
                                      f" · {snap.env_steps:,} env steps · "
                                      f"{snap.wall_seconds:,.1f} s of training")


def draw_pg(snap) -> None:
    st.markdown(status_line(snap, pg_page.notes.get("preset")))
    st.html(pc.metrics_html(snap))
    progress(snap)
    state.end_note(snap, pool)
    style.chart(st, pc.returns_spec(snap), width="stretch")
    left, right = st.columns([1, 1.35], gap="medium")
    with left:
        frame = draw_frame(snap, pg_page, "the policy acting",
                           "The pendulum appears once training has started.")
        if frame is not None:
            torque = pc.frame_torque(frame)
            if torque is not None:
                mu, sigma = torque
                st.caption(
                    f"For this state the policy's torque is N(μ = {mu:+.2f}, σ = {sigma:.2f}). "
                    "Orange arrow: μ(s), turning the way it pushes (positive: "
                    "counter-clockwise). Blue band: μ ± σ, where about two draws in three "
                    "land. Grey: the range −2 … 2, a quarter turn either side of the rod. "
                    "The torque applied is one draw, clipped to that range.")
    with right:
        style.chart(st, pc.std_spec(snap), width="stretch")
        _, sigma = pc.std_history(snap)
        if len(sigma):
            st.caption(
                f"σ during the latest update: {sigma[-1]:.3f} (the entropy of N(μ, σ²) is "
                "log σ + ½·log(2πe), so the entropy each update reports gives σ). A wide σ "
                "tries many torques; as the agent learns which ones work, σ shrinks and "
                "its torques become nearly the same every time in the same state. "
                + ("There is no entropy bonus here, so only the returns move σ."
                   if snap.config.entropy_beta == 0 else
                   f"The entropy bonus (β = {snap.config.entropy_beta:g}) pushes it back up."))


@st.fragment(run_every=REFRESH_SECONDS)
def pg_live() -> None:
    snap = pg_page.snapshot()
    if snap is None:
        return
    draw_pg(snap)
    if snap.state not in ACTIVE_STATES and pg_page.last_state in ACTIVE_STATES:
        pg_page.last_state = snap.state
        st.rerun()


pg_snap = pg_page.snapshot()
if pg_snap is None:
    st.info("Press **Start** to train the policy on Pendulum. The return, the pendulum with "
            "the policy's torque, and σ appear here and update about twice a second.",
            icon=":material/arrow_upward:")
elif state.shows_live(pg_page, pg_snap.state):  # (ended since its buttons: it reruns)
    pg_live()
else:
    draw_pg(pg_snap)


# ----- the value-based alternative: DQN on a discretised torque --------------------------------

st.header("The value-based alternative: DQN on a discretised torque", anchor=False)
st.markdown(
    "An argmax needs a finite list. To give DQN one, cut the torque range into k evenly "
    "spaced values (k = 5: −2, −1, 0, 1, 2). The Q-network then has one output per value and "
    "DQN plays the one with the largest Q. For one torque that is cheap. A robot, though, has "
    "a torque per joint, and every combination of the joints' values is an action of its own: "
    "k values in each of d dimensions make **k^d** Q outputs. The policy network above needs "
    "2 outputs per dimension, a mean and a log σ (the log σ does not even depend on the "
    "state), whatever d is.")


def dqn_settings(dqn_name: str, table) -> None:
    if dqn_page.task is not None:
        _restore_from(dqn_page, DQN_KEY, {"bins": getattr(dqn_page.task.config, "action_bins",
                                                          DEFAULT_BINS)})
    bins_c = link.bind(P_BINS)
    dqn_problem = _clean(f"{DQN_KEY}.bins", lambda v: v in BINS, DEFAULT_BINS)
    left, right = st.columns([1, 1.25], gap="medium")
    with left:
        with st.container(border=True):
            if dqn_problem:
                st.error(f"{dqn_problem}.", icon=":material/error:")
            bins = int(ss[P_BINS.key] if bins_c.hidden else st.selectbox(
                "Torque values (bins)", BINS, key=P_BINS.key, disabled=bins_c.locked,
                help=bins_c.help("How many evenly spaced torques from −2 to 2 DQN may choose "
                                 "from.")))
            own = PRESETS[dqn_name].values.get("action_bins")
            st.caption(f"The torques it may play: {pc.bin_text(bins)}. Same seed ({seed}) and "
                       f"budget ({episodes:,} episodes, {episodes * pc.STEPS_PER_EPISODE:,} env "
                       "steps) as the policy gradient above. The preset: "
                       + PRESETS[dqn_name].description
                       + (f" Here with {bins} values instead of its {own}."
                          if own not in (None, bins) else ""))
    with right:
        st.dataframe(table, hide_index=True, width="stretch", column_config={
            "action dimensions d": st.column_config.Column(  # the full name was too wide
                "dimensions d", help="Action dimensions: one torque per joint.")})
        st.caption(
            "Q outputs a discretised DQN needs: one per combination of k values in each of "
            "the d action dimensions (d: Pendulum's 1 torque up to Humanoid's 17 joints). A "
            "softmax over them would be just as long; the Gaussian stays at 2·d numbers.")
    dqn_config, dqn_error = pc.pendulum_config(dqn_name, seed, episodes, MAX_SECONDS,
                                               action_bins=bins)
    state.task_controls(
        dqn_page, None if dqn_config is None else
        (lambda: start_run(dqn_page, dqn_config, dqn_name)),
        keys=f"{DQN_KEY}.ctl", error=dqn_error, pausable=True,
        start_help="Train DQN with this many torque values, in the background.",
        stop_help="End the run; its curve stays.", reset_help="Stop and forget this run.")


def series_name(snap) -> str:
    c = snap.config
    bins = getattr(c, "action_bins", None)
    return f"{algos.get(c.algo).title}, {bins} torque values" if bins else \
        f"{algos.get(c.algo).title}, Gaussian policy"


def draw_compare(pg, dq) -> None:
    if dq is None:
        st.info("Press **Start** here to train DQN on the same seed and budget; its curve "
                "appears next to the policy gradient's.", icon=":material/arrow_upward:")
        return
    st.markdown(status_line(dq, dqn_page.notes.get("preset")))
    st.html(pc.metrics_html(dq))
    progress(dq)
    state.end_note(dq, pool)
    runs = {series_name(s): s for s in (pg, dq) if s is not None}
    budget = max(s.config.max_episodes for s in runs.values()) * pc.STEPS_PER_EPISODE
    left, right = st.columns([1.6, 1], gap="medium")
    with left:
        style.chart(st, pc.compare_spec(runs, budget), width="stretch")
        st.caption("100-episode average return against env steps, both runs on one axis "
                   "(dashed: −200). DQN's training returns include its ε-greedy random "
                   "steps.")
    with right:
        frame = draw_frame(dq, dqn_page, "DQN acting",
                           "The pendulum appears once DQN has started.")
        if frame is not None:
            choice = pc.frame_choice(frame)
            if choice is not None:
                chosen = f"{choice[0]:+.2f}".replace("-", "−")
                st.caption(f"Orange: the torque with the largest Q(s, a), {chosen}; "
                           f"grey dots: the {len(choice[1])} torques it may choose from.")


@st.fragment(run_every=REFRESH_SECONDS)
def compare_live() -> None:
    pg, dq = pg_page.snapshot(), dqn_page.snapshot()
    draw_compare(pg, dq)
    if dq is not None and dq.state not in ACTIVE_STATES and dqn_page.last_state in ACTIVE_STATES:
        dqn_page.last_state = dq.state
        st.rerun()


value_names, table = pc.value_presets(), pc.discretisation_rows()
if not value_names or table is None:
    st.info("DQN on a discretised torque is not in this version of pgcore yet.",
            icon=":material/info:")
else:
    dqn_settings(value_names[0], table)
    if state.shows_live(dqn_page, dqn_page.state) or (
            state.shows_live(pg_page, pg_page.state) and dqn_page.task is not None):
        compare_live()
    else:
        draw_compare(pg_page.snapshot(), dqn_page.snapshot())

LESSON_CHECKS = (
    Verdict("value-based methods handle discrete actions only; a continuous action leaves no "
            "finite list to take the argmax over.", PARTLY,
            "For DQN as written, yes: pgcore's DQN refuses Pendulum's torque until it is cut "
            "into values. But with a single torque the cut is cheap, and then DQN does well: "
            "on seed 0, with 5 values, its 100-episode average reached −192 after 26k env "
            "steps and −139 after 53k (60 s), where PPO with the default settings above needs "
            "about 150k for −200 (149k, the median of seeds 0-4; best averages −172 to −186). "
            "What a list cannot survive is many action dimensions: the k^d table. Press Start "
            "to measure your own.",
            "measured once on a shared 2-core machine: DQN one run (seed 0), PPO seeds 0-4 of "
            "`bench/bench_pendulum.py`; not your runs"),
    Verdict("a policy network outputs a mean and a spread.", PARTLY,
            "Ours outputs the mean from the state; the spread is one learned number for all "
            "states. That is why σ is a single curve here and why the entropy each update "
            "reports tells us σ.", "by construction: the Gaussian policy head, no runs needed"),
)

with st.container(border=True):
    st.markdown("##### What the lesson says, and what we measured")
    for check in LESSON_CHECKS:
        st.markdown(check.markdown())

link.finish(where=share_box)
