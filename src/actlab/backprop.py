"""Backpropagation shown and checked: the XOR network's hand calculation and its verification.

``trace``: for a one-hidden-layer binary network f(x) = sigmoid(w . f1(W x + c) + b) and each
sample, the forward values a = W x + c, h = f1(a), z = w . h + b, p = sigmoid(z),
loss = -[y log p + (1 - y) log(1 - p)] and the gradients of that sample's loss; where a
pre-activation sits exactly on a kink, also the gradients under both one-sided derivatives.

``verify``: every gradient of ``Network.backward`` against torch autograd (float64) and against
finite differences (central where the loss is smooth along the direction; second-order one-sided
where the step moves a pre-activation off a kink, matched to the convention of that side).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from actlab.data import Dataset
from actlab.network import FloatArray, Gradients, Network
from actlab.train import xor_params

VERIFY_LIMIT = 1e-8
FD_STEP = 1e-5


# --- trace --------------------------------------------------------------------------------
@dataclass(frozen=True)
class SampleTrace:
    """One sample's forward values, its deltas and the gradients of its own loss."""

    x: list[float]
    y: float
    a: list[float]
    h: list[float]
    z: float
    p: float
    loss: float
    d_z: float
    d_h: list[float]
    d_a: list[float]
    grads: dict[str, Any]
    kinks: list[dict[str, float]]
    grads_one_sided: dict[str, dict[str, Any]] | None

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in ("x", "y", "a", "h", "z", "p", "loss", "grads")}
        out.update({"dL_dz": self.d_z, "dL_dh": self.d_h, "dL_da": self.d_a,
                    "kinks": self.kinks})
        if self.grads_one_sided is not None:
            out["grads_one_sided"] = self.grads_one_sided
        return out


@dataclass(frozen=True)
class Trace:
    """The hand calculation for every sample plus the sums (and means) over the samples."""

    network: Network
    samples: list[SampleTrace]
    loss_sum: float
    grads_sum: dict[str, Any]
    grads_sum_one_sided: dict[str, dict[str, Any]] | None = None

    @property
    def convention(self) -> str:
        act = self.network.layers[0].activation
        kinks = ", ".join(f"{act.name}'({bp.x:g}) = {bp.derivative_used:g}"
                          for bp in act.breakpoints())
        return (f"at a kink the derivative used is {kinks} (PyTorch's convention)" if kinks
                else f"{act.spec} is differentiable everywhere")

    def to_dict(self) -> dict[str, Any]:
        n = len(self.samples)
        mean = {k: (np.asarray(v) / n).tolist() for k, v in self.grads_sum.items()}
        return {"model": self.network.name,
                "hidden_activation": self.network.layers[0].activation.spec,
                "convention": self.convention,
                "samples": [s.to_dict() for s in self.samples],
                "sum": {"loss": self.loss_sum, "grads": self.grads_sum,
                        **({"grads_one_sided": self.grads_sum_one_sided}
                           if self.grads_sum_one_sided else {})},
                "mean": {"loss": self.loss_sum / n, "grads": mean}}


def _named(grads: Gradients, i: int | None = None) -> dict[str, Any]:
    """Gradients by the homework's names; i selects one sample of per-sample gradients."""
    pick = (lambda g: g + 0.0) if i is None else (lambda g: g[i] + 0.0)  # + 0.0: no -0.0
    return {"W": pick(grads.weight[0]).tolist(), "c": pick(grads.bias[0]).tolist(),
            "w": pick(grads.weight[1])[0].tolist(), "b": float(pick(grads.bias[1])[0])}


