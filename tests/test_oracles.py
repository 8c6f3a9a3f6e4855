"""The OAE oracles agree with closed forms and with each other (pattern enumeration vs grid)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import oracles
from actlab.network import Network

NORMS = ("l2", "linf", "l1")
XOR_SAMPLES = [(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)]
SETTINGS = settings(deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


def xor(hidden: str = "relu") -> Network:
    """The homework's initial XOR network: W=[[1,1],[1,1]], c=[0,-1], w=[1,-2], b=-0.5."""
    return Network.from_arrays([[[1, 1], [1, 1]], [[1, -2]]], [[0, -1], [-0.5]],
                               [hidden, "sigmoid"])


def check_witness(net: Network, x: np.ndarray, norm: str, res: oracles.OracleResult,
                  box: tuple[float, float] | None = None) -> None:
    """The witness really flips, is no farther than distance + 1e-6, and point/witness are in
    the box."""
    assert res.witness is not None
    assert net.classify(res.witness)[0] != net.classify(x)[0]
    assert oracles.lp_norm(res.witness - x, norm) <= res.distance + 1e-6
    assert abs(oracles.lp_norm(res.point - x, norm) - res.distance) < 1e-12
    if box is not None:
        for p in (res.point, res.witness):
            assert np.all(p >= box[0] - 1e-9) and np.all(p <= box[1] + 1e-9)


# --- closed forms ------------------------------------------------------------------------------
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("seed", range(6))
def test_affine_binary_is_margin_over_dual_norm(norm: str, seed: int) -> None:
    """One affine layer z = w.x + b: distance |z| / ||w||_q."""
    rng = np.random.default_rng(seed)
    d = 2 + seed % 3
    w, b, x = rng.normal(size=d), rng.normal(), rng.normal(size=d)
    net = Network.from_arrays([w[None]], [[b]], ["sigmoid"])
    res = oracles.enumerate_patterns_distance(net, x, norm)
    assert res.distance == pytest.approx(abs(w @ x + b) / oracles.dual_norm(w, norm), abs=1e-9)
    check_witness(net, x, norm, res)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("seed", range(4))
def test_affine_behind_identity_hidden_layer(norm: str, seed: int) -> None:
    """z = w.(V x + c) + b is affine with gradient V^T w."""
    rng = np.random.default_rng(100 + seed)
    V, c, w, b, x = (rng.normal(size=(3, 2)), rng.normal(size=3), rng.normal(size=3),
                     rng.normal(), rng.normal(size=2))
    net = Network.from_arrays([V, w[None]], [c, [b]], ["identity", "sigmoid"])
    z = w @ (V @ x + c) + b
    res = oracles.enumerate_patterns_distance(net, x, norm)
    assert res.distance == pytest.approx(abs(z) / oracles.dual_norm(V.T @ w, norm), abs=1e-9)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("seed", range(4))
def test_affine_multiclass_is_min_over_rivals(norm: str, seed: int) -> None:
    """z = W x + b, class y: distance min_j (z_y - z_j) / ||W_y - W_j||_q."""
    rng = np.random.default_rng(200 + seed)
    W, b, x = rng.normal(size=(3, 3)), rng.normal(size=3), rng.normal(size=3)
    net = Network.from_arrays([W], [b], ["softmax"])
    z = W @ x + b
    y = int(np.argmax(z))
    expected = min((z[y] - z[j]) / oracles.dual_norm(W[y] - W[j], norm) for j in range(3)
                   if j != y)
    res = oracles.enumerate_patterns_distance(net, x, norm)
    assert res.distance == pytest.approx(expected, abs=1e-9)
    check_witness(net, x, norm, res)


@pytest.mark.parametrize("x", XOR_SAMPLES)
def test_xor_l2_is_sqrt2_over_4(x: tuple[float, float]) -> None:
    """z depends on s = x1 + x2 only and class 1 iff 0.5 < s < 1.5: every sample is 0.5 away in s,
    so the l2 distance is 0.5 / ||(1, 1)||_2 = sqrt(2)/4."""
    net, xa = xor(), np.array(x)
    res = oracles.enumerate_patterns_distance(net, xa, "l2")
    assert res.distance == pytest.approx(math.sqrt(2) / 4, abs=1e-12)
    check_witness(net, xa, "l2", res)
    if x == (0.0, 0.0):
        np.testing.assert_allclose(res.point, [0.25, 0.25], atol=1e-12)


