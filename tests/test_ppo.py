"""PPO: the clipped objective by hand, A2C as its one-epoch special case, the KL estimate,
early stopping, truncation, determinism, the CLI, checkpoints and a fixed-seed learning test."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from pgcore import EpisodeEnd, RunControl, cli, default_config, train
from pgcore.algos import make_agent
from pgcore.algos.ppo import (
    PPOAgent,
    approx_kl,
    clip_fraction,
    clipped_surrogate,
    clipped_surrogate_grad,
    clipped_value_loss,
    clipped_value_loss_grad,
    explained_variance,
    minibatch_indices,
    probability_ratio,
)
from pgcore.rl.collect import Rollout
from pgcore.rl.envs import EnvSpec
from pgcore.training.checkpoint import checkpoint_bytes, load_checkpoint_bytes
from pgcore.training.config import ConfigError, TrainConfig

REPO = Path(__file__).resolve().parents[1]
OBS_DIM, N_ACTIONS = 4, 2
SPEC = EnvSpec.discrete(OBS_DIM, N_ACTIONS)


def _rollout(T=4, N=3, seed=0, **arrays) -> Rollout:
    """Random observations and actions; by default one terminated step, one truncated step
    and the reset step after each (invalid), so every branch of the masking is used."""
    rng = np.random.default_rng(seed)
    shape = (T, N)
    terminated = np.zeros(shape, bool)
    truncated = np.zeros(shape, bool)
    valid = np.ones(shape, bool)
    if T >= 3 and N >= 2:
        terminated[1, 0], valid[2, 0] = True, False
        truncated[0, 1], valid[1, 1] = True, False
    fields = dict(obs=rng.normal(size=(T + 1, N, OBS_DIM)).astype(np.float32),
                  actions=rng.integers(0, N_ACTIONS, size=shape).astype(np.int64),
                  rewards=rng.normal(1.0, 0.5, size=shape), terminated=terminated,
                  truncated=truncated, valid=valid)
    return Rollout(**{**fields, **arrays})


def _config(algo="ppo", **overrides) -> TrainConfig:
    base = dict(algo=algo, hidden=16, seed=0, n_envs=3, n_steps=4, gamma=0.9,
                gae_lambda=0.8)
    return TrainConfig(**{**base, **overrides})


def _ppo(**overrides) -> PPOAgent:
    return make_agent(_config(**overrides), SPEC)


# ----- the math by hand -----------------------------------------------------------------------


def test_clipped_surrogate_by_hand():
    eps = 0.2
    ratio = np.array([1.0, 1.1, 0.9, 1.5, 0.5, 1.5, 0.5, 1.2, 0.8])
    adv = np.array([2.0, 2.0, 2.0, 2.0, 2.0, -1.0, -1.0, 3.0, -3.0])
    # inside [0.8, 1.2] it is r*A; outside, min(r*A, clip(r)*A):
    expected = [2.0,          # r = 1: A
                2.2, 1.8,     # inside, A > 0
                2.4,          # A > 0, r = 1.5: capped at 1.2 * 2
                1.0,          # A > 0, r = 0.5: the worse r*A = 1 is kept (not 0.8 * 2)
                -1.5,         # A < 0, r = 1.5: the worse r*A = -1.5 is kept (not -1.2)
                -0.8,         # A < 0, r = 0.5: capped at 0.8 * -1
                3.6, -2.4]    # exactly on the edges: both terms agree
    np.testing.assert_allclose(clipped_surrogate(ratio, adv, eps), expected)


def _torch_surrogate(log_ratio: torch.Tensor, adv: torch.Tensor, eps: float) -> torch.Tensor:
    """The clipped objective through autograd (what the by-hand derivative must match)."""
    ratio = torch.exp(log_ratio)
    return torch.minimum(ratio * adv, torch.clamp(ratio, 1 - eps, 1 + eps) * adv)


def test_clipped_samples_get_no_gradient_and_the_others_get_their_advantage():
    ratio = np.array([1.1, 1.5, 0.5, 1.5, 0.5, 0.9, 1.0])
    adv = np.array([2.0, 2.0, 2.0, -1.0, -1.0, -3.0, 0.5])
    # d/d log pi of r*A is r*A; where the clipped term is the (smaller) one, the objective is
    # flat: the second and fifth samples have already moved far enough
    grad = clipped_surrogate_grad(ratio, adv, 0.2)
    np.testing.assert_allclose(grad, [2.2, 0.0, 1.0, -1.5, 0.0, -2.7, 0.5])
    log_ratio = torch.tensor(np.log(ratio), requires_grad=True)
    _torch_surrogate(log_ratio, torch.tensor(adv), 0.2).sum().backward()
    np.testing.assert_allclose(grad, log_ratio.grad.numpy(), rtol=1e-12)


def test_probability_ratio_and_clip_fraction():
    logp_old = np.log([0.5, 0.5, 0.2, 0.9])
    logp_new = np.log([0.5, 0.7, 0.1, 0.99])
    ratio = probability_ratio(logp_new, logp_old)
    np.testing.assert_allclose(ratio, [1.0, 1.4, 0.5, 1.1])
    assert clip_fraction(ratio, 0.2) == 0.5  # 1.4 and 0.5 are outside [0.8, 1.2]


def test_clipped_value_loss_by_hand():
    v_old = np.zeros(4)
    v = np.array([3.0, 0.5, -2.0, 2.0])
    ret = np.array([4.0, 1.0, 1.0, 0.0])
    np.testing.assert_allclose(clipped_value_loss(v, v_old, ret, None), [1.0, 0.25, 9.0, 4.0])
    # c = 1: V_clip = [1, 0.5, -1, 1]; the larger of the two squared errors per sample
    np.testing.assert_allclose(clipped_value_loss(v, v_old, ret, 1.0), [9.0, 0.25, 9.0, 4.0])


@pytest.mark.parametrize("clip_value", [None, 1.0, 0.3])
def test_clipped_value_loss_grad_matches_autograd(clip_value):
    rng = np.random.default_rng(0)
    v_old, v, ret = rng.normal(size=(3, 50))
    values = torch.tensor(v, requires_grad=True)
    loss = (values - torch.tensor(ret)).pow(2)
    if clip_value is not None:
        clipped = torch.tensor(v_old) + torch.clamp(values - torch.tensor(v_old), -clip_value,
                                                    clip_value)
        loss = torch.maximum(loss, (clipped - torch.tensor(ret)).pow(2))
    loss.sum().backward()
    grad = clipped_value_loss_grad(v, v_old, ret, clip_value)
    np.testing.assert_allclose(grad, values.grad.numpy(), rtol=1e-12)
    if clip_value == 0.3:
        assert (grad == 0).any() and (grad != 0).any()  # both branches were taken


def test_approx_kl_is_zero_for_identical_policies_and_estimates_the_kl():
    logp = np.log([0.1, 0.3, 0.6, 0.6, 0.3])
    assert approx_kl(logp, logp) == 0.0
    assert approx_kl(logp, logp + 0.1) > 0 and approx_kl(logp, logp - 0.1) > 0
    # sampled from pi_old, the estimator's mean is the exact KL(pi_old || pi_new)
    p_old, p_new = np.array([0.2, 0.5, 0.3]), np.array([0.3, 0.3, 0.4])
    exact = float((p_old * np.log(p_old / p_new)).sum())
    actions = np.random.default_rng(0).choice(3, size=200_000, p=p_old)
    est = approx_kl(np.log(p_old[actions]), np.log(p_new[actions]))
    assert est == pytest.approx(exact, rel=0.02)


def test_explained_variance_by_hand():
    assert explained_variance([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]) == 1.0
    assert explained_variance([2.0, 2.0, 2.0], [1.0, 2.0, 3.0]) == 0.0
    assert explained_variance([3.0, 2.0, 1.0], [1.0, 2.0, 3.0]) == pytest.approx(-3.0)
    assert math.isnan(explained_variance([1.0, 2.0], [5.0, 5.0]))


def test_minibatches_cover_every_sample_once_and_reshuffle():
    rng = np.random.default_rng(0)
    first = minibatch_indices(10, 3, rng)
    second = minibatch_indices(10, 3, rng)
    assert [len(i) for i in first] == [4, 3, 3]
    assert sorted(np.concatenate(first).tolist()) == list(range(10))
    assert not all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    assert len(minibatch_indices(2, 8, rng)) == 2  # never an empty minibatch


# ----- A2C is the special case ----------------------------------------------------------------


def _grads(agent) -> list[torch.Tensor]:
    return [torch.from_numpy(g.copy()) for g in agent.gradients()]


def _specs():
    """The policy heads to check the loss with: categorical, and Gaussian once it exists."""
    import pgcore.rl.heads

    specs = [pytest.param(SPEC, id="categorical")]
    gaussian = getattr(pgcore.rl.heads, "GaussianHead", None)
    if gaussian is not None:
        specs.append(pytest.param(EnvSpec("toy", OBS_DIM, gaussian((-2.0, 0.0), (2.0, 1.0))),
                                  id="gaussian"))
    return specs


def _rollout_for(spec, **arrays) -> Rollout:
    if spec.head.action_dtype == np.int64:
        return _rollout(**arrays)
    actions = np.random.default_rng(2).normal(size=(4, 3, *spec.head.action_shape))
    return _rollout(actions=actions.astype(spec.head.action_dtype), **arrays)


@pytest.mark.parametrize("spec", _specs())
@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("bootstrap_truncated", [True, False])
def test_one_epoch_one_minibatch_gives_the_a2c_gradient(normalize, reduction,
                                                        bootstrap_truncated, spec):
    same = dict(max_grad_norm=None, normalize_advantages=normalize, reduction=reduction,
                bootstrap_truncated=bootstrap_truncated, entropy_beta=0.01, value_coef=0.5,
                shared_layers=1, head_layers=1, value_lr=3e-3)
    a2c = make_agent(_config("a2c", **same), spec)
    ppo = make_agent(_config(n_epochs=1, minibatches=1, **same), spec)
    for p, q in zip(a2c.params, ppo.params, strict=True):
        assert torch.equal(p, q)  # the same seed builds the same network
    rollout = _rollout_for(spec)
    a2c.update(rollout)
    stats = ppo.update(rollout)
    assert stats.epochs == 1 and stats.clip_fraction == 0.0 and stats.batch_size == 10
    for g_a2c, g_ppo in zip(_grads(a2c), _grads(ppo), strict=True):
        torch.testing.assert_close(g_ppo, g_a2c, rtol=1e-5, atol=1e-6)
    for p, q in zip(a2c.params, ppo.params, strict=True):  # and so the same Adam step
        torch.testing.assert_close(q, p, rtol=1e-5, atol=1e-6)


def _autograd_ppo(net, head, cfg, obs, actions, logp_old, adv, v_old, ret, clip):
    """Autograd's gradient of :func:`pgcore.algos.ppo.loss` (the loss as the module writes
    it) on the nn.Sequential modules: by parameter name, and the ratios."""
    from pgcore.algos.ppo import loss
    from pgcore.rl.returns import normalize

    outputs, values = net.module_forward(torch.as_tensor(obs))
    logp, entropy = head.log_prob_entropy(outputs, actions)
    a = normalize(adv) if cfg.normalize_advantages else adv
    as_t = lambda x: torch.as_tensor(x, dtype=torch.float32)  # noqa: E731
    terms = loss(logp, as_t(logp_old), as_t(a), entropy, values, as_t(v_old), as_t(ret),
                 clip_range=clip, clip_value=cfg.clip_value, beta=cfg.entropy_beta,
                 value_coef=cfg.value_coef, reduction=cfg.reduction)
    net.zero_grad()
    terms.total.backward()
    ratio = torch.exp(logp - as_t(logp_old)).detach().numpy()
    return {n: p.grad.clone() for n, p in net.named_parameters()}, ratio


@pytest.mark.parametrize("spec", _specs())
@pytest.mark.parametrize("clip_value", [None, 0.05])
def test_a_later_epochs_gradient_by_hand_equals_autograd(spec, clip_value):
    """At the second epoch the ratios are no longer 1 and some are clipped: the by-hand
    gradient is still autograd's gradient of the written loss."""
    import copy

    from pgcore.algos.a2c import rollout_targets

    cfg = _config(n_epochs=2, minibatches=1, lr=0.05, clip_range=0.05, max_grad_norm=None,
                  entropy_beta=0.01, clip_value=clip_value, normalize_advantages=True)
    two = make_agent(cfg, spec)
    one = make_agent(cfg.replace(n_epochs=1), spec)
    before = copy.deepcopy(two)
    rollout = _rollout_for(spec)
    one.update(rollout)  # one's weights are now two's just before its second step
    two.update(rollout)

    T, N = rollout.actions.shape[:2]
    valid = rollout.valid.reshape(-1)
    obs_all = torch.as_tensor(rollout.obs).reshape((T + 1) * N, -1)
    with torch.no_grad():
        out_old, v_all = before.net.module_forward(obs_all)
    v_all = v_all.double().numpy().reshape(T + 1, N)
    adv, ret = rollout_targets(cfg, rollout, v_all[:T], v_all[1:])
    actions = rollout.actions.reshape(T * N, *spec.head.action_shape)[valid]
    logp_old = spec.head.log_prob_entropy(out_old[: T * N][valid], actions)[0].numpy()
    expected, ratio = _autograd_ppo(one.net, spec.head, cfg, obs_all[: T * N][valid].numpy(),
                                    actions, logp_old, adv.reshape(-1)[valid],
                                    v_all[:T].reshape(-1)[valid], ret.reshape(-1)[valid],
                                    cfg.clip_range)
    assert (np.abs(ratio - 1) > cfg.clip_range).any()  # the clip is at work
    by_hand = {n: two.optimizer.grads[id(p)] for n, p in two.net.named_parameters()}
    for name, grad in by_hand.items():
        np.testing.assert_allclose(grad, expected[name].numpy(), rtol=5e-4, atol=5e-6,
                                   err_msg=name)