def trace(network: Network, data: Dataset) -> Trace:
    """Forward values and per-sample gradients of a one-hidden-layer binary network."""
    xor_params(network)  # checks the architecture
    fwd = network.forward(data.x, data.labels())
    grads = network.backward(fwd, reduction="none")
    kinks = fwd.kinks(network)
    one_sided = {side: network.backward(fwd, reduction="none", kink=side)
                 for side in ("left", "right")} if kinks else {}
    w_out = network.layers[1].weight[0]
    samples = []
    for i in range(len(data.x)):
        mine = [k for k in kinks if k.sample == i]
        samples.append(SampleTrace(
            x=fwd.x[i].tolist(), y=float(fwd.y[i]), a=fwd.pre_activations[0][i].tolist(),
            h=fwd.activations[0][i].tolist(), z=float(fwd.logits[i, 0]), p=float(fwd.proba[i]),
            loss=float(fwd.losses[i]), d_z=float(grads.logits[i, 0]),
            d_h=(grads.logits[i, 0] * w_out + 0.0).tolist(),
            d_a=(grads.pre_activations[0][i] + 0.0).tolist(),
            grads=_named(grads, i),
            kinks=[{"unit": k.unit, "a": k.x, "left_derivative": k.left_derivative,
                    "right_derivative": k.right_derivative,
                    "derivative_used": k.derivative_used, "jump": k.jump} for k in mine],
            grads_one_sided=({side: _named(g, i) for side, g in one_sided.items()}
                             if mine else None)))
    total = network.backward(fwd, reduction="sum")
    total_sided = {side: _named(network.backward(fwd, reduction="sum", kink=side))
                   for side in ("left", "right")} if kinks else None
    return Trace(network, samples, float(np.sum(fwd.losses)), _named(total), total_sided)


def _num(v: float) -> str:
    """A number for the hand calculation: integers as integers, else up to 4 decimals."""
    v = float(v)
    if v == round(v) and abs(v) < 1e9:
        return str(round(v))
    text = f"{v:.4f}".rstrip("0")
    return text if text not in ("0.", "-0.") else f"{v:.2e}"


def _factor(v: float) -> str:
    """A number as a factor: negative numbers in parentheses."""
    return f"({_num(v)})" if v < 0 else _num(v)


def _plus(v: float) -> str:
    """'+ v' or '- |v|'."""
    return f"- {_num(-v)}" if v < 0 else f"+ {_num(v)}"


def _vec(v: Any) -> str:
    arr = np.asarray(v, dtype=float)
    if arr.ndim == 2:
        return "[" + ", ".join(_vec(r) for r in arr) + "]"
    return "[" + ", ".join(_num(e) for e in np.atleast_1d(arr)) + "]"


def _step(lhs: str, formula: str, work: str) -> str:
    """One line of the calculation: lhs = formula = numbers, aligned."""
    return f"    {lhs:<5} = {formula:<17} = {work}"