@pytest.mark.parametrize("x", XOR_SAMPLES)
@pytest.mark.parametrize(("norm", "expected"), [("linf", 0.25), ("l1", 0.5)])
def test_xor_other_norms(x: tuple[float, float], norm: str, expected: float) -> None:
    """0.5 / ||(1, 1)||_q: linf 0.5/2, l1 0.5/1."""
    res = oracles.enumerate_patterns_distance(xor(), np.array(x), norm)
    assert res.distance == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("norm", NORMS)
def test_xor_in_unit_box(norm: str) -> None:
    """In [0, 1]^2, (0, 1) and (1, 0) cannot move diagonally out of the box: the closest class-0
    points are (0, 0.5) / (0.5, 1), at 0.5 in every norm; (0,0) and (1,1) are unchanged."""
    net, box = xor(), (0.0, 1.0)
    regions = oracles.linear_regions(net, box)
    free = {"l2": math.sqrt(2) / 4, "linf": 0.25, "l1": 0.5}[norm]
    for x, expected in zip(XOR_SAMPLES, [free, 0.5, 0.5, free], strict=True):
        res = oracles.enumerate_patterns_distance(net, np.array(x), norm, box, regions)
        assert res.distance == pytest.approx(expected, abs=1e-9)
        check_witness(net, np.array(x), norm, res, box)


@pytest.mark.parametrize(("x", "expected"), [((0.0, 0.0), 0.6), ((0.0, 1.0), 0.4),
                                             ((1.0, 1.0), 0.4)])
def test_xor_jumprelu_open_and_closed_sides(x: tuple[float, float], expected: float) -> None:
    """JumpReLU q = 0.6: z = -0.5 (s < 0.6), s - 0.5 (0.6 <= s < 1.6), 1.5 - s (s >= 1.6), so class
    1 iff 0.6 <= s < 1.6; the l2 distance is |s - boundary| / sqrt(2), whether the other class's
    side of the jump is closed (from (0,0)) or open (from (0,1) and (1,1))."""
    net, xa = xor("jumprelu:q=0.6"), np.array(x)
    res = oracles.enumerate_patterns_distance(net, xa, "l2")
    assert res.distance == pytest.approx(expected / math.sqrt(2), abs=1e-12)
    check_witness(net, xa, "l2", res)


def test_constant_class_has_no_adversarial_point() -> None:
    """z = 0 * relu(x1) + 0 is class 0 everywhere; the closure {z >= 0} of class 1 is everything,
    but class 1 itself ({z > 0}) is empty, so the distance is None, not 0."""
    net = Network.from_arrays([[[1.0, 0.0]], [[0.0]]], [[0.0], [0.0]], ["relu", "sigmoid"])
    res = oracles.enumerate_patterns_distance(net, np.array([0.3, -0.2]), "l2")
    assert res.distance is None and res.witness is None


def test_impossible_jumprelu_pattern_is_not_relaxed() -> None:
    """Two JumpReLU units (q = 0.5) on the same pre-activation x1 are both off or both on, so
    z = h1 - h2 - 0.1 = -0.1 everywhere. The pattern (on, off) has the empty set
    {x1 >= 0.5, x1 < 0.5}; its closure {x1 = 0.5} would claim z = 0.4 > 0 there."""
    net = Network.from_arrays([[[1.0, 0.0], [1.0, 0.0]], [[1.0, -1.0]]], [[0.0, 0.0], [-0.1]],
                              ["jumprelu:q=0.5", "sigmoid"])
    assert oracles.enumerate_patterns_distance(net, np.array([0.0, 0.0]), "linf").distance is None


def test_project_l2_closed_forms() -> None:
    """Projection onto a box is clipping; onto a half-space a.y <= c it is x - (a.x - c)_+ a."""
    rng = np.random.default_rng(7)
    d = 3
    A = np.vstack([np.eye(d), -np.eye(d)])
    b = np.concatenate([np.ones(d), np.ones(d)])
    for _ in range(20):
        x = rng.normal(scale=2, size=d)
        np.testing.assert_allclose(oracles.project_l2(x, A, b), np.clip(x, -1, 1), atol=1e-12)
        a = rng.normal(size=d)
        a /= np.linalg.norm(a)
        c = rng.normal()
        np.testing.assert_allclose(oracles.project_l2(x, a[None], np.array([c])),
                                   x - max(a @ x - c, 0.0) * a, atol=1e-12)


