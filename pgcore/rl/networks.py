"""Networks: a policy head, an optional value head V(s), an optional shared trunk.

::

    obs (B, obs_dim) -> trunk (shared_layers x hidden) -+-> policy head -> outputs (B, out_dim)
                                                        +-> value head  -> V(s)    (B,)

The policy head's ``out_dim`` is what the action space's head (:mod:`pgcore.rl.heads`) reads:
for a categorical policy over ``n`` actions, ``n`` logits. A head may ask for outputs that do
not depend on the state (``state_independent_init``: a Gaussian head's log-stds); the network
then holds them as one learned parameter vector, ``state_independent``, and appends them to
every row, after what its last layer computes::

    outputs = [ policy_head(trunk(obs)) (B, out_dim - k) | state_independent (k,) per row ]

``shared_layers = 0`` gives two fully separate networks (the trunk is the identity); the
lesson's actor-critic shares one 128-unit layer and gives each head one more 128-unit layer.

One forward pass per backend: in torch, :meth:`PolicyValueNet.forward` (acting calls it
without autograd); in numpy, :func:`dense` layer by layer on :class:`Dense` views of the same
parameters' memory (:func:`apply` for acting on a few states; :mod:`pgcore.rl.backprop` keeps
each layer's input and output for its chain rule).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# ----- the same layers in numpy: views of the parameters' memory ---------------------------


@dataclass
class Dense:
    """One ``Linear`` layer and the activation after it, on numpy views of the parameters.

    ``weight`` (out, in) and ``bias`` (out,) share memory with the torch parameters, so an
    optimiser step on either side is seen by the other; ``grad_weight`` and ``grad_bias`` are
    views of :class:`FlatAdam`'s gradient buffer."""

    weight: np.ndarray  # (out, in)
    bias: np.ndarray  # (out,)
    grad_weight: np.ndarray | None  # (out, in)
    grad_bias: np.ndarray | None  # (out,)
    activation: str | None  # "tanh", "relu" or None (a linear output)


def layers_of(seq: nn.Sequential, grads: dict[int, np.ndarray] | None = None) -> list[Dense]:
    """The :class:`Dense` layers of ``seq`` (``Linear`` each optionally followed by ``Tanh``
    or ``ReLU``, as :func:`pgcore.rl.networks.mlp` builds them); ``grads`` maps
    ``id(parameter)`` to its gradient view (:attr:`FlatAdam.grads`); without it the layers
    can only act (:func:`apply`)."""
    layers: list[Dense] = []
    for module in seq:
        if isinstance(module, nn.Linear):
            w, b = module.weight, module.bias
            gw, gb = (None, None) if grads is None else (grads[id(w)], grads[id(b)])
            layers.append(Dense(w.detach().numpy(), b.detach().numpy(), gw, gb, None))
        elif isinstance(module, (nn.Tanh, nn.ReLU)) and layers and layers[-1].activation is None:
            layers[-1].activation = "tanh" if isinstance(module, nn.Tanh) else "relu"
        else:
            raise TypeError(f"no by-hand backward for {type(module).__name__} here")
    return layers


def dense(layer: Dense, x: np.ndarray) -> np.ndarray:
    """h = act(x W^T + b) for a batch x (B, in) -> (B, out); tanh and relu elementwise."""
    h = x @ layer.weight.T + layer.bias  # (B, out)
    if layer.activation == "tanh":
        np.tanh(h, out=h)
    elif layer.activation == "relu":
        np.maximum(h, 0.0, out=h)
    return h


def apply(layers: list[Dense], x: np.ndarray) -> np.ndarray:
    """y = layers(x) for a batch x (B, in), keeping nothing: acting's forward pass."""
    for layer in layers:
        x = dense(layer, x)
    return x


_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}


def mlp(in_dim: int, hidden: int, layers: int,
        activation: str = "relu") -> tuple[nn.Sequential, int]:
    """``layers`` hidden layers of ``hidden`` units; returns (module, output width)."""
    mods: list[nn.Module] = []
    width = in_dim
    for _ in range(layers):
        mods += [nn.Linear(width, hidden), _ACTIVATIONS[activation]()]
        width = hidden
    return nn.Sequential(*mods), width