def explain(tr: Trace, seed_example: bool = False) -> str:
    """The trace as a hand calculation: each chain-rule step with its symbols and numbers."""
    net = tr.network
    hidden, out = net.layers
    f = hidden.activation.name
    W, c, w, b = hidden.weight, hidden.bias, out.weight[0], float(out.bias[0])
    lines = [f"Network {net.name}: a = W x + c, h = {f}(a), z = w.h + b, p = sigmoid(z), "
             "L = -[y log p + (1-y) log(1-p)]",
             f"W = {_vec(W)}, c = {_vec(c)}, w = {_vec(w)}, b = {_num(b)}",
             f"Convention: {tr.convention}.", ""]
    for s in tr.samples:
        x = np.asarray(s.x)
        lines.append(f"Sample x = {_vec(x)}, y = {_num(s.y)}")
        lines.append("  forward")
        rows = [" + ".join(f"{_factor(W[j, k])}*{_factor(x[k])}" for k in range(len(x)))
                + f" {_plus(c[j])}" for j in range(len(c))]
        lines.append(_step("a", "W x + c", f"[{'; '.join(rows)}] = {_vec(s.a)}"))
        lines.append(_step("h", f"{f}(a)", _vec(s.h)))
        zt = " + ".join(f"{_factor(w[j])}*{_factor(s.h[j])}" for j in range(len(w)))
        lines.append(_step("z", "w.h + b", f"{zt} {_plus(b)} = {_num(s.z)}"))
        lines.append(_step("p", "sigmoid(z)", f"1/(1 + exp({_num(-s.z)})) = {_num(s.p)}"))
        if s.y in (0.0, 1.0):
            which, work = (("-log(p)", f"-log({_num(s.p)})") if s.y == 1.0
                           else ("-log(1-p)", f"-log(1 - {_num(s.p)})"))
        else:
            which = "-[y log p + (1-y) log(1-p)]"
            work = f"-[{_num(s.y)} log {_num(s.p)} + {_num(1 - s.y)} log(1 - {_num(s.p)})]"
        lines.append(_step("L", which, f"{work} = {_num(s.loss)}"))
        lines.append("  backward (chain rule, from the loss back to the inputs)")
        lines.append(_step("dL/dz", "p - y", f"{_num(s.p)} - {_num(s.y)} = {_num(s.d_z)}"))
        lines.append(_step("dL/db", "dL/dz", _num(s.grads["b"])))
        lines.append(_step("dL/dw", "dL/dz * h",
                           f"{_factor(s.d_z)} * {_vec(s.h)} = {_vec(s.grads['w'])}"))
        lines.append(_step("dL/dh", "dL/dz * w", f"{_factor(s.d_z)} * {_vec(w)} = {_vec(s.d_h)}"))
        slopes = hidden.activation.derivative(np.asarray(s.a))
        lines.append(_step("dL/da", f"dL/dh * {f}'(a)",
                           f"{_vec(s.d_h)} * {_vec(slopes)} = {_vec(s.d_a)}"))
        lines.append(_step("dL/dW", "dL/da x^T", f"{_vec(s.d_a)} {_vec(x)}^T = "
                           f"{_vec(s.grads['W'])}"))
        lines.append(_step("dL/dc", "dL/da", _vec(s.grads["c"])))
        for k in s.kinks:
            what = "jump (f is discontinuous there)" if k["jump"] else "kink"
            lines.append(f"  {what.split()[0]}: a{k['unit'] + 1} = {_num(k['a'])} sits exactly "
                         f"on {f}'s {what}, "
                         f"where {f}' is undefined: {_num(k['left_derivative'])} from the left, "
                         f"{_num(k['right_derivative'])} from the right (used: "
                         f"{_num(k['derivative_used'])}).")
        if s.grads_one_sided:
            for side, g in s.grads_one_sided.items():
                lines.append(f"    with the {side}-hand derivative: dL/dW = {_vec(g['W'])}, "
                             f"dL/dc = {_vec(g['c'])} (dL/dw, dL/db unchanged)")
        if seed_example and s.x == [0.0, 0.0]:
            ok = abs(s.z + 0.5) < 1e-12 and abs(s.p - 0.3775) < 5e-5 and abs(s.loss - 0.474) < 5e-4
            lines.append("  the seed's worked example for (0,0) (z = -0.5, p = 0.3775, loss 0.474) "
                         + ("matches" if ok else "DOES NOT match"))
        lines.append("")
    n = len(tr.samples)
    g = tr.grads_sum
    lines.append(f"Sum over the {n} samples: L = {_num(tr.loss_sum)}, dL/dW = {_vec(g['W'])}, "
                 f"dL/dc = {_vec(g['c'])}, dL/dw = {_vec(g['w'])}, dL/db = {_num(g['b'])}")
    for side, gs in (tr.grads_sum_one_sided or {}).items():
        lines.append(f"  with the {side}-hand derivative at every kink: dL/dW = {_vec(gs['W'])}, "
                     f"dL/dc = {_vec(gs['c'])} (dL/dw, dL/db unchanged)")
    lines.append(f"Mean (gradient of the mean loss): L = {_num(tr.loss_sum / n)}, dL/dW = "
                 f"{_vec(np.asarray(g['W']) / n)}, dL/dc = {_vec(np.asarray(g['c']) / n)}, "
                 f"dL/dw = {_vec(np.asarray(g['w']) / n)}, dL/db = {_num(g['b'] / n)}")
    return "\n".join(lines)


# --- verify ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Check:
    """One comparison: our backward's values against an independent reference."""

    sample: str
    quantity: str
    reference: str
    convention: str
    discrepancy: float


@dataclass(frozen=True)
class Verification:
    """All checks and the largest discrepancy (max absolute difference)."""

    checks: list[Check]
    limit: float

    @property
    def max_discrepancy(self) -> float:
        return max(c.discrepancy for c in self.checks)

    @property
    def ok(self) -> bool:
        return self.max_discrepancy <= self.limit

    def to_dict(self) -> dict[str, Any]:
        return {"max_discrepancy": self.max_discrepancy, "limit": self.limit, "ok": self.ok,
                "checks": self.checks}


