"""Exact OAE against independent oracles: closed forms, full activation-pattern enumeration
(tests/oracles.py, which does not use actlab.oae), dense grid search, exact rational arithmetic
and the attacks (which may never beat the exact distance)."""

from __future__ import annotations

import itertools
import json
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import oracles
from actlab.errors import ActlabError
from actlab.models import xor_initial, xor_trained
from actlab.network import Network
from actlab.oae.api import oae
from actlab.oae.attacks import run_attacks
from actlab.oae.exact import oae_branch_and_bound
from actlab.oae.milp import oae_milp
from conftest import assert_clean_error, run_cli

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
SQRT2_4 = math.sqrt(2) / 4


def xor_logit(x) -> float:
    """The seed's network by hand: w . relu(W x + c) + b."""
    a1, a2 = x[0] + x[1], x[0] + x[1] - 1
    return max(a1, 0.0) - 2 * max(a2, 0.0) - 0.5


def exact_class_by_hand(network: Network, x) -> int:
    """Class in exact rationals, computed here from the layers (independent of actlab.oae)."""
    h = [Fraction(float(v)) for v in x]
    for layer in network.layers[:-1]:
        pre = [sum((Fraction(float(w)) * v for w, v in zip(row, h, strict=True)),
                   Fraction(float(bias))) for row, bias in zip(layer.weight, layer.bias,
                                                                strict=True)]
        q = Fraction(float(layer.activation.params.get("q", 0.0))) \
            if layer.activation.name == "jumprelu" else None
        if layer.activation.name == "relu":
            h = [max(p, Fraction(0)) for p in pre]
        else:
            assert q is not None
            h = [p if p >= q else Fraction(0) for p in pre]
    last = network.layers[-1]
    z = [sum((Fraction(float(w)) * v for w, v in zip(row, h, strict=True)), Fraction(float(b)))
         for row, b in zip(last.weight, last.bias, strict=True)]
    if network.binary:
        return int(z[0] > 0)
    return max(range(len(z)), key=lambda j: (z[j], -j))


@pytest.mark.parametrize("method", ["bnb", "auto"])
def test_xor_initial_l2_is_sqrt2_over_4_for_every_sample(method: str) -> None:
    net = xor_initial()
    for x in XOR_X:
        r = oae(net, x, "l2", method=method)
        assert r.distance == pytest.approx(SQRT2_4, abs=1e-12)
        assert r.certified and r.lower_bound <= r.distance + 1e-12
        assert r.lower_bound >= SQRT2_4 - 1e-9
        assert xor_logit(r.point) == pytest.approx(0.0, abs=1e-12)  # on the boundary
        assert r.witness_class != r.cls
        assert (xor_logit(r.witness) > 0) == (r.witness_class == 1)
        assert np.linalg.norm(np.subtract(r.witness, x)) <= r.distance + 1e-6
    assert oae(net, [0.0, 0.0], "l2").point == pytest.approx([0.25, 0.25], abs=1e-12)


@pytest.mark.parametrize(("norm", "expected"), [("linf", 0.25), ("l1", 0.5), ("l2", SQRT2_4)])
def test_xor_initial_other_norms_closed_form(norm: str, expected: float) -> None:
    # (0,0) flips when x1 + x2 > 0.5 (with x1 + x2 <= 1): the closest such point in each norm
    for x in XOR_X:
        assert oae(xor_initial(), x, norm).distance == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("norm", ["l2", "linf", "l1"])
def test_xor_trained_matches_pattern_enumeration_and_grid(norm: str) -> None:
    net = xor_trained()
    regions = oracles.linear_regions(net)
    for x in XOR_X:
        r = oae(net, x, norm)
        exact = oracles.enumerate_patterns_distance(net, x, norm, regions=regions)
        grid = oracles.grid_search_distance(net, x, norm, -1.0, 2.0, 0.005)
        assert r.certified
        assert r.distance == pytest.approx(exact.distance, abs=1e-9)
        # a grid point inside the other class lies within two covering radii of the optimum
        assert grid.distance - 2 * grid.covering_radius <= r.distance <= grid.distance + 1e-9
        assert exact_class_by_hand(net, r.witness) == r.witness_class != r.cls