def test_later_epochs_are_clipped_where_a2c_would_keep_pushing():
    agent = _ppo(n_epochs=30, minibatches=1, lr=0.05, clip_range=0.1)
    stats = agent.update(_rollout())
    assert stats.epochs == 30 and stats.gradient_steps == 30
    assert 0.0 < stats.clip_fraction <= 1.0 and stats.approx_kl > 0.0


# ----- what an update learns from -------------------------------------------------------------


def test_only_valid_steps_count():
    rollout = _rollout()
    invalid = ~rollout.valid  # the reset steps after [1, 0] (terminated), [0, 1] (truncated)
    obs, actions, rewards = rollout.obs.copy(), rollout.actions.copy(), rollout.rewards.copy()
    actions[invalid] = 1 - actions[invalid]  # what a reset step did and got is ignored
    rewards[invalid] += 10.0
    obs[2, 0] += 1.0  # the state after a termination is never looked at
    # (the state after a truncation, obs[1, 1], is: the truncated step bootstraps from it)
    changed = Rollout(obs, actions, rewards, rollout.terminated, rollout.truncated,
                      rollout.valid)
    a, b = _ppo(), _ppo()
    sa, sb = a.update(rollout), b.update(changed)
    assert sa.batch_size == sb.batch_size == int(rollout.valid.sum()) == 10
    assert sa == sb
    for p, q in zip(a.params, b.params, strict=True):
        assert torch.equal(p, q)


