"""Numerical extremes: logits of +-1000, weights of 1e6, JumpReLU thresholds at 0 and 1.
Oracles: PyTorch float64 (autograd, stable BCE / cross-entropy), closed forms, and the positive
homogeneity of ReLU (relu(s a) = s relu(a) for s > 0, so scaling a layer moves no boundary)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from actlab.models import xor_initial
from actlab.network import Network
from actlab.oae.api import oae

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([0.0, 1.0, 1.0, 0.0])


def scaled_xor(hidden: float, output: float) -> Network:
    """The seed's network with W, c multiplied by ``hidden``, w by ``output`` and b by both:
    z = hidden * output * z_seed(x)."""
    W, c, w, b = (np.asarray(p) for p in xor_initial().parameters())
    return Network.from_arrays([W * hidden, w * output], [c * hidden, b * hidden * output],
                               ["relu", "sigmoid"])


@pytest.mark.parametrize("z", [1000.0, -1000.0])
@pytest.mark.parametrize("y", [0.0, 1.0])
def test_bce_at_logit_1000(z: float, y: float) -> None:
    """L = softplus(z) - y z, dL/dz = sigmoid(z) - y: finite and equal to PyTorch's."""
    net = Network.from_arrays([[[1.0]]], [[0.0]], ["sigmoid"])
    fwd, grads = net.loss_and_gradients([[z]], [y])
    closed = max(z, 0.0) + math.log1p(math.exp(-abs(z))) - y * z
    assert fwd.loss == pytest.approx(closed, rel=1e-15, abs=1e-300)
    zt = torch.tensor([z], dtype=torch.float64, requires_grad=True)
    F.binary_cross_entropy_with_logits(zt, torch.tensor([y], dtype=torch.float64)).backward()
    assert grads.logits[0, 0] == pytest.approx(float(zt.grad[0]), abs=1e-300)


def test_cross_entropy_at_logit_1000() -> None:
    net = Network.from_arrays([np.eye(3)], [np.zeros(3)], ["softmax"])
    x = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0]])
    y = np.array([1.0, 2.0])
    fwd, grads = net.loss_and_gradients(x, y, reduction="none")
    xt = torch.tensor(x, requires_grad=True)
    losses = F.cross_entropy(xt, torch.tensor([1, 2]), reduction="none")
    np.testing.assert_allclose(fwd.losses, [2000.0, 0.0], rtol=1e-15)  # closed form
    np.testing.assert_allclose(fwd.losses, losses.detach().numpy(), rtol=1e-15)
    ref = torch.autograd.grad(losses.sum(), xt)[0].numpy()
    np.testing.assert_allclose(grads.input, ref, atol=1e-15)


def test_gradients_with_weights_of_1e6_match_autograd() -> None:
    """Hidden weights 1e6: pre-activations of 1e6, logits of -5e5 .. 1e6; every parameter's
    gradient as PyTorch float64 autograd computes it (relative 1e-12)."""
    net = scaled_xor(1e6, 1.0)
    fwd, grads = net.loss_and_gradients(XOR_X, XOR_Y, reduction="sum")
    params = [torch.tensor(p, dtype=torch.float64, requires_grad=True)
              for p in net.parameters()]
    W, c, w, b = params
    z = torch.relu(torch.tensor(XOR_X) @ W.T + c) @ w.T + b
    loss = F.binary_cross_entropy_with_logits(z.ravel(), torch.tensor(XOR_Y), reduction="sum")
    loss.backward()
    assert np.isfinite(fwd.loss) and fwd.loss * 4 == pytest.approx(loss.item(), rel=1e-12)
    for ours, p in zip(grads.parameters(), params, strict=True):
        np.testing.assert_allclose(ours, p.grad.numpy(), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("hidden, output", [(1e6, 1.0), (1.0, 1e6), (1e6, 1e6), (1e6, 1e-6),
                                            (1e-6, 1e-6)])
def test_oae_is_invariant_under_huge_and_tiny_positive_scales(hidden: float,
                                                              output: float) -> None:
    """z(x; sW, sc, tw, st b) = s t z(x) for ReLU (positive homogeneity), so the class regions
    and the seed network's OAE distances do not move: L2 sqrt(2)/4 for every sample (the
    issue's closed form); in the box [0, 1], L-inf 1/4 for (0,0) and (1,1) (to (1/4, 1/4)) and
    1/2 for (0,1) and (1,0) (one coordinate to 1/2: the box blocks the other), L1 1/2 for all.
    Logits range from 1e-12 to 1e12 times the seed's."""
    net = scaled_xor(hidden, output)
    expected = {"l2": [math.sqrt(2) / 4] * 4, "linf": [0.25, 0.5, 0.5, 0.25], "l1": [0.5] * 4}
    for norm, distances in expected.items():
        for x, distance in zip(XOR_X, distances, strict=True):
            result = oae(net, x, norm, box=None if norm == "l2" else (0.0, 1.0))
            assert result.certified, (norm, x)
            assert result.distance == pytest.approx(distance, rel=1e-9)
            assert net.classify(np.array(result.witness))[0] != net.classify(x)[0]


def test_jumprelu_thresholds_at_0_and_1() -> None:
    """q = 0 is ReLU exactly (the same distances). q = 1 on the seed's network, with
    s = x1 + x2: h1 = s if s >= 1 else 0, h2 = s - 1 if s >= 2 else 0, z = h1 - 2 h2 - 0.5, so
    class 1 exactly on 1 <= s < 2. From (0, 0) the closest class-1 point is on s = 1, at L2
    distance 1/sqrt(2); (0, 1) and (1, 1) sit on the jumps s = 1 and s = 2: distance 0."""
    relu, jump0, jump1 = (xor_initial().with_hidden_activation(spec)
                          for spec in ("relu", "jumprelu:q=0", "jumprelu:q=1"))
    for x in XOR_X:
        assert oae(jump0, x, "l2").distance == pytest.approx(oae(relu, x, "l2").distance,
                                                             abs=1e-12)
    expected = [1 / math.sqrt(2), 0.0, 0.0, 0.0]
    for x, distance in zip(XOR_X, expected, strict=True):
        result = oae(jump1, x, "l2")
        assert result.certified
        assert result.distance == pytest.approx(distance, abs=1e-9)
        witness = np.array(result.witness)
        assert jump1.classify(witness)[0] != jump1.classify(x)[0]
        assert np.linalg.norm(witness - x) <= distance + 1e-6
