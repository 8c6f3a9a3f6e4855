"""The JumpReLU retrofit sweep and its exact thresholds, against closed forms derived here, the
pattern-enumeration oracle (tests/oracles.py) and exact distances just before and after each
threshold."""

from __future__ import annotations

import math

import numpy as np
import pytest

import oracles
from actlab.data import xor
from actlab.errors import ActlabError
from actlab.jumprelu import MAX_Q, distance_thresholds, jumprelu_sweep, parse_q_list, retrofit
from actlab.models import xor_initial, xor_trained
from actlab.network import Network
from conftest import assert_clean_error, run_cli

QS = [0.0, 0.1, 0.5, 0.7, 1.0]


@pytest.fixture(scope="module")
def sweeps():
    data = xor()
    return {net.name: (net, jumprelu_sweep(net, data.x, data.y, QS, "l2"))
            for net in (xor_initial(), xor_trained())}


@pytest.mark.parametrize("name", ["xor-initial", "xor-trained"])
def test_rows_match_pattern_enumeration(sweeps, name: str) -> None:
    net, sweep = sweeps[name]
    data = xor()
    assert [r.q for r in sweep.rows] == QS
    for row in sweep.rows:
        retro = retrofit(net, row.q)
        regions = oracles.linear_regions(retro)
        assert row.certified
        assert row.accuracy == pytest.approx(np.mean(retro.classify(data.x) == data.y))
        for x, d in zip(data.x, row.distances, strict=True):
            exact = oracles.enumerate_patterns_distance(retro, x, "l2", regions=regions)
            assert d == pytest.approx(exact.distance, abs=1e-9)
        assert row.mean_distance == pytest.approx(np.mean(row.distances))


@pytest.mark.parametrize("name", ["xor-initial", "xor-trained"])
def test_rows_match_grid_search(sweeps, name: str) -> None:
    """A dense grid of the plane around each sample: the closest grid point of the other class is
    an upper bound on the infimum, and (the other class near the optimum is a half-plane or a
    wedge wider than the grid, so some grid point inside it lies within twice the covering radius
    of the closest point) at most two covering radii above it."""
    net, sweep = sweeps[name]
    for row in sweep.rows:
        retro = retrofit(net, row.q)
        for x, d in zip(xor().x, row.distances, strict=True):
            grid = oracles.grid_search_distance(retro, x, "l2", x - 1.0, x + 1.0, 2.5e-3)
            assert d <= grid.distance + 1e-12
            assert d >= grid.distance - 2 * grid.covering_radius


def test_trained_thresholds_closed_form(sweeps) -> None:
    """Derived from the pre-activations a = W x + c of xor-trained (z = w1 h1 + w2 h2 + b):
    (0,0) is class 0 and its closest class-1 point lies on w1 a1 + b = 0 with unit 2 off, so it
    moves as soon as q > -b / w1 (up). (0,1) and (1,0) are class 1 through unit 1: once a1 < q
    the output is b < 0, a class-0 half-plane at distance (a1(x) - q) / ||W1||_*, closer than
    d(0) for q > a1(x) - d(0) ||W1||_* (down). (1,1) is class 0 with both units on; a2 < q gives
    class 1 at distance (a2(x) - q) / ||W2||_*: q* = a2(x) - d(0) ||W2||_*. d(0) from the
    pattern enumeration; ||.||_* the dual norm."""
    net, sweep = sweeps["xor-trained"]
    (W, c), (w, b) = ((layer.weight, layer.bias) for layer in net.layers)
    a = xor().x @ W.T + c
    for norm in ("l2", "linf"):
        thresholds = sweep.thresholds if norm == "l2" else distance_thresholds(
            net, xor().x, [oracles.enumerate_patterns_distance(net, x, norm).distance
                           for x in xor().x], norm, q_max=4.5)
        d0 = [oracles.enumerate_patterns_distance(net, x, norm).distance for x in xor().x]
        n1, n2 = (float(oracles.dual_norm(W[j], norm)) for j in (0, 1))
        expected = [-b[0] / w[0, 0], a[1, 0] - d0[1] * n1, a[2, 0] - d0[2] * n1,
                    a[3, 1] - d0[3] * n2]
        assert [t.q_star for t in thresholds] == pytest.approx(expected, abs=1e-9)
        assert [t.direction for t in thresholds] == ["up", "down", "down", "down"]