@pytest.mark.parametrize("bootstrap_truncated", [True, False])
def test_truncated_steps_bootstrap_and_terminated_steps_do_not(bootstrap_truncated):
    gamma = 0.5
    kw = dict(n_envs=1, n_steps=1, minibatches=1, n_epochs=1, gamma=gamma,
              bootstrap_truncated=bootstrap_truncated)
    one = dict(rewards=np.ones((1, 1)), valid=np.ones((1, 1), bool))
    agent = _ppo(**kw)
    base = _rollout(T=1, N=1)
    v_next = float(agent.value(base.obs[1])[0])
    assert abs(v_next) > 1e-3  # otherwise bootstrapping could not be seen
    truncated = agent.update(_rollout(T=1, N=1, truncated=np.ones((1, 1), bool),
                                      terminated=np.zeros((1, 1), bool), **one))
    expected = 1.0 + gamma * v_next if bootstrap_truncated else 1.0
    assert truncated.target_mean == pytest.approx(expected, rel=1e-5)
    agent = _ppo(**kw)
    terminated = agent.update(_rollout(T=1, N=1, truncated=np.zeros((1, 1), bool),
                                       terminated=np.ones((1, 1), bool), **one))
    assert terminated.target_mean == pytest.approx(1.0)


def test_update_reports_its_statistics():
    stats = _ppo(n_epochs=3, minibatches=2).update(_rollout())
    for key in ("policy_loss", "value_loss", "entropy", "grad_norm", "approx_kl",
                "clip_fraction", "explained_variance", "advantage_mean", "advantage_std",
                "advantage_rms", "value_mean", "target_mean", "lr", "clip_range"):
        assert math.isfinite(stats[key]), key
    assert stats.epochs == 3 and stats.gradient_steps == 6 and stats.batch_size == 10
    assert 0.0 <= stats.entropy <= math.log(N_ACTIONS) + 1e-6


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy on the NaN / inf values
@pytest.mark.parametrize("what", ["outputs", "values"])
def test_a_nan_in_the_middle_of_an_update_ends_the_run_before_the_bad_step(what):
    from pgcore import Trainer

    trainer = Trainer(default_config("ppo", seed=0, max_episodes=None, max_steps=5_000))
    hand = trainer.agent.hand
    forward, calls, before = hand.forward, [0], []

    def poisoned(x):  # the third gradient step (inside the first rollout's update) goes bad
        outputs, values, cache = forward(x)
        calls[0] += 1
        if calls[0] == 3:
            before.extend(p.detach().clone() for p in trainer.agent.params)
            if what == "outputs":
                outputs = outputs * float("nan")
            else:
                values = values * float("inf")
        return outputs, values, cache

    hand.forward = poisoned
    result = trainer.run()
    assert result.reason == "diverged" and "\n" not in result.message
    assert "clip range" in result.message  # PPO's own hint
    assert trainer.agent.updates == 2  # two good steps, the bad one never taken
    for p, q in zip(trainer.agent.params, before, strict=True):
        assert torch.isfinite(p).all() and torch.equal(p, q)