def _autograd(network: Network, x: FloatArray, y: FloatArray) -> dict[str, Any]:
    """Forward values and gradients of the batch-mean loss by torch autograd in float64, with
    PyTorch's own activations where it has them (nn.ReLU, nn.GELU, ...; the catalogue's torch
    twin otherwise) and its own loss (binary_cross_entropy_with_logits / cross_entropy)."""
    import torch
    import torch.nn.functional as F

    from actlab.io import _torch_module

    modules = [_torch_module(layer.activation) for layer in network.hidden_layers]
    params = [torch.tensor(p, dtype=torch.float64, requires_grad=True)
              for p in network.parameters()]
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    h, pre, post = xt, [], []
    for l in range(len(network.layers)):
        a = h @ params[2 * l].T + params[2 * l + 1]
        pre.append(a)
        hidden = l < len(network.layers) - 1 and modules[l] is not None
        h = modules[l](a) if hidden else a
        post.append(h)
    if network.binary:
        loss = F.binary_cross_entropy_with_logits(a[:, 0], torch.tensor(y, dtype=torch.float64))
    else:
        loss = F.cross_entropy(a, torch.tensor(y, dtype=torch.int64))
    grads = torch.autograd.grad(loss, [*params, xt])
    return {"pre": [t.detach().numpy() for t in pre], "post": [t.detach().numpy() for t in post],
            "loss": float(loss.detach()), "params": [g.numpy() for g in grads[:-1]],
            "input": grads[-1].numpy() * len(x)}


def _loss_at(network: Network, theta: FloatArray, n_params: int, sizes: list[tuple[int, ...]],
             y: FloatArray, n_x: int) -> tuple[float, FloatArray]:
    """Mean loss and the hidden pre-activations at the flat vector theta = (parameters, inputs)."""
    arrays, start = [], 0
    for shape in sizes:
        size = int(np.prod(shape))
        arrays.append(theta[start:start + size].reshape(shape))
        start += size
    x = theta[n_params:].reshape(n_x, -1)
    fwd = network.with_parameters(arrays).forward(x, y)
    pre = np.concatenate([a.ravel() for a in fwd.pre_activations[:-1]]) if len(
        network.layers) > 1 else np.zeros(0)
    return fwd.loss, pre


def _finite_differences(network: Network, x: FloatArray, y: FloatArray,
                        step: float) -> dict[str, FloatArray]:
    """Per coordinate of theta = (parameters, inputs): the central difference and both
    second-order one-sided differences of the mean loss, and which kinked pre-activations the
    coordinate moves (and in which direction)."""
    params = network.parameters()
    sizes = [p.shape for p in params]
    theta = np.concatenate([*(p.ravel() for p in params), x.ravel()])
    n_params = sum(p.size for p in params)
    fwd = network.forward(x, y)
    kinked = np.concatenate([
        np.isin(a, [bp.x for bp in layer.activation.breakpoints()]).ravel()
        for layer, a in zip(network.hidden_layers, fwd.pre_activations, strict=False)]) if len(
        network.layers) > 1 else np.zeros(0, dtype=bool)

    def loss(t: FloatArray) -> tuple[float, FloatArray]:
        return _loss_at(network, t, n_params, sizes, y, len(x))

    l0, pre0 = loss(theta)
    central, right, left, direction = (np.empty_like(theta) for _ in range(4))
    for j in range(len(theta)):
        e = np.zeros_like(theta)
        e[j] = step
        lp, pre_p = loss(theta + e)
        lm, _ = loss(theta - e)
        lp2, _ = loss(theta + 2 * e)
        lm2, _ = loss(theta - 2 * e)
        central[j] = (lp - lm) / (2 * step)
        right[j] = (-3 * l0 + 4 * lp - lp2) / (2 * step)
        left[j] = (3 * l0 - 4 * lm + lm2) / (2 * step)
        moved = np.sign(pre_p - pre0)[kinked]
        moved = moved[moved != 0]
        direction[j] = 0 if moved.size == 0 else (moved[0] if np.all(moved == moved[0])
                                                 else np.nan)
    return {"central": central, "right": right, "left": left, "direction": direction}


