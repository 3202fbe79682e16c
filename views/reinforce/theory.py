"""Theory: each idea as a formula, next to the pgcore code that computes it."""

import streamlit as st

from pgcore.algos import a2c, dqn, ppo, reinforce
from pgcore.algos.actor_critic import OneStepAgent
from pgcore.algos.common import Agent, HandAgent
from pgcore.algos.dqn import DQNAgent, linear_schedule, polyak_update, td_loss_grad
from pgcore.algos.ppo import (
    PPOAgent,
    approx_kl,
    clipped_surrogate,
    clipped_surrogate_grad,
    probability_ratio,
)
from pgcore.algos.reinforce import ReinforceAgent, reinforce_advantages
from pgcore.rl import backprop
from pgcore.rl import returns as R
from pgcore.rl.heads import (
    CategoricalHead,
    GaussianHead,
    PolicyTerms,
    gaussian_terms,
    head_for,
    policy_terms,
    sample_actions,
)
from pgcore.rl.networks import PolicyValueNet
from ui import navigation
from ui.docs import code_block

PAGES = {e.url_path: e.path for e in navigation.entries()}  # linked by file, from any entry point

st.title("Theory", anchor=False)
st.markdown(
    "Each section states one idea, writes it as a formula, and shows the `pgcore` code that "
    "computes it. The code is read from the running package with `inspect.getsource`, so what "
    "you read here is exactly what the Train page runs. Each algorithm is its **loss**, "
    "written in PyTorch the way the lesson writes it; autograd's `.backward()` does the rest. "
    "Four of the five then compute the same gradient faster by hand, an optimisation that "
    "section 15 shows and the tests hold equal to autograd of the loss."
)