# ----- early stopping -------------------------------------------------------------------------


def test_target_kl_stops_the_epochs():
    rollout = _rollout()
    free = _ppo(n_epochs=10, minibatches=2, lr=0.02).update(rollout)
    assert free.epochs == 10 and free.gradient_steps == 20
    assert free.approx_kl > 1e-4
    stopped_agent = _ppo(n_epochs=10, minibatches=2, lr=0.02, target_kl=1e-4)
    stopped = stopped_agent.update(rollout)
    assert stopped.epochs < 10 and stopped.gradient_steps < 20
    assert stopped.gradient_steps >= 1  # the first step is always taken: its KL is 0
    assert stopped_agent.updates == stopped.gradient_steps


def test_first_step_is_never_stopped():
    stats = _ppo(n_epochs=5, minibatches=1, lr=0.05, target_kl=1e-9).update(_rollout())
    assert stats.gradient_steps == 1 and stats.epochs == 1


# ----- annealing ------------------------------------------------------------------------------


def test_annealing_scales_the_learning_rates_and_the_clip_range():
    agent = _ppo(anneal_steps=20, lr=1e-3, value_lr=2e-3, clip_range=0.2)
    first = agent.update(_rollout())  # 10 valid steps learned from after this one
    assert first.lr == pytest.approx(1e-3) and first.clip_range == pytest.approx(0.2)
    second = agent.update(_rollout(seed=1))
    assert second.lr == pytest.approx(5e-4) and second.clip_range == pytest.approx(0.1)
    assert agent.optimizer.param_groups[1]["lr"] == pytest.approx(1e-3)  # the critic's too
    assert agent.steps == 20
    assert agent.update(_rollout(seed=2)).lr == 0.0
    constant = _ppo(lr=1e-3)
    constant.update(_rollout())
    assert constant.update(_rollout(seed=1)).lr == pytest.approx(1e-3)