def test_box_constraint_and_no_adversarial_input() -> None:
    net = xor_initial()
    inside = oae(net, [0.0, 0.0], "l2", box=(0.0, 1.0))
    assert inside.distance == pytest.approx(SQRT2_4) and inside.certified
    none = oae(net, [0.0, 0.0], "l2", box=(0.0, 0.1))  # x1 + x2 <= 0.2 < 0.5: never class 1
    assert none.distance is None and none.point is None and none.witness is None
    assert none.certified and none.status == "no_adversarial" and math.isinf(none.lower_bound)
    assert none.to_dict()["distance"] is None and none.to_dict()["lower_bound"] is None


def test_constant_network_has_no_adversarial_input() -> None:
    net = Network.from_arrays([[[1.0, -1.0]], [[0.0]]], [[0.0], [1.0]], ["relu", "sigmoid"])
    for norm in ("l2", "linf", "l1"):
        r = oae(net, [0.3, 0.2], norm)
        assert r.distance is None and r.certified


def test_point_on_the_boundary_has_distance_zero() -> None:
    r = oae(xor_initial(), [0.25, 0.25], "l2")  # z = 0 exactly: class 0, class 1 arbitrarily close
    assert r.cls == 0 and r.distance == 0.0 and r.certified
    assert r.witness_class == 1 and np.linalg.norm(np.subtract(r.witness, [0.25, 0.25])) <= 1e-6


def test_point_on_a_jump_has_distance_zero() -> None:
    # h = jumprelu_0.5(x1); z = h - 0.25: at x1 = 0.5, z = 0.25 (class 1); just below, z = -0.25
    net = Network.from_arrays([[[1.0, 0.0]], [[1.0]]], [[0.0], [-0.25]],
                              ["jumprelu:q=0.5", "sigmoid"])
    r = oae(net, [0.5, 0.0], "l2")
    assert r.cls == 1 and r.distance == 0.0 and r.certified
    assert r.witness[0] < 0.5 and exact_class_by_hand(net, r.witness) == 0
    # from x1 = 0.2 the other class (open set x1 >= 0.5 ... closed) is 0.3 away
    far = oae(net, [0.2, 0.0], "linf")
    assert far.distance == pytest.approx(0.3, abs=1e-12) and far.witness_class == 1


DUAL_OF_ONES = {"l2": math.sqrt(2), "linf": 2.0, "l1": 1.0}  # ||(1, 1)||_q, q the dual norm


def xor_initial_distance(x, norm: str) -> float:
    """Closed form for the seed's network: class 1 iff 0.5 < s < 1.5 with s = x1 + x2 (in exact
    arithmetic on the float input), so from s outside the strip the distance is the gap in s
    over ||(1, 1)||_q."""
    s = Fraction(float(x[0])) + Fraction(float(x[1]))
    gap = Fraction(1, 2) - s if s <= Fraction(1, 2) else s - Fraction(3, 2)
    return float(gap) / DUAL_OF_ONES[norm]


@pytest.mark.parametrize("norm", ["l2", "linf", "l1"])
@pytest.mark.parametrize("eps", [1e-6, 1e-9, 1e-12])
def test_inputs_just_off_the_boundary_keep_their_tiny_distance(norm: str, eps: float) -> None:
    # a face 1e-9 away was within HiGHS's 1e-7 tolerance: linf and l1 came out 0 (x itself)
    x = [0.25 - eps, 0.25]
    r = oae(xor_initial(), x, norm)
    assert r.certified and r.distance == pytest.approx(xor_initial_distance(x, norm), rel=1e-9)
    assert r.lower_bound <= r.distance and exact_class_by_hand(xor_initial(), r.witness) == 1


@pytest.mark.parametrize("norm", ["l2", "linf", "l1"])
@pytest.mark.parametrize("scale", [1e4, 1e8, 1e12])
def test_far_inputs_match_the_closed_form(norm: str, scale: float) -> None:
    # at 1e8 the l2 projection (NNLS on offsets of 1e8) lost the strip: "no_adversarial"
    for x in ([scale, scale], [-scale, -scale]):
        r = oae(xor_initial(), x, norm)
        assert r.certified and r.status == "optimal"
        assert r.distance == pytest.approx(xor_initial_distance(x, norm), rel=1e-12)
        assert exact_class_by_hand(xor_initial(), r.witness) == r.witness_class == 1


