"""Network.forward / backward against independent oracles: the seed's XORNet in PyTorch
(autograd, float64), torch.nn.functional activations and losses, closed forms, and central
finite differences. Nothing here compares against captured actlab output."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from actlab.errors import ActlabError
from actlab.models import xor_initial
from actlab.network import Network

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([0.0, 1.0, 1.0, 0.0])

# Activations as torch.nn.functional computes them (not actlab's torch twins) where torch has
# them; PLU and JumpReLU are written out here from their definitions.
TORCH_FUNCTIONS = {
    "relu": F.relu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "leaky_relu:slope=0.1": lambda a: F.leaky_relu(a, 0.1),
    "elu:alpha=0.1": lambda a: F.elu(a, 0.1),
    "selu": F.selu,
    "gelu": F.gelu,
    "gelu:approx=tanh": lambda a: F.gelu(a, approximate="tanh"),
    "swish:beta=1": F.silu,
    "swish:beta=2.5": lambda a: a * torch.sigmoid(2.5 * a),
    "softplus:beta=2": lambda a: F.softplus(a, beta=2.0, threshold=1e9),
    "mish": F.mish,
    "plu:alpha=0.2,c=1": lambda a: torch.where(a > 1, 0.2 * a + 0.8,
                                               torch.where(a < -1, 0.2 * a - 0.8, a)),
    "jumprelu:q=0.3": lambda a: torch.where(a >= 0.3, a, torch.zeros_like(a)),
}


def seed_xornet_float64(x: np.ndarray, y: np.ndarray):
    """The seed's XORNet (nn.Linear, torch.relu, torch.sigmoid, nn.BCELoss) in float64."""
    hidden = torch.nn.Linear(2, 2).double()
    output = torch.nn.Linear(2, 1).double()
    with torch.no_grad():
        hidden.weight.copy_(torch.tensor([[1.0, 1.0], [1.0, 1.0]]))
        hidden.bias.copy_(torch.tensor([0.0, -1.0]))
        output.weight.copy_(torch.tensor([[1.0, -2.0]]))
        output.bias.copy_(torch.tensor([-0.5]))
    xt = torch.tensor(x, dtype=torch.float64)
    a = hidden(xt)
    h = torch.relu(a)
    z = output(h)
    p = torch.sigmoid(z)
    loss = torch.nn.BCELoss()(p, torch.tensor(y, dtype=torch.float64).reshape(-1, 1))
    loss.backward()
    return {"a": a.detach().numpy(), "h": h.detach().numpy(), "z": z.detach().numpy()[:, 0],
            "p": p.detach().numpy()[:, 0], "loss": float(loss.detach()),
            "W": hidden.weight.grad.numpy(), "c": hidden.bias.grad.numpy(),
            "w": output.weight.grad.numpy(), "b": output.bias.grad.numpy()}


@pytest.mark.parametrize("i", range(4))
def test_xor_forward_and_gradients_match_seed_xornet_autograd(i: int) -> None:
    net = xor_initial()
    fwd, grads = net.loss_and_gradients(XOR_X[i:i + 1], XOR_Y[i:i + 1])
    ref = seed_xornet_float64(XOR_X[i:i + 1], XOR_Y[i:i + 1])
    np.testing.assert_allclose(fwd.pre_activations[0], ref["a"], atol=1e-15)
    np.testing.assert_allclose(fwd.activations[0], ref["h"], atol=1e-15)
    np.testing.assert_allclose(fwd.logits[:, 0], ref["z"], atol=1e-15)
    np.testing.assert_allclose(fwd.proba, ref["p"], atol=1e-15)
    assert fwd.loss == pytest.approx(ref["loss"], abs=1e-14)
    for ours, key in zip(grads.parameters(), ("W", "c", "w", "b"), strict=True):
        np.testing.assert_allclose(ours, ref[key], atol=1e-14, err_msg=key)


def test_xor_batch_mean_gradients_match_autograd() -> None:
    _, grads = xor_initial().loss_and_gradients(XOR_X, XOR_Y)
    ref = seed_xornet_float64(XOR_X, XOR_Y)
    for ours, key in zip(grads.parameters(), ("W", "c", "w", "b"), strict=True):
        np.testing.assert_allclose(ours, ref[key], atol=1e-14, err_msg=key)


def test_seed_worked_example_closed_form() -> None:
    """(0,0): a = [0, -1], h = [0, 0], z = -0.5, p = 1/(1+e^0.5) = 0.3775, L = log(1+e^-0.5)."""
    fwd, grads = xor_initial().loss_and_gradients(XOR_X[:1], XOR_Y[:1])
    p = 1.0 / (1.0 + math.exp(0.5))
    assert fwd.logits[0, 0] == -0.5
    assert fwd.proba[0] == pytest.approx(p, abs=1e-15)
    assert round(fwd.proba[0], 4) == 0.3775
    assert fwd.loss == pytest.approx(math.log1p(math.exp(-0.5)), abs=1e-15)
    assert round(fwd.loss, 3) == 0.474
    np.testing.assert_allclose(grads.bias[1], [p])           # dL/db = p - y
    np.testing.assert_array_equal(grads.weight[1], [[0, 0]])  # dL/dw = (p - y) h, h = 0
    np.testing.assert_array_equal(grads.weight[0], np.zeros((2, 2)))


