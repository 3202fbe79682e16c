"""Save and load trained agents safely.

A checkpoint is one ``torch.save`` file holding only plain data::

    {"format_version": 2, "pgcore_version": "0.1.0",
     "config": TrainConfig.to_dict(), "obs_dim": 4,
     "action_space": {"type": "Discrete", "n": 2}, "n_actions": 2,
     "model": net.state_dict(), "optimizer": optimizer.state_dict(),   # optimizer optional
     "extra": {...}}                                                     # optional, plain data

``action_space`` is the env spec's action space as its policy head describes it
(``{"type": "Box", "shape": [1], "low": [-2.0], "high": [2.0]}`` for continuous actions, whose
``n_actions`` is None; a Box binned for DQN, ``config.action_bins``, is a ``Discrete`` space
that also carries its ``bins``, ``low`` and ``high``); the agent is rebuilt with that head. A
Gaussian policy's learned log-stds are a network parameter (``state_independent`` in
``model``), so they are saved and loaded with the weights. Version 1 files (``n_actions``
only: Discrete) still load.

Loading uses ``torch.load(weights_only=True)``, which unpickles tensors, numbers, strings,
lists and dicts only: a file crafted to run code when unpickled is refused, not executed.
The agent is then rebuilt from the stored config with :func:`pgcore.algos.make_agent` and
the weights are loaded strictly, so a file whose shapes do not fit its config (or whose
environment's sizes differ) is rejected. Every problem raises :class:`CheckpointError` with a
one-line message.
"""

from __future__ import annotations

import io
import os
import pickle
import warnings
import zipfile
from pathlib import Path

import torch

from ..algos import Agent, make_agent
from ..algos.common import check_action_space
from ..rl.envs import EnvError, EnvSpec, spec_for
from ..rl.heads import NoHeadError, head_from_description
from .config import ConfigError, TrainConfig

FORMAT_VERSION = 2
READS = (1, 2)
"""Format versions this pgcore loads (1: before action spaces were stored)."""
_REQUIRED = ("config", "obs_dim", "model")


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable, unsafe, or does not fit its config or environment."""


# ----- saving ---------------------------------------------------------------------------------


def _check_plain(value, where: str) -> None:
    """``extra`` must survive ``weights_only`` loading: plain JSON-like data only."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_plain(v, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise CheckpointError(f"{where} keys must be strings, got {k!r}")
            _check_plain(v, f"{where}[{k!r}]")
        return
    raise CheckpointError(f"{where} must hold plain data (numbers, strings, lists, dicts), "
                          f"got {type(value).__name__}")


def checkpoint_dict(agent: Agent, extra: dict | None = None, optimizer: bool = True) -> dict:
    """The plain-data dict that :func:`save_checkpoint` writes."""
    from .. import __version__

    if extra is not None:
        if not isinstance(extra, dict):
            raise CheckpointError("extra must be a dict of plain data")
        _check_plain(extra, "extra")
    data = {
        "format_version": FORMAT_VERSION,
        "pgcore_version": __version__,
        "config": agent.config.to_dict(),
        "obs_dim": int(agent.spec.obs_dim),
        "action_space": agent.head.describe(),
        "n_actions": agent.n_actions,  # None for continuous actions
        "model": {k: v.detach().clone() for k, v in agent.net.state_dict().items()},
    }
    if optimizer and getattr(agent, "optimizer", None) is not None:
        data["optimizer"] = agent.optimizer.state_dict()
    if extra:
        data["extra"] = extra
    return data


def save_checkpoint(path: str | os.PathLike, agent: Agent, extra: dict | None = None,
                    optimizer: bool = True) -> Path:
    """Write ``agent`` (weights, config, sizes, optionally the Adam state) to ``path``.

    The file is written next to ``path`` first and renamed into place, so an interrupted
    save never leaves a half-written checkpoint behind. Returns the path.
    """
    path = Path(path)
    data = checkpoint_bytes(agent, extra=extra, optimizer=optimizer)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CheckpointError(f"cannot write checkpoint {str(path)!r}: "
                              f"{exc.strerror or exc}") from None
    return path