SECTIONS = [
    ("policy-vs-value", "Two ways to choose actions"),
    ("theorem", "The policy gradient theorem"),
    ("reinforce", "REINFORCE"),
    ("baselines", "Baselines: less noise, same expectation"),
    ("actor-critic", "Actor-critic and the TD error"),
    ("a2c", "A2C: n-step returns and GAE"),
    ("shared", "One network, one loss: shared trunks"),
    ("clipping", "Gradient clipping"),
    ("entropy", "The entropy bonus"),
    ("truncation", "Terminated is not truncated"),
    ("collapse", "The lesson's actor-critic on CartPole-v1"),
    ("dqn", "The value-based side: DQN's TD target, target networks, Double DQN"),
    ("ppo", "PPO: several epochs per rollout, a clipped probability ratio"),
    ("gaussian", "Continuous actions: a Gaussian policy"),
    ("by-hand", "How the Train page makes it fast: the same gradients by hand"),
]
with st.container(border=True):
    st.markdown("**On this page**")
    cols = st.columns(2)
    half = (len(SECTIONS) + 1) // 2
    for i, (anchor, title) in enumerate(SECTIONS):
        cols[i // half].markdown(f"{i + 1}. [{title}](#{anchor})")


def section(anchor: str) -> tuple:
    title = dict(SECTIONS)[anchor]
    number = [a for a, _ in SECTIONS].index(anchor) + 1
    st.header(f"{number}. {title}", anchor=anchor, divider="gray")
    return st.columns([1, 1.2], gap="large")


# 1 ---------------------------------------------------------------------------------------------
text, code = section("policy-vs-value")
with text:
    st.markdown(
        "A **value-based** method such as DQN learns how good each action is, Q(s, a), and acts "
        "by taking the best one. The policy has no parameters of its own: it is whatever the "
        "argmax says. A **policy-based** method gives the policy its own parameters θ and "
        "adjusts them directly, so that actions followed by high returns become more probable."
    )
    st.latex(r"\begin{aligned} \text{value-based:}\quad & a_t = \arg\max_a Q(s_t, a) \\"
             r"\text{policy-based:}\quad & a_t \sim \pi_\theta(\cdot \mid s_t)"
             r"\end{aligned}")
    st.markdown(
        """
| | value-based (DQN) | policy-based (REINFORCE, A2C) |
|---|---|---|
| learns | Q(s, a), acts greedily | π(a \\| s) itself (often V(s) too) |
| actions | a short list to take the max over | any distribution, continuous ones too |
| exploration | added on top (ε-greedy) | built in: actions are sampled |
| a small change in θ | can flip the argmax (and the behaviour) | nudges the probabilities |
| data | off-policy: replays old transitions | on-policy: each batch is used once |
| optimum it can express | deterministic | stochastic when that is better |

Neither column wins everywhere: replay makes DQN thrifty with environment steps, while policy
methods reach where an argmax cannot. Most modern agents mix the two: an actor (policy) with a
critic (value function), which is where this page ends up.
"""
    )
with code:
    code_block(Agent.act, "sampling is the exploration; greedy=True takes the argmax instead")
    code_block(sample_actions, "one draw per row, from the agent's own seeded generator")

# 2 ---------------------------------------------------------------------------------------------
text, code = section("theorem")
with text:
    st.markdown("The goal is the expected discounted return of trajectories τ played with π_θ:")
    st.latex(r"J(\theta) = \mathbb{E}_{\tau \sim \pi_\theta}"
             r"\Big[\sum_{t=0}^{T-1} \gamma^t r_t\Big]")
    st.markdown(
        "θ changes *which* trajectories happen, which looks hard to differentiate. The "
        "log-derivative identity ∇p = p ∇log p turns the gradient of an expectation into an "
        "expectation we can sample. The probability of a trajectory is a product of the start "
        "distribution, the policy's choices and the environment's transitions; only the "
        "policy depends on θ, so the environment's dynamics drop out of the gradient and we "
        "never need a model of them:"
    )
    st.latex(r"\nabla_\theta \log p_\theta(\tau) = "
             r"\sum_t \nabla_\theta \log \pi_\theta(a_t \mid s_t)")
    st.markdown(
        "An action cannot change the rewards that came before it, so each log-probability is "
        "weighted only by the reward **from its step on**, the return-to-go G_t:"
    )
    st.latex(r"\nabla_\theta J(\theta) = \mathbb{E}\Big[\sum_t \nabla_\theta \log \pi_\theta"
             r"(a_t \mid s_t)\, G_t\Big]")
    st.latex(r"G_t = \sum_{k \ge t} \gamma^{k-t} r_k = r_t + \gamma\, G_{t+1}")
    st.markdown(
        "In words: push up the log-probability of every action you took, in proportion to how "
        "much reward followed it. ∇log π is the **score function**; autograd computes it from "
        "log π, so we only ever write a loss. (Strictly, the discounted objective carries an "
        "extra γ^t in front of each term; like almost every implementation, the lesson's and "
        "ours drop it, which weights late steps a little more.)"
    )
with code:
    code_block(policy_terms, "log π(a_t|s_t) and the entropy from one log-softmax")
    code_block(R.discounted_returns, "G_t in one backward pass, O(T)")

# 3 ---------------------------------------------------------------------------------------------
text, code = section("reinforce")
with text:
    st.markdown(
        "REINFORCE (Williams, 1992) estimates that expectation with the single episode just "
        "played, then takes one gradient step. Optimisers *minimise*, so the loss is the "
        "negative of what we want to increase, with the weights A_t held constant:"
    )
    st.latex(r"L(\theta) = -\frac{1}{T}\sum_{t=0}^{T-1} \log \pi_\theta(a_t \mid s_t)\, A_t")
    st.latex(r"A_t = G_t \quad \text{(no baseline yet)}")
    st.markdown(
        "It is unbiased and simple, and it is noisy: G_t comes from one sampled episode, and "
        "two episodes from the same state can score very differently by luck alone. Every "
        "later section is, one way or another, about that noise.\n\n"
        "Two implementation choices: the lesson **sums** over time steps, so longer episodes "
        "take bigger steps; we **average** by default (*Loss over time steps* in the advanced "
        "settings). And acting runs without building an autograd graph; the update recomputes "
        "all log-probabilities in one batched forward pass, which gives the same gradient for "
        "a fraction of the cost."
    )
    st.markdown(
        "**How noisy, measured** (the lesson's exercise 1, on the reference runs, 1,000 "
        "episodes each): ten seeds (100-109) of plain REINFORCE end with 100-episode averages "
        "from 74 to 500, a standard deviation across seeds of 174. The lesson expects three DQN "
        "runs to cluster tightly. On CartPole-v1 they do not: our DQN's seeds 100-102 end from "
        "118 to 500 (166); the lesson's own DQN settings from 276 to 388 (46), closer at the "
        "end but no tighter on the way (58 against REINFORCE's 97, averaged over the run)."
    )
    st.page_link(PAGES["seeds_variance"], label="Compare the seeds yourself",
                 icon=":material/stacked_line_chart:")
with code:
    code_block(reinforce.loss, "the loss, term by term: autograd's gradient of it is the update")
    code_block(ReinforceAgent.update, "one episode: returns, advantages, the loss, one step")

# 4 ---------------------------------------------------------------------------------------------
text, code = section("baselines")
with text:
    st.markdown("Subtract any function of the **state alone**, b(s), from the return:")
    st.latex(r"\begin{aligned} \nabla_\theta J = \mathbb{E}\Big[\sum_t"
             r" & \nabla_\theta \log \pi_\theta(a_t \mid s_t) \\"
             r" & \cdot \big(G_t - b(s_t)\big)\Big] \end{aligned}")
    st.markdown("The expectation does not move, because the score has mean zero in every state:")
    st.latex(r"\begin{aligned} & \mathbb{E}_{a \sim \pi_\theta}"
             r"\big[\nabla_\theta \log \pi_\theta(a \mid s)\big]\,b(s) \\"
             r"&\quad = b(s) \sum_a \pi_\theta(a \mid s)\,"
             r"\frac{\nabla_\theta \pi_\theta(a \mid s)}{\pi_\theta(a \mid s)} \\"
             r"&\quad = b(s)\, \nabla_\theta"
             r" \underbrace{\textstyle\sum_a \pi_\theta(a \mid s)}_{=1} = 0 \end{aligned}")
    st.markdown(
        "So a baseline cannot bias the gradient; it can only change its variance. The natural "
        "choice is the state's value V(s) = E[G_t | s_t = s]: the **advantage** "
        "A_t = G_t − V(s_t) then says how much better this continuation went than usual from "
        "that state, and the large part of G_t that every action shares cancels out. V is "
        "learned by regression on the returns, and is treated as a constant (detached) inside "
        "the advantage:"
    )
    st.latex(r"A_t = G_t - V_\phi(s_t)")
    st.latex(r"L_V(\phi) = \frac{1}{T}\sum_t \big(V_\phi(s_t) - G_t\big)^2")
    st.markdown(
        "The lesson's first fix is cheaper: **normalise** the returns of each episode to mean 0 "
        "and standard deviation 1. Centring acts like a baseline (though it uses the episode's "
        "own returns, not the state alone) and scaling evens out the step size across "
        "episodes. Try all three on the Train page (*Baseline*), with the same seed."
    )
with code:
    code_block(reinforce_advantages)
    code_block(R.normalize)

# 5 ---------------------------------------------------------------------------------------------
text, code = section("actor-critic")
with text:
    st.markdown(
        "REINFORCE waits for the episode to end. An **actor-critic** replaces the rest of the "
        "return with the critic's estimate of it, and learns after every step. The advantage "
        "becomes the **temporal-difference (TD) error**, where d_t = 1 only if s_{t+1} "
        "terminated the task:"
    )
    st.latex(r"\delta_t = r_t + \gamma\,(1 - d_t)\,V(s_{t+1}) - V(s_t)")
    st.latex(r"L = \underbrace{-\log \pi_\theta(a_t \mid s_t)\,\delta_t}_{\text{actor}}"
             r"+ c_V\, \underbrace{\delta_t^{\,2}}_{\text{critic}}")
    st.markdown(
        "The trade: one reward of noise instead of a whole episode's (much lower variance), "
        "but the target now leans on V, so the critic's mistakes become the actor's (bias). "
        "If V is badly wrong, the actor is pushed in the wrong direction; the two learn from "
        "each other, which can help or spiral."
    )
with code:
    code_block(R.td_errors)
    code_block(a2c.loss, "the actor-critic loss: on one transition here, on a rollout in A2C")

# 6 ---------------------------------------------------------------------------------------------
text, code = section("a2c")
with text:
    st.markdown(
        "Between one step and a whole episode lies the **n-step return**: n real rewards, then "
        "the critic's estimate for the rest."
    )
    st.latex(r"G_t^{(n)} = \sum_{k=0}^{n-1} \gamma^k r_{t+k} + \gamma^n V(s_{t+n})")
    st.markdown(
        "**Generalised advantage estimation** blends all horizons with one knob λ: λ = 0 gives "
        "the one-step TD error, λ = 1 the n-step return minus V(s_t). Inside a rollout, an "
        "episode boundary stops the sum."
    )
    st.latex(r"A_t^{\mathrm{GAE}(\gamma,\lambda)} = "
             r"\sum_{l \ge 0} (\gamma\lambda)^l\, \delta_{t+l}")
    st.markdown(
        "**A2C** (synchronous advantage actor-critic) steps N copies of the environment "
        "together for n steps and learns from all N·n transitions in one update. The batch "
        "mixes different episodes, which decorrelates the data, and one forward/backward pass "
        "over the batch is much cheaper than N·n tiny ones."
    )
with code:
    code_block(R.gae_advantages)
    code_block(R.nstep_returns)
    code_block(a2c.rollout_targets, "A_t and the critic's targets R_t for the loss above")

# 7 ---------------------------------------------------------------------------------------------
text, code = section("shared")
with text:
    st.markdown(
        "Actor and critic both need to understand the state, so they can share the first "
        "layers (a **trunk**) and keep separate heads. One optimiser then minimises one "
        "combined loss:"
    )
    st.latex(r"L = L_\pi + c_V\, L_V - \beta\, \bar{H}")
    st.markdown(
        "With a shared trunk, the critic's gradient also reshapes the features the actor "
        "reads. The critic's loss is measured in squared return units and can be far larger "
        "than the actor's, so c_V (*value-loss weight*) sets how much it may pull. With "
        "**Shared layers = 0** the two networks are separate and only share the optimiser."
    )
with code:
    code_block(head_for, "the env's action space picks the policy head")
    code_block(PolicyValueNet.__init__, "trunk, policy head, value head")
    code_block(PolicyValueNet.forward)

# 8 ---------------------------------------------------------------------------------------------
text, code = section("clipping")
with text:
    st.markdown("Before each step, the whole gradient g (all parameters together) is rescaled "
                "if its norm exceeds c; the direction is kept, only the length is capped:")
    st.latex(r"g \leftarrow g \cdot \min\!\Big(1, \frac{c}{\lVert g \rVert}\Big)")
    st.markdown(
        "It protects against one unlucky batch. Two things to keep in mind when reading the "
        "charts: the **gradient norm** plotted is measured *before* clipping, so a norm that "
        "keeps rising is a warning even when every step is capped; and clipping the *global* "
        "norm means that when one loss dominates (a huge critic loss, say) the other's share "
        "of the step shrinks with it."
    )
with code:
    code_block(Agent.optimize, "autograd's step (REINFORCE): the norm before clipping; refuses "
               "NaN steps")
    code_block(HandAgent.step, "the same step for the by-hand updates (section 15)")

# 9 ---------------------------------------------------------------------------------------------
text, code = section("entropy")
with text:
    st.markdown("The entropy of the policy in a state measures how spread out its choice is:")
    st.latex(r"H\big(\pi(\cdot \mid s)\big) = -\sum_a \pi(a \mid s)\,\log \pi(a \mid s)")
    st.latex(r"\begin{gathered} 0 \le H \le \ln|\mathcal{A}| \\"
             r"(= \ln 2 \approx 0.693 \text{ on CartPole}) \end{gathered}")
    st.markdown(
        "Adding β·H to the objective (so subtracting it from the loss) rewards keeping some "
        "probability on the alternatives, which slows a premature slide into a deterministic "
        "policy. On the Train page the **entropy** chart is the one to watch: a fall to 0 early "
        "in a run means the policy has stopped exploring, and a policy that no longer explores "
        "only sees the consequences of the one thing it already does."
    )
with code:
    code_block(policy_terms, "the entropy term comes from the same log-softmax")

# 10 --------------------------------------------------------------------------------------------
text, code = section("truncation")
with text:
    st.markdown(
        "Gymnasium ends an episode for one of two reasons, and they mean different things:\n\n"
        "- **terminated**: the task itself ended (the pole fell). Nothing follows: the value "
        "of the next state is 0.\n"
        "- **truncated**: a clock stopped it (CartPole-v1 stops at 500 steps). The pole was "
        "still up and the return would have continued, so we **bootstrap** from V(s')."
    )
    st.latex(r"y_t = \begin{cases} r_t & \text{terminated} \\"
             r" r_t + \gamma\, V(s_{t+1}) & \text{otherwise,} \\"
             r" & \text{truncated included} \end{cases}")
    st.markdown(
        "Treating a truncation as an ending (as the lesson's loop does with `done or "
        "truncated`) teaches the critic that a perfectly balanced state is worth almost "
        "nothing when it happens to be step 500, and about 1/(1−γ) ≈ 100 at step 10. "
        "CartPole's observation has no clock in it, so the critic is given two different "
        "targets for the same input. *Bootstrap truncated episodes* in the advanced settings "
        "switches between the two treatments."
    )
with code:
    code_block(R.discounted_returns, "bootstrap = V(s_T) when the episode was truncated")

# 11 --------------------------------------------------------------------------------------------
text, code = section("collapse")
with text:
    st.markdown(
        "The lesson's one-step actor-critic (one shared 128-unit trunk layer, Adam at 3·10⁻⁴, "
        "one update per environment step, the whole gradient clipped to norm 0.5, truncation "
        "treated as an ending) does not learn CartPole-v1 here: on every seed we tried it "
        "settles into episodes of about 9 steps, with the policy entropy near 0 and the "
        "critic's V(s₀) far above the return the episodes really collect.\n\n"
        "**The cause is the clip.** On a one-sample update the unclipped gradient norm is far "
        "above 0.5 almost every step, so clipping cuts every update to the same length and "
        "throws away the size of the TD error δ. Early on about 9 in 10 TD errors are positive "
        "(V starts near 0, every step pays +1), so almost every sampled action is pushed up by "
        "the same amount, while the large negative δ when the pole falls counts no more than any "
        "other step. Reinforcing whatever was sampled drives the policy to a deterministic one, "
        "and the critic, whose big corrections are cut just the same, drifts upward.\n\n"
        "| change to the lesson's settings (seeds 0-4) | seeds that collapse |\n"
        "|---|---|\n"
        "| none | 5 of 5 |\n"
        "| no gradient clipping | **0 of 5** |\n"
        "| separate actor and critic networks, clip kept | 5 of 5 |\n"
        "| entropy bonus β = 0.01 | 5 of 5 |\n"
        "| bootstrap on truncation | 5 of 5 |\n"
        "| critic loss weight 0.25 or 1 | 5 of 5 |\n\n"
        "Without the clip it no longer collapses, but learns slowly. Our default also gives the "
        "actor and critic their own tanh networks and lets the critic learn 10× faster than the "
        "actor (10⁻³ vs 10⁻⁴), so the baseline keeps up with the policy, and gives the actor "
        "a larger Adam ε so it keeps what it learned (section 15): all 10 reference seeds "
        "reach a 100-episode average of 475 (median 224 episodes) and 9 of them end at 500 "
        "after 1,000 episodes. Start both from the Train page "
        "(*Actor-critic* → *The lesson's settings*, then *Our default*) and compare the charts."
    )
    st.page_link(PAGES["train"], label="Try it on the Train page", icon=":material/monitoring:")
with code:
    st.caption("The preset, as `pgcore.training.config.PRESETS` defines it")
    from pgcore import PRESETS

    st.code(repr(PRESETS["actor-critic-lesson"].values).replace(", ", ",\n "), language="python")

# 12 --------------------------------------------------------------------------------------------
text, code = section("dqn")
with text:
    st.markdown(
        "DQN learns Q(s, a) and acts greedily on it (with probability ε it acts at random, "
        "and ε shrinks linearly as training goes on). Each update regresses Q(s, a) on a "
        "**TD target** built from a stored transition (s, a, r, s′) drawn from a replay buffer:"
    )
    st.latex(r"\begin{aligned} y &= r + \gamma\,(1 - \text{terminated}) \\"
             r" &\quad \cdot \max_{a'} Q_{\bar\theta}(s', a') \end{aligned}")
    st.markdown(
        "θ̄ is a **target network**: a copy of the online weights θ that moves slowly, so the "
        "target does not chase the very estimate it is training. Copying θ into θ̄ every C "
        "gradient steps (C = 1 means no target network at all), or moving it a little every "
        "step (**Polyak** averaging, θ̄ ← τθ + (1 − τ)θ̄), are the two ways to slow it down. "
        "A time-limit truncation is not an ending: the target still bootstraps from s′."
    )
    st.latex(r"\bar\theta \leftarrow \tau\,\theta + (1 - \tau)\,\bar\theta")
    st.markdown(
        "The max over noisy estimates is biased upward (the largest of several noisy numbers "
        "tends to be too large). **Double DQN** lets the online network choose the next action "
        "and the target network value it, so one network's noise no longer picks and values "
        "the same action. On CartPole with the lesson's settings we measured no difference: "
        "with a copy every 1,000 steps both variants *under*estimate the start state (by about "
        "50 after 200 episodes), because Q is still climbing toward values a slow target lets "
        "it reach one look-ahead step per copy; plain DQN overestimates (by 13-20) only with a "
        "faster target (τ = 0.005, or a copy every 200 steps). Measure it on the "
        "*Overestimation* page:"
    )
    st.latex(r"\begin{aligned} a^* &= \arg\max_{a'} Q_\theta(s', a') \\"
             r" y &= r + \gamma\,(1 - \text{terminated})\,Q_{\bar\theta}(s', a^*)"
             r"\end{aligned}")  # two lines: one does not fit the text column
    st.markdown(
        "The loss is the mean Huber (or squared) error between Q(s, a) and y over a "
        "minibatch. y is held fixed: no gradient flows into the target, only into the taken "
        "action's Q. The Train page computes the same gradient by hand "
        "([section 15](#by-hand)).")
    st.latex(r"L = \frac{1}{B}\sum_i \operatorname{huber}\big(Q_\theta(s_i, a_i) - y_i\big)")
    st.markdown("Run the lesson's three DQN exercises and its value-vs-policy table:")
    links = st.columns(2) + st.columns(2)  # two rows: four labels do not fit in one here
    links[0].page_link(PAGES["dqn_target"], label="Target network", icon=":material/gps_fixed:")
    links[1].page_link(PAGES["dqn_polyak"], label="Hard copy or Polyak",
                       icon=":material/timeline:")
    links[2].page_link(PAGES["dqn_overestimation"], label="Overestimation",
                       icon=":material/trending_up:")
    links[3].page_link(PAGES["value_vs_policy"], label="Value vs policy",
                       icon=":material/balance:")
with code:
    code_block(R.td_targets)
    code_block(R.double_td_targets, "the online net picks a′, the target net values it")
    code_block(polyak_update, "τ = 1 is a hard copy")
    code_block(linear_schedule)
    code_block(dqn.loss, "the TD loss: autograd's gradient of it is one gradient step")


# 13 --------------------------------------------------------------------------------------------
text, code = section("ppo")
with text:
    st.markdown(
        "A2C learns from a rollout once and throws it away: one gradient step per N·n "
        "environment steps. Taking more steps on the same data is tempting, but after the first "
        "one the policy being trained, π_θ, is no longer the policy π_old that chose the "
        "actions. **PPO** (proximal policy optimisation) corrects for that with the "
        "**probability ratio** of each sampled action:"
    )
    st.latex(r"\begin{aligned} r_t(\theta) &= "
             r"\frac{\pi_\theta(a_t \mid s_t)}{\pi_{\text{old}}(a_t \mid s_t)} \\"
             r"&= \exp\big(\log \pi_\theta(a_t \mid s_t) \\"
             r"&\qquad\; - \log \pi_{\text{old}}(a_t \mid s_t)\big) \end{aligned}")
    st.markdown(
        "r_t A_t is the advantage reweighted for the new policy: at r = 1 its gradient is "
        "exactly A_t ∇log π, the policy gradient. Maximised on its own, though, it would keep "
        "pushing the same actions' probabilities for as many epochs as we run, far beyond "
        "what one batch of samples can vouch for. PPO **clips** the ratio and takes the "
        "smaller of the two terms:"
    )
    st.latex(r"\begin{aligned} & L^{\text{clip}}(\theta) = -\frac{1}{B}\sum_t \min\Big("
             r"r_t A_t, \\ & \qquad"
             r" \operatorname{clip}\big(r_t,\, 1-\varepsilon,\, 1+\varepsilon\big)\, A_t\Big)"
             r" \end{aligned}")
    st.markdown(
        """
**Why it stops a step going too far.** Take ε = 0.2 and follow one sample:

| | r below 0.8 | 0.8 ≤ r ≤ 1.2 | r above 1.2 |
|---|---|---|---|
| A > 0 (make a more likely) | r·A: push up | r·A: push up | **1.2·A: flat, no push** |
| A < 0 (make a less likely) | **0.8·A: flat, no push** | r·A: push down | r·A: push down |

Once a good action's probability has risen by 20 % (or a bad one's fallen by 20 %), its term
is constant in θ and its gradient is zero: that sample stops pulling, while the others go on.
The min keeps the unclipped term whenever it is the *worse* one, so a step that moved a
probability the wrong way is never ignored. The clip removes the *incentive* to move far
from the policy that collected the data, which is what makes several epochs on the same
rollout safe. It is not a hard limit (the network generalises, so a sample that stopped
pulling can still be moved by the others), which is why PPO also watches the KL divergence.
"""
    )
    st.markdown(
        "The rest is A2C's: GAE advantages (computed **once per rollout**, with the old "
        "critic), a critic regressed on R_t = A_t + V_old(s_t), an entropy bonus subtracted. "
        "Each of `n_epochs` passes shuffles the rollout into `minibatches` minibatches. "
        "How far the policy has moved is measured by an estimate of KL(π_old ‖ π_θ) from the "
        "same samples; with *Early stop at KL* set, the epochs stop once it passes the target."
    )
    st.latex(r"\begin{aligned} L &= L^{\text{clip}}"
             r" + c_V\,\frac{1}{B}\sum_t \big(V_\phi(s_t) - R_t\big)^2 \\"
             r"&\quad - \beta\, \bar{H} \\[0.6em]"
             r"\widehat{\mathrm{KL}} &= \frac{1}{B}\sum_t \big[(r_t - 1) - \log r_t\big]"
             r" \end{aligned}")
    st.markdown(
        "**A2C is the special case** with 1 epoch and 1 minibatch: the only gradient step is "
        "taken at θ = θ_old, where every r_t = 1, which lies inside the clip range, so the "
        "clip does nothing and ∇L^clip = −(1/B) Σ A_t ∇log π_θ(a_t|s_t), A2C's gradient. "
        "(`tests/test_ppo.py` checks that the two agents, built from the same seed, compute "
        "the same gradient on the same rollout, parameter by parameter.) Everything PPO adds "
        "happens from the second step on."
    )
    st.page_link(PAGES["train"], label="Try PPO on the Train page",
                 icon=":material/monitoring:")
with code:
    code_block(probability_ratio)
    code_block(clipped_surrogate, "the per-sample objective, in numpy")
    code_block(ppo.loss, "the loss of one minibatch: policy, value and entropy terms")
    code_block(approx_kl, "how far the policy moved, from the sampled actions alone")

# 14 --------------------------------------------------------------------------------------------
text, code = section("gaussian")
with text:
    st.markdown(
        "An argmax needs a finite list of actions. A torque in [−2, 2] has infinitely many, "
        "but a policy can still put a **probability density** on them and be nudged by the "
        "same policy gradient. Our Gaussian head makes π(·|s) a normal distribution: the "
        "network gives the **mean** μ_θ(s) (squashed into the action range by a tanh), and a "
        "learned vector gives the **log standard deviation**, the same for every state:"
    )
    st.latex(r"\begin{aligned} \pi_\theta(a \mid s) &= "
             r"\mathcal{N}\big(a;\ \mu_\theta(s),\ \sigma^2\big) \\"
             r"\log \pi_\theta(a \mid s) &= -\frac{(a - \mu_\theta(s))^2}{2\sigma^2} \\"
             r"&\quad - \log \sigma - \tfrac{1}{2}\log 2\pi \end{aligned}")
    st.markdown("Its gradient is what every policy-gradient loss here multiplies by the "
                "advantage:")
    st.latex(r"\begin{aligned} \frac{\partial \log \pi}{\partial \mu} &= "
             r"\frac{a - \mu}{\sigma^2} \\"
             r"\frac{\partial \log \pi}{\partial \log \sigma} &= "
             r"\frac{(a - \mu)^2}{\sigma^2} - 1 \end{aligned}")
    st.markdown(
        "Read them as a learner would: a sample **above** the mean with a positive advantage "
        "pulls μ up, one below pulls it down, in proportion to how far it landed in units of "
        "σ². The spread grows when good samples land further than one σ away "
        "((a − μ)² > σ²) and shrinks when they land closer, so σ falls as the policy commits. "
        "The entropy, log σ + ½ log 2πe per dimension, no longer depends on the state at all.\n\n"
        "Two details matter in practice. The sampled action is stored **unclipped** and its "
        "log-density is the one the loss uses; only what the environment is given is clipped "
        "to [−2, 2] (the density of a clipped value is a different distribution's). And the "
        "mean may be squashed, μ = 2·tanh(output): with a raw mean we measured A2C's drifting "
        "to |μ| = 6-20 on Pendulum, every sample clipped to the same bound, and the action "
        "stopped mattering, so A2C's preset squashes. PPO's clipped steps keep a raw mean in "
        "check, and there the raw mean learned better (it can ask for the full torque, as "
        "swinging the pendulum up wants), so PPO's preset leaves it raw. Nothing in "
        "REINFORCE's, A2C's or PPO's loss changes: they only ever ask the head for log π and H."
    )
    st.page_link(PAGES["pendulum"], label="Watch it learn Pendulum-v1",
                 icon=":material/rotate_right:")
with code:
    code_block(gaussian_terms, "log N(a; μ, σ²) and the entropy, with autograd (REINFORCE)")
    code_block(GaussianHead.mean_and_log_std, "the mean (squashed or raw), σ clamped")
    code_block(GaussianHead.terms, "the same terms and their gradients written "
               "out, for a batch (A2C, PPO; section 15)")

# 15 --------------------------------------------------------------------------------------------
text, code = section("by-hand")
with text:
    st.markdown(
        "Everything above is the algorithm: a loss and autograd. This section is an "
        "optimisation of it, nothing more. `tests/test_backprop.py`, `tests/test_ppo.py` and "
        "`tests/test_dqn.py` compute autograd's gradient of each `loss` shown above and check "
        "that the by-hand update below gives the same numbers, parameter by parameter.\n\n"
        "The one-step actor-critic takes a gradient step after **every** environment step, on "
        "a batch of one transition; A2C takes one per 128-step rollout, PPO twenty per "
        "512-step rollout, and DQN one per two env steps on 128 replayed transitions. At "
        "these sizes the arithmetic is a few 64 × 64 or 128 × 128 "
        "matrix products, and the bookkeeping around it (autograd's graph, the optimiser's "
        "loops over parameter groups) costs more than the arithmetic: at a batch of one about "
        "ten times more, at PPO's batch of 512 about three times. So these agents do their "
        "update by hand: the forward pass keeps each layer's input and output, and the chain "
        "rule runs back through them, layer by layer:"
    )
    st.latex(r"\begin{aligned} \frac{\partial L}{\partial z} &= \frac{\partial L}{\partial h}"
             r"\odot \big(1 - h^2\big) \\[0.3em]"
             r"\frac{\partial L}{\partial W} &= "
             r"\Big(\frac{\partial L}{\partial z}\Big)^{\!\top} x \\[0.3em]"
             r"\frac{\partial L}{\partial x} &= \frac{\partial L}{\partial z}\, W \end{aligned}"
             r"\qquad \begin{gathered} h = \tanh z \\ z = xW^\top + b \end{gathered}")
    st.markdown(
        "Where the loss starts, every policy-gradient loss here depends on the policy only "
        "through log π(a|s) and H(π(·|s)), so the head supplies those two and their "
        "derivatives with respect to its outputs (for the softmax, ∂log π(a|s)/∂z = "
        "onehot(a) − π), and the loss says how much each counts: −A_t/B for A2C, "
        "−r_t A_t/B or 0 for PPO (the clip), −β/B for the entropy bonus. The critic's "
        "squared error gives 2 c_V (V − R)/B at V(s). Adam then runs on one flat buffer per "
        "parameter group. Tests check every gradient against autograd of the `loss` "
        "functions (A2C and PPO with both heads, clipped and unclipped samples; DQN plain and "
        "Double, Huber and squared) and the optimiser against `torch.optim.Adam`; the results "
        "agree to float rounding, and the same seed gives the same run.\n\n"
        "**Why a learned policy used to fall.** With Adam's usual ε = 10⁻⁸, our default "
        "reached an average of 475 on every seed and then, over the next few hundred "
        "episodes, drifted back down on several of them. Adam divides each step by a running "
        "RMS of the gradient. Once the pole stays up, almost every TD error is noise around 0, "
        "so is the actor's gradient, and dividing noise by its own RMS still gives steps of "
        "full size, in random directions, thousands of times. A larger ε for the actor "
        "(10⁻³) leaves the early, informative steps alone and shrinks the late ones with the "
        "gradient: the actor's Adam ε, an advanced setting on the Train page."
    )
with code:
    code_block(backprop.backward, "the chain rule through tanh/relu layers")
    code_block(CategoricalHead.terms, "where the policy's loss starts: the head's own "
               "derivatives")
    code_block(PolicyTerms.output_grad, "how a loss weighs log π and H")
    code_block(backprop.HandNet.backward, "both heads and a shared trunk")
    code_block(OneStepAgent.update, "one transition, one update")
    code_block(a2c.ActorCriticAgent.update, "a2c.loss and its gradient, for a rollout")
    code_block(clipped_surrogate_grad, "PPO: zero where the clip holds a sample")
    code_block(PPOAgent.update, "ppo.loss by hand: epochs of shuffled minibatches")
    code_block(td_loss_grad, "DQN: the Huber loss and its derivative")
    code_block(DQNAgent.gradient_step, "dqn.loss by hand: one gradient step")
    code_block(backprop.FlatAdam.step, "Adam on a flat buffer")