class PolicyValueNet(nn.Module):
    """Actor (and optionally critic).

    ``forward(obs)`` returns ``(outputs, values)``: outputs (B, out_dim) that the policy head
    turns into pi(.|s) (categorical: logits, pi(a|s) = softmax(logits)[a]; Gaussian: means and
    log-stds), and values (B,) = V(s), or ``None`` without a critic.

    ``state_independent_init`` (k numbers, default none): the last k of the ``out_dim``
    outputs are a learned parameter vector starting at these values, the same for every state
    (``self.state_independent``, trained with the policy, saved in the ``state_dict``).
    """

    def __init__(self, obs_dim: int, out_dim: int, hidden: int = 128, shared_layers: int = 0,
                 head_layers: int = 2, with_value: bool = True, activation: str = "relu",
                 ortho_init: bool = False, state_independent_init: tuple[float, ...] = ()):
        super().__init__()
        self.obs_dim, self.out_dim = obs_dim, out_dim
        k = len(state_independent_init)
        if not 0 <= k < out_dim:
            raise ValueError(f"{k} state-independent outputs do not fit in {out_dim} outputs")
        self.trunk, width = mlp(obs_dim, hidden, shared_layers, activation)
        policy_body, pw = mlp(width, hidden, head_layers, activation)
        self.policy_head = nn.Sequential(*policy_body, nn.Linear(pw, out_dim - k))
        self.state_independent: nn.Parameter | None = None
        if k:
            self.state_independent = nn.Parameter(
                torch.tensor(state_independent_init, dtype=torch.float32))
        self.value_head: nn.Sequential | None = None
        if with_value:
            value_body, vw = mlp(width, hidden, head_layers, activation)
            self.value_head = nn.Sequential(*value_body, nn.Linear(vw, 1))
        if ortho_init:
            self._ortho_init()
        self._plans = None  # the acting fast path, built on first use
        self._numpy_plans = None  # numpy_forward's layer views, built on first use
        # numpy_forward takes new views when this weight has moved (a tuple: not registered)
        self._last_weight = (self.policy_head[-1].weight,)

    # ----- acting fast path ----------------------------------------------------------------
    # Acting runs once per environment step on a batch of 1-16 states, where nn.Module call
    # overhead costs several times the arithmetic. ``act_forward`` runs the same layers with
    # plain functional calls on the same parameters: bit-identical outputs, ~4x faster. The
    # plan keeps the Linear modules and reads ``weight``/``bias`` at each call, so whatever
    # the module holds then is used (torch.func.functional_call's swapped-in tensors too).
    def _build_plans(self):
        def plan(seq):
            ops = []
            for m in seq:
                if isinstance(m, nn.Linear):
                    ops.append(m)
                elif isinstance(m, nn.ReLU):
                    ops.append(torch.relu)
                elif isinstance(m, nn.Tanh):
                    ops.append(torch.tanh)
                else:  # pragma: no cover - mlp() builds only these
                    raise TypeError(f"no fast path for {type(m).__name__}")
            return ops

        value = None if self.value_head is None else plan(self.value_head)
        self._plans = (plan(self.trunk), plan(self.policy_head), value)
        return self._plans

    @staticmethod
    def _run(ops, x: torch.Tensor) -> torch.Tensor:
        for op in ops:
            x = F.linear(x, op.weight, op.bias) if isinstance(op, nn.Linear) else op(x)
        return x

    @torch.no_grad()
    def act_forward(self, obs: torch.Tensor, with_value: bool = False):
        """:meth:`forward` without autograd, for acting: (outputs, values or None; the value
        head runs only if asked for)."""
        return self.forward(obs, with_value=with_value)

    def numpy_forward(self, obs: np.ndarray, with_value: bool = False):
        """``act_forward`` in numpy, for acting on a few states at a time: (outputs
        (B, out_dim), values (B,) or None), float32 arrays.

        The layers are numpy views of the parameters' own memory (:func:`pgcore.rl.backprop.
        layers_of`), so they always see the current weights, and a forward pass is a few
        array calls: for 1-16 states two to three times cheaper than torch's per-call
        overhead. The values agree with :meth:`act_forward` to float32 rounding (another
        matrix library sums in another order), not bit for bit. The views are taken on first
        use, after the optimiser has placed the parameters (:class:`pgcore.rl.backprop.FlatAdam`
        moves them).
        """
        last = self._last_weight[0]
        if self._numpy_plans is None or self._numpy_plans[0] != last.data_ptr():
            value = None if self.value_head is None else layers_of(self.value_head)
            self._numpy_plans = (last.data_ptr(), layers_of(self.trunk),
                                 layers_of(self.policy_head), value)  # (moved: taken again)
        _, trunk, policy, value = self._numpy_plans
        features = apply(trunk, np.asarray(obs, dtype=np.float32))
        outputs = apply(policy, features)
        if self.state_independent is not None:
            extra = self.state_independent.detach().numpy()
            outputs = np.concatenate((outputs, np.broadcast_to(extra, (len(outputs),
                                                                       len(extra)))), axis=1)
        values = None
        if with_value and value is not None:
            values = apply(value, features)[:, 0]
        return outputs, values

    def __getstate__(self) -> dict:
        """A copy (``copy.deepcopy``, pickling) gets new parameter tensors, so it leaves out
        ``numpy_forward``'s views of the old ones; the copy takes its own on first use."""
        state = self.__dict__.copy()
        state["_numpy_plans"] = None
        return state

    def _append_state_independent(self, outputs: torch.Tensor) -> torch.Tensor:
        """[outputs | state_independent] on every row: (B, out_dim)."""
        extra = self.state_independent.expand(*outputs.shape[:-1], -1)
        return torch.cat((outputs, extra), dim=-1)

    def _ortho_init(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.orthogonal_(module.weight, gain=math.sqrt(2))
                nn.init.zeros_(module.bias)
        nn.init.orthogonal_(self.policy_head[-1].weight, gain=0.01)
        if self.value_head is not None:
            nn.init.orthogonal_(self.value_head[-1].weight, gain=1.0)

    def forward(self, obs: torch.Tensor,
                with_value: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(outputs (B, out_dim), V(s) (B,) or None), with autograd: the network's one torch
        forward pass (:meth:`act_forward` is this without autograd). It runs a functional plan
        of the layers' own ``F.linear``/activation calls on their own parameters, so outputs
        and gradients are those of the modules, bit for bit (:meth:`module_forward`, the
        reference the tests hold it to), without ``nn.Module`` call overhead, which costs more
        than the arithmetic at these sizes (a third of a DQN gradient step). ``with_value=False``
        skips the value head."""
        trunk, policy, value = self._plans or self._build_plans()
        features = self._run(trunk, obs)  # (B, hidden) or (B, obs_dim) without a trunk
        logits = self._run(policy, features)  # (B, out_dim - k)
        if self.state_independent is not None:
            logits = self._append_state_independent(logits)  # (B, out_dim)
        values = None  # (B,) V(s), from the critic when there is one and it is asked for
        if with_value and value is not None:
            values = self._run(value, features).squeeze(-1)
        return logits, values

    def module_forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``forward`` through the ``nn.Sequential`` modules themselves: the reference the
        functional plan is tested against."""
        features = self.trunk(obs)
        logits = self.policy_head(features)
        if self.state_independent is not None:
            logits = self._append_state_independent(logits)
        values = None if self.value_head is None else self.value_head(features).squeeze(-1)
        return logits, values

    def param_groups(self, lr: float, value_lr: float) -> list[dict]:
        """Adam parameter groups: trunk + policy head (+ the state-independent outputs) at
        ``lr``, the value head at ``value_lr``."""
        policy = list(self.trunk.parameters()) + list(self.policy_head.parameters())
        if self.state_independent is not None:
            policy.append(self.state_independent)
        groups = [{"params": policy, "lr": lr}]
        if self.value_head is not None:
            groups.append({"params": list(self.value_head.parameters()), "lr": value_lr})
        return groups