# ----- config and CLI -------------------------------------------------------------------------


def test_ppo_shares_a2cs_fields():
    from pgcore.algos import a2c, get
    from pgcore.algos.common import POLICY_GRADIENT_FIELDS

    fields = get("ppo").fields
    for f in (a2c.N_ENVS, a2c.N_STEPS, a2c.GAE_LAMBDA, *POLICY_GRADIENT_FIELDS):
        assert any(g is f for g in fields), f.name


@pytest.mark.parametrize("overrides, fragment", [
    (dict(clip_range=0.0), "clip_range"),
    (dict(clip_range=1.5), "clip_range"),
    (dict(n_epochs=0), "n_epochs"),
    (dict(minibatches=0), "minibatches"),
    (dict(target_kl=0.0), "target_kl"),
    (dict(clip_value=-1.0), "clip_value"),
    (dict(anneal_steps=0), "anneal_steps"),
])
def test_bad_values_are_one_line(overrides, fragment):
    with pytest.raises(ConfigError) as info:
        _config(**overrides)
    msg = str(info.value)
    assert fragment in msg and "\n" not in msg


def test_more_minibatches_than_steps_means_one_step_per_sample():
    stats = _ppo(n_epochs=2, minibatches=64).update(_rollout())  # 10 valid steps
    assert stats.gradient_steps == 20 and stats.batch_size == 10
    assert TrainConfig(algo="ppo").minibatches == 4  # the defaults fit together


def test_ppo_fields_belong_to_ppo_only():
    with pytest.raises(ConfigError, match="clip_range .* applies to ppo only, not to a2c"):
        _config("a2c", clip_range=0.1)