def test_best_q_on_a_plateau_is_the_smallest() -> None:
    """Between the thresholds of (0,1) and (1,0), d(0,0) = (q - c1)/||W1|| rises exactly as fast
    as d(0,1) = (a1(0,1) - q)/||W1|| falls: the mean is constant there and maximal. The rule's
    tie-break then picks the plateau's left end, not whichever end rounding favours."""
    net = xor_trained()
    data = xor()
    sweep = jumprelu_sweep(net, data.x, data.y, None, "l2")
    t1, t2 = sweep.thresholds[1].q_star, sweep.thresholds[2].q_star
    means = [np.mean([oracles.enumerate_patterns_distance(retrofit(net, q), x, "l2").distance
                      for x in data.x]) for q in (t1, (t1 + t2) / 2, t2)]
    assert means == pytest.approx([means[0]] * 3, abs=1e-12)
    assert all(r.mean_distance <= means[0] + 1e-9 for r in sweep.rows if r.accuracy == 1.0)
    assert sweep.best_q == t1


def test_first_q_at_which_an_adversarial_input_appears() -> None:
    """h = relu(x1 + x2 + 1), z = 0.5 - h: on the box [0, 1]^2, a = x1 + x2 + 1 is in [1, 3], so
    every input is class 0 at q = 0; JumpReLU zeroes h (z = 0.5, class 1) where a < q, which
    exists in the box iff q > 1. From (0.5, 0.5) (a = 2) that set is (2 - q)/sqrt2 away."""
    net = Network.from_arrays([[[1.0, 1.0]], [[-1.0]]], [[1.0], [0.5]], ["relu", "sigmoid"])
    x = np.array([[0.5, 0.5]])
    sweep = jumprelu_sweep(net, x, [0], [0.0, 0.5, 1.5], "l2", box=(0.0, 1.0))
    assert [r.distances[0] for r in sweep.rows] == pytest.approx([None, None, 0.5 / math.sqrt(2)])
    (t,) = sweep.thresholds
    assert t.direction == "appears" and t.q_star == pytest.approx(1.0, abs=1e-9)


def test_xor_initial_closed_forms(sweeps) -> None:
    """h1 = x1+x2 passes iff x1+x2 >= q. From (0,0) class 1 needs h1 > 1/2: for q <= 1/2 the
    boundary stays at x1+x2 = 1/2 (distance sqrt2/4); for q > 1/2 it moves to x1+x2 = q
    (distance q/sqrt2). From (0,1) the band 0 < x1+x2 < q now outputs z = -1/2 (class 0): it is
    (1-q)/sqrt2 away, closer than sqrt2/4 once q > 1/2."""
    _, sweep = sweeps["xor-initial"]
    for row in sweep.rows:
        d00, d01 = row.distances[0], row.distances[1]
        if row.q <= 0.5:
            assert d00 == pytest.approx(math.sqrt(2) / 4) and d01 == pytest.approx(math.sqrt(2) / 4)
        else:
            assert d00 == pytest.approx(row.q / math.sqrt(2))
            assert d01 == pytest.approx((1 - row.q) / math.sqrt(2))
    assert [t.q_star for t in sweep.thresholds] == pytest.approx([0.5] * 4, abs=1e-9)
    assert [t.direction for t in sweep.thresholds] == ["up", "down", "down", "down"]


def test_trained_up_threshold_is_the_active_pre_activation_at_the_closest_point(sweeps) -> None:
    """Where the distance goes up, the closest point's pattern breaks when q passes the smallest
    positive pre-activation there."""
    net, sweep = sweeps["xor-trained"]
    for t in sweep.thresholds:
        if t.direction != "up":
            continue
        point = np.array(sweep.rows[0].results[t.index].point)
        pre = net.layers[0].weight @ point + net.layers[0].bias
        assert t.q_star == pytest.approx(min(pre[pre > 1e-9]), abs=1e-9)