def checkpoint_bytes(agent: Agent, extra: dict | None = None, optimizer: bool = True) -> bytes:
    """The checkpoint as bytes (for a download button); same format as :func:`save_checkpoint`."""
    buf = io.BytesIO()
    torch.save(checkpoint_dict(agent, extra=extra, optimizer=optimizer), buf)
    return buf.getvalue()


# ----- loading --------------------------------------------------------------------------------


def load_checkpoint(path: str | os.PathLike, check_env: bool = True
                    ) -> tuple[Agent, TrainConfig, dict]:
    """Load a checkpoint file: returns ``(agent, config, meta)``.

    ``meta`` holds ``format_version``, ``pgcore_version``, ``obs_dim``, ``n_actions``,
    ``extra`` (a dict, empty if none was saved) and ``has_optimizer``. With ``check_env`` the
    checkpoint's environment is looked up and its observation and action sizes must match.
    """
    p = Path(path)
    if not p.exists():
        raise CheckpointError(f"checkpoint not found: {str(p)!r}")
    if not p.is_file():
        raise CheckpointError(f"checkpoint path is not a file: {str(p)!r}")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {str(p)!r}: {exc.strerror or exc}") from None
    return _load(data, repr(str(p)), check_env)


def load_checkpoint_bytes(data: bytes, check_env: bool = True, name: str = "the uploaded file"
                          ) -> tuple[Agent, TrainConfig, dict]:
    """Like :func:`load_checkpoint`, from bytes (an uploaded file)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise CheckpointError("checkpoint data must be bytes")
    return _load(bytes(data), name, check_env)


def _torch_load(data: bytes, name: str) -> object:
    if not data:
        raise CheckpointError(f"{name} is empty, not a pgcore checkpoint")
    try:
        with warnings.catch_warnings():  # torch warns on odd pickle protocols
            warnings.simplefilter("ignore")
            return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        text = str(exc)
        if "weights only" in text.lower() and "global" in text.lower():
            # the pickle names a Python callable or class: loading it could run code
            raise CheckpointError(
                f"refusing to load {name}: it contains Python objects other than plain weights "
                "and data (unpickling them could run code)") from None
        raise CheckpointError(f"{name} is not a valid checkpoint (corrupt, or not a plain-data "
                              "PyTorch file)") from None
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile, KeyError,
            AttributeError, ImportError, IndexError, TypeError, UnicodeDecodeError):
        raise CheckpointError(f"{name} is not a valid checkpoint (corrupt or not a PyTorch "
                              "file)") from None


def _positive_int(value, field: str, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 1_000_000:
        raise CheckpointError(f"{name}: {field} must be a positive whole number, got {value!r}")
    return value


def _shape(t) -> str:
    return "(" + ", ".join(str(d) for d in t.shape) + ")"


def _check_model(model, expected: dict, name: str) -> None:
    """Same keys, tensors, same shapes, finite values; one-line message for the first problem."""
    if not isinstance(model, dict):
        raise CheckpointError(f"{name}: 'model' must be a state dict of tensors")
    missing = [k for k in expected if k not in model]
    unexpected = [k for k in model if k not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}")
        if unexpected:
            parts.append(f"unexpected {', '.join(map(str, unexpected[:3]))}"
                         f"{' ...' if len(unexpected) > 3 else ''}")
        raise CheckpointError(f"{name}: weights do not match the network its config describes "
                              f"({'; '.join(parts)})")
    for key, want in expected.items():
        got = model[key]
        if not isinstance(got, torch.Tensor):
            raise CheckpointError(f"{name}: weight {key} is not a tensor")
        if got.shape != want.shape:
            raise CheckpointError(
                f"{name}: weight {key} has shape {_shape(got)} but its config gives "
                f"{_shape(want)} (hidden size, layers or env sizes differ)")
        if got.is_floating_point() and not bool(torch.isfinite(got).all()):
            raise CheckpointError(f"{name}: weight {key} contains NaN or infinite values")


def _all_finite(obj) -> bool:
    """Every floating tensor inside a nested dict/list is finite."""
    if isinstance(obj, torch.Tensor):
        return not obj.is_floating_point() or bool(torch.isfinite(obj).all())
    if isinstance(obj, dict):
        return all(_all_finite(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return all(_all_finite(v) for v in obj)
    return True


def _load(data: bytes, name: str, check_env: bool) -> tuple[Agent, TrainConfig, dict]:
    ckpt = _torch_load(data, name)
    if not isinstance(ckpt, dict) or "format_version" not in ckpt:
        raise CheckpointError(f"{name} is not a pgcore checkpoint (no format_version)")
    version = ckpt["format_version"]
    if version not in READS or isinstance(version, bool):
        raise CheckpointError(f"{name} has checkpoint format_version {version!r}; this pgcore "
                              f"reads versions {', '.join(map(str, READS))}")
    missing = [k for k in _REQUIRED if k not in ckpt]
    if missing:
        raise CheckpointError(f"{name} is incomplete: missing {', '.join(missing)}")
    try:
        config = TrainConfig.from_dict(ckpt["config"])
    except ConfigError as exc:
        raise CheckpointError(f"{name} has an invalid config: {exc}") from None
    except TypeError:
        raise CheckpointError(f"{name} has an invalid config") from None
    obs_dim = _positive_int(ckpt["obs_dim"], "obs_dim", name)
    if "action_space" in ckpt:
        space = ckpt["action_space"]
    elif "n_actions" in ckpt:  # format 1: Discrete actions, stored as their count
        space = {"type": "Discrete", "n": _positive_int(ckpt["n_actions"], "n_actions", name)}
    else:
        raise CheckpointError(f"{name} is incomplete: missing action_space")
    try:
        head = head_from_description(space)
    except NoHeadError as exc:
        raise CheckpointError(f"{name}: {exc}") from None
    spec = EnvSpec(config.env_id, obs_dim, head)
    try:
        check_action_space(config, spec)
    except ConfigError as exc:
        raise CheckpointError(f"{name}: {exc}") from None

    agent = make_agent(config, spec)
    _check_model(ckpt["model"], agent.net.state_dict(), name)
    try:
        agent.net.load_state_dict(ckpt["model"], strict=True)
    except (RuntimeError, ValueError, KeyError) as exc:  # pragma: no cover - _check_model first
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{name}: weights do not load into its network: {first}") from None
    opt_state = ckpt.get("optimizer")
    if opt_state is not None:
        if not _all_finite(opt_state):
            raise CheckpointError(f"{name}: optimizer state contains NaN or infinite values")
        try:
            agent.optimizer.load_state_dict(opt_state)
        except (RuntimeError, ValueError, KeyError, TypeError, IndexError):
            raise CheckpointError(f"{name}: optimizer state does not fit the network") from None

    if check_env:
        try:
            env = spec_for(config)
        except EnvError as exc:
            raise CheckpointError(f"{name}: cannot use its environment: {exc}") from None
        if (env.obs_dim, env.head) != (obs_dim, head):
            raise CheckpointError(
                f"{name}: the network takes {obs_dim} observations and {head.space_text()}, "
                f"but {config.env_id} has {env.obs_dim} and {env.head.space_text()}")

    extra = ckpt.get("extra") or {}
    if not isinstance(extra, dict):
        extra = {}
    meta = {
        "format_version": version,
        "pgcore_version": str(ckpt.get("pgcore_version", "unknown")),
        "obs_dim": obs_dim,
        "action_space": head.describe(),
        "n_actions": getattr(head, "n", None),  # None for continuous actions
        "extra": extra,
        "has_optimizer": opt_state is not None,
    }
    return agent, config, meta