def _flat(grads: Gradients, n: int) -> FloatArray:
    """Our gradients of the mean loss, flattened as theta (parameters, then inputs / n)."""
    return np.concatenate([*(g.ravel() for g in grads.parameters()),
                           (grads.input / n).ravel()])


def verify(network: Network, data: Dataset, limit: float = VERIFY_LIMIT,
           step: float = FD_STEP) -> Verification:
    """Check forward values and every gradient (parameters and inputs) for each sample alone and
    for the batch-mean loss against torch autograd (float64) and finite differences."""
    y_all = network.forward(data.x, data.labels()).y
    groups = [(f"x={data.x[i].tolist()}", data.x[i:i + 1], y_all[i:i + 1])
              for i in range(len(data.x))] + [("mean over all", data.x, y_all)]
    checks: list[Check] = []
    for label, x, y in groups:
        fwd = network.forward(x, y)
        ours = {side: network.backward(fwd, "mean", side) for side in ("default", "left", "right")}
        ref = _autograd(network, x, y)
        forward_gap = max(
            max(float(np.max(np.abs(a - r))) for a, r in zip(fwd.pre_activations, ref["pre"],
                                                               strict=True)),
            max([float(np.max(np.abs(h - r))) for h, r in zip(fwd.activations, ref["post"],
                                                              strict=False)], default=0.0),
            abs(fwd.loss - ref["loss"]))
        checks.append(Check(label, "forward: a, h, z, loss", "torch float64", "-", forward_gap))
        names = [f"d{kind}{l + 1}" for l in range(len(network.layers)) for kind in ("W", "b")]
        for name, g, r in zip(names, ours["default"].parameters(), ref["params"], strict=True):
            checks.append(Check(label, name, "torch autograd float64", "default",
                                float(np.max(np.abs(g - r)))))
        checks.append(Check(label, "dx", "torch autograd float64", "default",
                            float(np.max(np.abs(ours["default"].input - ref["input"])))))
        checks.extend(_fd_checks(network, label, x, y, ours, step))
    return Verification(checks, limit)


def _fd_checks(network: Network, label: str, x: FloatArray, y: FloatArray,
               ours: dict[str, Gradients], step: float) -> list[Check]:
    """Finite-difference checks: central where smooth; where a coordinate moves a kinked
    pre-activation, each convention against the one-sided difference of its side."""
    fd = _finite_differences(network, x, y, step)
    flat = {side: _flat(g, len(x)) for side, g in ours.items()}
    direction = fd["direction"]
    smooth = direction == 0
    checks = []
    if smooth.any():
        checks.append(Check(label, "all gradients (smooth directions)", "central differences",
                            "default",
                            float(np.max(np.abs(flat["default"] - fd["central"])[smooth]))))
    crossing = np.nonzero(~smooth & np.isfinite(direction))[0]
    if not crossing.size:
        return checks
    bps = {bp for layer in network.hidden_layers for bp in layer.activation.breakpoints()}
    sides = {"left": "left", "right": "right"}
    for bp in bps:  # where f jumps, the loss has no one-sided derivative on the far side
        value = float(next(l.activation.value(bp.x) for l in network.hidden_layers
                           if bp in l.activation.breakpoints()))
        for side, limit in (("left", bp.left_value), ("right", bp.right_value)):
            if limit != value:
                sides.pop(side, None)
    if all(bp.derivative_used == bp.left_derivative for bp in bps):
        sides["default"] = "left"
    elif all(bp.derivative_used == bp.right_derivative for bp in bps):
        sides["default"] = "right"
    for convention, side in sides.items():
        # the step that pushes the kinked pre-activation to the right sees the right slope
        towards = direction[crossing] * (1.0 if side == "right" else -1.0)
        ref = np.where(towards > 0, fd["right"][crossing], fd["left"][crossing])
        checks.append(Check(label, "gradients that move a kinked pre-activation",
                            f"one-sided differences ({side} of the kink)", convention,
                            float(np.max(np.abs(flat[convention][crossing] - ref)))))
    return checks