@pytest.mark.parametrize("norm", ["l2", "linf", "l1"])
@pytest.mark.parametrize("scale", [1e16, 1e20, 1e300])
def test_beyond_float_resolution_there_is_no_false_certificate(norm: str, scale: float) -> None:
    # the strip 0.5 < x1 + x2 < 1.5 is thinner than the rounding of offsets of 2e16: the search
    # from x sees no class-1 region; the claim "no adversarial input" is checked from the origin
    x = [scale, scale]
    r = oae(xor_initial(), x, norm)
    assert r.status == "imprecise" and not r.certified and r.distance is not None
    assert exact_class_by_hand(xor_initial(), r.witness) == r.witness_class == 1
    truth = xor_initial_distance(x, norm)
    assert r.lower_bound <= truth <= r.upper_bound * (1 + 1e-12)


def test_lp_that_highs_leaves_unknown_is_decided() -> None:
    # HiGHS 1.16's default dual simplex ends this empty linf-distance LP (found by a reference
    # search on a random 3-8-8-1 network) with status Unknown: a RuntimeError before
    from scipy.optimize import linprog

    from actlab.oae.polyhedron import INF, _solve

    A = np.array([
        [0.21631415483269353, 0.9243033793125417, 0.3144383077973057],
        [-0.5358682225406934, 0.7154748628336116, 0.4482643960034103],
        [0.3870795706189305, 0.9190382445246473, 0.07441848634928686],
        [0.8764326001138599, 0.2308391465804872, 0.42258630581651774],
        [0.10166364501310718, 0.8715778907502485, 0.4796003374039646],
        [-0.5820905328072529, -0.09225697587039526, 0.8078732957707031],
        [-0.9764942138652837, 0.06680401196684818, -0.2049299252738728],
        [-0.6275388749978382, -0.5897998081062039, 0.5082628716759985],
        [0.3113924436386244, 0.9294145877107777, 0.1980486561306876],
        [0.372089720719763, 0.9218380739888186, 0.10846107633282238],
        [0.16599326294158825, 0.9089232225051378, 0.382498120582155],
        [-0.4280426609648218, 0.30537748419875493, 0.8506021823029811],
        [0.0593114508982194, -0.7675941974456576, -0.6381859445648305]])
    b = np.array([-0.06356306345067192, 0.7430435817209351, -1.0, 0.48427757022138423,
                  -0.030881310542841732, -0.3021233227352189, -0.5390120656814877,
                  2.433982280578989, -0.3646807263480989, -0.3588715538903618,
                  0.26330596250245686, -0.7305103732423577, 0.966326626385597])
    m, d = A.shape
    # independently: max t s.t. A y + t <= b has t* < 0, so {A y <= b} is empty
    margin = linprog(np.r_[np.zeros(d), -1.0], A_ub=np.c_[A, np.ones(m)], b_ub=b,
                     bounds=[(None, None)] * d + [(None, 1.0)], method="highs")
    assert margin.status == 0 and -margin.fun < -0.05
    rows = np.vstack([np.c_[A, np.zeros((m, 1))], np.c_[np.eye(d), -np.ones((d, 1))],
                      np.c_[-np.eye(d), -np.ones((d, 1))]])
    status, _, _ = _solve(np.r_[np.zeros(d), 1.0], rows, np.r_[b, np.zeros(2 * d)],
                          np.r_[np.full(d, -INF), 0.0], np.full(d + 1, INF))
    assert status == "infeasible"


def gaussian_relu_net(rng: np.random.Generator, sizes: list[int]) -> Network:
    """ReLU hidden layers, identity head, every weight and bias N(0, 1)."""
    return Network.from_arrays([rng.normal(size=(o, i)) for i, o in itertools.pairwise(sizes)],
                               [rng.normal(size=o) for o in sizes[1:]],
                               ["relu"] * (len(sizes) - 2) + ["identity"])