def test_grid_search_on_xor() -> None:
    """Grid step 0.01 on [-1, 2]^2 brackets sqrt(2)/4 within two covering radii."""
    g = oracles.grid_search_distance(xor(), np.zeros(2), "l2", -1.0, 2.0, 0.01)
    assert g.distance - 2 * g.covering_radius <= math.sqrt(2) / 4 <= g.distance
    assert xor().classify(g.point)[0] == 1


# --- enumeration against grid search and sampling ---------------------------------------------
SOAK = settings(deadline=None, max_examples=400, database=None,
                suppress_health_check=[HealthCheck.too_slow])


def enumeration_against_grid_2d(net: Network, x: np.ndarray) -> None:
    """2-D: the exact distance is at most the grid's (every grid point of another class is an
    adversarial input), and at least the grid's minus the grid cell's diameter (2 covering radii;
    where the other class is thinner than a cell near the optimum, after a local refinement).
    The witness flips (so the exact distance is not too small either)."""
    lo, hi, step = -1.5, 1.5, 0.01
    box = (lo, hi)
    regions = oracles.linear_regions(net, box)
    grids = oracles.grid_search_distances(net, x, NORMS, lo, hi, step)
    for norm in NORMS:
        res = oracles.enumerate_patterns_distance(net, x, norm, box, regions)
        grid = grids[norm]
        if res.distance is not None:
            check_witness(net, x, norm, res, box)
        if grid.distance is None:
            continue
        assert res.distance is not None, "enumeration missed the other class"
        assert res.distance <= grid.distance + 1e-9
        cell = 2 * grid.covering_radius
        if res.distance < grid.distance - cell:
            # the other class is thinner than a cell near the optimum (an acute wedge, a strip
            # along a jump): a 100 times finer grid around the exact minimiser must then come
            # within one coarse cell
            p, w = res.point, 3 * step
            grid = oracles.grid_search_distance(net, x, norm, np.maximum(p - w, lo),
                                                np.minimum(p + w, hi), step / 100)
            assert grid.distance is not None
            assert res.distance <= grid.distance + 1e-9
        assert res.distance >= grid.distance - cell - 1e-9


def enumeration_is_a_lower_bound_on_samples(net: Network, x: np.ndarray) -> None:
    """2-4 D: no sampled input of another class is closer than the exact distance; the witness
    flips and is no farther than distance + 1e-6."""
    regions = oracles.linear_regions(net)
    rng = np.random.default_rng(0)
    n = 20000
    samples = x + rng.uniform(-3, 3, size=(n, net.input_dim)) * rng.uniform(0, 1, (n, 1)) ** 2
    other = samples[net.classify(samples) != net.classify(x)[0]]
    for norm in NORMS:
        res = oracles.enumerate_patterns_distance(net, x, norm, regions=regions)
        if res.distance is None:
            assert len(other) == 0
            continue
        check_witness(net, x, norm, res)
        if len(other):
            assert oracles.lp_norm(other - x, norm).min() >= res.distance - 1e-9


@settings(SETTINGS, max_examples=15)
@given(net=oracles.random_pl_network(input_dims=(2, 2)), data=st.data())
def test_enumeration_against_grid_2d(net: Network, data: st.DataObject) -> None:
    enumeration_against_grid_2d(net, data.draw(oracles.random_input(2)))


@settings(SETTINGS, max_examples=15)
@given(net=oracles.random_pl_network(), data=st.data())
def test_enumeration_is_a_lower_bound_on_samples(net: Network, data: st.DataObject) -> None:
    enumeration_is_a_lower_bound_on_samples(net, data.draw(oracles.random_input(net.input_dim)))


@pytest.mark.soak
@settings(SOAK)
@given(net=oracles.random_pl_network(input_dims=(2, 2)), data=st.data())
def test_soak_enumeration_against_grid_2d(net: Network, data: st.DataObject) -> None:
    enumeration_against_grid_2d(net, data.draw(oracles.random_input(2)))


@pytest.mark.soak
@settings(SOAK)
@given(net=oracles.random_pl_network(), data=st.data())
def test_soak_enumeration_is_a_lower_bound_on_samples(net: Network,
                                                      data: st.DataObject) -> None:
    enumeration_is_a_lower_bound_on_samples(net, data.draw(oracles.random_input(net.input_dim)))