def test_kinks_found_exactly_where_the_issue_says() -> None:
    fwd = xor_initial().forward(XOR_X, XOR_Y)
    kinks = {(k.sample, k.unit) for k in fwd.kinks(xor_initial())}
    assert kinks == {(0, 0), (1, 1), (2, 1)}  # (0,0): a1 = 0; (0,1), (1,0): a2 = 0


def one_sided_derivative(f, t0: float, side: int, h: float = 1e-5) -> float:
    """Second-order one-sided difference of f at t0 from the right (+1) or left (-1)."""
    return side * (-3 * f(t0) + 4 * f(t0 + side * h) - f(t0 + 2 * side * h)) / (2 * h)


@pytest.mark.parametrize("side", ["left", "right"])
def test_one_sided_conventions_match_one_sided_differences(side: str) -> None:
    """At (0,0), a1 = c1 = 0 sits on relu's kink: dL/dc1 is 0 from the left, p - y from the
    right. Checked against one-sided finite differences of the loss in c1."""
    net = xor_initial()
    fwd = net.forward(XOR_X[:1], XOR_Y[:1])
    grads = net.backward(fwd, kink=side)

    def loss(c1: float) -> float:
        params = net.parameters()
        params[1] = np.array([c1, -1.0])
        return net.with_parameters(params).forward(XOR_X[:1], XOR_Y[:1]).loss

    expected = one_sided_derivative(loss, 0.0, +1 if side == "right" else -1)
    assert grads.bias[0][0] == pytest.approx(expected, abs=1e-9)
    assert grads.bias[0][0] == pytest.approx(0.0 if side == "left" else 1 / (1 + math.exp(0.5)))
    assert net.backward(fwd).bias[0][0] == 0.0  # default: relu'(0) = 0, PyTorch's


def random_network(seed: int, spec: str, sizes: list[int]) -> Network:
    rng = np.random.default_rng(seed)
    head = "sigmoid" if sizes[-1] == 1 else "softmax"
    return Network.from_arrays(
        [rng.normal(size=(o, i)) for i, o in itertools.pairwise(sizes)],
        [rng.normal(size=o) for o in sizes[1:]],
        [spec] * (len(sizes) - 2) + [head])


def torch_reference(net: Network, spec: str, x: np.ndarray, y: np.ndarray):
    """Per-sample losses and gradients with torch.nn.functional, autograd, float64."""
    fn = TORCH_FUNCTIONS[spec]
    params = [torch.tensor(p, requires_grad=True) for p in net.parameters()]
    xt = torch.tensor(x, requires_grad=True)
    h = xt
    for l in range(len(net.layers)):
        h = F.linear(h, params[2 * l], params[2 * l + 1])
        if l < len(net.layers) - 1:
            h = fn(h)
    if net.binary:
        losses = F.binary_cross_entropy_with_logits(h[:, 0], torch.tensor(y), reduction="none")
    else:
        losses = F.cross_entropy(h, torch.tensor(y, dtype=torch.int64), reduction="none")
    per_sample = []
    for i in range(len(x)):
        g = torch.autograd.grad(losses[i], [*params, xt], retain_graph=True)
        per_sample.append([t.numpy().copy() for t in g])
    mean = torch.autograd.grad(losses.mean(), params)
    return losses.detach().numpy(), per_sample, [t.numpy() for t in mean]


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), spec=st.sampled_from(sorted(TORCH_FUNCTIONS)),
       shape=st.sampled_from([[2, 3, 1], [3, 4, 2, 1], [2, 5, 3], [4, 3, 3, 4]]))