def test_known_adversarial_is_the_answer_when_time_runs_out() -> None:
    rng = np.random.default_rng(11)
    sizes = [3, 12, 12, 3]
    net = gaussian_relu_net(rng, sizes)
    x = rng.normal(size=3)
    samples = x + rng.normal(size=(4000, 3)) * 3  # an input of another class, by sampling
    other = samples[net.classify(samples) != net.classify(x)[0]]
    point = other[np.argmin(np.linalg.norm(other - x, axis=1))]
    r = oae_branch_and_bound(net, x, "l2", time_limit=1e-9, known_adversarial=point)
    assert r.status == "time_limit" and not r.certified
    assert r.witness == point.tolist() and r.upper_bound == pytest.approx(
        np.linalg.norm(point - x), rel=1e-12)
    assert r.lower_bound <= r.upper_bound
    assert exact_class_by_hand(net, r.witness) == r.witness_class != r.cls
    # a point of x's own class is not taken
    same = oae_branch_and_bound(net, x, "l2", time_limit=1e-9, known_adversarial=x)
    assert same.witness is None and not same.certified


def test_cli_gap_cells() -> None:
    from actlab.cli.cmd_oae import _gap

    assert _gap(-1.1102230246251565e-16, 0.5511) == "+0"  # rounding, not a closer point
    assert _gap(0.16239, 0.322) == "+0.162"
    assert _gap(None, 0.3) == "no exact distance"


def test_figure_range_holds_every_ball() -> None:
    from actlab.figures.oae import _plot_range

    results = [oae(xor_trained(), x, "l1") for x in XOR_X]
    x_lo, x_hi, y_lo, y_hi = _plot_range(results, margin=0.0)
    for r in results:  # an l1 ball lies in the square of side 2 r around its centre
        assert x_lo <= r.x[0] - r.distance and r.x[0] + r.distance <= x_hi
        assert y_lo <= r.x[1] - r.distance and r.x[1] + r.distance <= y_hi


def test_multiclass_ties_go_to_the_lowest_index() -> None:
    # logits z = (x1, 0): class 0 iff x1 >= 0 (the tie at x1 = 0 goes to class 0)
    net = Network.from_arrays([[[1.0, 0.0]], [[1.0], [0.0]]], [[0.0], [0.0, 0.0]],
                              ["identity", "identity"])
    r = oae(net, [0.5, 0.0], "l2")  # class 1 needs x1 < 0: an open set, infimum 0.5
    assert r.cls == 0 and r.distance == pytest.approx(0.5, abs=1e-12) and r.certified
    assert r.witness_class == 1 and r.witness[0] < 0
    s = oae(net, [-0.5, 0.0], "l2")  # class 0 includes x1 = 0 itself: the point is a witness
    assert s.cls == 1 and s.distance == pytest.approx(0.5, abs=1e-12) and s.certified
    assert s.witness_class == 0 and s.witness[0] >= 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          derandomize=True)
@given(net=oracles.random_pl_network(), data=st.data(), norm=st.sampled_from(["l2", "linf", "l1"]))
def test_random_networks_match_enumeration_and_no_attack_beats_them(net, data, norm) -> None:
    x = data.draw(oracles.random_input(net.input_dim))
    r = oae_branch_and_bound(net, x, norm)
    exact = oracles.enumerate_patterns_distance(net, x, norm)
    if exact.distance is None:
        assert r.distance is None and r.certified
        return
    assert r.certified, r.notes
    assert r.distance == pytest.approx(exact.distance, abs=1e-7)
    assert r.lower_bound <= r.distance + 1e-9
    assert int(net.classify(r.witness)[0]) == r.witness_class != r.cls
    assert exact_class_by_hand(net, r.witness) == r.witness_class
    ord_ = {"l2": 2, "linf": np.inf, "l1": 1}[norm]
    assert np.linalg.norm(np.subtract(r.witness, x), ord_) <= r.distance + 1e-6
    for attack in run_attacks(net, x, norm, attacks=("fgsm", "pgd", "deepfool")):
        if attack.success:
            assert attack.distance >= r.distance - 1e-9, attack.attack


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          derandomize=True)
@given(net=oracles.random_pl_network(), data=st.data(), norm=st.sampled_from(["linf", "l1"]))
def test_milp_agrees_with_branch_and_bound(net, data, norm) -> None:
    x = data.draw(oracles.random_input(net.input_dim))
    exact = oae_branch_and_bound(net, x, norm)
    for tighten in (True, False):
        m = oae_milp(net, x, norm, box=(-10.0, 10.0), tighten=tighten)
        if exact.distance is None or exact.distance > 9.0:
            continue
        assert m.distance == pytest.approx(exact.distance, abs=1e-6)
        assert m.certified and exact_class_by_hand(net, m.witness) == m.witness_class


