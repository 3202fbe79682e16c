"""The algorithm registry: every algorithm is one module plus one entry, and nothing else
branches on an algorithm's name; an unknown name is a clear error everywhere."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from pgcore import algos
from pgcore.rl.envs import EnvSpec
from pgcore.rl.heads import CategoricalHead
from pgcore.training.config import (
    FIELDS,
    PRESETS,
    RUN_FIELDS,
    ConfigError,
    TrainConfig,
    default_config,
)

ROOT = Path(__file__).resolve().parents[1]


def _one_line(exc_info) -> str:
    msg = str(exc_info.value)
    assert msg and "\n" not in msg, msg
    return msg


@pytest.mark.parametrize("name", algos.names())
def test_every_entry_is_complete(name):
    a = algos.get(name)
    assert a.name == name and a.label and a.title and a.summary
    assert a.loop in algos.LOOPS
    assert a.presets and all(p.values.get("algo") == name for p in a.presets)
    assert all(p.label for p in a.presets)  # the Train page's picker shows them
    assert default_config(name).algo == name
    assert {p.key for p in a.panels} <= _reported_stats(default_config(name))


def _reported_stats(cfg) -> set[str]:
    """The statistics one real update of ``cfg`` reports."""
    from pgcore import train
    from pgcore.training.events import UpdateEnd

    seen: set[str] = set()

    def on_event(e):
        if isinstance(e, UpdateEnd):
            seen.update(e.stats)

    train(cfg.replace(max_episodes=2, hidden=8), on_event=on_event)
    return seen


def test_fields_are_declared_once_and_algorithm_fields_default_when_unused():
    names = [f.name for f in RUN_FIELDS] + [f.name for f in algos.algorithm_fields()]
    assert len(names) == len(set(names)) == len(FIELDS)
    # a field one algorithm owns cannot be set on a config of another
    with pytest.raises(ConfigError) as info:
        TrainConfig(algo="reinforce", gae_lambda=0.5)
    msg = _one_line(info)
    assert "gae_lambda" in msg and "a2c" in msg and "reinforce" in msg


@pytest.mark.parametrize("call", [
    lambda: algos.get("bogus"),
    lambda: TrainConfig(algo="bogus"),
    lambda: default_config("bogus"),
    lambda: TrainConfig.from_dict({"algo": "bogus"}),
])
def test_unknown_algorithm_is_one_clear_line(call):
    with pytest.raises(ConfigError) as info:
        call()
    msg = _one_line(info)
    assert "bogus" in msg and all(n in msg for n in algos.names())


def test_cli_rejects_an_unknown_algorithm_with_exit_2(capsys):
    from pgcore import cli

    assert cli.main(["train", "--algo", "bogus", "--episodes", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bogus" in err[0] and "a2c" in err[0]


def test_cli_flags_and_choices_come_from_the_registry():
    from pgcore import cli

    text = cli.build_parser()._subparsers._group_actions[0].choices["train"].format_help()
    for name in algos.names():
        assert name in text
    for f in FIELDS.values():
        if f.cli_flag:
            assert f.cli_flag in text, f.cli_flag


_BRANCH = re.compile(r"""(==|!=)\s*["']({n})["']|["']({n})["']\s*(==|!=)|in \(["']({n})["']"""
                     .format(n="|".join(re.escape(n) for n in algos.names())))


def test_no_module_outside_an_algorithms_own_file_branches_on_its_name():
    own = {Path(m.__file__).resolve() for m in algos._MODULES}
    offenders = []
    paths = [ROOT / "app.py"] + [p for d in ("pgcore", "ui", "views")
                                 for p in (ROOT / d).rglob("*.py")]
    for path in paths:
        if path.resolve() in own:
            continue
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if _BRANCH.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("head", [CategoricalHead(2), CategoricalHead(5)], ids=["n2", "n5"])
def test_fast_forwards_equal_the_modules_forward(preset, head):
    """``act_forward`` (acting, no autograd) and ``forward`` (learning) run a functional plan
    of the layers; both must give what the nn.Sequential modules give, bit for bit, and
    ``forward`` the same gradients."""
    agent = algos.make_agent(PRESETS[preset].config(), EnvSpec("toy", 6, head))
    net = getattr(agent.net, "online", agent.net)  # DQN: the online PolicyValueNet
    obs = torch.from_numpy(np.random.default_rng(0).normal(size=(16, 6)).astype(np.float32))
    for batch in (obs[:1], obs):  # acting is mostly batch 1 (REINFORCE) or n_envs (A2C)
        fast_out, fast_v = net.act_forward(batch, with_value=True)
        with torch.no_grad():
            out, v = net.module_forward(batch)
        assert torch.equal(fast_out, out)  # bit for bit
        assert (fast_v is None) == (v is None)
        if v is not None:
            assert torch.equal(fast_v, v)
        assert fast_out.shape == (len(batch), head.out_dim)

    grads = []
    for forward in (net.forward, net.module_forward):
        net.zero_grad(set_to_none=True)
        out, v = forward(obs)
        loss = out.pow(2).sum() + (0.0 if v is None else v.sin().sum())
        loss.backward()
        grads.append([p.grad.clone() for p in net.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*grads, strict=True))


def test_train_page_replaces_an_unknown_algorithm_with_a_one_line_message():
    from streamlit.testing.v1 import AppTest

    from pgcore.execution import stop_all

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("views/reinforce/train.py")
    at.session_state["cfg.algo"] = "bogus"  # e.g. an old session or a hand-made link
    at.run()
    try:
        assert not at.exception, at.exception
        errors = [e.value for e in at.error]
        assert len(errors) == 1 and "\n" not in errors[0]
        assert "unknown algorithm 'bogus'" in errors[0] and "defaults" in errors[0]
        assert at.radio(key="cfg.algo").value in algos.names()
        at.run()  # shown once
        assert not at.error
    finally:
        stop_all()


def test_boolean_fields_get_on_and_off_flags():
    from pgcore import cli

    on = cli.config_from_args(cli.build_parser().parse_args(
        ["train", "--algo", "dqn", "--double"]))
    off = cli.config_from_args(cli.build_parser().parse_args(
        ["train", "--algo", "dqn", "--no-double"]))
    assert on.double is True and off.double is False


@pytest.mark.parametrize("name", algos.names())
def test_frames_carry_the_agents_head_for_the_overlay(name):
    from pgcore.training.events import Frame
    from pgcore.training.trainer import Trainer

    trainer = Trainer(default_config(name, max_episodes=1, hidden=8), frame_every=0.0)
    frames = []
    trainer.run(lambda e: frames.append(e) if isinstance(e, Frame) else None)
    assert frames and all(f.head is trainer.agent.head for f in frames)
    rows = frames[0].head.overlay(frames[0].probs, ("left", "right"))
    assert [r[0].count("left") + r[0].count("right") for r in rows] == [1, 1]
    assert all(0.0 <= r[1] <= 1.0 for r in rows)


def test_forward_honours_functional_call():
    """``forward``'s functional plan must use the parameters a caller swaps in (torch.func),
    not the ones it saw when it was built."""
    from torch.func import functional_call

    agent = algos.make_agent(PRESETS["a2c"].config(), EnvSpec("toy", 6, CategoricalHead(2)))
    obs = torch.ones(3, 6)
    zeros = {n: torch.zeros_like(p) for n, p in agent.net.named_parameters()}
    out, v = functional_call(agent.net, zeros, (obs,))
    assert torch.equal(out, torch.zeros(3, 2)) and torch.equal(v, torch.zeros(3))
    assert not torch.equal(agent.net(obs)[0], out)  # the module's own weights are untouched


def test_every_algorithm_module_writes_its_loss():
    """The code is the lesson: every algorithm's module has ``loss(...)``, its loss in torch
    with named terms, which the Theory page shows (its fast update, if any, is tested equal to
    autograd of it in that algorithm's tests)."""
    import inspect

    from pgcore.algos import _MODULES

    for module in _MODULES:
        assert callable(getattr(module, "loss", None)), module.__name__
        doc = inspect.getdoc(module.loss)
        assert doc and ">>>" in doc, f"{module.__name__}.loss has no worked example"
