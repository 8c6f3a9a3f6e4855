"""The activation catalogue against independent oracles: PyTorch's own functions and autograd
(float64), central finite differences, and closed forms."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from actlab.activations import CATALOGUE, parse_activation
from actlab.errors import ActlabError

# spec -> an independent torch implementation (PyTorch's own function where it has one).
REFERENCE = {
    "relu": F.relu,
    "leaky_relu:slope=0.005": lambda x: F.leaky_relu(x, 0.005),
    "leaky_relu:slope=0.2": lambda x: F.leaky_relu(x, 0.2),
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "plu:alpha=0.2,c=1": lambda x: torch.where(x > 1, 0.2 * x + 0.8,
                                               torch.where(x < -1, 0.2 * x - 0.8, x)),
    "plu:alpha=0.1,c=1": lambda x: torch.max(0.1 * (x + 1) - 1, torch.min(0.1 * (x - 1) + 1, x)),
    "plu:alpha=0.05,c=2": lambda x: torch.max(0.05 * (x + 2) - 2, torch.min(0.05 * (x - 2) + 2, x)),
    "swish:beta=1": F.silu,
    "swish:beta=2.5": lambda x: x / (1 + torch.exp(-2.5 * x)),
    "swish:beta=5": lambda x: x / (1 + torch.exp(-5 * x)),
    "elu:alpha=0.1": lambda x: F.elu(x, alpha=0.1),
    "elu:alpha=0.5": lambda x: F.elu(x, alpha=0.5),
    "elu:alpha=1": F.elu,
    "gelu": F.gelu,
    "gelu:approx=tanh": lambda x: F.gelu(x, approximate="tanh"),
    "softplus:beta=1": lambda x: F.softplus(x, beta=1, threshold=1e9),
    "softplus:beta=3": lambda x: F.softplus(x, beta=3, threshold=1e9),
    "selu": F.selu,
    "mish": F.mish,
    "hardtanh": F.hardtanh,
    "hardtanh:min_val=-2,max_val=0.5": lambda x: F.hardtanh(x, -2.0, 0.5),
    "jumprelu:q=0.1": lambda x: x * (x >= 0.1),
    "jumprelu:q=0.7": lambda x: x * (x >= 0.7),
    "identity": lambda x: x,
    "expr:x*sigmoid(2.5*x)": lambda x: x * torch.sigmoid(2.5 * x),
    "expr:x*tanh(softplus(x))": F.mish,
    "expr:log(1+exp(x)) - x**2/10": lambda x: torch.log1p(torch.exp(x)) - x**2 / 10,
    "expr:0.5*x*(1+erf(x/sqrt(2)))": F.gelu,
    "expr:max(0.1*x, x)": lambda x: F.leaky_relu(x, 0.1),
    "expr:x*step(x-0.5)": lambda x: x * (x >= 0.5),
}


def _away_from_breakpoints(act, x: np.ndarray, gap: float = 1e-4) -> np.ndarray:
    for b in act.breakpoints():
        x = x[np.abs(x - b.x) > gap]
    return x


def _autograd(fn, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = torch.tensor(x, requires_grad=True)
    y = fn(t)
    (g,) = torch.autograd.grad(y.sum(), t)
    return y.detach().numpy(), g.numpy()


@pytest.mark.parametrize("spec", sorted(REFERENCE))
def test_value_and_derivative_match_pytorch(spec: str) -> None:
    act = parse_activation(spec)
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-8, 8, 4000), rng.normal(0, 1, 2000),
                        np.linspace(-30, 30, 601)])
    x = _away_from_breakpoints(act, x)
    value, grad = _autograd(REFERENCE[spec], x)
    np.testing.assert_allclose(act.value(x), value, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(act.derivative(x), grad, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("spec", sorted(REFERENCE))
def test_derivative_matches_central_differences(spec: str) -> None:
    act = parse_activation(spec)
    x = _away_from_breakpoints(act, np.linspace(-6, 6, 3001) + 1e-3, gap=1e-3)
    h = 1e-6
    numeric = (act.value(x + h) - act.value(x - h)) / (2 * h)
    np.testing.assert_allclose(act.derivative(x), numeric, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("spec", sorted(REFERENCE))
def test_torch_twin_agrees_with_library(spec: str) -> None:
    act = parse_activation(spec)
    x = np.linspace(-7, 7, 1401)
    if not spec.startswith("expr:"):  # at a kink an expr's twin follows torch.where ties
        x = np.concatenate([x, [b.x for b in act.breakpoints()]])
    x = x if not spec.startswith("expr:") else _away_from_breakpoints(act, x)
    value, grad = _autograd(act.torch, x)
    np.testing.assert_allclose(value, act.value(x), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(grad, act.derivative(x), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("spec", "reference", "point"), [
    ("relu", F.relu, 0.0),
    ("leaky_relu:slope=0.01", lambda x: F.leaky_relu(x, 0.01), 0.0),
    ("elu:alpha=0.1", lambda x: F.elu(x, alpha=0.1), 0.0),
    ("selu", F.selu, 0.0),
    ("hardtanh", F.hardtanh, -1.0),
    ("hardtanh", F.hardtanh, 1.0),
])
def test_kink_convention_is_pytorchs(spec: str, reference, point: float) -> None:
    act = parse_activation(spec)
    _, grad = _autograd(reference, np.array([point]))
    assert act.derivative(point) == pytest.approx(grad[0], abs=1e-15)
    (bp,) = [b for b in act.breakpoints() if b.x == point]
    assert bp.derivative_used == pytest.approx(grad[0], abs=1e-15)


@pytest.mark.parametrize("spec", [s for s in REFERENCE if not s.startswith("expr:log")])
def test_breakpoints_one_sided_derivatives_and_values(spec: str) -> None:
    act = parse_activation(spec)
    for b in act.breakpoints():
        h = 1e-7
        left = (act.value(b.x - h) - act.value(b.x - 2 * h)) / h
        right = (act.value(b.x + 2 * h) - act.value(b.x + h)) / h
        assert b.left_derivative == pytest.approx(float(left), abs=1e-6)
        assert b.right_derivative == pytest.approx(float(right), abs=1e-6)
        assert b.left_value == pytest.approx(float(act.value(b.x - 1e-12)), abs=1e-9)
        assert b.right_value == pytest.approx(float(act.value(b.x + 1e-12)), abs=1e-9)
        assert b.left_derivative != b.right_derivative or b.jump


def test_smooth_activations_have_no_breakpoints() -> None:
    for spec in ("sigmoid", "tanh", "swish:beta=2.5", "gelu", "gelu:approx=tanh", "mish",
                 "softplus", "elu:alpha=1", "identity", "expr:x*sigmoid(2.5*x)"):
        assert parse_activation(spec).breakpoints() == ()


@pytest.mark.parametrize("spec", ["relu", "plu:alpha=0.2,c=1", "jumprelu:q=0.3", "elu:alpha=0.1"])
def test_jump_and_kink_classification(spec: str) -> None:
    act = parse_activation(spec)
    jumps = [b.x for b in act.breakpoints() if b.jump]
    assert jumps == ([0.3] if spec.startswith("jumprelu") else [])


def _second_derivative(spec: str, x: np.ndarray) -> np.ndarray:
    t = torch.tensor(x, requires_grad=True)
    (g,) = torch.autograd.grad(REFERENCE[spec](t).sum(), t, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), t)
    return h.numpy()


@pytest.mark.parametrize("spec", ["sigmoid", "tanh", "swish:beta=1", "swish:beta=2.5", "gelu",
                                  "gelu:approx=tanh", "mish", "softplus:beta=3",
                                  "expr:x*sigmoid(2.5*x)", "expr:log(1+exp(x)) - x**2/10"])
def test_critical_points_are_exactly_the_turning_points_of_f_prime(spec: str) -> None:
    """Every sign change of f'' (torch double backward) and of f' on a dense grid lies next to a
    declared critical point, and every declared point is such a sign change."""
    act = parse_activation(spec)
    grid = np.linspace(-60, 60, 240_001) + 1e-4 * math.pi
    fpp = _second_derivative(spec, grid)
    _, fp = _autograd(REFERENCE[spec], grid)
    changes = []
    for values in (fpp, fp):
        s = np.sign(values)
        ok = (np.abs(values[:-1]) > 1e-13) & (np.abs(values[1:]) > 1e-13)
        idx = np.nonzero((s[:-1] * s[1:] < 0) & ok)[0]
        changes.extend(0.5 * (grid[idx] + grid[idx + 1]))
    declared = act.critical_points()
    for c in changes:
        assert min(abs(c - d) for d in declared) < 1e-3, (c, declared)
    for d in declared:
        assert min(abs(c - d) for c in changes) < 1e-3, (d, changes)


def test_known_turning_points_closed_form() -> None:
    assert parse_activation("gelu").critical_points()[0] == pytest.approx(-math.sqrt(2), abs=1e-15)
    r0 = parse_activation("swish").critical_points()[1]
    assert 1 + r0 * (1 - 1 / (1 + math.exp(-r0))) == pytest.approx(0, abs=1e-15)
    # swish': extremum where r tanh(r/2) = 2, scaled by 1/beta
    r2 = parse_activation("swish:beta=2.5").critical_points()[2] * 2.5
    assert r2 * math.tanh(r2 / 2) == pytest.approx(2, abs=1e-14)


@pytest.mark.parametrize("spec", sorted(set(REFERENCE) | {"softplus:beta=50", "swish:beta=5"}))
def test_finite_and_warning_free_at_extremes(spec: str) -> None:
    act = parse_activation(spec)
    x = np.array([-1e6, -1000.0, -710.0, 710.0, 1000.0, 1e6])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # expr: silenced inside
        value, grad = act.value(x), act.derivative(x)
    if not spec.startswith("expr:log"):
        assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad)), (value, grad)


def test_extreme_values_closed_form() -> None:
    assert parse_activation("sigmoid").value([-1000.0, 1000.0]).tolist() == [0.0, 1.0]
    assert parse_activation("softplus").value([1000.0]).tolist() == [1000.0]
    assert parse_activation("softplus").value([-1000.0])[0] == 0.0
    assert parse_activation("elu:alpha=0.1").value([-1000.0])[0] == pytest.approx(-0.1)
    assert parse_activation("swish").derivative([1000.0, -1000.0]).tolist() == [1.0, 0.0]


@pytest.mark.parametrize("spec", ["relu", "leaky_relu:slope=0.3", "plu:alpha=0.2,c=1", "hardtanh",
                                  "jumprelu:q=0.1", "jumprelu:q=0", "identity",
                                  "hardtanh:min_val=-2,max_val=0.5"])
def test_linear_pieces_tile_the_line_and_give_the_values(spec: str) -> None:
    act = parse_activation(spec)
    pieces = act.pieces()
    assert pieces[0].lo == -math.inf and pieces[-1].hi == math.inf
    for a, b in itertools.pairwise(pieces):
        assert a.hi == b.lo and a.closed_hi != b.closed_lo  # each end in exactly one piece
    x = np.concatenate([np.linspace(-5, 5, 1001), [b.x for b in act.breakpoints()]])
    memberships = np.array([p.contains(x) for p in pieces])
    assert np.all(memberships.sum(axis=0) == 1)
    expected = REFERENCE.get(spec, lambda t: F.leaky_relu(t, 0.3) if "0.3" in spec else F.relu(t))
    reference = expected(torch.tensor(x)).numpy()
    owner = memberships.argmax(axis=0)
    via_pieces = np.array([pieces[k].at(v) for k, v in zip(owner, x, strict=True)])
    np.testing.assert_allclose(via_pieces, reference, atol=1e-15)


def test_smooth_activation_is_not_piecewise_linear() -> None:
    with pytest.raises(ActlabError, match="not piecewise linear"):
        parse_activation("gelu").pieces()


@pytest.mark.parametrize("spec", ["relu", "plu:alpha=0.2,c=1", "swish:beta=2.5", "elu:alpha=0.1",
                                  "gelu:approx=tanh", "jumprelu:q=0.1", "leaky_relu:slope=0.005",
                                  "hardtanh:min_val=-2,max_val=0.5", "softplus:beta=1.5"])
def test_canonical_spec_round_trips(spec: str) -> None:
    act = parse_activation(spec)
    assert parse_activation(act.spec) == act
    assert parse_activation(act.spec).spec == act.spec


def test_spec_parameters_are_applied() -> None:
    assert parse_activation("plu:alpha=0.2,c=1").value([3.0])[0] == pytest.approx(0.2 * 3 + 0.8)
    assert parse_activation("plu:c=2,alpha=0.5").value([3.0])[0] == pytest.approx(0.5 * 3 + 1.0)
    assert parse_activation(" Swish : beta = 2.5 ").spec == "swish:beta=2.5"
    assert parse_activation("silu").spec == "swish:beta=1"
    assert parse_activation("gelu").spec == "gelu"


@pytest.mark.parametrize(("spec", "message"), [
    ("plu:c=0", "c=.* must be > 0"),
    ("plu:c=-1", "must be > 0"),
    ("plu:alpha=abc", "not a number"),
    ("swish:beta=0", "must be > 0"),
    ("elu:alpha=nan", "must be finite"),
    ("elu:alpha=inf", "must be finite"),
    ("jumprelu:q=-0.1", ">= 0"),
    ("relu:slope=1", "unknown parameter 'slope'"),
    ("plu:gamma=1", "unknown parameter 'gamma'"),
    ("plu:alpha", "not key=value"),
    ("plu:alpha=", "not key=value"),
    ("plu:", "nothing after"),
    ("plu:alpha=1,alpha=2", "given twice"),
    ("softmaxx", "unknown activation"),
    ("", "unknown activation"),
    ("gelu:approx=fast", "not one of"),
    ("hardtanh:min_val=1,max_val=1", "greater than"),
    ("expr", "expr:<expression"),
    ("expr:", "empty"),
])
def test_invalid_specs_are_rejected_with_a_clear_message(spec: str, message: str) -> None:
    with pytest.raises(ActlabError, match=message):
        parse_activation(spec)


@pytest.mark.parametrize("text", [
    "__import__('os').system('echo pwned')",
    "x.__class__",
    "(lambda: 1)()",
    "[x for x in ()]",
    "open('/etc/passwd')",
    "exp(x, 2)",
    "y + 1",
    "x if x > 0 else 0",
    "x > 0",
    "'abc'",
    "x**100000",
    "2**2**2**2**2",
    "x" + "+x" * 300,
    "sigmoid(x",
    "1/0 + x",
    "exp(x)(1)",
])
def test_expr_rejects_everything_but_the_whitelisted_grammar(text: str) -> None:
    with pytest.raises(ActlabError, match="expr"):
        parse_activation("expr:" + text)


@pytest.mark.parametrize(("text", "message"), [
    ("sqrt(x)", "whole real line"), ("log(x)", "whole real line"), ("1/x", "whole real line"),
    ("1/(x-0.3)", "whole real line"), ("tan(x)", "whole real line"),
    ("x**(1/3)", "not a real number"), ("sin(x)", "oscillating"),
])
def test_expr_must_be_an_activation_on_the_whole_line(text: str, message: str) -> None:
    with pytest.raises(ActlabError, match=message):
        act = parse_activation("expr:" + text)
        act.critical_points()


def test_expr_matches_the_catalogue_function_it_spells() -> None:
    x = np.linspace(-9, 9, 1801)
    for expr, spec in [("x*sigmoid(2.5*x)", "swish:beta=2.5"), ("relu(x)", "relu"),
                       ("x*Phi(x)", "gelu"), ("softplus(x)", "softplus"), ("tanh(x)", "tanh")]:
        user, ours = parse_activation("expr:" + expr), parse_activation(spec)
        np.testing.assert_allclose(user.value(x), ours.value(x), rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(user.derivative(x), ours.derivative(x), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(user.critical_points(), ours.critical_points(), atol=1e-12)
        assert user.derivative_limits() == pytest.approx(ours.derivative_limits())


def test_expr_breakpoints_are_found_with_exact_one_sided_derivatives() -> None:
    act = parse_activation("expr:max(0.2*x - 0.3, x/2) + abs(x - 1.25)")
    xs = [b.x for b in act.breakpoints()]
    assert xs == pytest.approx([-1.0, 1.25], abs=1e-14)  # 0.2x-0.3 = x/2 at x = -1
    left_slopes = [b.left_derivative for b in act.breakpoints()]
    right_slopes = [b.right_derivative for b in act.breakpoints()]
    assert left_slopes == pytest.approx([0.2 - 1, 0.5 - 1])
    assert right_slopes == pytest.approx([0.5 - 1, 0.5 + 1])


@settings(max_examples=60, deadline=None)
@given(beta=st.floats(0.1, 20), x=st.floats(-50, 50))
def test_swish_derivative_closed_form_property(beta: float, x: float) -> None:
    u = beta * x  # sigmoid(u) written without overflow or cancellation
    s = 1 / (1 + math.exp(-u)) if u >= 0 else math.exp(u) / (1 + math.exp(u))
    expected = s + beta * x * s * (1 - s)
    assert parse_activation(f"swish:beta={beta!r}").derivative(x) == pytest.approx(
        expected, rel=1e-12, abs=1e-300)


@settings(max_examples=60, deadline=None)
@given(alpha=st.floats(0, 1), c=st.floats(0.01, 10), x=st.floats(-100, 100))
def test_plu_is_continuous_with_the_documented_pieces(alpha: float, c: float, x: float) -> None:
    act = parse_activation(f"plu:alpha={alpha!r},c={c!r}")
    expected = max(alpha * (x + c) - c, min(alpha * (x - c) + c, x))  # Nicolae 2018
    assert act.value(x) == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_catalogue_names_are_the_contract_names() -> None:
    assert set(CATALOGUE) == {"relu", "leaky_relu", "sigmoid", "tanh", "plu", "swish", "elu",
                              "gelu", "softplus", "selu", "mish", "hardtanh", "jumprelu",
                              "identity"}