def test_time_limit_returns_a_certified_bracket() -> None:
    rng = np.random.default_rng(3)
    sizes = [4, 24, 24, 3]
    net = gaussian_relu_net(rng, sizes)
    x = rng.normal(size=4)
    r = oae_branch_and_bound(net, x, "l2", time_limit=0.05)
    assert r.status == "time_limit" and not r.certified
    full = oae_branch_and_bound(net, x, "l2")
    assert full.certified
    assert r.lower_bound <= full.distance + 1e-9
    if r.witness is not None:
        assert r.upper_bound >= full.distance - 1e-9


def test_non_piecewise_linear_networks_are_refused_clearly() -> None:
    with pytest.raises(ActlabError, match="piecewise-linear"):
        oae(xor_initial().with_hidden_activation("gelu"), [0.0, 0.0])


# --- the command line --------------------------------------------------------------------------
def test_cli_json_and_retrofit_and_model_file(tmp_path) -> None:
    model = {"format": "actlab-mlp/1", "layers": [
        {"weight": [[1, 1], [1, 1]], "bias": [0, -1], "activation": "jumprelu:q=0.3"},
        {"weight": [[1, -2]], "bias": [-0.5], "activation": "sigmoid"}]}
    path = tmp_path / "m.json"
    path.write_text(json.dumps(model))
    data = tmp_path / "d.json"
    data.write_text(json.dumps({"x": [[0, 0], [1, 1]]}))
    out = run_cli("oae", "--model", str(path), "--data", str(data), "--norm", "linf", "--json")
    assert out.code == 0, out.stderr
    doc = out.json()
    assert doc["norm"] == "linf" and len(doc["results"]) == 2
    net = Network.from_arrays([[[1, 1], [1, 1]], [[1, -2]]], [[0, -1], [-0.5]],
                              ["jumprelu:q=0.3", "sigmoid"])
    regions = oracles.linear_regions(net)
    for row, x in zip(doc["results"], [[0, 0], [1, 1]], strict=True):
        exact = oracles.enumerate_patterns_distance(net, np.array(x, float), "linf",
                                                    regions=regions)
        assert row["distance"] == pytest.approx(exact.distance, abs=1e-9)
        assert row["certified"] is True and row["class"] != row["witness_class"]
    retro = run_cli("oae", "--act", "jumprelu:q=0.3", "--norm", "linf", "--json").json()
    assert retro["results"][0]["distance"] == pytest.approx(doc["results"][0]["distance"])


def test_cli_attacks_show_gaps(tmp_path) -> None:
    out = run_cli("oae", "--attacks", "--json", "--plot", str(tmp_path / "o.png"))
    assert out.code == 0, out.stderr
    for row in out.json()["results"]:
        names = [a["attack"] for a in row["attacks"]]
        assert names == ["fgsm", "pgd", "deepfool", "cw"]
        for a in row["attacks"]:
            if a["success"]:
                assert a["gap"] >= -1e-9 and a["distance"] == pytest.approx(
                    row["distance"] + a["gap"])
    assert (tmp_path / "o.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("args", [
    ["--norm", "l3"], ["--box", "1,0"], ["--box", "a,b"], ["--method", "magic"],
    ["--time-limit", "-1"], ["--model", "no-such-model"], ["--act", "gelu"],
    ["--data", "/nonexistent.json"], ["--plot", "/tmp/x.gif"], ["--act", "jumprelu:q=-1"],
])
def test_cli_bad_input_is_one_clean_line(args: list[str]) -> None:
    assert_clean_error(run_cli("oae", *args))
