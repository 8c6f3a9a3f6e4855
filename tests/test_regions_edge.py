"""Edge cases of the activation catalogue and of exact gradient regions found in an audit.

Every expected value is independent of actlab: closed forms written here, mpmath root finding on
formulas written here, and PyTorch autograd (float64). Each test names the defect it guards.
"""

from __future__ import annotations

import math
import warnings

import mpmath
import numpy as np
import pytest
import torch

from actlab.activations import CATALOGUE, parse_activation
from actlab.errors import ActlabError
from actlab.regions import gradient_regions
from conftest import assert_clean_error, run_cli

INF = math.inf
FAST, SLOW = 0.99, 0.01
mpmath.mp.dps = 50


def intervals(result) -> list[tuple[str, float, float, bool, bool]]:
    return [(i.region, i.lo, i.hi, i.closed_lo, i.closed_hi) for i in result.intervals]


def assert_intervals(result, expected, rel: float = 1e-9, abs_tol: float = 0.0) -> None:
    got = intervals(result)
    assert [(g[0], g[3], g[4]) for g in got] == [(e[0], e[3], e[4]) for e in expected], got
    for g, e in zip(got, expected, strict=True):
        for a, b in ((g[1], e[1]), (g[2], e[2])):
            if math.isinf(b):
                assert a == b, (got, expected)
            else:
                assert a == pytest.approx(b, rel=rel, abs=abs_tol), (got, expected)


def mp_sigmoid(x):
    return 1 / (1 + mpmath.exp(-x))


def unit_swish_boundaries() -> list[float]:
    """Where swish_1'(x) = s (1 + x (1 - s)) equals -0.01, 0, 0.01 or 0.99, left to right: mpmath
    roots in brackets read off the shape of swish_1' (it falls from 0 to its minimum -0.0998 at
    -2.3994, rises through 0 at -1.2785 to its maximum 1.0998 at 2.3994, then falls to 1)."""
    d = lambda x: mp_sigmoid(x) * (1 + x * (1 - mp_sigmoid(x)))  # noqa: E731
    brackets = [(-SLOW, (-8, -2.4)), (-SLOW, (-2.4, -1.29)), (0, (-1.29, -1.27)),
                (SLOW, (-1.27, -1.0)), (FAST, (0.5, 2.0))]
    return [float(mpmath.findroot(lambda x, c=c: d(x) - c, ab, solver="illinois"))
            for c, ab in brackets]


# --- piecewise-linear units with extreme parameters (the stretch's midpoint 1e300 - 1 == 1e300
# picked the wrong piece: plu:c=1e300 was "fast everywhere", jumprelu:q=1e300 too) ------------
def test_plu_with_a_huge_c() -> None:
    assert_intervals(gradient_regions("plu:alpha=0.1,c=1e300"), [
        ("active", -INF, -1e300, False, False), ("fast", -1e300, 1e300, True, True),
        ("active", 1e300, INF, False, False)])


def test_jumprelu_with_a_huge_q() -> None:
    assert_intervals(gradient_regions("jumprelu:q=1e300"), [
        ("inactive", -INF, 1e300, False, False), ("fast", 1e300, INF, True, False)])


def test_hardtanh_between_adjacent_doubles() -> None:
    tiny = 5e-324  # the open interval (0, tiny) holds no double, but hardtanh' = 1 on it
    assert_intervals(gradient_regions(f"hardtanh:min_val=0,max_val={tiny!r}"), [
        ("inactive", -INF, 0.0, False, True), ("fast", 0.0, tiny, False, False),
        ("inactive", tiny, INF, True, False)])


# --- parameters at extreme scales (absolute root tolerances lost the structure at 1e-300) ----
@pytest.mark.parametrize("beta", [1e6, 1e300, 1e-300, 2.5])
def test_swish_boundaries_scale_with_one_over_beta(beta: float) -> None:
    unit = unit_swish_boundaries()
    result = gradient_regions(f"swish:beta={beta!r}")
    got = sorted({v for i in result.intervals for v in (i.lo, i.hi) if math.isfinite(v)})
    want = [b / beta for b in unit]
    assert len(got) == len(want), got
    for g, w in zip(got, sorted(want), strict=True):
        assert g == pytest.approx(w, rel=1e-9)


# --- numerically stable over the whole float range (NaN at |x| >= 1e103 for gelu:approx=tanh,
# NaN at 1e308 for swish:beta=5, softplus:beta=5 overflowing to inf, warnings) ----------------
LIMITS = {  # spec -> (f'(-big), f'(+big)) in closed form
    "relu": (0, 1), "leaky_relu": (0.01, 1), "sigmoid": (0, 0), "tanh": (0, 0), "plu": (0.1, 0.1),
    "swish": (0, 1), "elu": (0, 1), "gelu": (0, 1), "softplus": (0, 1),
    "selu": (0, 1.0507009873554804934193349852946), "mish": (0, 1), "hardtanh": (0, 0),
    "jumprelu": (0, 1), "identity": (1, 1), "gelu:approx=tanh": (0, 1), "swish:beta=5": (0, 1),
    "softplus:beta=5": (0, 1), "swish:beta=1e-300": (0.5, 0.5)}