@pytest.mark.parametrize("argv, fragment", [
    (["--clip-range", "0"], "clip_range"),
    (["--n-epochs", "0"], "n_epochs"),
    (["--minibatches", "100000"], "minibatches"),
    (["--target-kl", "-1"], "target_kl"),
])
def test_cli_bad_values_exit_2_with_one_line(argv, fragment, monkeypatch, capsys):
    monkeypatch.setattr(cli, "train", lambda *a, **k: pytest.fail("training started"))
    assert cli.main(["train", "--algo", "ppo", *argv]) == 2
    lines = [ln for ln in capsys.readouterr().err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], lines


def test_cli_flags_set_the_fields(tmp_path):
    import json

    summary = tmp_path / "s.json"
    assert cli.main(["train", "--algo", "ppo", "--clip-range", "0.1", "--n-epochs", "2",
                     "--minibatches", "2", "--target-kl", "0.02", "--clip-value", "1.5",
                     "--max-steps", "300", "--episodes", "0", "--quiet",
                     "--summary", str(summary)]) == 0
    config = json.loads(summary.read_text())["config"]
    assert (config["clip_range"], config["n_epochs"], config["minibatches"],
            config["target_kl"], config["clip_value"]) == (0.1, 2, 2, 0.02, 1.5)


def test_real_cli_rejects_clip_range_0():
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", PYGAME_HIDE_SUPPORT_PROMPT="1")
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-m", "pgcore", "train", "--algo", "ppo",
                           "--clip-range", "0"], capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and "clip_range" in lines[0] and "Traceback" not in proc.stderr
    assert proc.stdout == ""


# ----- runs: determinism, checkpoints, learning -----------------------------------------------


def _short(seed=0, **overrides):
    return default_config("ppo", seed=seed, **{**dict(hidden=16, max_episodes=None,
                                                      max_steps=2_000), **overrides})


def test_same_seed_same_run():
    a, b = train(_short(seed=3)), train(_short(seed=3))
    assert a.episode_returns == b.episode_returns and a.updates == b.updates > 0
    for (k, v), (k2, v2) in zip(a.agent.net.state_dict().items(),
                                b.agent.net.state_dict().items(), strict=True):
        assert k == k2 and torch.equal(v, v2)
    c = train(_short(seed=4))
    assert c.episode_returns != a.episode_returns


def test_checkpoint_round_trip():
    agent = train(_short(seed=1, max_steps=1_000)).agent
    loaded, config, meta = load_checkpoint_bytes(checkpoint_bytes(agent))
    assert config == agent.config and meta["has_optimizer"]
    assert isinstance(loaded, PPOAgent) and loaded.steps == agent.steps > 0
    obs = np.random.default_rng(0).normal(size=(32, OBS_DIM)).astype(np.float32)
    p0, v0 = agent.policy(obs, with_value=True)
    p1, v1 = loaded.policy(obs, with_value=True)
    np.testing.assert_array_equal(p0, p1)
    np.testing.assert_array_equal(v0, v1)
    a, b = agent.optimizer.state_dict(), loaded.optimizer.state_dict()
    for k in a["state"]:
        for name, value in a["state"][k].items():
            torch.testing.assert_close(b["state"][k][name], value)


@pytest.mark.slow
def test_default_preset_learns_cartpole_within_its_step_budget():
    # A seed's exact trajectory depends on the CPU's float rounding (BLAS kernels differ
    # between processors), so the claim is checked on three seeds, not one: at least two of
    # seeds 0-2 reach a 100-episode training average of 475 within 80k env steps. Measured:
    # 65.1k, 56.8k, 59.1k on one machine; 92.9k, 53.9k, 54.8k on another (one torch thread).
    reached = []
    for seed in (0, 1, 2):
        control, returns = RunControl(), []

        def on_event(event, returns=returns, control=control):
            if isinstance(event, EpisodeEnd):
                returns.append(event.episode_return)
                if len(returns) >= 100 and np.mean(returns[-100:]) >= 475:
                    control.stop()

        result = train(default_config("ppo", seed=seed, max_episodes=None, max_steps=80_000),
                       on_event=on_event, control=control)
        reached.append((seed, result.reason == "stopped", result.env_steps,
                        round(float(np.mean(returns[-100:])), 1)))
        if sum(r[1] for r in reached) >= 2:
            break
    assert sum(r[1] for r in reached) >= 2, (
        f"fewer than 2 of 3 seeds reached 475 within 80k env steps: {reached}")
