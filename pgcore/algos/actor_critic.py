"""One-step actor-critic: A2C's loss with one environment and rollouts of one step.

With ``n_envs = n_steps = 1`` the advantage is the TD error
delta_t = r_t + gamma * V(s_{t+1}) - V(s_t) (zero bootstrap when s_{t+1} is terminal), and
the agent takes a gradient step after every environment step. The loss is A2C's
(:class:`pgcore.algos.a2c.ActorCriticAgent`); this module adds the constraint, the presets
and what the Train page explains about the lesson's version, which collapses.
"""

from __future__ import annotations

from .a2c import ActorCriticAgent
from .base import Algorithm, Preset
from .common import POLICY_GRADIENT_FIELDS, policy_gradient_panels

# ----- config ---------------------------------------------------------------------------------


def _one_step(config) -> str | None:
    if config.n_envs != 1 or config.n_steps != 1:
        return "actor-critic is one-step: n_envs and n_steps must both be 1 (use a2c for more)"
    return None


# ----- presets, the lesson's collapse, and the registry entry ---------------------------------

PRESETS = (
    Preset("actor-critic",
           "One-step actor-critic that learns CartPole-v1: separate actor and critic, no "
           "gradient clipping, a critic that learns 10x faster than the actor: our default.",
           dict(algo="actor-critic", lr=1e-4, value_lr=1e-3, hidden=128, shared_layers=0,
                head_layers=2, activation="tanh", gamma=0.99, value_coef=0.5,
                max_grad_norm=None, n_envs=1, n_steps=1),
           label="Our default (learns CartPole)"),
    Preset("actor-critic-lesson",
           "The lesson's one-step actor-critic as written (shared 128-unit trunk, Adam 3e-4, "
           "value weight 0.5, global clip 0.5, truncation treated as terminal): it collapses.",
           dict(algo="actor-critic", lr=3e-4, value_lr=None, hidden=128, shared_layers=1,
                head_layers=1, gamma=0.99, value_coef=0.5, max_grad_norm=0.5,
                bootstrap_truncated=False, n_envs=1, n_steps=1, reduction="sum"),
           label="The lesson's settings (watch it collapse)"),
)

LESSON_NOTE = """
**What you are watching (the lesson's one-step actor-critic).** Within a few dozen episodes the
**policy entropy** drops from ln 2 ≈ 0.69 to almost 0, every episode ends after about **9 steps**,
and the critic's **V(s₀)** climbs far above the **discounted return actually collected** (about 9).

**Why.** The lesson clips the whole gradient to norm 0.5 on every one-sample update. The unclipped
norm (chart: *gradient norm, before clipping*) is far above 0.5 on almost every step, so every
update is cut to the same length: only its *direction* survives, and the size of the TD error is
thrown away. Early on about 9 in 10 TD errors are positive (the critic starts near 0 and every
step pays +1), so nearly every sampled action is pushed up by the same amount, while the big
negative TD error when the pole falls counts no more than any other step. Reinforcing whatever
was sampled makes the policy deterministic; pushing one way drops the pole in ~9 steps. The
critic suffers the same way: its large downward corrections are cut to the size of its small
upward nudges, so V(s₀) keeps rising. Measured on seeds 0-4: removing *only* the clip stops the
collapse on 5 of 5 seeds; separate actor and critic networks with the clip kept, an entropy bonus
of 0.01, or correct truncation handling do not (5 of 5 still collapse).

Our default keeps the one-step update but drops the clip, gives actor and critic their own
networks and lets the critic learn 10x faster than the actor (10⁻³ vs 10⁻⁴), so its baseline keeps
up with the policy: it reaches a 100-episode average of 475 on 5 of 5 seeds (median 207 episodes).
Switch the preset to **"Our default (learns CartPole)"**, start again, and compare.
"""
"""Shown on the Train page beside a run with the lesson's collapsing ingredients."""


def is_lesson_setup(config) -> bool:
    """Whether ``config`` has the lesson actor-critic's collapsing ingredients: a shared
    trunk, its learning rate, the global clip and truncation treated as terminal."""
    lesson = PRESETS[1].config()
    return (config.shared_layers == lesson.shared_layers and config.lr == lesson.lr
            and config.max_grad_norm == lesson.max_grad_norm
            and config.bootstrap_truncated == lesson.bootstrap_truncated)


ALGORITHM = Algorithm(
    name="actor-critic", label="Actor-critic (one-step)", title="One-step actor-critic",
    summary="one-step TD actor-critic: an update after every environment step",
    fields=POLICY_GRADIENT_FIELDS, loop="rollout", make_agent=ActorCriticAgent,
    presets=PRESETS, panels=policy_gradient_panels(), validate=_one_step,
    notes=lambda config: LESSON_NOTE if is_lesson_setup(config) else None)