@pytest.mark.parametrize("name", ["xor-initial", "xor-trained"])
def test_distances_change_exactly_at_the_thresholds(sweeps, name: str) -> None:
    net, sweep = sweeps[name]
    for t in sweep.thresholds:
        if t.q_star is None:
            continue
        x = np.array(t.x)
        before, after = (oracles.enumerate_patterns_distance(retrofit(net, q), x, "l2").distance
                         for q in (t.q_star - 1e-7, t.q_star + 1e-4))
        assert before == pytest.approx(t.distance_at_zero, abs=1e-9)
        assert (after > t.distance_at_zero + 1e-7) if t.direction == "up" else (
            after < t.distance_at_zero - 1e-7)


def test_best_q_rule(sweeps) -> None:
    """Means from the enumeration oracle, the rule applied here: xor-initial's mean never rises
    (q = 0); xor-trained's is largest at q = 1 among 0, 0.1, 0.5, 0.7, 1."""
    data = xor()
    for name, expected in (("xor-initial", 0.0), ("xor-trained", 1.0)):
        net, sweep = sweeps[name]
        means = {q: np.mean([oracles.enumerate_patterns_distance(retrofit(net, q), x,
                                                                 "l2").distance
                             for x in data.x]) for q in QS}
        accuracy = {q: np.mean(retrofit(net, q).classify(data.x) == data.y) for q in QS}
        eligible = [q for q in QS if accuracy[q] == accuracy[0.0]]
        top = max(means[q] for q in eligible)
        assert expected == min(q for q in eligible if means[q] >= top - 1e-9)
        assert sweep.best_q == expected


def test_default_grid_contains_the_thresholds() -> None:
    data = xor()
    sweep = jumprelu_sweep(xor_initial(), data.x, data.y, None, "linf")
    qs = [r.q for r in sweep.rows]
    assert len(qs) > 20 and qs[0] == 0.0
    for t in sweep.thresholds:
        assert t.q_star is None or any(abs(q - t.q_star) < 1e-12 for q in qs)


@pytest.mark.parametrize(("text", "expected"), [
    ("0,0.1,0.5", [0.0, 0.1, 0.5]), ("0.5,0", [0.0, 0.5]), ("0:1:0.25", [0, 0.25, 0.5, 0.75, 1])])
def test_q_lists(text: str, expected: list[float]) -> None:
    assert parse_q_list(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["", "a", "-0.1", "nan", "1:0:0.1", "0:1:0", "inf", "0,1e7",
                                  "0:inf:1", "-1:1:0.5"])
def test_bad_q_lists(text: str) -> None:
    with pytest.raises(ActlabError):
        parse_q_list(text)


def test_q_list_limits_are_explained() -> None:
    with pytest.raises(ActlabError, match="more than 10,000 values"):
        parse_q_list("0:100000:0.001")
    with pytest.raises(ActlabError, match="at most"):
        parse_q_list(f"0,{MAX_Q * 10:g}")
    assert len(parse_q_list("0:9999:1")) == 10_000


def test_cli_json(tmp_path) -> None:
    out = run_cli("jumprelu", "--model", "xor-initial", "--q", "0,0.7", "--json",
                  "--plot", str(tmp_path / "j.svg"))
    assert out.code == 0, out.stderr
    doc = out.json()
    assert [r["q"] for r in doc["rows"]] == [0.0, 0.7]
    assert doc["rows"][1]["distances"][0] == pytest.approx(0.7 / math.sqrt(2))
    assert (tmp_path / "j.svg").read_text().lstrip().startswith("<?xml")


@pytest.mark.parametrize("args", [["--q", "x"], ["--norm", "l5"], ["--model", "nope"],
                                  ["--plot", "/no/such/dir/j.png"], ["--box", "2,1"],
                                  ["--q", "0,1e20"], ["--q", "0:100000:0.001"]])
def test_cli_bad_input(args: list[str]) -> None:
    assert_clean_error(run_cli("jumprelu", *args))