@pytest.mark.parametrize("spec", sorted(LIMITS))
def test_whole_float_range_is_finite_and_silent(spec: str) -> None:
    assert set(CATALOGUE) <= set(LIMITS)
    act = parse_activation(spec)
    big = np.array([1e3, 1e103, 1e160, 1e200, 1e308, 1.7e308])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise", under="ignore"):
            for x in (-big, big):
                value, grad = act.value(x), act.derivative(x)
                assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad)), (value, grad)
    lo, hi = LIMITS[spec]
    if spec == "swish:beta=1e-300":  # beta x is still tiny at 1e200: f' = 1/2 there
        big = big[:4]
    np.testing.assert_allclose(act.derivative(-big), lo, rtol=1e-15, atol=0)
    np.testing.assert_allclose(act.derivative(big), hi, rtol=1e-15, atol=0)


def test_softplus_is_x_far_out() -> None:
    # log(1 + exp(beta x)) / beta = x + log(1 + exp(-beta x)) / beta = x in float64 for beta x > 40
    assert parse_activation("softplus:beta=5").value([1e308])[0] == 1e308


# --- expr: features at a small scale (a 1e-3 grid missed them; float probes of f' that cancel
# to 0, 100 - 100 tanh(100 x)^2, made whole stretches "inactive") ------------------------------
@pytest.mark.parametrize("scale", [100.0, 1e10])
def test_expr_steep_tanh(scale: float) -> None:
    # scale sech(scale x)^2 = t  <=>  |x| = acosh(sqrt(scale / t)) / scale
    a = math.acosh(math.sqrt(scale / FAST)) / scale
    b = math.acosh(math.sqrt(scale / SLOW)) / scale
    assert_intervals(gradient_regions(f"expr:tanh({scale!r}*x)"), [
        ("slow", -INF, -b, False, False), ("active", -b, -a, True, True),
        ("fast", -a, a, False, False), ("active", a, b, True, True),
        ("slow", b, INF, False, False)])


@pytest.mark.parametrize("beta", [1000.0, 1e6])
def test_expr_steep_swish(beta: float) -> None:
    unit = unit_swish_boundaries()
    want = [b / beta for b in unit]
    result = gradient_regions(f"expr:x*sigmoid({beta!r}*x)")
    got = sorted({v for i in result.intervals for v in (i.lo, i.hi) if math.isfinite(v)})
    assert got == pytest.approx(want, rel=1e-9)
    assert [i.region for i in result.intervals] == [
        "slow", "active", "slow", "inactive", "slow", "active", "fast"]


# --- expr: naive spellings that cancel in float64 (rejected as "oscillating" before) ----------
def test_expr_softplus_spelled_with_exp_and_log() -> None:
    logit = lambda p: math.log(p / (1 - p))  # noqa: E731  sigmoid(x) = t  <=>  x = logit(t)
    assert_intervals(gradient_regions("expr:log(1+exp(x))"), [
        ("slow", -INF, logit(SLOW), False, False), ("active", logit(SLOW), logit(FAST), True, True),
        ("fast", logit(FAST), INF, False, False)])


def test_expr_swish_spelled_with_exp() -> None:
    unit = unit_swish_boundaries()
    result = gradient_regions("expr:x*exp(x)/(1+exp(x))")
    got = sorted({v for i in result.intervals for v in (i.lo, i.hi) if math.isfinite(v)})
    assert got == pytest.approx(unit, rel=1e-9)


# --- expr: a zero of f' is exact, not |f'| <= 1e-12 ---------------------------------------------
def test_expr_tiny_positive_minimum_is_slow_not_inactive() -> None:
    # f' = x^2 + 1e-13 > 0 everywhere: x^2 + 1e-13 = t  <=>  |x| = sqrt(t - 1e-13)
    a, b = math.sqrt(SLOW - 1e-13), math.sqrt(FAST - 1e-13)
    assert_intervals(gradient_regions("expr:x**3/3 + 1e-13*x"), [
        ("fast", -INF, -b, False, False), ("active", -b, -a, True, True),
        ("slow", -a, a, False, False), ("active", a, b, True, True),
        ("fast", b, INF, False, False)])


def test_expr_touching_zero_is_an_isolated_inactive_point() -> None:
    # f' = (x - 0.3)^2: zero at 0.3 without a sign change; (x - 0.3)^2 = t  <=>  x = 0.3 +- sqrt(t)
    result = gradient_regions("expr:(x - 0.3)**3/3")
    (point,) = result.region("inactive")
    assert point.is_point and point.lo == pytest.approx(0.3, abs=1e-15)
    assert result.classify(0.3 - 1e-6) == result.classify(0.3 + 1e-6) == "slow"
    assert [i.lo for i in result.region("active")] == pytest.approx(
        [0.3 - math.sqrt(FAST), 0.3 + math.sqrt(SLOW)], rel=1e-12)