def test_random_networks_backward_matches_autograd(seed: int, spec: str, shape: list[int]) -> None:
    net = random_network(seed, spec, shape)
    rng = np.random.default_rng(seed + 1)
    n = 5
    x = rng.normal(size=(n, shape[0])) * 2
    y = (rng.integers(0, 2, n) if net.binary else rng.integers(0, shape[-1], n)).astype(float)
    losses, per_sample, mean = torch_reference(net, spec, x, y)
    fwd = net.forward(x, y)
    np.testing.assert_allclose(fwd.losses, losses, rtol=1e-12, atol=1e-12)
    each = net.backward(fwd, reduction="none")
    for i in range(n):
        for ours, ref in zip(each.parameters(), per_sample[i][:-1], strict=True):
            np.testing.assert_allclose(ours[i], ref, rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(each.input[i], per_sample[i][-1][i], rtol=1e-9, atol=1e-11)
    for ours, ref in zip(net.backward(fwd).parameters(), mean, strict=True):
        np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-11)
    total = net.backward(fwd, reduction="sum")
    for ours, ref in zip(total.parameters(), mean, strict=True):
        np.testing.assert_allclose(ours, n * ref, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("spec", ["gelu", "swish:beta=2.5", "elu:alpha=0.1", "tanh"])
def test_central_finite_differences_on_smooth_networks(spec: str) -> None:
    net = random_network(7, spec, [3, 4, 3, 2])
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(6, 3)), rng.integers(0, 2, 6).astype(float)
    grads = net.backward(net.forward(x, y))
    params = net.parameters()
    h = 1e-6
    for k, p in enumerate(params):
        for idx in np.ndindex(p.shape):
            plus = [q.copy() for q in params]
            minus = [q.copy() for q in params]
            plus[k][idx] += h
            minus[k][idx] -= h
            fd = (net.with_parameters(plus).forward(x, y).loss
                  - net.with_parameters(minus).forward(x, y).loss) / (2 * h)
            assert grads.parameters()[k][idx] == pytest.approx(fd, abs=1e-8)


@pytest.mark.parametrize("z, y", [(400.0, 0.0), (-400.0, 1.0), (400.0, 1.0), (-400.0, 0.0),
                                  (1e5, 0.0)])
def test_binary_head_is_stable_at_extreme_logits(z: float, y: float) -> None:
    """L = y softplus(-z) + (1-y) softplus(z), dL/dz = p - y, against PyTorch's stable BCE."""
    net = Network.from_arrays([[[1.0]]], [[0.0]], ["sigmoid"])
    fwd, grads = net.loss_and_gradients([[z]], [y])
    zt = torch.tensor([z], dtype=torch.float64, requires_grad=True)
    ref = F.binary_cross_entropy_with_logits(zt, torch.tensor([y], dtype=torch.float64))
    ref.backward()
    assert np.isfinite(fwd.loss)
    assert fwd.loss == pytest.approx(float(ref.detach()), rel=1e-15, abs=1e-15)

    def softplus(t: float) -> float:  # log(1 + e^t) without overflow
        return max(t, 0.0) + math.log1p(math.exp(-abs(t)))

    closed = y * softplus(-z) + (1 - y) * softplus(z)  # -log p or -log(1-p), to full precision
    assert fwd.loss == pytest.approx(closed, rel=1e-15, abs=1e-300)
    assert grads.weight[0][0, 0] == pytest.approx(float(zt.grad[0]) * z, rel=1e-12, abs=1e-12)
    exact = (1 - y) / (1 + math.exp(-z)) - y / (1 + math.exp(z)) if abs(z) < 700 else None
    if exact is not None:  # closed form dL/dz, with no cancellation
        assert grads.logits[0, 0] == pytest.approx(exact, rel=1e-15, abs=1e-300)


def test_softmax_head_is_stable_at_extreme_logits() -> None:
    net = Network.from_arrays([np.eye(3)], [np.zeros(3)], ["softmax"])
    x = np.array([[400.0, -400.0, 0.0], [1e4, 1e4, -1e4]])
    y = np.array([1.0, 0.0])
    fwd, grads = net.loss_and_gradients(x, y, reduction="none")
    xt = torch.tensor(x, requires_grad=True)
    losses = F.cross_entropy(xt, torch.tensor([1, 0]), reduction="none")
    np.testing.assert_allclose(fwd.losses, losses.detach().numpy(), rtol=1e-15)
    ref = torch.autograd.grad(losses.sum(), xt)[0].numpy()
    np.testing.assert_allclose(grads.input, ref, atol=1e-15)


def test_forward_agrees_with_existing_logits_and_classify() -> None:
    net = random_network(1, "relu", [2, 6, 3])
    x = np.random.default_rng(0).normal(size=(20, 2))
    fwd = net.forward(x)
    np.testing.assert_array_equal(fwd.logits, net.logits(x))
    np.testing.assert_allclose(fwd.proba, net.predict_proba(x))
    assert fwd.losses is None


def test_bad_labels_are_clear_errors() -> None:
    net = xor_initial()
    with pytest.raises(ActlabError, match="one label per sample"):
        net.forward(XOR_X, [0, 1])
    with pytest.raises(ActlabError, match=r"\[0, 1\]"):
        net.forward(XOR_X, [0, 1, 2, 0])
    with pytest.raises(ActlabError, match="labels"):
        net.backward(net.forward(XOR_X))
    multi = random_network(0, "relu", [2, 3, 3])
    with pytest.raises(ActlabError, match="integers"):
        multi.forward(XOR_X, [0, 1, 2.5, 0])