# --- expr: a switch of max/min where f stays C^1 (max(x, tanh x) was "fast everywhere") --------
def test_expr_max_of_x_and_tanh() -> None:
    # x < 0: f = tanh x, f' = 1 - tanh(x)^2 = t  <=>  x = -atanh(sqrt(1 - t)); x >= 0: f = x
    a, b = math.atanh(math.sqrt(1 - FAST)), math.atanh(math.sqrt(1 - SLOW))
    result = gradient_regions("expr:max(x, tanh(x))")
    assert_intervals(result, [("slow", -INF, -b, False, False), ("active", -b, -a, True, True),
                              ("fast", -a, INF, False, False)])
    assert result.breakpoints == ()  # one-sided derivatives are both 1 at 0
    assert [i.text() for i in result.max_abs.where] == ["[0, inf)"]


def test_expr_max_with_a_custom_constant() -> None:
    c = math.log1p(math.exp(math.pi))  # softplus(pi); relu'(0) = 0 convention: c is inactive
    assert_intervals(gradient_regions("expr:max(x, softplus(pi))"), [
        ("inactive", -INF, c, False, True), ("fast", c, INF, False, False)], rel=1e-14)


def test_expr_sign_of_a_positive_function() -> None:
    assert_intervals(gradient_regions("expr:sign(softplus(x))*x"),
                     [("fast", -INF, INF, False, False)])


def test_expr_deeply_nested_sigmoid_finishes() -> None:
    # sympy's limit took minutes here; f' = prod of sigmoid' < 0.25 * 0.24^4 < 0.01 everywhere
    spec = "expr:" + "sigmoid(" * 5 + "x" + ")" * 5
    result = gradient_regions(spec)
    assert_intervals(result, [("slow", -INF, INF, False, False)])
    x = torch.linspace(-30, 30, 60_001, dtype=torch.float64, requires_grad=True)
    y = x
    for _ in range(5):
        y = torch.sigmoid(y)
    (grad,) = torch.autograd.grad(y.sum(), x)
    grad, x = grad.detach(), x.detach()
    peak = int(torch.argmax(grad))
    assert result.max_abs.value == pytest.approx(float(grad[peak]), rel=1e-6)
    assert result.max_abs.where[0].lo == pytest.approx(float(x[peak]), abs=2e-3)


def test_expr_power_with_a_growing_exponent() -> None:
    # mpmath squared a million times for 0.777**cosh(x - 1) at x = 1e6 (a hang)
    spec = "expr:0.5**(x**2)"  # f' = -2 ln2 x 0.5^(x^2); |f'| = t solved by mpmath
    result = gradient_regions(spec)
    d = lambda x: 2 * mpmath.log(2) * x * mpmath.mpf(0.5) ** (x**2)  # noqa: E731  |f'| on x > 0
    roots = [float(mpmath.findroot(lambda x: d(x) - SLOW, ab, solver="illinois"))
             for ab in ((0.001, 0.1), (2, 4))]
    active = result.region("active")
    assert [v for i in active for v in (i.lo, i.hi)] == pytest.approx(
        [-roots[1], -roots[0], roots[0], roots[1]], rel=1e-9)
    # 0.777^cosh(x - 1) is symmetric about x = 1: its boundaries pair up to sum 2
    bounds = sorted({v for i in gradient_regions(
        "expr:(sqrt(pi)-tanh(e))**cosh(x-1)").intervals for v in (i.lo, i.hi)} - {-INF, INF})
    assert bounds and bounds == pytest.approx([2 - b for b in reversed(bounds)], abs=1e-9)


# --- expr: hostile or degenerate input is one clean error ---------------------------------------
@pytest.mark.parametrize(("text", "message"), [
    ("(10**999)**999*x", "numbers beyond"),  # was a traceback (4300-digit int string limit)
    ("((9**999)**999)**999*x", "numbers beyond"),  # was a hang (a billion-digit integer)
    ("1" + "0" * 400 + "*x", "numbers beyond"),  # was a traceback (int too large for a float)
    ("10**-400 + x", "numbers beyond"),
    ("(-8)**(1/3)*x", "not a real number"),  # was a traceback (complex to float)
    ("log(-1)*x", "not a real number"),
    ("exp(-x**2)*sin(50*x)", "oscillating"),  # was 80 s and a wrong "slow" tail
])
def test_expr_hostile_input_is_rejected(text: str, message: str) -> None:
    with pytest.raises(ActlabError, match=message):
        gradient_regions("expr:" + text)


@pytest.mark.parametrize("text", ["(10**999)**999*x", "(-8)**(1/3)*x", "1" + "0" * 400 + "*x"])
def test_expr_hostile_input_cli(text: str) -> None:
    assert_clean_error(run_cli("regions", "--act", "expr:" + text, "--json", timeout=120))


# --- the figure names the regions in each panel --------------------------------------------------
def test_figure_labels_regions_in_the_panel() -> None:
    from actlab.figures.regions import regions_figure

    fig = regions_figure([gradient_regions("relu"), gradient_regions("swish:beta=1")])
    relu, swish = (sorted(t.get_text().strip() for t in ax.texts) for ax in fig.axes[:2])
    assert relu == ["fast", "inactive"]
    assert "fast" in swish and "active" in swish
    assert any(t.startswith("inactive -1.278") for t in swish)  # swish' = 0 at -1.27846
